/*
 * entries.c - ListEntries: the log entries about a volunteer, or about an
 * organisation and those below it, newest first. Pages are cut by leaf
 * index, which never changes once written, so paging is stable while new
 * entries are appended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/log.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/tlog.h"
#include "vledger/v1/admin.pb-c.h"

struct list_ctx {
	long long before;  /* leaf index of the last entry of the previous page; -1: none */
	int limit;
};

static bool
list_job(PGconn *conn, struct rpc_call *call, void *arg, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__ListEntriesRequest *req = (const void *)call->request;
	const struct list_ctx *ctx = arg;
	Vledger__V1__ListEntriesResponse out = VLEDGER__V1__LIST_ENTRIES_RESPONSE__INIT;
	Vledger__V1__ListedEntry *items = NULL, **ptrs = NULL;
	Google__Protobuf__Timestamp *times = NULL;
	char from[40], to[40], before[24], limit[16], *kinds_text = NULL, *next = NULL;
	const char *params[8];
	json_t *kinds;
	PGresult *res;
	bool volunteer = req->volunteer_id[0] != '\0';
	int i, n;
	size_t k;

	if (volunteer) {
		/* A volunteer's token lists its own volunteer's entries. */
		if (!volunteer_scope_check(conn, &call->principal, req->volunteer_id,
		    SCOPE_OFFICE | SCOPE_TEAM_LEADER | SCOPE_VOLUNTEER, "volunteerId", NULL, err))
			return false;
	} else {
		params[0] = req->organization_id;
		res = PQexecParams(conn, "SELECT id FROM organizations WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			store_error_from_result(conn, res, "organizationId", err);
			PQclear(res);
			return false;
		}
		if (PQntuples(res) == 0) {
			PQclear(res);
			return vl_error_set(err, VL_NOT_FOUND, "organizationId: no such organization");
		}
		PQclear(res);
		/* Not for a volunteer's token: an organisation's entries are
		 * about other volunteers too. */
		if (!scope_check(conn, &call->principal, req->organization_id, SCOPE_OFFICE | SCOPE_TEAM_LEADER,
		    "organizationId", err))
			return false;
	}

	kinds = json_array();
	for (k = 0; k < req->n_kinds; k++)
		json_array_append_new(kinds, json_string(req->kinds[k]));
	kinds_text = json_dumps(kinds, JSON_COMPACT);
	json_decref(kinds);
	if (req->from != NULL)
		codec_timestamp_format(req->from->seconds, req->from->nanos, from);
	if (req->to != NULL)
		codec_timestamp_format(req->to->seconds, req->to->nanos, to);
	snprintf(before, sizeof(before), "%lld", ctx->before);
	snprintf(limit, sizeof(limit), "%d", ctx->limit + 1);
	params[0] = call->app->tlog->log_id;
	params[1] = volunteer ? req->volunteer_id : NULL;
	params[2] = volunteer ? NULL : req->organization_id;
	params[3] = req->n_kinds > 0 ? kinds_text : NULL;
	params[4] = req->from != NULL ? from : NULL;
	params[5] = req->to != NULL ? to : NULL;
	params[6] = ctx->before >= 0 ? before : NULL;
	params[7] = limit;
	res = PQexecParams(conn,
	    "SELECT es.leaf_index::text, es.kind, ((extract(epoch FROM es.time) * 1000000)::bigint)::text, le.entry"
	    "  FROM entry_subjects es JOIN log_entries le ON le.log_id = es.log_id AND le.leaf_index = es.leaf_index"
	    " WHERE es.log_id = $1"
	    "   AND ($2::text IS NULL OR es.volunteer_id = $2)"
	    "   AND ($3::text IS NULL OR (es.organization_id IS NOT NULL AND org_within(es.organization_id, $3)))"
	    "   AND ($4::json IS NULL OR es.kind IN (SELECT json_array_elements_text($4::json)))"
	    "   AND ($5::timestamptz IS NULL OR es.time >= $5) AND ($6::timestamptz IS NULL OR es.time < $6)"
	    "   AND ($7::bigint IS NULL OR es.leaf_index < $7)"
	    " ORDER BY es.leaf_index DESC LIMIT $8",
	    8, NULL, params, NULL, NULL, 1);
	free(kinds_text);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "entries", err);
		PQclear(res);
		return false;
	}
	n = PQntuples(res);
	if (n > ctx->limit) {
		n = ctx->limit;
		next = page_token_encode('e', strtoll(PQgetvalue(res, n - 1, 0), NULL, 10));
		out.next_page_token = next;
	}
	items = xcalloc((size_t)n + 1, sizeof(*items));
	ptrs = xcalloc((size_t)n + 1, sizeof(*ptrs));
	times = xcalloc((size_t)n + 1, sizeof(*times));
	for (i = 0; i < n; i++) {
		vledger__v1__listed_entry__init(&items[i]);
		google__protobuf__timestamp__init(&times[i]);
		items[i].leaf_index = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		items[i].kind = PQgetvalue(res, i, 1);
		timestamp_from_micros(PQgetvalue(res, i, 2), &times[i].seconds, &times[i].nanos);
		items[i].time = &times[i];
		items[i].entry.data = (uint8_t *)PQgetvalue(res, i, 3);
		items[i].entry.len = (size_t)PQgetlength(res, i, 3);
		ptrs[i] = &items[i];
	}
	out.n_entries = (size_t)n;
	out.entries = ptrs;
	codec_encode_binary(&out.base, response, response_len);
	free(items);
	free(ptrs);
	free(times);
	free(next);
	PQclear(res);
	return true;
}

void
records_list_entries(struct rpc_call *call)
{
	const Vledger__V1__ListEntriesRequest *req = (const void *)call->request;
	struct list_ctx *ctx;
	struct vl_error err;
	size_t i;

	if (!role_may(call, ROLES_FIELD_OR_SELF, "list entries", &err)) {
		rpc_fail(call, &err);
		return;
	}
	if ((req->volunteer_id[0] == '\0') == (req->organization_id[0] == '\0')) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: give either volunteerId or organizationId");
		rpc_fail(call, &err);
		return;
	}
	if (req->n_kinds > 20) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "kinds: at most 20");
		rpc_fail(call, &err);
		return;
	}
	for (i = 0; i < req->n_kinds; i++)
		if (req->kinds[i][0] == '\0' || strlen(req->kinds[i]) > 64) {
			vl_error_set(&err, VL_INVALID_ARGUMENT, "kinds[%zu]: 1 to 64 characters", i);
			rpc_fail(call, &err);
			return;
		}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->before = -1;
	if (!page_size_valid(req->page_size, &ctx->limit, &err) ||
	    (req->page_token[0] != '\0' && !page_token_decode(req->page_token, 'e', &ctx->before, &err))) {
		free(ctx);
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, list_job, ctx);
}
