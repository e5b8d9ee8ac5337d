/*
 * auth.c - bearer token secrets and their lookup.
 */
#include "vledger/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "vledger/encoding.h"
#include "vledger/log.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"

void
auth_secret_hash(const char *secret, size_t len, uint8_t hash[32])
{
	SHA256((const unsigned char *)secret, len, hash);
}

void
auth_secret_new(char secret[AUTH_SECRET_SIZE], uint8_t hash[32])
{
	uint8_t raw[32];
	char *encoded;

	random_bytes(raw, sizeof(raw));
	encoded = base64_encode(raw, sizeof(raw), true);
	snprintf(secret, AUTH_SECRET_SIZE, "%s%s", AUTH_SECRET_PREFIX, encoded);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(encoded, strlen(encoded));
	free(encoded);
	auth_secret_hash(secret, strlen(secret), hash);
}

const char *
auth_bearer(const char *header)
{
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return *header != '\0' ? header : NULL;
}

static const struct {
	int role;
	const char *db;
	const char *proto;
} roles[] = {
	{VLEDGER__V1__ROLE__ROLE_ADMIN, "admin", "ROLE_ADMIN"},
	{VLEDGER__V1__ROLE__ROLE_OFFICE, "office", "ROLE_OFFICE"},
	{VLEDGER__V1__ROLE__ROLE_TEAM_LEADER, "team_leader", "ROLE_TEAM_LEADER"},
	{VLEDGER__V1__ROLE__ROLE_EMPLOYER, "employer", "ROLE_EMPLOYER"},
	{VLEDGER__V1__ROLE__ROLE_AUDITOR, "auditor", "ROLE_AUDITOR"},
	{VLEDGER__V1__ROLE__ROLE_VOLUNTEER, "volunteer", "ROLE_VOLUNTEER"},
};

const char *
role_db_name(int role)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == role)
			return roles[i].db;
	return NULL;
}

int
role_from_db(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(roles[i].db, name) == 0)
			return roles[i].role;
	return VLEDGER__V1__ROLE__ROLE_UNSPECIFIED;
}

const char *
role_proto_name(int role)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == role)
			return roles[i].proto;
	return "ROLE_UNSPECIFIED";
}

static const struct store_statement token_lookup_statement = {
	"token_lookup",
	"SELECT id, coalesce(organization_id, ''), role,"
	"       revoke_time IS NOT NULL, expire_time IS NOT NULL AND expire_time <= now(),"
	"       coalesce(volunteer_id, '')"
	"  FROM tokens WHERE secret_hash = $1",
	1
};

bool
auth_lookup(PGconn *conn, const uint8_t hash[32], struct principal *out, struct vl_error *err)
{
	const char *params[1] = {(const char *)hash};
	const int lengths[1] = {32};
	const int formats[1] = {1};
	PGresult *res;
	bool ok = false;

	res = store_exec_prepared(conn, &token_lookup_statement, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "token lookup", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_UNAUTHENTICATED, "authorization: unknown token");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
		vl_error_set(err, VL_UNAUTHENTICATED, "authorization: token %s was revoked", PQgetvalue(res, 0, 0));
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 4), "t") == 0) {
		vl_error_set(err, VL_UNAUTHENTICATED, "authorization: token %s has expired", PQgetvalue(res, 0, 0));
		goto out;
	}
	snprintf(out->token_id, sizeof(out->token_id), "%s", PQgetvalue(res, 0, 0));
	snprintf(out->organization_id, sizeof(out->organization_id), "%s", PQgetvalue(res, 0, 1));
	snprintf(out->volunteer_id, sizeof(out->volunteer_id), "%s", PQgetvalue(res, 0, 5));
	out->role = role_from_db(PQgetvalue(res, 0, 2));
	if (out->role == VLEDGER__V1__ROLE__ROLE_UNSPECIFIED) {
		vl_error_set(err, VL_INTERNAL, "token %s has an unknown role", out->token_id);
		goto out;
	}
	/* sql/012 makes this impossible; without the id a volunteer token
	 * would match nothing, but say so rather than fail obscurely. */
	if (out->role == VLEDGER__V1__ROLE__ROLE_VOLUNTEER && out->volunteer_id[0] == '\0') {
		vl_error_set(err, VL_INTERNAL, "token %s is a volunteer token without a volunteer", out->token_id);
		goto out;
	}
	ok = true;
out:
	PQclear(res);
	return ok;
}
