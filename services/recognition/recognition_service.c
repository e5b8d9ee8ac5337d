/*
 * recognition_service.c - RecognitionService: share grants (a volunteer's
 * consent), employers' lookups with signed VolunteerHoursAttestation
 * credentials, and the list of who looked. See recognition.h for the rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/commendations.h"
#include "vledger/encoding.h"
#include "vledger/idempotency.h"
#include "vledger/jcs.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/recognition.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/vc.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/recognition.pb-c.h"

/* Consent is managed by the volunteer's own token or an office (admin). */
#define ROLES_CONSENT (ROLES_OFFICE | ROLE_BIT(VLEDGER__V1__ROLE__ROLE_VOLUNTEER))
#define ROLES_EMPLOYER ROLE_BIT(VLEDGER__V1__ROLE__ROLE_EMPLOYER)

#define MICROS(col) "((extract(epoch FROM " col ") * 1000000)::bigint)::text"

/* Every column is text. The include scopes ("hours" ...) hold no blank. */
#define GRANT_COLUMNS \
	"g.id, g.volunteer_id, coalesce(g.employer_organization_id, ''), " MICROS("g.period_from") ", " \
	MICROS("g.period_to") ", " MICROS("g.expire_time") ", array_to_string(g.include, ' '), " \
	MICROS("g.create_time") ", " MICROS("g.revoke_time") ", g.created_by"
#define GRANT_COLUMN_COUNT 10

#define SCOPES_TEXT "SHARE_SCOPE_HOURS, SHARE_SCOPE_FEEDBACK, SHARE_SCOPE_COMMENDATIONS"
#define NOT_A_CODE "shareCode: not a share code (\"VLS-\" and 20 characters in groups of 4)"

/*
 * Share codes.
 */

static void
share_code_format(const uint8_t symbols[SHARE_CODE_SYMBOLS], char out[SHARE_CODE_LEN + 1])
{
	size_t i, o = strlen(SHARE_CODE_PREFIX);

	memcpy(out, SHARE_CODE_PREFIX, o);
	for (i = 0; i < SHARE_CODE_SYMBOLS; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = crockford32_alphabet[symbols[i]];
	}
	out[o] = '\0';
}

bool
share_code_normalize(const char *in, char out[SHARE_CODE_LEN + 1])
{
	uint8_t symbols[SHARE_CODE_SYMBOLS];
	size_t n = 0;
	const char *p;
	int v;
	bool ok = false;

	/* Room for the code with a blank between every symbol, no more. */
	if (strnlen(in, 3 * SHARE_CODE_LEN) >= 3 * SHARE_CODE_LEN || strncasecmp(in, "VLS", 3) != 0)
		return false;
	for (p = in + 3; *p != '\0'; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (n == SHARE_CODE_SYMBOLS || (v = crockford32_value(*p)) < 0)
			goto out;
		symbols[n++] = (uint8_t)v;
	}
	if (n != SHARE_CODE_SYMBOLS)
		goto out;
	share_code_format(symbols, out);
	ok = true;
out:
	OPENSSL_cleanse(symbols, sizeof(symbols));
	return ok;
}

/* A new code from 100 random bits, and the SHA-256 that is stored. Wipe
 * `out` (OPENSSL_cleanse) when done. */
static void
share_code_new(char out[SHARE_CODE_LEN + 1], uint8_t hash[32])
{
	uint8_t raw[13], symbols[SHARE_CODE_SYMBOLS];
	size_t i, bit;
	unsigned window;

	random_bytes(raw, sizeof(raw));
	/* Symbol i is bits 5i..5i+4 (most significant first) of the first
	 * 100 of the 104 random bits, read from a 16-bit window. */
	for (i = 0; i < SHARE_CODE_SYMBOLS; i++) {
		bit = i * 5;
		window = (unsigned)raw[bit / 8] << 8 | raw[bit / 8 + 1];
		symbols[i] = (uint8_t)((window >> (11 - bit % 8)) & 0x1f);
	}
	share_code_format(symbols, out);
	SHA256((const uint8_t *)out, SHARE_CODE_LEN, hash);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(symbols, sizeof(symbols));
}

/*
 * Grants as messages.
 */

/* Indexed by ShareScope. */
static const char *const scope_names[] = {
	[VLEDGER__V1__SHARE_SCOPE__SHARE_SCOPE_HOURS] = "hours",
	[VLEDGER__V1__SHARE_SCOPE__SHARE_SCOPE_FEEDBACK] = "feedback",
	[VLEDGER__V1__SHARE_SCOPE__SHARE_SCOPE_COMMENDATIONS] = "commendations",
};
#define SCOPE_COUNT (sizeof(scope_names) / sizeof(scope_names[0]))

static const char *
scope_db_name(int scope)
{
	if (scope <= 0 || (size_t)scope >= SCOPE_COUNT)
		return NULL;
	return scope_names[scope];
}

/* The scope named by the `len` bytes at `name`; 0 when unknown. */
static int
scope_from_db(const char *name, size_t len)
{
	size_t i;

	for (i = 1; i < SCOPE_COUNT; i++)
		if (strlen(scope_names[i]) == len && strncmp(scope_names[i], name, len) == 0)
			return (int)i;
	return 0;
}

/* A ShareGrant message with room for its timestamps and scopes. */
struct grant_view {
	Vledger__V1__ShareGrant grant;
	Google__Protobuf__Timestamp from, to, expire, create, revoke;
	Vledger__V1__ShareScope include[SCOPE_COUNT];
};

/* `t` from the micros column `col`, or NULL when the column is NULL. */
static Google__Protobuf__Timestamp *
timestamp_column(const PGresult *res, int row, int col, Google__Protobuf__Timestamp *t)
{
	google__protobuf__timestamp__init(t);
	if (PQgetisnull(res, row, col))
		return NULL;
	timestamp_from_micros(PQgetvalue(res, row, col), &t->seconds, &t->nanos);
	return t;
}

/* Fills `v` from row `row` selected with GRANT_COLUMNS (first); strings
 * point into res. */
static void
grant_from_row(const PGresult *res, int row, struct grant_view *v)
{
	Vledger__V1__ShareGrant *g = &v->grant;
	const char *p;
	size_t len, n = 0;
	int scope;

	vledger__v1__share_grant__init(g);
	g->id = PQgetvalue(res, row, 0);
	g->volunteer_id = PQgetvalue(res, row, 1);
	g->employer_organization_id = PQgetvalue(res, row, 2);
	g->from = timestamp_column(res, row, 3, &v->from);
	g->to = timestamp_column(res, row, 4, &v->to);
	g->expire_time = timestamp_column(res, row, 5, &v->expire);
	for (p = PQgetvalue(res, row, 6); *p != '\0' && n < SCOPE_COUNT; p += len + (p[len] == ' ')) {
		len = strcspn(p, " ");
		if ((scope = scope_from_db(p, len)) != 0)
			v->include[n++] = (Vledger__V1__ShareScope)scope;
	}
	g->n_include = n;
	g->include = v->include;
	g->create_time = timestamp_column(res, row, 7, &v->create);
	g->revoke_time = timestamp_column(res, row, 8, &v->revoke);
	g->created_by = PQgetvalue(res, row, 9);
}

/* Views of every row of `res` (selected with GRANT_COLUMNS first) for a
 * repeated field; free both arrays. */
static void
grant_views(const PGresult *res, int n, struct grant_view **views, Vledger__V1__ShareGrant ***ptrs)
{
	int i;

	*views = xcalloc((size_t)n + 1, sizeof(**views));
	*ptrs = xcalloc((size_t)n + 1, sizeof(**ptrs));
	for (i = 0; i < n; i++) {
		grant_from_row(res, i, &(*views)[i]);
		(*ptrs)[i] = &(*views)[i].grant;
	}
}

/* A timestamp to the microsecond, as PostgreSQL keeps it, so that the
 * entry and the stored row state the same instant. */
static void
timestamp_micro_format(const Google__Protobuf__Timestamp *t, char buf[40])
{
	codec_timestamp_format(t->seconds, t->nanos / 1000 * 1000, buf);
}

/*
 * Checks shared by the handlers.
 */

/* volunteerId is required; a volunteer's token names its own volunteer
 * (checked again in the job by volunteer_scope_check, which this only
 * brings ahead of the other checks). */
static bool
volunteer_field_valid(const struct rpc_call *call, const char *volunteer_id, struct vl_error *err)
{
	if (volunteer_id[0] == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "volunteerId: required");
	if (call->principal.role == VLEDGER__V1__ROLE__ROLE_VOLUNTEER && strcmp(volunteer_id,
	    call->principal.volunteer_id) != 0)
		return vl_error_set(err, VL_PERMISSION_DENIED, "volunteerId: a volunteer's token acts for that volunteer"
		    " only");
	return true;
}

static bool
nanos_valid(const char *field, const Google__Protobuf__Timestamp *t, struct vl_error *err)
{
	if (t->nanos < 0 || t->nanos > 999999999)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: nanos out of range", field);
	return true;
}

/* An EMPLOYER organisation. */
static bool
employer_check(PGconn *conn, const char *org, struct vl_error *err)
{
	const char *params[1] = {org};
	PGresult *res;
	bool ok = false;

	res = PQexecParams(conn, "SELECT kind FROM organizations WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "employerOrganizationId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "employerOrganizationId: no such organization");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "employer") != 0) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "employerOrganizationId: a %s is not an employer (want an"
		    " EMPLOYER organization, or none for any employer)",
		    org_kind_proto_name(org_kind_from_db(PQgetvalue(res, 0, 0))));
		goto out;
	}
	ok = true;
out:
	PQclear(res);
	return ok;
}

/*
 * CreateShareGrant.
 */

static bool
create_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__CreateShareGrantRequest *req = (const void *)call->request;
	Vledger__V1__CreateShareGrantResponse out = VLEDGER__V1__CREATE_SHARE_GRANT_RESPONSE__INIT;
	struct grant_view view;
	struct log_record record;
	char id[32], org[64], code[SHARE_CODE_LEN + 1], from[40], to[40], expire[40], leaf[24];
	char *include_text = NULL;
	uint8_t hash[32], *stored = NULL;
	size_t stored_len, i;
	const char *params[10];
	int lengths[10] = {0}, formats[10] = {0};
	bool employer = req->employer_organization_id[0] != '\0';
	json_t *grant, *include;
	PGresult *res = NULL;
	bool ok = false;

	memset(&record, 0, sizeof(record));
	memset(code, 0, sizeof(code));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	if (!volunteer_scope_check(conn, &call->principal, req->volunteer_id, SCOPE_OFFICE | SCOPE_VOLUNTEER,
	    "volunteerId", org, err) ||
	    (employer && !employer_check(conn, req->employer_organization_id, err)))
		goto out;

	timestamp_micro_format(req->from, from);
	timestamp_micro_format(req->to, to);
	timestamp_micro_format(req->expire_time, expire);
	include = json_array();
	for (i = 0; i < req->n_include; i++)
		json_array_append_new(include, json_string(scope_db_name(req->include[i])));
	include_text = json_dumps(include, JSON_COMPACT);
	if (include_text == NULL)
		fatalx("out of memory");
	random_id("shg_", id, sizeof(id));
	share_code_new(code, hash);

	/* The entry names the grant by its id: never the code or its hash. */
	grant = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", id, "volunteerId", req->volunteer_id, "from", from,
	    "to", to, "expireTime", expire, "include", include);
	if (employer)
		json_object_set_new(grant, "employerOrganizationId", json_string(req->employer_organization_id));
	if (!log_record_append_about(conn, call, "share_granted", json_pack("{s:o}", "grant", grant), req->volunteer_id,
	    org, &record, err))
		goto out;
	snprintf(leaf, sizeof(leaf), "%llu", (unsigned long long)record.receipt.leaf_index);
	params[0] = id;
	params[1] = (const char *)hash;
	lengths[1] = 32;
	formats[1] = 1;
	params[2] = req->volunteer_id;
	params[3] = employer ? req->employer_organization_id : NULL;
	params[4] = from;
	params[5] = to;
	params[6] = expire;
	params[7] = include_text;
	params[8] = call->principal.token_id;
	params[9] = leaf;
	res = PQexecParams(conn,
	    "INSERT INTO share_grants AS g (id, code_hash, volunteer_id, employer_organization_id, period_from, period_to,"
	    " expire_time, include, created_by, leaf_index)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, ARRAY(SELECT json_array_elements_text($8::json)), $9, $10)"
	    " RETURNING " GRANT_COLUMNS, 10, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "share grant", err);
		goto out;
	}
	grant_from_row(res, 0, &view);
	out.grant = &view.grant;
	out.receipt = &record.message;
	/* Kept without the code, which is shown once: a retry gets the grant. */
	codec_encode_binary(&out.base, &stored, &stored_len);
	if (!idempotency_record(conn, call, req->idempotency_key, stored, stored_len, err))
		goto out;
	out.share_code = code;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	OPENSSL_cleanse(code, sizeof(code));
	log_record_release(&record);
	free(include_text);
	free(stored);
	PQclear(res);
	return ok;
}

static void
create_share_grant(struct rpc_call *call)
{
	const Vledger__V1__CreateShareGrantRequest *req = (const void *)call->request;
	int64_t now = (int64_t)time(NULL);
	struct vl_error err;
	size_t i, j;

	if (!role_may(call, ROLES_CONSENT, "create share grants", &err) ||
	    !idempotency_key_valid(req->idempotency_key, &err) ||
	    !volunteer_field_valid(call, req->volunteer_id, &err) ||
	    !records_timestamp_valid("from", req->from, &err) ||
	    !records_timestamp_valid("to", req->to, &err))
		goto fail;
	if (req->to->seconds < req->from->seconds ||
	    (req->to->seconds == req->from->seconds && req->to->nanos <= req->from->nanos)) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "to: must be after from");
		goto fail;
	}
	if (req->expire_time == NULL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "expireTime: required (at most %d days ahead)",
		    SHARE_EXPIRY_MAX_DAYS);
		goto fail;
	}
	if (!nanos_valid("expireTime", req->expire_time, &err))
		goto fail;
	if (req->expire_time->seconds <= now) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "expireTime: must be in the future");
		goto fail;
	}
	if (req->expire_time->seconds > now + SHARE_EXPIRY_MAX_DAYS * 86400LL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "expireTime: at most %d days ahead; make a new grant later",
		    SHARE_EXPIRY_MAX_DAYS);
		goto fail;
	}
	if (req->n_include == 0) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "include: required (one or more of " SCOPES_TEXT ")");
		goto fail;
	}
	for (i = 0; i < req->n_include; i++) {
		if (scope_db_name(req->include[i]) == NULL) {
			vl_error_set(&err, VL_INVALID_ARGUMENT, "include[%zu]: unknown scope (one of " SCOPES_TEXT ")", i);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (req->include[i] == req->include[j]) {
				vl_error_set(&err, VL_INVALID_ARGUMENT, "include[%zu]: repeats include[%zu]", i, j);
				goto fail;
			}
	}
	rpc_run_job(call, create_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/*
 * RevokeShareGrant.
 */

static bool
revoke_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__RevokeShareGrantRequest *req = (const void *)call->request;
	Vledger__V1__RevokeShareGrantResponse out = VLEDGER__V1__REVOKE_SHARE_GRANT_RESPONSE__INIT;
	struct grant_view view;
	struct log_record record;
	char volunteer[64], org[64], leaf[24];
	const char *params[3] = {req->grant_id, call->principal.token_id, leaf};
	PGresult *res;
	bool ok = false, active;

	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	/* FOR UPDATE: a lookup holding the grant (FOR SHARE) finishes first,
	 * and none starts until this commits. */
	res = PQexecParams(conn, "SELECT volunteer_id, revoke_time IS NULL FROM share_grants WHERE id = $1 FOR UPDATE",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "grantId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "grantId: no such share grant");
		goto out;
	}
	snprintf(volunteer, sizeof(volunteer), "%s", PQgetvalue(res, 0, 0));
	active = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	res = NULL;
	if (!volunteer_scope_check(conn, &call->principal, volunteer, SCOPE_OFFICE | SCOPE_VOLUNTEER, "grantId", org,
	    err))
		goto out;
	/* Only a change is a fact: revoking a revoked grant records nothing. */
	if (active) {
		if (!log_record_append_about(conn, call, "share_revoked", json_pack("{s:{s:s}}", "grant", "id",
		    req->grant_id), volunteer, org, &record, err))
			goto out;
		snprintf(leaf, sizeof(leaf), "%llu", (unsigned long long)record.receipt.leaf_index);
		res = PQexecParams(conn, "UPDATE share_grants AS g SET revoke_time = now(), revoked_by = $2,"
		    " revoke_leaf_index = $3 WHERE id = $1 RETURNING " GRANT_COLUMNS, 3, NULL, params, NULL, NULL, 0);
		out.receipt = &record.message;
	} else {
		res = PQexecParams(conn, "SELECT " GRANT_COLUMNS " FROM share_grants g WHERE g.id = $1", 1, NULL, params,
		    NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "grantId", err);
		goto out;
	}
	grant_from_row(res, 0, &view);
	out.grant = &view.grant;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	PQclear(res);
	return ok;
}

static void
revoke_share_grant(struct rpc_call *call)
{
	const Vledger__V1__RevokeShareGrantRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_CONSENT, "revoke share grants", &err) ||
	    !idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->grant_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "grantId: required");
		goto fail;
	}
	rpc_run_job(call, revoke_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/*
 * ListShareGrants, ListAccesses: newest first, pages cut by seq.
 */

struct list_ctx {
	long long before;  /* seq of the last row of the previous page; -1: none */
	int limit;
};

/* The common checks of the two list handlers; on success *out is the
 * job's context (freed by the runner). */
static bool
list_request_valid(const struct rpc_call *call, const char *action, const char *volunteer_id, int32_t page_size,
    const char *page_token, char tag, struct list_ctx **out, struct vl_error *err)
{
	struct list_ctx *ctx;

	if (!role_may(call, ROLES_CONSENT, action, err) || !volunteer_field_valid(call, volunteer_id, err))
		return false;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->before = -1;
	if (!page_size_valid(page_size, &ctx->limit, err) ||
	    (page_token[0] != '\0' && !page_token_decode(page_token, tag, &ctx->before, err))) {
		free(ctx);
		return false;
	}
	*out = ctx;
	return true;
}

static bool
list_grants_job(PGconn *conn, struct rpc_call *call, void *arg, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__ListShareGrantsRequest *req = (const void *)call->request;
	const struct list_ctx *ctx = arg;
	Vledger__V1__ListShareGrantsResponse out = VLEDGER__V1__LIST_SHARE_GRANTS_RESPONSE__INIT;
	struct grant_view *views;
	Vledger__V1__ShareGrant **ptrs;
	char before[24], limit[16], *next = NULL;
	const char *params[3];
	PGresult *res;
	int n;

	if (!volunteer_scope_check(conn, &call->principal, req->volunteer_id, SCOPE_OFFICE | SCOPE_VOLUNTEER,
	    "volunteerId", NULL, err))
		return false;
	snprintf(before, sizeof(before), "%lld", ctx->before);
	snprintf(limit, sizeof(limit), "%d", ctx->limit + 1);
	params[0] = req->volunteer_id;
	params[1] = ctx->before >= 0 ? before : NULL;
	params[2] = limit;
	res = PQexecParams(conn, "SELECT " GRANT_COLUMNS ", g.seq::text FROM share_grants g"
	    " WHERE g.volunteer_id = $1 AND ($2::bigint IS NULL OR g.seq < $2) ORDER BY g.seq DESC LIMIT $3",
	    3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "share grants", err);
		PQclear(res);
		return false;
	}
	n = PQntuples(res);
	if (n > ctx->limit) {
		n = ctx->limit;
		next = page_token_encode('g', strtoll(PQgetvalue(res, n - 1, GRANT_COLUMN_COUNT), NULL, 10));
		out.next_page_token = next;
	}
	grant_views(res, n, &views, &ptrs);
	out.n_grants = (size_t)n;
	out.grants = ptrs;
	codec_encode_binary(&out.base, response, response_len);
	free(views);
	free(ptrs);
	free(next);
	PQclear(res);
	return true;
}

static void
list_share_grants(struct rpc_call *call)
{
	const Vledger__V1__ListShareGrantsRequest *req = (const void *)call->request;
	struct list_ctx *ctx;
	struct vl_error err;

	if (!list_request_valid(call, "list share grants", req->volunteer_id, req->page_size, req->page_token, 'g',
	    &ctx, &err)) {
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, list_grants_job, ctx);
}

static bool
list_accesses_job(PGconn *conn, struct rpc_call *call, void *arg, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__ListAccessesRequest *req = (const void *)call->request;
	const struct list_ctx *ctx = arg;
	Vledger__V1__ListAccessesResponse out = VLEDGER__V1__LIST_ACCESSES_RESPONSE__INIT;
	Vledger__V1__Access *items, **ptrs;
	Google__Protobuf__Timestamp *times;
	char before[24], limit[16], *next = NULL;
	const char *params[3];
	PGresult *res;
	int i, n;

	if (!volunteer_scope_check(conn, &call->principal, req->volunteer_id, SCOPE_OFFICE | SCOPE_VOLUNTEER,
	    "volunteerId", NULL, err))
		return false;
	snprintf(before, sizeof(before), "%lld", ctx->before);
	snprintf(limit, sizeof(limit), "%d", ctx->limit + 1);
	params[0] = req->volunteer_id;
	params[1] = ctx->before >= 0 ? before : NULL;
	params[2] = limit;
	res = PQexecParams(conn, "SELECT a.grant_id, a.employer_organization_id, o.name, " MICROS("a.access_time")
	    ", a.token_id, a.leaf_index::text, a.seq::text"
	    " FROM share_accesses a JOIN organizations o ON o.id = a.employer_organization_id"
	    " WHERE a.volunteer_id = $1 AND ($2::bigint IS NULL OR a.seq < $2) ORDER BY a.seq DESC LIMIT $3",
	    3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "accesses", err);
		PQclear(res);
		return false;
	}
	n = PQntuples(res);
	if (n > ctx->limit) {
		n = ctx->limit;
		next = page_token_encode('a', strtoll(PQgetvalue(res, n - 1, 6), NULL, 10));
		out.next_page_token = next;
	}
	items = xcalloc((size_t)n + 1, sizeof(*items));
	ptrs = xcalloc((size_t)n + 1, sizeof(*ptrs));
	times = xcalloc((size_t)n + 1, sizeof(*times));
	for (i = 0; i < n; i++) {
		vledger__v1__access__init(&items[i]);
		items[i].grant_id = PQgetvalue(res, i, 0);
		items[i].employer_organization_id = PQgetvalue(res, i, 1);
		items[i].employer_name = PQgetvalue(res, i, 2);
		items[i].access_time = timestamp_column(res, i, 3, &times[i]);
		items[i].token_id = PQgetvalue(res, i, 4);
		items[i].leaf_index = strtoull(PQgetvalue(res, i, 5), NULL, 10);
		ptrs[i] = &items[i];
	}
	out.n_accesses = (size_t)n;
	out.accesses = ptrs;
	codec_encode_binary(&out.base, response, response_len);
	free(items);
	free(ptrs);
	free(times);
	free(next);
	PQclear(res);
	return true;
}

static void
list_accesses(struct rpc_call *call)
{
	const Vledger__V1__ListAccessesRequest *req = (const void *)call->request;
	struct list_ctx *ctx;
	struct vl_error err;

	if (!list_request_valid(call, "list accesses", req->volunteer_id, req->page_size, req->page_token, 'a', &ctx,
	    &err)) {
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, list_accesses_job, ctx);
}

/*
 * VerifyVolunteerHours and its batch.
 */

/* One clock for a whole job: the transaction's time, which the expiry
 * check (expire_time > now()) also uses. */
struct verify_clock {
	char now[40];    /* validFrom and the proof's created */
	char until[40];  /* validUntil */
};

static bool
verify_clock_load(PGconn *conn, struct verify_clock *clock, struct vl_error *err)
{
	PGresult *res = PQexec(conn, "SELECT (extract(epoch FROM now()))::bigint");
	int64_t now;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "clock", err);
		PQclear(res);
		return false;
	}
	now = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	codec_timestamp_format(now, 0, clock->now);
	codec_timestamp_format(now + SHARE_ATTESTATION_HOURS * 3600LL, 0, clock->until);
	return true;
}

/* The "hours" part: the totals, by category and by organisation (with the
 * organisations' names, which are public like the tree). NULL on failure. */
static json_t *
hours_part(PGconn *conn, const Vledger__V1__VolunteerSummary *s, struct vl_error *err)
{
	json_t *hours = NULL, *cats, *orgs, *ids;
	char *ids_text;
	const char *params[1], *name;
	PGresult *res;
	size_t i;
	int row;

	ids = json_array();
	for (i = 0; i < s->n_by_organization; i++)
		json_array_append_new(ids, json_string(s->by_organization[i]->organization_id));
	ids_text = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	if (ids_text == NULL)
		fatalx("out of memory");
	params[0] = ids_text;
	res = PQexecParams(conn, "SELECT id, name FROM organizations"
	    " WHERE id IN (SELECT json_array_elements_text($1::json))", 1, NULL, params, NULL, NULL, 0);
	free(ids_text);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organizations", err);
		PQclear(res);
		return NULL;
	}
	cats = json_array();
	for (i = 0; i < s->n_by_category; i++) {
		name = records_category_db_name(s->by_category[i]->category);
		json_array_append_new(cats, json_pack("{s:s, s:I}", "category", name != NULL ? name : "other", "minutes",
		    (json_int_t)s->by_category[i]->minutes));
	}
	orgs = json_array();
	for (i = 0; i < s->n_by_organization; i++) {
		name = "";
		for (row = 0; row < PQntuples(res); row++)
			if (strcmp(PQgetvalue(res, row, 0), s->by_organization[i]->organization_id) == 0)
				name = PQgetvalue(res, row, 1);
		json_array_append_new(orgs, json_pack("{s:s, s:s, s:I}", "organizationId",
		    s->by_organization[i]->organization_id, "name", name, "minutes",
		    (json_int_t)s->by_organization[i]->minutes));
	}
	PQclear(res);
	hours = json_pack("{s:I, s:I, s:I, s:i, s:o, s:o}", "totalMinutes", (json_int_t)s->total_minutes,
	    "measuredMinutes", (json_int_t)s->measured_minutes, "enteredMinutes", (json_int_t)s->entered_minutes,
	    "shiftCount", (int)s->shift_count, "byCategory", cats, "byOrganization", orgs);
	if (hours == NULL)
		fatalx("out of memory");
	return hours;
}

/* The "feedback" part. The average is the string SQL rounded ("4.50"):
 * JCS documents hold no floating-point numbers. */
static json_t *
feedback_part(const struct records_summary *sum)
{
	json_t *part = json_pack("{s:i}", "count", (int)sum->summary.feedback_count);

	if (sum->summary.feedback_count > 0)
		json_object_set_new(part, "averageRating", json_string(sum->average_rating_2dp));
	return part;
}

static json_t *
commendations_part(const struct records_summary *sum)
{
	json_t *list = json_array();
	const Vledger__V1__Commendation *c;
	const char *level;
	char when[40];
	size_t i;

	for (i = 0; i < sum->commendations.count; i++) {
		c = sum->commendations.ptrs[i];
		level = commendation_level_db_name(c->level);
		codec_timestamp_format(c->award_time->seconds, c->award_time->nanos, when);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", c->id, "title", c->title,
		    "level", level != NULL ? level : "unknown", "organizationId", c->organization_id, "awardTime", when));
	}
	return list;
}

/* The unsigned VolunteerHoursAttestation for grant `g`: only what it
 * includes, figures for its period (shifts starting in [from, to)). NULL
 * on failure. The caller owns the document. */
static json_t *
attestation_build(PGconn *conn, const struct rpc_call *call, const Vledger__V1__ShareGrant *g,
    const struct verify_clock *clock, struct vl_error *err)
{
	struct records_summary sum;
	char from[40], to[40], *subject_id;
	json_t *doc = NULL, *subject, *part;
	size_t i;

	codec_timestamp_format(g->from->seconds, g->from->nanos, from);
	codec_timestamp_format(g->to->seconds, g->to->nanos, to);
	if (!records_summary_load(conn, call->app->config, g->volunteer_id, from, to, &sum, err))
		return NULL;
	subject_id = xasprintf("urn:vledger:volunteer:%s", g->volunteer_id);
	subject = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", subject_id, "volunteerId", g->volunteer_id, "period",
	    "from", from, "to", to);
	free(subject_id);
	for (i = 0; i < g->n_include; i++) {
		switch (g->include[i]) {
		case VLEDGER__V1__SHARE_SCOPE__SHARE_SCOPE_HOURS:
			if ((part = hours_part(conn, &sum.summary, err)) == NULL)
				goto out;
			json_object_set_new(subject, "hours", part);
			break;
		case VLEDGER__V1__SHARE_SCOPE__SHARE_SCOPE_FEEDBACK:
			json_object_set_new(subject, "feedback", feedback_part(&sum));
			break;
		case VLEDGER__V1__SHARE_SCOPE__SHARE_SCOPE_COMMENDATIONS:
			json_object_set_new(subject, "commendations", commendations_part(&sum));
			break;
		default:
			break;
		}
	}
	doc = json_pack("{s:[s], s:[s, s], s:{s:s, s:s}, s:s, s:s, s:O}",
	    "@context", "https://www.w3.org/ns/credentials/v2",
	    "type", "VerifiableCredential", "VolunteerHoursAttestation",
	    "issuer", "id", vc_signer_did(call->app->credentials), "name", "vledger",
	    "validFrom", clock->now, "validUntil", clock->until,
	    "credentialSubject", subject);
	if (doc == NULL)
		fatalx("out of memory");
out:
	json_decref(subject);
	records_summary_release(&sum);
	return doc;
}

enum verify_outcome {
	VERIFY_OK,
	VERIFY_REFUSED,  /* err: the one answer for every code that does not open a grant */
	VERIFY_FAILED,   /* err: the database or signing failed; the transaction is lost */
};

struct verify_result {
	char *attestation;         /* JSON text, malloc'd */
	struct log_record record;  /* the share_accessed entry */
};

static void
verify_result_release(struct verify_result *r)
{
	free(r->attestation);
	r->attestation = NULL;
	log_record_release(&r->record);
}

/* Looks up the canonical code `code` for the calling employer. On
 * VERIFY_OK, `out` holds the signed attestation and the entry (release it
 * with verify_result_release() whatever the outcome). A refusal runs no
 * failing statement, so a batch carries on in the same transaction. */
static enum verify_outcome
verify_one(PGconn *conn, const struct rpc_call *call, const char *code, const struct verify_clock *clock,
    struct verify_result *out, struct vl_error *err)
{
	const struct principal *p = &call->principal;
	struct grant_view view;
	uint8_t hash[32], digest[32];
	char leaf[24], volunteer_org[64], digest_hex[65], *canonical = NULL;
	size_t canonical_len;
	const char *params[5];
	int lengths[2] = {32, 0}, formats[2] = {1, 0};
	json_t *doc = NULL;
	PGresult *res, *ins = NULL;
	enum verify_outcome outcome = VERIFY_FAILED;

	memset(out, 0, sizeof(*out));
	SHA256((const uint8_t *)code, SHARE_CODE_LEN, hash);
	params[0] = (const char *)hash;
	params[1] = p->organization_id;
	/* FOR SHARE: a revocation (FOR UPDATE) waits for this lookup, and a
	 * lookup waiting for a revocation sees the grant revoked. */
	res = PQexecParams(conn, "SELECT " GRANT_COLUMNS ", v.organization_id"
	    " FROM share_grants g JOIN volunteers v ON v.id = g.volunteer_id"
	    " WHERE g.code_hash = $1 AND g.revoke_time IS NULL AND g.expire_time > now()"
	    "   AND (g.employer_organization_id IS NULL OR g.employer_organization_id = $2)"
	    " FOR SHARE OF g", 2, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "shareCode", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_PERMISSION_DENIED, "%s", SHARE_DENIED_MESSAGE);
		outcome = VERIFY_REFUSED;
		goto out;
	}
	grant_from_row(res, 0, &view);
	snprintf(volunteer_org, sizeof(volunteer_org), "%s", PQgetvalue(res, 0, GRANT_COLUMN_COUNT));
	if ((doc = attestation_build(conn, call, &view.grant, clock, err)) == NULL ||
	    !vc_sign(call->app->credentials, doc, clock->now, err))
		goto out;
	if ((out->attestation = json_dumps(doc, JSON_COMPACT)) == NULL)
		fatalx("out of memory");
	/* The entry: which grant, who looked (the actor's employer), and the
	 * SHA-256 of what they were given, so that the employer can show an
	 * attestation is the one logged. The hash reveals nothing: the
	 * document carries a signature nobody else can compute. */
	if (!jcs_serialize(doc, &canonical, &canonical_len, err))
		goto out;
	SHA256((const uint8_t *)canonical, canonical_len, digest);
	hex_encode(digest, sizeof(digest), digest_hex);
	if (!log_record_append_about(conn, call, "share_accessed", json_pack("{s:{s:s}, s:s, s:s}", "grant", "id",
	    view.grant.id, "employerOrganizationId", p->organization_id, "attestationSha256", digest_hex),
	    view.grant.volunteer_id, volunteer_org, &out->record, err))
		goto out;
	snprintf(leaf, sizeof(leaf), "%llu", (unsigned long long)out->record.receipt.leaf_index);
	params[0] = view.grant.id;
	params[1] = view.grant.volunteer_id;
	params[2] = p->organization_id;
	params[3] = p->token_id;
	params[4] = leaf;
	/* Kept apart from res, which holds the strings view.grant points into. */
	ins = PQexecParams(conn, "INSERT INTO share_accesses (grant_id, volunteer_id, employer_organization_id, token_id,"
	    " leaf_index) VALUES ($1, $2, $3, $4, $5)", 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(ins) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, ins, "access", err);
		goto out;
	}
	outcome = VERIFY_OK;
out:
	json_decref(doc);
	free(canonical);
	PQclear(ins);
	PQclear(res);
	OPENSSL_cleanse(hash, sizeof(hash));
	return outcome;
}

static bool
verify_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__VerifyVolunteerHoursRequest *req = (const void *)call->request;
	Vledger__V1__VerifyVolunteerHoursResponse out = VLEDGER__V1__VERIFY_VOLUNTEER_HOURS_RESPONSE__INIT;
	struct verify_result result;
	struct verify_clock clock;
	char code[SHARE_CODE_LEN + 1];
	bool ok = false;

	memset(&result, 0, sizeof(result));
	if (!share_code_normalize(req->share_code, code))
		return vl_error_set(err, VL_INVALID_ARGUMENT, NOT_A_CODE);
	if (verify_clock_load(conn, &clock, err) && verify_one(conn, call, code, &clock, &result, err) == VERIFY_OK) {
		out.attestation = result.attestation;
		out.receipt = &result.record.message;
		codec_encode_binary(&out.base, response, response_len);
		ok = true;
	}
	OPENSSL_cleanse(code, sizeof(code));
	verify_result_release(&result);
	return ok;
}

static void
verify_hours(struct rpc_call *call)
{
	const Vledger__V1__VerifyVolunteerHoursRequest *req = (const void *)call->request;
	char code[SHARE_CODE_LEN + 1];
	struct vl_error err;

	if (!role_may(call, ROLES_EMPLOYER, "verify volunteer hours", &err))
		goto fail;
	if (req->share_code[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "shareCode: required");
		goto fail;
	}
	if (!share_code_normalize(req->share_code, code)) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, NOT_A_CODE);
		goto fail;
	}
	OPENSSL_cleanse(code, sizeof(code));
	rpc_run_job(call, verify_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/* One result of a batch, with room for its message. */
struct batch_item {
	Vledger__V1__VolunteerHoursResult result;
	struct verify_result lookup;
	char message[sizeof(((struct vl_error *)0)->message)];
};

static bool
verify_batch_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__VerifyVolunteerHoursBatchRequest *req = (const void *)call->request;
	Vledger__V1__VerifyVolunteerHoursBatchResponse out = VLEDGER__V1__VERIFY_VOLUNTEER_HOURS_BATCH_RESPONSE__INIT;
	struct batch_item *items;
	Vledger__V1__VolunteerHoursResult **ptrs;
	struct verify_clock clock;
	struct vl_error one;
	char code[SHARE_CODE_LEN + 1];
	size_t i, n = req->n_share_codes;
	bool ok = false;

	if (!verify_clock_load(conn, &clock, err))
		return false;
	items = xcalloc(n + 1, sizeof(*items));
	ptrs = xcalloc(n + 1, sizeof(*ptrs));
	for (i = 0; i < n; i++) {
		Vledger__V1__VolunteerHoursResult *r = &items[i].result;

		vledger__v1__volunteer_hours_result__init(r);
		ptrs[i] = r;
		r->share_code = req->share_codes[i];
		if (!share_code_normalize(req->share_codes[i], code)) {
			vl_error_set(&one, VL_INVALID_ARGUMENT, NOT_A_CODE);
		} else {
			switch (verify_one(conn, call, code, &clock, &items[i].lookup, &one)) {
			case VERIFY_OK:
				r->attestation = items[i].lookup.attestation;
				r->leaf_index = items[i].lookup.record.receipt.leaf_index;
				continue;
			case VERIFY_REFUSED:
				break;
			case VERIFY_FAILED:
				*err = one;
				goto out;
			}
		}
		r->error_code = (char *)vl_code_name(one.code);
		snprintf(items[i].message, sizeof(items[i].message), "%s", one.message);
		r->error_message = items[i].message;
	}
	out.n_results = n;
	out.results = ptrs;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	OPENSSL_cleanse(code, sizeof(code));
	for (i = 0; i < n; i++)
		verify_result_release(&items[i].lookup);
	free(items);
	free(ptrs);
	return ok;
}

static void
verify_hours_batch(struct rpc_call *call)
{
	const Vledger__V1__VerifyVolunteerHoursBatchRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_EMPLOYER, "verify volunteer hours", &err))
		goto fail;
	if (req->n_share_codes == 0 || req->n_share_codes > SHARE_BATCH_MAX) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "shareCodes: 1 to %d codes (got %zu)", SHARE_BATCH_MAX,
		    req->n_share_codes);
		goto fail;
	}
	rpc_run_job(call, verify_batch_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

#define SVC "vledger.v1.RecognitionService"
const struct rpc_method recognition_methods[] = {
	{SVC, "CreateShareGrant", &vledger__v1__create_share_grant_request__descriptor,
	    &vledger__v1__create_share_grant_response__descriptor, RPC_TOKEN, create_share_grant, false},
	{SVC, "RevokeShareGrant", &vledger__v1__revoke_share_grant_request__descriptor,
	    &vledger__v1__revoke_share_grant_response__descriptor, RPC_TOKEN, revoke_share_grant, false},
	{SVC, "ListShareGrants", &vledger__v1__list_share_grants_request__descriptor,
	    &vledger__v1__list_share_grants_response__descriptor, RPC_TOKEN, list_share_grants, false},
	{SVC, "VerifyVolunteerHours", &vledger__v1__verify_volunteer_hours_request__descriptor,
	    &vledger__v1__verify_volunteer_hours_response__descriptor, RPC_TOKEN, verify_hours, false},
	{SVC, "VerifyVolunteerHoursBatch", &vledger__v1__verify_volunteer_hours_batch_request__descriptor,
	    &vledger__v1__verify_volunteer_hours_batch_response__descriptor, RPC_TOKEN, verify_hours_batch, false},
	{SVC, "ListAccesses", &vledger__v1__list_accesses_request__descriptor,
	    &vledger__v1__list_accesses_response__descriptor, RPC_TOKEN, list_accesses, false},
};
const size_t recognition_methods_count = sizeof(recognition_methods) / sizeof(recognition_methods[0]);
