/*
 * admin_tokens.c - CreateToken, RevokeToken, ListTokens and the bootstrap
 * admin token. Secrets are made in auth.c and only their hashes stored.
 */
#include <errno.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "vledger/admin.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/encoding.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/tlog.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"

#define TOKEN_COLUMNS \
	"id, coalesce(organization_id, ''), role, description," \
	" (extract(epoch FROM create_time) * 1000000)::bigint," \
	" (extract(epoch FROM expire_time) * 1000000)::bigint," \
	" (extract(epoch FROM revoke_time) * 1000000)::bigint, coalesce(created_by, ''), coalesce(volunteer_id, '')"

/* A Token message with room for its three timestamps. */
struct token_view {
	Vledger__V1__Token token;
	Google__Protobuf__Timestamp create_time, expire_time, revoke_time;
};

/* Fills `view` from row `row` of a result selected with TOKEN_COLUMNS; the
 * strings point into `res`. Never carries the secret or its hash. */
static void
token_from_row(const PGresult *res, int row, struct token_view *view)
{
	Vledger__V1__Token *t = &view->token;

	vledger__v1__token__init(t);
	google__protobuf__timestamp__init(&view->create_time);
	google__protobuf__timestamp__init(&view->expire_time);
	google__protobuf__timestamp__init(&view->revoke_time);
	t->id = PQgetvalue(res, row, 0);
	t->organization_id = PQgetvalue(res, row, 1);
	t->role = (Vledger__V1__Role)role_from_db(PQgetvalue(res, row, 2));
	t->description = PQgetvalue(res, row, 3);
	timestamp_from_micros(PQgetvalue(res, row, 4), &view->create_time.seconds, &view->create_time.nanos);
	t->create_time = &view->create_time;
	if (!PQgetisnull(res, row, 5)) {
		timestamp_from_micros(PQgetvalue(res, row, 5), &view->expire_time.seconds, &view->expire_time.nanos);
		t->expire_time = &view->expire_time;
	}
	if (!PQgetisnull(res, row, 6)) {
		timestamp_from_micros(PQgetvalue(res, row, 6), &view->revoke_time.seconds, &view->revoke_time.nanos);
		t->revoke_time = &view->revoke_time;
	}
	t->created_by = PQgetvalue(res, row, 7);
	t->volunteer_id = PQgetvalue(res, row, 8);
}

/* What the log says about a token: never its secret or hash. */
static json_t *
token_facts(const Vledger__V1__Token *t)
{
	json_t *token = json_pack("{s:s, s:s}", "id", t->id, "role", role_db_name(t->role));

	if (t->organization_id[0] != '\0')
		json_object_set_new(token, "organizationId", json_string(t->organization_id));
	/* The pseudonymous id only, as every entry about a volunteer. */
	if (t->volunteer_id[0] != '\0')
		json_object_set_new(token, "volunteerId", json_string(t->volunteer_id));
	if (t->expire_time != NULL) {
		char when[40];

		codec_timestamp_format(t->expire_time->seconds, t->expire_time->nanos, when);
		json_object_set_new(token, "expireTime", json_string(when));
	}
	return json_pack("{s:o}", "token", token);
}

/* The organisation kinds a role's token may belong to; 0-terminated. */
static const int *
kinds_for_role(int role)
{
	static const int office[] = {VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_DISTRICT,
	    VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_SUBDISTRICT,
	    VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_COMMUNITY, 0};
	static const int team[] = {VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_TEAM, 0};
	static const int employer[] = {VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_EMPLOYER, 0};
	static const int any[] = {VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_DISTRICT,
	    VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_SUBDISTRICT,
	    VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_COMMUNITY,
	    VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_TEAM,
	    VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_EMPLOYER, 0};

	switch (role) {
	case VLEDGER__V1__ROLE__ROLE_OFFICE:
		return office;
	case VLEDGER__V1__ROLE__ROLE_TEAM_LEADER:
		return team;
	case VLEDGER__V1__ROLE__ROLE_EMPLOYER:
		return employer;
	default:
		return any;
	}
}

/* For the office role: is `org` in the caller's subtree? Admins pass. */
static bool
require_scope(PGconn *conn, const struct principal *p, const char *org, const char *field, struct vl_error *err)
{
	bool within = false;

	if (p->role == VLEDGER__V1__ROLE__ROLE_ADMIN)
		return true;
	if (org[0] != '\0' && !org_within(conn, org, p->organization_id, &within, err))
		return false;
	if (!within)
		return vl_error_set(err, VL_PERMISSION_DENIED, "%s: outside the organization this token is scoped to",
		    field);
	return true;
}

/* A volunteer token's organisation is its volunteer's: the volunteer must
 * exist and be within the caller's reach, and an organisationId given must
 * be theirs. Sets org (64 bytes). */
static bool
volunteer_token_org(PGconn *conn, const struct rpc_call *call, const Vledger__V1__CreateTokenRequest *req, char *org,
    struct vl_error *err)
{
	const char *params[1] = {req->volunteer_id};
	PGresult *res;
	bool ok = false;

	res = PQexecParams(conn, "SELECT organization_id FROM volunteers WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "volunteerId: no such volunteer");
		goto out;
	}
	snprintf(org, 64, "%s", PQgetvalue(res, 0, 0));
	if (!require_scope(conn, &call->principal, org, "volunteerId", err))
		goto out;
	if (req->organization_id[0] != '\0' && strcmp(req->organization_id, org) != 0) {
		vl_error_set(err, VL_INVALID_ARGUMENT,
		    "organizationId: a ROLE_VOLUNTEER token belongs to its volunteer's organization (leave it empty)");
		goto out;
	}
	ok = true;
out:
	PQclear(res);
	return ok;
}

static bool
create_token_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__CreateTokenRequest *req = (const void *)call->request;
	Vledger__V1__CreateTokenResponse out = VLEDGER__V1__CREATE_TOKEN_RESPONSE__INIT;
	struct token_view view;
	struct log_record record;
	char id[32], expire[32], secret[AUTH_SECRET_SIZE], volunteer_org[64];
	uint8_t hash[32], *stored = NULL;
	size_t stored_len;
	const char *params[8];
	int lengths[8] = {0}, formats[8] = {0};
	bool volunteer = req->role == VLEDGER__V1__ROLE__ROLE_VOLUNTEER;
	const int *kinds;
	PGresult *res = NULL;
	bool ok = false;
	int kind, i;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;

	if (volunteer) {
		if (!volunteer_token_org(conn, call, req, volunteer_org, err))
			goto out;
	} else if (req->organization_id[0] != '\0') {
		params[0] = req->organization_id;
		res = PQexecParams(conn, "SELECT kind FROM organizations WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			store_error_from_result(conn, res, "organizationId", err);
			goto out;
		}
		if (PQntuples(res) == 0) {
			vl_error_set(err, VL_NOT_FOUND, "organizationId: no such organization");
			goto out;
		}
		kind = org_kind_from_db(PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
		if (!require_scope(conn, &call->principal, req->organization_id, "organizationId", err))
			goto out;
		kinds = kinds_for_role(req->role);
		for (i = 0; kinds[i] != 0 && kinds[i] != kind; i++)
			;
		if (kinds[i] == 0) {
			vl_error_set(err, VL_FAILED_PRECONDITION, "organizationId: a %s token cannot belong to a %s",
			    role_proto_name(req->role), org_kind_proto_name(kind));
			goto out;
		}
	}

	random_id("tok_", id, sizeof(id));
	auth_secret_new(secret, hash);
	params[0] = id;
	params[1] = (const char *)hash;
	lengths[1] = 32;
	formats[1] = 1;
	if (volunteer)
		params[2] = volunteer_org;
	else
		params[2] = req->organization_id[0] != '\0' ? req->organization_id : NULL;
	params[3] = role_db_name(req->role);
	params[4] = req->description;
	if (req->expire_time != NULL) {
		snprintf(expire, sizeof(expire), "%lld.%06d", (long long)req->expire_time->seconds,
		    req->expire_time->nanos / 1000);
		params[5] = expire;
	} else {
		params[5] = NULL;
	}
	params[6] = call->principal.token_id;
	params[7] = volunteer ? req->volunteer_id : NULL;
	res = PQexecParams(conn,
	    "INSERT INTO tokens (id, secret_hash, organization_id, role, description, expire_time, created_by,"
	    " volunteer_id) VALUES ($1, $2, $3, $4, $5, to_timestamp($6::double precision), $7, $8)"
	    " RETURNING " TOKEN_COLUMNS,
	    8, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "token", err);
		goto out;
	}
	token_from_row(res, 0, &view);
	out.token = &view.token;
	if (!log_record_append_about(conn, call, "token_created", token_facts(&view.token), NULL,
	    view.token.organization_id[0] != '\0' ? view.token.organization_id : NULL, &record, err))
		goto out;
	out.receipt = &record.message;
	/* The idempotency record keeps the answer without the secret: a
	 * secret is never stored. A retry gets the token, not the secret. */
	codec_encode_binary(&out.base, &stored, &stored_len);
	if (!idempotency_record(conn, call, req->idempotency_key, stored, stored_len, err))
		goto out;
	out.secret = secret;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	log_record_release(&record);
	OPENSSL_cleanse(secret, sizeof(secret));
	free(stored);
	PQclear(res);
	return ok;
}

void
admin_create_token(struct rpc_call *call)
{
	const Vledger__V1__CreateTokenRequest *req = (const void *)call->request;
	int caller = call->principal.role;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "create tokens", &err))
		goto fail;
	if (!idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (role_db_name(req->role) == NULL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "role: required (one of ROLE_ADMIN, ROLE_OFFICE, ROLE_TEAM_LEADER,"
		    " ROLE_EMPLOYER, ROLE_AUDITOR, ROLE_VOLUNTEER)");
		goto fail;
	}
	if (caller == VLEDGER__V1__ROLE__ROLE_OFFICE && req->role != VLEDGER__V1__ROLE__ROLE_OFFICE &&
	    req->role != VLEDGER__V1__ROLE__ROLE_TEAM_LEADER && req->role != VLEDGER__V1__ROLE__ROLE_VOLUNTEER) {
		vl_error_set(&err, VL_PERMISSION_DENIED, "role: an office token cannot create %s tokens",
		    role_proto_name(req->role));
		goto fail;
	}
	if (req->role == VLEDGER__V1__ROLE__ROLE_VOLUNTEER && req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required for a ROLE_VOLUNTEER token");
		goto fail;
	}
	if (req->role != VLEDGER__V1__ROLE__ROLE_VOLUNTEER && req->volunteer_id[0] != '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: only a ROLE_VOLUNTEER token is bound to a volunteer"
		    " (this is a %s token)", role_proto_name(req->role));
		goto fail;
	}
	/* A volunteer token takes its volunteer's organisation. */
	if (req->role != VLEDGER__V1__ROLE__ROLE_ADMIN && req->role != VLEDGER__V1__ROLE__ROLE_AUDITOR &&
	    req->role != VLEDGER__V1__ROLE__ROLE_VOLUNTEER && req->organization_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "organizationId: required for a %s token",
		    role_proto_name(req->role));
		goto fail;
	}
	if (req->role == VLEDGER__V1__ROLE__ROLE_ADMIN && req->organization_id[0] != '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "organizationId: an admin token belongs to no organization");
		goto fail;
	}
	if (strlen(req->description) > 500) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "description: at most 500 bytes");
		goto fail;
	}
	if (req->expire_time != NULL) {
		if (req->expire_time->nanos < 0 || req->expire_time->nanos > 999999999) {
			vl_error_set(&err, VL_INVALID_ARGUMENT, "expireTime: nanos out of range");
			goto fail;
		}
		if (req->expire_time->seconds <= (int64_t)time(NULL)) {
			vl_error_set(&err, VL_INVALID_ARGUMENT, "expireTime: must be in the future");
			goto fail;
		}
		if (req->expire_time->seconds > 253402300799LL) {
			vl_error_set(&err, VL_INVALID_ARGUMENT, "expireTime: after year 9999");
			goto fail;
		}
	}
	rpc_run_job(call, create_token_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

static bool
revoke_token_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__RevokeTokenRequest *req = (const void *)call->request;
	Vledger__V1__RevokeTokenResponse out = VLEDGER__V1__REVOKE_TOKEN_RESPONSE__INIT;
	struct token_view view;
	struct log_record record;
	const char *params[1] = {req->id};
	PGresult *res;
	bool ok = false, was_active;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	res = PQexecParams(conn, "SELECT coalesce(organization_id, ''), revoke_time IS NULL FROM tokens WHERE id = $1"
	    " FOR UPDATE", 1,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "id", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "id: no such token");
		goto out;
	}
	if (!require_scope(conn, &call->principal, PQgetvalue(res, 0, 0), "id", err))
		goto out;
	was_active = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	/* Revoking twice keeps the first revocation time. */
	res = PQexecParams(conn,
	    "UPDATE tokens SET revoke_time = coalesce(revoke_time, now()) WHERE id = $1 RETURNING " TOKEN_COLUMNS, 1,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "id", err);
		goto out;
	}
	token_from_row(res, 0, &view);
	out.token = &view.token;
	/* Only a change is a fact: revoking a revoked token records nothing. */
	if (was_active) {
		if (!log_record_append_about(conn, call, "token_revoked", json_pack("{s:{s:s}}", "token", "id", req->id),
		    NULL, view.token.organization_id[0] != '\0' ? view.token.organization_id : NULL, &record, err))
			goto out;
		out.receipt = &record.message;
	}
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	PQclear(res);
	return ok;
}

void
admin_revoke_token(struct rpc_call *call)
{
	const Vledger__V1__RevokeTokenRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "revoke tokens", &err))
		goto fail;
	if (!idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "id: required");
		goto fail;
	}
	rpc_run_job(call, revoke_token_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

struct list_ctx {
	long long after;
	int limit;
};

static bool
list_tokens_job(PGconn *conn, struct rpc_call *call, void *arg, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__ListTokensRequest *req = (const void *)call->request;
	const struct list_ctx *ctx = arg;
	const struct principal *p = &call->principal;
	Vledger__V1__ListTokensResponse out = VLEDGER__V1__LIST_TOKENS_RESPONSE__INIT;
	struct token_view *views;
	Vledger__V1__Token **ptrs;
	char after[24], limit[16], *next = NULL;
	const char *params[4];
	PGresult *res;
	int i, n;

	snprintf(after, sizeof(after), "%lld", ctx->after);
	snprintf(limit, sizeof(limit), "%d", ctx->limit + 1);
	params[0] = after;
	params[1] = limit;
	params[2] = req->organization_id[0] != '\0' ? req->organization_id : NULL;
	params[3] = p->role == VLEDGER__V1__ROLE__ROLE_ADMIN ? NULL : p->organization_id;
	res = PQexecParams(conn,
	    "SELECT " TOKEN_COLUMNS ", seq FROM tokens"
	    " WHERE seq > $1 AND ($3::text IS NULL OR organization_id = $3)"
	    "   AND ($4::text IS NULL OR (organization_id IS NOT NULL AND org_within(organization_id, $4)))"
	    " ORDER BY seq LIMIT $2",
	    4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "tokens", err);
		PQclear(res);
		return false;
	}
	n = PQntuples(res);
	if (n > ctx->limit) {
		n = ctx->limit;
		next = page_token_encode('t', strtoll(PQgetvalue(res, n - 1, 9), NULL, 10));
		out.next_page_token = next;
	}
	views = xcalloc((size_t)n, sizeof(*views));
	ptrs = xcalloc((size_t)n, sizeof(*ptrs));
	for (i = 0; i < n; i++) {
		token_from_row(res, i, &views[i]);
		ptrs[i] = &views[i].token;
	}
	out.n_tokens = (size_t)n;
	out.tokens = ptrs;
	codec_encode_binary(&out.base, response, response_len);
	free(views);
	free(ptrs);
	free(next);
	PQclear(res);
	return true;
}

void
admin_list_tokens(struct rpc_call *call)
{
	const Vledger__V1__ListTokensRequest *req = (const void *)call->request;
	struct list_ctx *ctx;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "list tokens", &err)) {
		rpc_fail(call, &err);
		return;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	if (!page_size_valid(req->page_size, &ctx->limit, &err) ||
	    (req->page_token[0] != '\0' && !page_token_decode(req->page_token, 't', &ctx->after, &err))) {
		free(ctx);
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, list_tokens_job, ctx);
}

/* Writes the secret to a temporary file (0600) and renames it into place,
 * so a crash never leaves a half-written admin.token. */
static bool
write_secret_file(const char *path, const char *secret, struct vl_error *err)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd;
	bool ok = false;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || dprintf(fd, "%s\n", secret) < 0 || fsync(fd) != 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ok = true;
out:
	free(tmp);
	return ok;
}

bool
admin_bootstrap_token(PGconn *conn, const struct tlog *log, const char *path, bool *created, struct vl_error *err)
{
	struct tlog_receipt receipt;
	json_t *facts;
	char id[32], secret[AUTH_SECRET_SIZE];
	uint8_t hash[32];
	const char *params[2];
	int lengths[2] = {0, 32}, formats[2] = {0, 1};
	PGresult *res;
	bool ok = false;

	*created = false;
	random_id("tok_", id, sizeof(id));
	auth_secret_new(secret, hash);
	params[0] = id;
	params[1] = (const char *)hash;
	/* The file is written before the row commits: if the write fails no
	 * token exists, and if the commit fails the file holds a dead secret
	 * that the next start replaces. */
	if (!store_exec(conn, "BEGIN", err))
		goto out;
	res = PQexecParams(conn,
	    "INSERT INTO tokens (id, secret_hash, role, description, bootstrap)"
	    " VALUES ($1, $2, 'admin', 'bootstrap admin token (admin.token)', true)"
	    " ON CONFLICT DO NOTHING",
	    2, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res, "bootstrap token", err);
		PQclear(res);
		PQclear(PQexec(conn, "ROLLBACK"));
		goto out;
	}
	*created = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (*created) {
		facts = json_pack("{s:{s:s, s:s}}", "token", "id", id, "role", "admin");
		ok = tlog_append(conn, log, "token_created", "vledgerd", facts, &receipt, err);
		json_decref(facts);
		tlog_receipt_free(&receipt);
		if (!ok) {
			*created = false;
			PQclear(PQexec(conn, "ROLLBACK"));
			goto out;
		}
		ok = false;
	}
	if (*created && !write_secret_file(path, secret, err)) {
		*created = false;
		PQclear(PQexec(conn, "ROLLBACK"));
		goto out;
	}
	if (!store_exec(conn, "COMMIT", err)) {
		*created = false;
		goto out;
	}
	ok = true;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return ok;
}
