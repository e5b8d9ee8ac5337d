/*
 * admin_organizations.c - CreateOrganization, GetOrganization,
 * ListOrganizations. Validation that needs no database happens on the loop
 * thread, in the handler; the rest runs in one transaction (rpc_run_job).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/admin.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/encoding.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"

#define ORG_COLUMNS \
	"id, name, kind, coalesce(parent_id, ''), (extract(epoch FROM create_time) * 1000000)::bigint"

/* Fills `org` (and `time`) from row `row` of a result selected with
 * ORG_COLUMNS. The strings point into `res`. */
static void
org_from_row(const PGresult *res, int row, Vledger__V1__Organization *org, Google__Protobuf__Timestamp *time)
{
	vledger__v1__organization__init(org);
	google__protobuf__timestamp__init(time);
	org->id = PQgetvalue(res, row, 0);
	org->name = PQgetvalue(res, row, 1);
	org->kind = (Vledger__V1__OrganizationKind)org_kind_from_db(PQgetvalue(res, row, 2));
	org->parent_id = PQgetvalue(res, row, 3);
	timestamp_from_micros(PQgetvalue(res, row, 4), &time->seconds, &time->nanos);
	org->create_time = time;
}

/* The kind a parent must have, or 0 when the kind has no parent. */
static int
required_parent_kind(int kind)
{
	switch (kind) {
	case VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_SUBDISTRICT:
		return VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_DISTRICT;
	case VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_COMMUNITY:
		return VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_SUBDISTRICT;
	case VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_TEAM:
		return VLEDGER__V1__ORGANIZATION_KIND__ORGANIZATION_KIND_COMMUNITY;
	default:
		return 0;
	}
}

static bool
name_valid(const char *name, struct vl_error *err)
{
	size_t chars = 0;
	const unsigned char *p;
	bool blank = true;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if ((*p & 0xC0) != 0x80)
			chars++;
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			blank = false;
		if (*p < 0x20 && *p != '\t')
			return vl_error_set(err, VL_INVALID_ARGUMENT, "name: control characters are not allowed");
	}
	if (blank)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "name: required");
	if (chars > 200)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "name: at most 200 characters");
	return true;
}

static bool
create_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__CreateOrganizationRequest *req = (const void *)call->request;
	Vledger__V1__CreateOrganizationResponse out = VLEDGER__V1__CREATE_ORGANIZATION_RESPONSE__INIT;
	Vledger__V1__Organization org;
	Google__Protobuf__Timestamp time;
	struct log_record record;
	json_t *facts;
	char id[32];
	const char *params[5];
	PGresult *res;
	bool ok = false, within;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;  /* a retry: the first answer, nothing written */

	if (req->parent_id[0] != '\0') {
		int want = required_parent_kind(req->kind), got;

		params[0] = req->parent_id;
		res = PQexecParams(conn, "SELECT kind FROM organizations WHERE id = $1 FOR SHARE", 1, NULL, params,
		    NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			store_error_from_result(conn, res, "parentId", err);
			PQclear(res);
			return false;
		}
		if (PQntuples(res) == 0) {
			PQclear(res);
			return vl_error_set(err, VL_NOT_FOUND, "parentId: no such organization");
		}
		got = org_kind_from_db(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (call->principal.role == VLEDGER__V1__ROLE__ROLE_OFFICE) {
			if (!org_within(conn, req->parent_id, call->principal.organization_id, &within, err))
				return false;
			if (!within)
				return vl_error_set(err, VL_PERMISSION_DENIED,
				    "parentId: outside the organization this token is scoped to");
		}
		if (got != want)
			return vl_error_set(err, VL_FAILED_PRECONDITION, "parentId: a %s must be under a %s, not a %s",
			    org_kind_proto_name(req->kind), org_kind_proto_name(want), org_kind_proto_name(got));
	}

	random_id("org_", id, sizeof(id));
	params[0] = id;
	params[1] = req->name;
	params[2] = org_kind_db_name(req->kind);
	params[3] = req->parent_id[0] != '\0' ? req->parent_id : NULL;
	params[4] = call->principal.token_id;
	res = PQexecParams(conn,
	    "INSERT INTO organizations (id, name, kind, parent_id, created_by) VALUES ($1, $2, $3, $4, $5)"
	    " RETURNING " ORG_COLUMNS,
	    5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organization", err);
		goto out;
	}
	org_from_row(res, 0, &org, &time);
	facts = json_pack("{s:{s:s, s:s, s:s}}", "organization", "id", org.id, "name", org.name, "kind",
	    org_kind_db_name(org.kind));
	if (org.parent_id[0] != '\0')
		json_object_set_new(json_object_get(facts, "organization"), "parentId", json_string(org.parent_id));
	if (!log_record_append_about(conn, call, "organization_registered", facts, NULL, org.id, &record, err))
		goto out_record;
	out.organization = &org;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out_record:
	log_record_release(&record);
out:
	PQclear(res);
	return ok;
}

static void
create_organization(struct rpc_call *call)
{
	const Vledger__V1__CreateOrganizationRequest *req = (const void *)call->request;
	int role = call->principal.role;
	int parent_kind;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "create organizations", &err))
		goto fail;
	if (!idempotency_key_valid(req->idempotency_key, &err) || !name_valid(req->name, &err))
		goto fail;
	if (org_kind_db_name(req->kind) == NULL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "kind: required (one of DISTRICT, SUBDISTRICT, COMMUNITY, TEAM, EMPLOYER)");
		goto fail;
	}
	parent_kind = required_parent_kind(req->kind);
	if (parent_kind == 0 && req->parent_id[0] != '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "parentId: a %s has no parent", org_kind_proto_name(req->kind));
		goto fail;
	}
	if (parent_kind != 0 && req->parent_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "parentId: required for a %s (its parent is a %s)",
		    org_kind_proto_name(req->kind), org_kind_proto_name(parent_kind));
		goto fail;
	}
	if (role == VLEDGER__V1__ROLE__ROLE_OFFICE && parent_kind == 0) {
		vl_error_set(&err, VL_PERMISSION_DENIED, "kind: only an admin token can create a %s",
		    org_kind_proto_name(req->kind));
		goto fail;
	}
	rpc_run_job(call, create_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/* May the caller read organisation `id`? */
static bool
may_read_org(PGconn *conn, const struct principal *p, const char *id, struct vl_error *err)
{
	bool within;

	switch (p->role) {
	case VLEDGER__V1__ROLE__ROLE_ADMIN:
	case VLEDGER__V1__ROLE__ROLE_AUDITOR:
		return true;
	case VLEDGER__V1__ROLE__ROLE_OFFICE:
		if (!org_within(conn, id, p->organization_id, &within, err))
			return false;
		break;
	default:
		within = strcmp(id, p->organization_id) == 0;
		break;
	}
	if (!within)
		return vl_error_set(err, VL_PERMISSION_DENIED, "id: outside the organization this token is scoped to");
	return true;
}

static bool
get_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetOrganizationRequest *req = (const void *)call->request;
	Vledger__V1__GetOrganizationResponse out = VLEDGER__V1__GET_ORGANIZATION_RESPONSE__INIT;
	Vledger__V1__Organization org;
	Google__Protobuf__Timestamp time;
	const char *params[1] = {req->id};
	PGresult *res;
	bool ok = false;

	res = PQexecParams(conn, "SELECT " ORG_COLUMNS " FROM organizations WHERE id = $1", 1, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organization", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "id: no such organization");
		goto out;
	}
	if (!may_read_org(conn, &call->principal, req->id, err))
		goto out;
	org_from_row(res, 0, &org, &time);
	out.organization = &org;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	PQclear(res);
	return ok;
}

static void
get_organization(struct rpc_call *call)
{
	const Vledger__V1__GetOrganizationRequest *req = (const void *)call->request;
	struct vl_error err;

	if (req->id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "id: required");
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, get_job, NULL);
}

struct list_ctx {
	long long after;  /* seq of the last row of the previous page */
	int limit;
};

static bool
list_job(PGconn *conn, struct rpc_call *call, void *arg, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__ListOrganizationsRequest *req = (const void *)call->request;
	const struct list_ctx *ctx = arg;
	const struct principal *p = &call->principal;
	Vledger__V1__ListOrganizationsResponse out = VLEDGER__V1__LIST_ORGANIZATIONS_RESPONSE__INIT;
	Vledger__V1__Organization *orgs = NULL, **ptrs = NULL;
	Google__Protobuf__Timestamp *times = NULL;
	char after[24], limit[16], *next = NULL;
	const char *params[5];
	const char *scope;
	PGresult *res;
	int i, n;

	/* scope: 'all', 'subtree' or 'own', decided by the caller's role. */
	switch (p->role) {
	case VLEDGER__V1__ROLE__ROLE_ADMIN:
	case VLEDGER__V1__ROLE__ROLE_AUDITOR:
		scope = "all";
		break;
	case VLEDGER__V1__ROLE__ROLE_OFFICE:
		scope = "subtree";
		break;
	default:
		scope = "own";
		break;
	}
	snprintf(after, sizeof(after), "%lld", ctx->after);
	snprintf(limit, sizeof(limit), "%d", ctx->limit + 1);
	params[0] = after;
	params[1] = limit;
	params[2] = req->parent_id[0] != '\0' ? req->parent_id : NULL;
	params[3] = scope;
	params[4] = p->organization_id;
	res = PQexecParams(conn,
	    "SELECT " ORG_COLUMNS ", seq FROM organizations"
	    " WHERE seq > $1 AND ($3::text IS NULL OR parent_id = $3)"
	    "   AND ($4 = 'all' OR ($4 = 'subtree' AND org_within(id, $5)) OR ($4 = 'own' AND id = $5))"
	    " ORDER BY seq LIMIT $2",
	    5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organizations", err);
		PQclear(res);
		return false;
	}
	n = PQntuples(res);
	if (n > ctx->limit) {
		n = ctx->limit;
		next = page_token_encode('o', strtoll(PQgetvalue(res, n - 1, 5), NULL, 10));
		out.next_page_token = next;
	}
	orgs = xcalloc((size_t)n, sizeof(*orgs));
	times = xcalloc((size_t)n, sizeof(*times));
	ptrs = xcalloc((size_t)n, sizeof(*ptrs));
	for (i = 0; i < n; i++) {
		org_from_row(res, i, &orgs[i], &times[i]);
		ptrs[i] = &orgs[i];
	}
	out.n_organizations = (size_t)n;
	out.organizations = ptrs;
	codec_encode_binary(&out.base, response, response_len);
	free(orgs);
	free(times);
	free(ptrs);
	free(next);
	PQclear(res);
	return true;
}

static void
list_organizations(struct rpc_call *call)
{
	const Vledger__V1__ListOrganizationsRequest *req = (const void *)call->request;
	struct list_ctx *ctx = xcalloc(1, sizeof(*ctx));
	struct vl_error err;

	if (!page_size_valid(req->page_size, &ctx->limit, &err) ||
	    (req->page_token[0] != '\0' && !page_token_decode(req->page_token, 'o', &ctx->after, &err))) {
		free(ctx);
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, list_job, ctx);
}

const struct rpc_method admin_methods[] = {
	{"vledger.v1.AdminService", "CreateOrganization", &vledger__v1__create_organization_request__descriptor,
	    &vledger__v1__create_organization_response__descriptor, RPC_TOKEN, create_organization, false},
	{"vledger.v1.AdminService", "GetOrganization", &vledger__v1__get_organization_request__descriptor,
	    &vledger__v1__get_organization_response__descriptor, RPC_TOKEN, get_organization, false},
	{"vledger.v1.AdminService", "ListOrganizations", &vledger__v1__list_organizations_request__descriptor,
	    &vledger__v1__list_organizations_response__descriptor, RPC_TOKEN, list_organizations, false},
	{"vledger.v1.AdminService", "CreateToken", &vledger__v1__create_token_request__descriptor,
	    &vledger__v1__create_token_response__descriptor, RPC_TOKEN, admin_create_token, false},
	{"vledger.v1.AdminService", "RevokeToken", &vledger__v1__revoke_token_request__descriptor,
	    &vledger__v1__revoke_token_response__descriptor, RPC_TOKEN, admin_revoke_token, false},
	{"vledger.v1.AdminService", "ListTokens", &vledger__v1__list_tokens_request__descriptor,
	    &vledger__v1__list_tokens_response__descriptor, RPC_TOKEN, admin_list_tokens, false},
};
const size_t admin_methods_count = sizeof(admin_methods) / sizeof(admin_methods[0]);
