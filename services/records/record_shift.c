/*
 * record_shift.c - RecordShift, group-committed.
 *
 * The handler checks a request on the loop thread (records.h: times,
 * texts, category, role) and hands it to the RecordShift sequencer
 * (rpc_batch.h). A batch - every request that arrived while the previous
 * batch ran - is then one transaction of a fixed number of statements,
 * whatever its size:
 *
 *   1. record_shift_checks(): idempotency keys, organisation, volunteer,
 *      the caller's reach, the volunteers' locks, overlapping shifts and
 *      check-ins - one verdict per request (sql/015_record_shift_checks.sql);
 *   2. the shifts of the requests that passed, in one INSERT;
 *   3. their log entries, as one append with one signed checkpoint
 *      (log_records_append_about -> tlog_append_many);
 *   4. pipelined after the append: their shift history, their entries'
 *      index rows, their keys with the answers (record_shift_answers(),
 *      which fails the batch if another process stored one of the keys
 *      meanwhile: it then runs again, each request alone, and finds the
 *      stored answer), COMMIT; then the flush.
 *
 * A refused request gets its own error and leaves nothing behind; the
 * others in its batch go on. Requests for one volunteer, or with one
 * idempotency key, never share a batch, so the checks of one cannot miss
 * the shift another inserts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/codec.h"
#include "vledger/encoding.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/pg_array.h"
#include "vledger/records.h"
#include "vledger/rpc_batch.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/records.pb-c.h"

/* Requests per batch, and batches at once: while one batch waits for its
 * flush, the next one already checks and appends. 128 requests keep a
 * batch's arrays a few hundred kB and its statement well inside a
 * 64-connection burst. */
#define BATCH_MAX 128
#define BATCHES_RUNNING 2

/* What the batch needs beyond the request: decided on the loop thread. */
struct record_ctx {
	int minutes;
	bool approved;           /* recorded by an office: approved at once */
	const char *scope;       /* the caller's reach, as record_shift_checks() takes it */
	char start[40], end[40]; /* RFC 3339 */
};

static const struct store_statement checks_statement = {
	"record_shift_checks",
	"SELECT ord, verdict, d1, d2, d3, replay FROM record_shift_checks($1::text[], $2::text[], $3, $4::bytea[],"
	" $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[])", 10
};

static const struct store_statement insert_statement = {
	"record_shift_insert",
	"INSERT INTO shifts (id, volunteer_id, organization_id, category, start_time, end_time, minutes, activity,"
	" place, grid, beneficiary, role, note, source, status, recorded_by, decided_by, decide_time)"
	" SELECT u.id, u.v, u.o, u.c, u.s, u.e, u.m, u.a, u.p, u.g, u.b, u.r, u.n, 'entered', u.st, u.rb, u.db,"
	"  CASE WHEN u.db = '' THEN NULL ELSE now() END"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],"
	"  $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],"
	"  $15::text[], $16::text[]) AS u (id, v, o, c, s, e, m, a, p, g, b, r, n, st, rb, db)"
	" RETURNING " SHIFT_COLUMNS, 16
};

/* After the append, in the pipelined tail: prepared before it. */
static const struct store_statement history_statement = {
	"record_shift_history",
	"INSERT INTO shift_history (shift_id, kind, actor, leaf_index)"
	" SELECT u.s, 'recorded', u.a, u.i FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u (s, a, i)", 3
};

static const struct store_statement answers_statement = {
	"record_shift_answers",
	"SELECT record_shift_answers($1::text[], $2::text[], $3, $4::bytea[], $5::bytea[])", 5
};

/* What binds each request's idempotency key: "service/method" and the
 * SHA-256 of the request (idempotency_request_hash), computed once. */
struct request_hashes {
	char procedure[256];
	uint8_t (*hashes)[32];   /* one per request of the batch */
};

/* A verdict of record_shift_checks() other than ok/replay/raced, as the
 * error the one-request checks give. */
static void
verdict_error(const char *verdict, const char *d1, const char *d2, const char *d3, struct vl_error *err)
{
	if (strcmp(verdict, "key_reused") == 0)
		vl_error_set(err, VL_ALREADY_EXISTS, IDEMPOTENCY_KEY_REUSED);
	else if (strcmp(verdict, "no_organization") == 0)
		vl_error_set(err, VL_NOT_FOUND, RECORDS_NO_ORGANIZATION);
	else if (strcmp(verdict, "organization_kind") == 0)
		vl_error_set(err, VL_INVALID_ARGUMENT, RECORDS_ORGANIZATION_KIND);
	else if (strcmp(verdict, "no_volunteer") == 0)
		vl_error_set(err, VL_NOT_FOUND, RECORDS_NO_VOLUNTEER);
	else if (strcmp(verdict, "organization_scope") == 0)
		vl_error_set(err, VL_PERMISSION_DENIED, SCOPE_REFUSAL_FMT, "organizationId");
	else if (strcmp(verdict, "volunteer_scope") == 0)
		vl_error_set(err, VL_PERMISSION_DENIED, SCOPE_REFUSAL_FMT, "volunteerId");
	else if (strcmp(verdict, "overlap") == 0)
		vl_error_set(err, VL_FAILED_PRECONDITION, RECORDS_OVERLAP_FMT, "startTime", d1, d2, d3);
	else if (strcmp(verdict, "checkin_overlap") == 0)
		vl_error_set(err, VL_FAILED_PRECONDITION, RECORDS_CHECKIN_OVERLAP_FMT, "startTime", d1, d2);
	else
		vl_error_set(err, VL_INTERNAL, "shift checks: unknown verdict \"%s\"", verdict);
}

static const char *
nonnull(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
}

/* Step 1: one verdict per request. Requests that may go ahead are listed
 * in go[] (*ngo of them, in batch order); the others get their outcome. */
static bool
run_checks(PGconn *conn, struct rpc_batch *batch, const struct request_hashes *rh, size_t *go, size_t *ngo,
    struct vl_error *err)
{
	size_t n = batch->count, i;
	const char **tokens = xcalloc(n, sizeof(char *)), **keys = xcalloc(n, sizeof(char *)),
	    **scopes = xcalloc(n, sizeof(char *)), **scope_orgs = xcalloc(n, sizeof(char *)),
	    **volunteers = xcalloc(n, sizeof(char *)), **orgs = xcalloc(n, sizeof(char *)),
	    **starts = xcalloc(n, sizeof(char *)), **ends = xcalloc(n, sizeof(char *));
	const uint8_t **hash_ptrs = xcalloc(n, sizeof(uint8_t *));
	char *lists[9];
	const char *params[10];
	PGresult *res = NULL;
	bool ok = false;
	int r;

	for (i = 0; i < n; i++) {
		const struct rpc_call *call = batch->items[i]->call;
		const Vledger__V1__RecordShiftRequest *req = (const void *)call->request;
		const struct record_ctx *ctx = batch->items[i]->ctx;

		tokens[i] = call->principal.token_id;
		keys[i] = req->idempotency_key;
		hash_ptrs[i] = rh->hashes[i];
		scopes[i] = ctx->scope;
		scope_orgs[i] = call->principal.organization_id;
		volunteers[i] = req->volunteer_id;
		orgs[i] = req->organization_id;
		starts[i] = ctx->start;
		ends[i] = ctx->end;
	}
	lists[0] = pg_text_array(tokens, n);
	lists[1] = pg_text_array(keys, n);
	lists[2] = pg_bytea_array(hash_ptrs, NULL, 32, n);
	lists[3] = pg_text_array(scopes, n);
	lists[4] = pg_text_array(scope_orgs, n);
	lists[5] = pg_text_array(volunteers, n);
	lists[6] = pg_text_array(orgs, n);
	lists[7] = pg_text_array(starts, n);
	lists[8] = pg_text_array(ends, n);
	params[0] = lists[0];
	params[1] = lists[1];
	params[2] = rh->procedure;
	for (i = 3; i < 10; i++)
		params[i] = lists[i - 1];
	res = store_exec_prepared(conn, &checks_statement, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "shift checks", err);
		goto out;
	}
	if ((size_t)PQntuples(res) != n) {
		vl_error_set(err, VL_INTERNAL, "shift checks: %d verdicts for %zu requests", PQntuples(res), n);
		goto out;
	}
	*ngo = 0;
	for (r = 0; r < PQntuples(res); r++) {
		long ord = strtol(PQgetvalue(res, r, 0), NULL, 10);
		const char *verdict = PQgetvalue(res, r, 1);
		struct rpc_batch_item *it;

		if (ord < 1 || (size_t)ord > n) {
			vl_error_set(err, VL_INTERNAL, "shift checks: verdict for request %ld of %zu", ord, n);
			goto out;
		}
		it = batch->items[ord - 1];
		if (strcmp(verdict, "ok") == 0) {
			go[(*ngo)++] = (size_t)ord - 1;
		} else if (strcmp(verdict, "replay") == 0) {
			size_t len;
			unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, 5), &len);

			if (bytes == NULL) {
				vl_error_set(err, VL_INTERNAL, "shift checks: cannot read a stored answer");
				goto out;
			}
			it->response = xmalloc(len + 1);
			memcpy(it->response, bytes, len);
			it->response_len = len;
			PQfreemem(bytes);
			it->ok = true;
			/* Stored by a transaction whose flush may not be confirmed
			 * yet: this one waits for it before answering. */
			batch->flush = true;
		} else if (strcmp(verdict, "raced") == 0) {
			it->again = true;
		} else {
			verdict_error(verdict, nonnull(res, r, 2), nonnull(res, r, 3), nonnull(res, r, 4), &it->err);
		}
	}
	ok = true;
out:
	PQclear(res);
	for (i = 0; i < 9; i++)
		free(lists[i]);
	free(tokens);
	free(keys);
	free(scopes);
	free(scope_orgs);
	free(volunteers);
	free(orgs);
	free(starts);
	free(ends);
	free(hash_ptrs);
	return ok;
}

/* The shift_recorded entry's facts. */
static json_t *
shift_facts(const char *id, const Vledger__V1__RecordShiftRequest *req, const struct record_ctx *ctx)
{
	json_t *facts = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "id", id, "volunteerId",
	    req->volunteer_id, "organizationId", req->organization_id, "category",
	    records_category_db_name(req->category), "startTime", ctx->start, "endTime", ctx->end, "minutes",
	    ctx->minutes, "activity", req->activity, "place", req->place, "source", "entered", "status",
	    ctx->approved ? "approved" : "pending");

	if (req->grid[0] != '\0')
		json_object_set_new(facts, "grid", json_string(req->grid));
	if (req->beneficiary[0] != '\0')
		json_object_set_new(facts, "beneficiary", json_string(req->beneficiary));
	if (req->role[0] != '\0')
		json_object_set_new(facts, "role", json_string(req->role));
	if (req->note[0] != '\0')
		json_object_set_new(facts, "note", json_string(req->note));
	return json_pack("{s:o}", "shift", facts);
}

/* Steps 2-4 for the requests in go[]: shifts, log entries, history,
 * answers. */
static bool
record_shifts(PGconn *conn, struct rpc_batch *batch, const struct request_hashes *rh, const size_t *go, size_t n,
    struct vl_error *err)
{
	char (*ids)[32] = xcalloc(n, 32), (*minutes)[16] = xcalloc(n, 16), (*leaves)[24] = xcalloc(n, 24);
	const char **cols[16], **history[3], **answer_keys[2];
	const uint8_t **answers = xcalloc(n, sizeof(uint8_t *)), **hashes = xcalloc(n, sizeof(uint8_t *));
	size_t *answer_lens = xcalloc(n, sizeof(size_t)), i, k;
	struct shift_view *views = xcalloc(n, sizeof(*views));
	struct log_record *records = xcalloc(n, sizeof(*records));
	struct log_append *appends = xcalloc(n, sizeof(*appends));
	bool *have_row = xcalloc(n, sizeof(bool));
	char *lists[16] = {NULL}, *history_lists[3] = {NULL}, *answer_lists[4] = {NULL};
	const char *params[16], *answer_params[5];
	PGresult *res = NULL;
	bool ok = false;
	int r;

	for (k = 0; k < 16; k++)
		cols[k] = xcalloc(n, sizeof(char *));
	for (k = 0; k < 3; k++)
		history[k] = xcalloc(n, sizeof(char *));
	for (k = 0; k < 2; k++)
		answer_keys[k] = xcalloc(n, sizeof(char *));

	/* 2. The shifts. */
	for (i = 0; i < n; i++) {
		const struct rpc_call *call = batch->items[go[i]]->call;
		const Vledger__V1__RecordShiftRequest *req = (const void *)call->request;
		const struct record_ctx *ctx = batch->items[go[i]]->ctx;

		random_id("shf_", ids[i], sizeof(ids[i]));
		snprintf(minutes[i], sizeof(minutes[i]), "%d", ctx->minutes);
		cols[0][i] = ids[i];
		cols[1][i] = req->volunteer_id;
		cols[2][i] = req->organization_id;
		cols[3][i] = records_category_db_name(req->category);
		cols[4][i] = ctx->start;
		cols[5][i] = ctx->end;
		cols[6][i] = minutes[i];
		cols[7][i] = req->activity;
		cols[8][i] = req->place;
		cols[9][i] = req->grid;
		cols[10][i] = req->beneficiary;
		cols[11][i] = req->role;
		cols[12][i] = req->note;
		cols[13][i] = ctx->approved ? "approved" : "pending";
		cols[14][i] = call->principal.token_id;
		cols[15][i] = ctx->approved ? call->principal.token_id : "";
	}
	for (k = 0; k < 16; k++) {
		lists[k] = pg_text_array(cols[k], n);
		params[k] = lists[k];
	}
	res = store_exec_prepared(conn, &insert_statement, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "shift", err);
		goto out;
	}
	for (r = 0; r < PQntuples(res); r++)
		for (i = 0; i < n; i++)
			if (!have_row[i] && strcmp(PQgetvalue(res, r, 0), ids[i]) == 0) {
				records_shift_from_row(res, r, &views[i]);
				have_row[i] = true;
				break;
			}
	for (i = 0; i < n; i++)
		if (!have_row[i]) {
			vl_error_set(err, VL_INTERNAL, "shift: %s was not inserted", ids[i]);
			goto out;
		}

	/* 3. Their entries: one append, one checkpoint. The tail that
	 * follows it is prepared first (store.h). */
	store_tail_allow(conn);
	if (!store_prepare(conn, &history_statement, err) || !store_prepare(conn, &answers_statement, err))
		goto out;
	for (i = 0; i < n; i++) {
		const struct rpc_call *call = batch->items[go[i]]->call;
		const Vledger__V1__RecordShiftRequest *req = (const void *)call->request;

		appends[i].call = call;
		appends[i].kind = "shift_recorded";
		appends[i].facts = shift_facts(ids[i], req, batch->items[go[i]]->ctx);
		appends[i].volunteer_id = req->volunteer_id;
		appends[i].organization_id = req->organization_id;
		appends[i].record = &records[i];
	}
	if (!log_records_append_about(conn, appends, n, err))
		goto out;

	/* 4. History and answers, pipelined behind the append. */
	for (i = 0; i < n; i++) {
		struct rpc_batch_item *it = batch->items[go[i]];
		Vledger__V1__RecordShiftResponse out = VLEDGER__V1__RECORD_SHIFT_RESPONSE__INIT;
		const Vledger__V1__RecordShiftRequest *req = (const void *)it->call->request;

		snprintf(leaves[i], sizeof(leaves[i]), "%llu", (unsigned long long)records[i].receipt.leaf_index);
		history[0][i] = ids[i];
		history[1][i] = it->call->principal.token_id;
		history[2][i] = leaves[i];
		out.shift = &views[i].shift;
		out.receipt = &records[i].message;
		codec_encode_binary(&out.base, &it->response, &it->response_len);
		answer_keys[0][i] = it->call->principal.token_id;
		answer_keys[1][i] = req->idempotency_key;
		answers[i] = it->response;
		answer_lens[i] = it->response_len;
		hashes[i] = rh->hashes[go[i]];
	}
	for (k = 0; k < 3; k++)
		history_lists[k] = pg_text_array(history[k], n);
	answer_lists[0] = pg_text_array(answer_keys[0], n);
	answer_lists[1] = pg_text_array(answer_keys[1], n);
	answer_lists[2] = pg_bytea_array(hashes, NULL, 32, n);
	answer_lists[3] = pg_bytea_array(answers, answer_lens, 0, n);
	answer_params[0] = answer_lists[0];
	answer_params[1] = answer_lists[1];
	answer_params[2] = rh->procedure;
	answer_params[3] = answer_lists[2];
	answer_params[4] = answer_lists[3];
	if (!store_tail_exec_prepared(conn, &history_statement, (const char *const *)history_lists, NULL, NULL,
	    "shift history", err) ||
	    !store_tail_exec_prepared(conn, &answers_statement, answer_params, NULL, NULL, "idempotencyKey", err))
		goto out;
	for (i = 0; i < n; i++)
		batch->items[go[i]]->ok = true;
	ok = true;
out:
	for (i = 0; i < n; i++)
		log_record_release(&records[i]);  /* zeroed ones too */
	PQclear(res);
	for (k = 0; k < 16; k++) {
		free(lists[k]);
		free(cols[k]);
	}
	for (k = 0; k < 3; k++) {
		free(history_lists[k]);
		free(history[k]);
	}
	for (k = 0; k < 4; k++)
		free(answer_lists[k]);
	for (k = 0; k < 2; k++)
		free(answer_keys[k]);
	free(ids);
	free(minutes);
	free(leaves);
	free(answers);
	free(hashes);
	free(answer_lens);
	free(views);
	free(records);
	free(appends);
	free(have_row);
	return ok;
}

/* The batch: see the top of the file. */
static bool
record_batch(PGconn *conn, struct rpc_batch *batch, struct vl_error *err)
{
	size_t *go = xcalloc(batch->count, sizeof(*go)), ngo = 0, i;
	struct request_hashes rh;
	bool ok;

	rh.hashes = xcalloc(batch->count, sizeof(*rh.hashes));
	for (i = 0; i < batch->count; i++)
		idempotency_request_hash(batch->items[i]->call, rh.hashes[i], rh.procedure);
	ok = run_checks(conn, batch, &rh, go, &ngo, err) && (ngo == 0 || record_shifts(conn, batch, &rh, go, ngo, err));
	free(rh.hashes);
	free(go);
	return ok;
}

struct rpc_batcher *
records_batcher_new(struct app *app)
{
	return rpc_batcher_new(app, "RecordShift", record_batch, NULL, BATCH_MAX, BATCHES_RUNNING);
}

void
records_record_shift(struct rpc_call *call)
{
	const Vledger__V1__RecordShiftRequest *req = (const void *)call->request;
	const struct config *config = call->app->config;
	int role = call->principal.role;
	struct record_ctx *ctx;
	struct vl_error err;
	char *volunteer_key, *request_key;
	const char *keys[2];
	int minutes;

	if (!role_may(call, ROLES_FIELD, "record shifts", &err))
		goto fail;
	if (!idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required");
		goto fail;
	}
	if (req->organization_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "organizationId: required");
		goto fail;
	}
	if (records_category_db_name(req->category) == NULL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "category: required (one of the SHIFT_CATEGORY_ values)");
		goto fail;
	}
	if (!records_times_valid(config, role, req->start_time, req->end_time, &minutes, &err) ||
	    !records_fields_valid(req->activity, req->place, req->grid, req->beneficiary, req->role, req->note, &err))
		goto fail;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->minutes = minutes;
	ctx->approved = role != VLEDGER__V1__ROLE__ROLE_TEAM_LEADER;
	/* scope_check()'s rule for SCOPE_OFFICE | SCOPE_TEAM_LEADER, in SQL. */
	switch (role) {
	case VLEDGER__V1__ROLE__ROLE_ADMIN:
		ctx->scope = "any";
		break;
	case VLEDGER__V1__ROLE__ROLE_OFFICE:
		ctx->scope = "within";
		break;
	case VLEDGER__V1__ROLE__ROLE_TEAM_LEADER:
		ctx->scope = "same";
		break;
	default:
		ctx->scope = "none";
		break;
	}
	codec_timestamp_format(req->start_time->seconds, req->start_time->nanos, ctx->start);
	codec_timestamp_format(req->end_time->seconds, req->end_time->nanos, ctx->end);
	/* Not in one batch: two shifts of one volunteer (each batch's
	 * overlap check sees only what committed before it), or two uses of
	 * one key. */
	volunteer_key = xasprintf("volunteer\n%s", req->volunteer_id);
	request_key = xasprintf("key\n%s\n%s", call->principal.token_id, req->idempotency_key);
	keys[0] = volunteer_key;
	keys[1] = request_key;
	rpc_batcher_submit(call->app->shift_batcher, call, ctx, keys, 2);
	free(volunteer_key);
	free(request_key);
	return;
fail:
	rpc_fail(call, &err);
}
