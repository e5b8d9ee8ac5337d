/*
 * admin_common.c - pieces shared by the organisation and token handlers:
 * enum names, page tokens, the subtree check, the method table.
 */
#include "vledger/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/auth.h"
#include "vledger/encoding.h"
#include "vledger/log.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"

static const struct {
	int kind;
	const char *db;
	const char *proto;
} kinds[] = {
	{VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_DISTRICT, "district", "DISTRICT"},
	{VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_SUBDISTRICT, "subdistrict", "SUBDISTRICT"},
	{VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_COMMUNITY, "community", "COMMUNITY"},
	{VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_TEAM, "team", "TEAM"},
	{VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_EMPLOYER, "employer", "EMPLOYER"},
};

const char *
org_kind_db_name(int kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].db;
	return NULL;
}

int
org_kind_from_db(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].db, name) == 0)
			return kinds[i].kind;
	return 0;
}

const char *
org_kind_proto_name(int kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].proto;
	return "UNSPECIFIED";
}

char *
page_token_encode(char tag, long long seq)
{
	char raw[32];
	int n = snprintf(raw, sizeof(raw), "%c%lld", tag, seq);

	return base64_encode((const uint8_t *)raw, (size_t)n, true);
}

bool
page_token_decode(const char *token, char tag, long long *seq, struct vl_error *err)
{
	uint8_t *raw;
	size_t len, i;
	long long v = 0;
	bool ok = false;

	if (!base64_decode(token, strlen(token), &raw, &len))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "pageToken: not a page token from this method");
	if (len >= 2 && len <= 19 && raw[0] == (uint8_t)tag) {
		ok = true;
		for (i = 1; i < len; i++) {
			if (raw[i] < '0' || raw[i] > '9') {
				ok = false;
				break;
			}
			v = v * 10 + (raw[i] - '0');
		}
	}
	free(raw);
	if (!ok)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "pageToken: not a page token from this method");
	*seq = v;
	return true;
}

bool
page_size_valid(int32_t page_size, int *out, struct vl_error *err)
{
	if (page_size < 0 || page_size > 500)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "pageSize: must be between 1 and 500 (0 means 50)");
	*out = page_size == 0 ? 50 : page_size;
	return true;
}

static const struct store_statement org_within_statement = {
	"org_within",
	"SELECT org_within($1, $2)",
	2
};

bool
org_within(PGconn *conn, const char *org, const char *ancestor, bool *within, struct vl_error *err)
{
	const char *params[2] = {org, ancestor};
	PGresult *res;

	res = store_exec_prepared(conn, &org_within_statement, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organization scope", err);
		PQclear(res);
		return false;
	}
	*within = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return true;
}

bool
role_may(const struct rpc_call *call, unsigned roles, const char *action, struct vl_error *err)
{
	int role = call->principal.role;

	if (role >= 0 && role < 32 && (roles & ROLE_BIT(role)) != 0)
		return true;
	return vl_error_set(err, VL_PERMISSION_DENIED, "%s tokens cannot %s", role_proto_name(role), action);
}

bool
scope_check(PGconn *conn, const struct principal *p, const char *org, unsigned allow, const char *field,
    struct vl_error *err)
{
	bool within = false;

	switch (p->role) {
	case VLEDGER__V1__ROLE__ROLE_ADMIN:
		return true;
	case VLEDGER__V1__ROLE__ROLE_OFFICE:
		if ((allow & SCOPE_OFFICE) && !org_within(conn, org, p->organization_id, &within, err))
			return false;
		break;
	case VLEDGER__V1__ROLE__ROLE_TEAM_LEADER:
		within = (allow & SCOPE_TEAM_LEADER) && strcmp(org, p->organization_id) == 0;
		break;
	default:
		break;
	}
	if (!within)
		return vl_error_set(err, VL_PERMISSION_DENIED, SCOPE_REFUSAL_FMT, field);
	return true;
}

bool
volunteer_scope_check(PGconn *conn, const struct principal *p, const char *volunteer_id, unsigned allow,
    const char *field, char org_out[64], struct vl_error *err)
{
	const char *params[1] = {volunteer_id};
	PGresult *res;
	bool ok = false;

	if (p->role == VLEDGER__V1__ROLE__ROLE_VOLUNTEER) {
		if ((allow & SCOPE_VOLUNTEER) == 0)
			return vl_error_set(err, VL_PERMISSION_DENIED, SCOPE_REFUSAL_FMT, field);
		if (strcmp(volunteer_id, p->volunteer_id) != 0)
			return vl_error_set(err, VL_PERMISSION_DENIED, "%s: a volunteer's token acts for that volunteer only",
			    field);
	}
	res = PQexecParams(conn, "SELECT organization_id FROM volunteers WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, field, err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "%s: no such volunteer", field);
		goto out;
	}
	/* The volunteer's own token passed above; scope_check knows only
	 * organisations and would refuse it. */
	if (p->role != VLEDGER__V1__ROLE__ROLE_VOLUNTEER &&
	    !scope_check(conn, p, PQgetvalue(res, 0, 0), allow, field, err))
		goto out;
	if (org_out != NULL)
		snprintf(org_out, 64, "%s", PQgetvalue(res, 0, 0));
	ok = true;
out:
	PQclear(res);
	return ok;
}

void
timestamp_from_micros(const char *micros, int64_t *seconds, int32_t *nanos)
{
	long long us = strtoll(micros, NULL, 10);
	long long s = us / 1000000, rem = us % 1000000;

	if (rem < 0) {
		rem += 1000000;
		s--;
	}
	*seconds = s;
	*nanos = (int32_t)(rem * 1000);
}
