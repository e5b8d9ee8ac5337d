/*
 * shift_service.c - RecordShift, ApproveShift, RejectShift, GetShift.
 * See records.h for the rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/encoding.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/records.pb-c.h"

#define FUTURE_SLACK_SECONDS 300

static const char *const category_names[] = {
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_BUILDING_SWEEP] = "building_sweep",
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_TESTING_SITE] = "testing_site",
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_SUPPLY_DELIVERY] = "supply_delivery",
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_ELDERLY_CARE] = "elderly_care",
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_DISINFECTION] = "disinfection",
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_PUBLICITY] = "publicity",
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_MEDIATION] = "mediation",
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_PSYCHOLOGICAL_SUPPORT] = "psychological_support",
	[VLEDGER__V1__SHIFT_CATEGORY__SHIFT_CATEGORY_OTHER] = "other",
};
#define CATEGORY_COUNT (sizeof(category_names) / sizeof(category_names[0]))

const char *
records_category_db_name(int category)
{
	if (category <= 0 || (size_t)category >= CATEGORY_COUNT)
		return NULL;
	return category_names[category];
}

int
records_category_from_db(const char *name)
{
	size_t i;

	for (i = 1; i < CATEGORY_COUNT; i++)
		if (strcmp(category_names[i], name) == 0)
			return (int)i;
	return 0;
}

static int
status_from_db(const char *s)
{
	if (strcmp(s, "pending") == 0)
		return VLEDGER__V1__SHIFT_STATUS__SHIFT_STATUS_PENDING;
	if (strcmp(s, "approved") == 0)
		return VLEDGER__V1__SHIFT_STATUS__SHIFT_STATUS_APPROVED;
	if (strcmp(s, "rejected") == 0)
		return VLEDGER__V1__SHIFT_STATUS__SHIFT_STATUS_REJECTED;
	return 0;
}

void
records_shift_from_row(const PGresult *res, int row, struct shift_view *v)
{
	Vledger__V1__Shift *s = &v->shift;

	vledger__v1__shift__init(s);
	google__protobuf__timestamp__init(&v->start);
	google__protobuf__timestamp__init(&v->end);
	s->id = PQgetvalue(res, row, 0);
	s->volunteer_id = PQgetvalue(res, row, 1);
	s->organization_id = PQgetvalue(res, row, 2);
	s->category = (Vledger__V1__ShiftCategory)records_category_from_db(PQgetvalue(res, row, 3));
	timestamp_from_micros(PQgetvalue(res, row, 4), &v->start.seconds, &v->start.nanos);
	timestamp_from_micros(PQgetvalue(res, row, 5), &v->end.seconds, &v->end.nanos);
	s->start_time = &v->start;
	s->end_time = &v->end;
	s->minutes = atoi(PQgetvalue(res, row, 6));
	s->activity = PQgetvalue(res, row, 7);
	s->place = PQgetvalue(res, row, 8);
	s->grid = PQgetvalue(res, row, 9);
	s->beneficiary = PQgetvalue(res, row, 10);
	s->role = PQgetvalue(res, row, 11);
	s->note = PQgetvalue(res, row, 12);
	s->source = strcmp(PQgetvalue(res, row, 13), "measured") == 0 ? VLEDGER__V1__SHIFT_SOURCE__SHIFT_SOURCE_MEASURED :
	    VLEDGER__V1__SHIFT_SOURCE__SHIFT_SOURCE_ENTERED;
	s->status = (Vledger__V1__ShiftStatus)status_from_db(PQgetvalue(res, row, 14));
	s->recorded_by = PQgetvalue(res, row, 15);
	s->decided_by = PQgetvalue(res, row, 16);
	s->reject_reason = PQgetvalue(res, row, 17);
	s->capped = strcmp(PQgetvalue(res, row, 18), "true") == 0;
	s->voided = strcmp(PQgetvalue(res, row, 19), "true") == 0;
}

/* A free-text field: at most `max` characters, no control characters
 * (newlines allowed where `multiline`); `required` rejects empty or blank.
 * The text is valid UTF-8 already (the codec checked). Control characters
 * are C0, DEL and C1; also refused are the bidirectional overrides and
 * isolates (U+202A-U+202E, U+2066-U+2069), which make printed text read
 * otherwise than it is stored (a certificate title, a place), and the
 * Unicode line and paragraph separators outside multi-line fields. */
bool
records_text_valid(const char *field, const char *s, size_t max, bool required, bool multiline, struct vl_error *err)
{
	const unsigned char *p;
	size_t chars = 0;
	bool blank = true;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r' || *p == '\t'))) || *p == 0x7F ||
		    (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: control characters are not allowed", field);
		if (p[0] == 0xE2 && ((p[1] == 0x80 && p[2] >= 0xAA && p[2] <= 0xAE) ||
		    (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9)))
			return vl_error_set(err, VL_INVALID_ARGUMENT,
			    "%s: bidirectional override characters are not allowed", field);
		if (!multiline && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: line separators are not allowed", field);
		if ((*p & 0xC0) != 0x80)
			chars++;
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			blank = false;
	}
	if (required && blank)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: required", field);
	if (chars > max)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: at most %zu characters", field, max);
	return true;
}

bool
records_timestamp_valid(const char *field, const Google__Protobuf__Timestamp *t, struct vl_error *err)
{
	if (t == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: required", field);
	if (t->nanos < 0 || t->nanos > 999999999)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: nanos out of range", field);
	if (t->seconds < 946684800 || t->seconds > 4102444800LL)  /* 2000..2100 */
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: not a plausible service time", field);
	return true;
}

bool
records_times_valid(const struct config *config, int role, const Google__Protobuf__Timestamp *start,
    const Google__Protobuf__Timestamp *end, int *minutes, struct vl_error *err)
{
	int64_t now = (int64_t)time(NULL), length;

	if (!records_timestamp_valid("startTime", start, err) || !records_timestamp_valid("endTime", end, err))
		return false;
	length = end->seconds - start->seconds;
	if (length < 0 || (length == 0 && end->nanos <= start->nanos))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "endTime: must be after startTime");
	if (length > config->max_shift_hours * 3600 ||
	    (length == config->max_shift_hours * 3600 && end->nanos > start->nanos))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "endTime: the shift is longer than %lld hours"
		    " (--max-shift-hours)", (long long)config->max_shift_hours);
	if (start->seconds > now + FUTURE_SLACK_SECONDS)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "startTime: more than 5 minutes in the future");
	if (end->seconds > now + FUTURE_SLACK_SECONDS)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "endTime: more than 5 minutes in the future; record a shift"
		    " once it is served");
	if (role == VLEDGER__V1__ROLE__ROLE_TEAM_LEADER && start->seconds < now - config->backdate_days * 86400)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "startTime: older than %lld days (--backdate-days); only"
		    " an office may record it", (long long)config->backdate_days);
	/* Whole minutes of actual service, fractions of a second included. */
	*minutes = (int)((length * 1000000000LL + end->nanos - start->nanos) / 60000000000LL);
	return true;
}

bool
records_fields_valid(const char *activity, const char *place, const char *grid, const char *beneficiary,
    const char *role, const char *note, struct vl_error *err)
{
	return records_text_valid("activity", activity, 200, true, false, err) &&
	    records_text_valid("place", place, 200, true, false, err) &&
	    records_text_valid("grid", grid, 100, false, false, err) &&
	    records_text_valid("beneficiary", beneficiary, 200, false, false, err) &&
	    records_text_valid("role", role, 100, false, false, err) &&
	    records_text_valid("note", note, 500, false, true, err);
}

static const struct store_statement volunteer_org_statement = {
	"volunteer_org",
	"SELECT organization_id FROM volunteers WHERE id = $1",
	1
};

static const struct store_statement org_kind_statement = {
	"org_kind",
	"SELECT kind FROM organizations WHERE id = $1",
	1
};

bool
records_reach_check(PGconn *conn, const struct rpc_call *call, const char *organization_id,
    const char *volunteer_id, struct vl_error *err)
{
	const char *params[1] = {organization_id};
	PGresult *res;
	bool ok = false;

	res = store_exec_prepared(conn, &org_kind_statement, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organizationId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, RECORDS_NO_ORGANIZATION);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "team") != 0 && strcmp(PQgetvalue(res, 0, 0), "community") != 0) {
		vl_error_set(err, VL_INVALID_ARGUMENT, RECORDS_ORGANIZATION_KIND);
		goto out;
	}
	PQclear(res);
	params[0] = volunteer_id;
	res = store_exec_prepared(conn, &volunteer_org_statement, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, RECORDS_NO_VOLUNTEER);
		goto out;
	}
	ok = scope_check(conn, &call->principal, organization_id, SCOPE_OFFICE | SCOPE_TEAM_LEADER, "organizationId",
	    err) &&
	    scope_check(conn, &call->principal, PQgetvalue(res, 0, 0), SCOPE_OFFICE | SCOPE_TEAM_LEADER, "volunteerId",
	    err);
out:
	PQclear(res);
	return ok;
}

static const struct store_statement volunteer_shift_lock_statement = {
	"volunteer_shift_lock",
	"SELECT pg_advisory_xact_lock(hashtextextended('shift:' || $1, 0))",
	1
};

bool
records_lock_volunteer(PGconn *conn, const char *volunteer_id, struct vl_error *err)
{
	const char *params[1] = {volunteer_id};
	PGresult *res;
	bool ok;

	/* One volunteer's shifts change one at a time, so the overlap check
	 * cannot race; the exclusion constraint backs it up. */
	res = store_exec_prepared(conn, &volunteer_shift_lock_statement, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		store_error_from_result(conn, res, "volunteerId", err);
	PQclear(res);
	return ok;
}

static const struct store_statement shift_overlap_statement = {
	"shift_overlap",
	"SELECT id, to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM shifts"
	" WHERE volunteer_id = $1 AND status <> 'rejected' AND NOT voided AND id <> $4"
	"   AND tstzrange(start_time, end_time) && tstzrange($2::timestamptz, $3::timestamptz) LIMIT 1",
	4
};

bool
records_overlap_check(PGconn *conn, const char *volunteer_id, const char *start, const char *end,
    const char *exclude_shift_id, const char *field, struct vl_error *err)
{
	const char *params[4] = {volunteer_id, start, end, exclude_shift_id != NULL ? exclude_shift_id : ""};
	PGresult *res;
	bool ok = false;

	res = store_exec_prepared(conn, &shift_overlap_statement, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, field, err);
	} else if (PQntuples(res) > 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, RECORDS_OVERLAP_FMT, field,
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	} else {
		ok = true;
	}
	PQclear(res);
	return ok;
}

static const struct store_statement checkin_overlap_statement = {
	"checkin_overlap",
	"SELECT id, to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM check_ins"
	" WHERE volunteer_id = $1 AND shift_id IS NULL AND start_time < $2::timestamptz LIMIT 1",
	2
};

bool
records_checkin_overlap_check(PGconn *conn, const char *volunteer_id, const char *end, const char *field,
    struct vl_error *err)
{
	const char *params[2] = {volunteer_id, end};
	PGresult *res;
	bool ok = false;

	/* An open check-in covers [its start, now and onwards). */
	res = store_exec_prepared(conn, &checkin_overlap_statement, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		store_error_from_result(conn, res, field, err);
	else if (PQntuples(res) > 0)
		vl_error_set(err, VL_FAILED_PRECONDITION, RECORDS_CHECKIN_OVERLAP_FMT, field, PQgetvalue(res, 0, 0),
		    PQgetvalue(res, 0, 1));
	else
		ok = true;
	PQclear(res);
	return ok;
}

/* After the append, in the pipelined tail of the jobs that allow one: those
 * prepare it first. */
static const struct store_statement history_insert = {
	"shift_history_insert",
	"INSERT INTO shift_history (shift_id, kind, actor, reason, changes, leaf_index)"
	" VALUES ($1, $2, $3, $4, $5::jsonb, $6)", 6
};

bool
records_history_add(PGconn *conn, const struct rpc_call *call, const char *shift_id, const char *kind,
    const char *reason, const char *changes, uint64_t leaf_index, struct vl_error *err)
{
	char index[24];
	const char *params[6];

	snprintf(index, sizeof(index), "%llu", (unsigned long long)leaf_index);
	params[0] = shift_id;
	params[1] = kind;
	params[2] = call->principal.token_id[0] != '\0' ? call->principal.token_id : "vledgerd";
	params[3] = reason != NULL ? reason : "";
	params[4] = changes != NULL ? changes : "{}";
	params[5] = index;
	return store_tail_exec_prepared(conn, &history_insert, params, NULL, NULL, "shift history", err);
}

/* Loads shift `id` FOR UPDATE and checks the caller's reach. */
static bool
shift_load(PGconn *conn, const struct rpc_call *call, const char *id, unsigned allow, bool lock, PGresult **out,
    struct vl_error *err)
{
	const char *params[1] = {id};
	PGresult *res;

	res = PQexecParams(conn, lock ? "SELECT " SHIFT_COLUMNS " FROM shifts WHERE id = $1 FOR UPDATE" :
	    "SELECT " SHIFT_COLUMNS " FROM shifts WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "shiftId", err);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return vl_error_set(err, VL_NOT_FOUND, "shiftId: no such shift");
	}
	if (!scope_check(conn, &call->principal, PQgetvalue(res, 0, 2), allow, "shiftId", err)) {
		PQclear(res);
		return false;
	}
	*out = res;
	return true;
}

/* ApproveShift and RejectShift: a pending shift becomes approved or
 * rejected, by an office at or above its organisation. */
static bool
decide_job(PGconn *conn, struct rpc_call *call, const char *shift_id, const char *key, const char *reason,
    uint8_t **response, size_t *response_len, struct vl_error *err)
{
	bool approve = reason == NULL;
	Vledger__V1__ApproveShiftResponse approved = VLEDGER__V1__APPROVE_SHIFT_RESPONSE__INIT;
	Vledger__V1__RejectShiftResponse rejected = VLEDGER__V1__REJECT_SHIFT_RESPONSE__INIT;
	const char *params[4] = {shift_id, approve ? "approved" : "rejected", call->principal.token_id,
	    approve ? "" : reason};
	struct shift_view view;
	struct log_record record;
	PGresult *res = NULL;
	json_t *facts;
	bool ok = false;

	memset(&record, 0, sizeof(record));
	/* After the append: history, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	if (!store_prepare(conn, &history_insert, err) || !idempotency_claim(conn, call, key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	if (!shift_load(conn, call, shift_id, SCOPE_OFFICE, true, &res, err))
		return false;
	if (strcmp(PQgetvalue(res, 0, 19), "true") == 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "shiftId: the shift was voided");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 14), "pending") != 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "shiftId: the shift is already %s", PQgetvalue(res, 0, 14));
		goto out;
	}
	PQclear(res);
	res = PQexecParams(conn, "UPDATE shifts SET status = $2, decided_by = $3, decide_time = now(), reject_reason = $4"
	    " WHERE id = $1 RETURNING " SHIFT_COLUMNS, 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "shiftId", err);
		goto out;
	}
	records_shift_from_row(res, 0, &view);
	facts = json_pack("{s:{s:s}}", "shift", "id", shift_id);
	if (!approve)
		json_object_set_new(facts, "reason", json_string(reason));
	if (!log_record_append_about(conn, call, approve ? "shift_approved" : "shift_rejected", facts,
	    view.shift.volunteer_id, view.shift.organization_id, &record, err) ||
	    !records_history_add(conn, call, shift_id, approve ? "approved" : "rejected", reason, NULL,
	    record.receipt.leaf_index, err))
		goto out;
	if (approve) {
		approved.shift = &view.shift;
		approved.receipt = &record.message;
		codec_encode_binary(&approved.base, response, response_len);
	} else {
		rejected.shift = &view.shift;
		rejected.receipt = &record.message;
		codec_encode_binary(&rejected.base, response, response_len);
	}
	ok = idempotency_record(conn, call, key, *response, *response_len, err);
out:
	log_record_release(&record);
	PQclear(res);
	return ok;
}

static bool
approve_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__ApproveShiftRequest *req = (const void *)call->request;

	return decide_job(conn, call, req->shift_id, req->idempotency_key, NULL, response, response_len, err);
}

static bool
reject_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__RejectShiftRequest *req = (const void *)call->request;

	return decide_job(conn, call, req->shift_id, req->idempotency_key, req->reason, response, response_len, err);
}

/* Checks common to ApproveShift and RejectShift. */
static bool
decide_valid(const struct rpc_call *call, const char *shift_id, const char *key, struct vl_error *err)
{
	if (!role_may(call, ROLES_OFFICE, "approve or reject shifts", err) || !idempotency_key_valid(key, err))
		return false;
	if (shift_id[0] == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "shiftId: required");
	return true;
}

static void
approve_shift(struct rpc_call *call)
{
	const Vledger__V1__ApproveShiftRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!decide_valid(call, req->shift_id, req->idempotency_key, &err)) {
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, approve_job, NULL);
}

static void
reject_shift(struct rpc_call *call)
{
	const Vledger__V1__RejectShiftRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!decide_valid(call, req->shift_id, req->idempotency_key, &err) ||
	    !records_text_valid("reason", req->reason, 300, true, true, &err)) {
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, reject_job, NULL);
}

static bool
get_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetShiftRequest *req = (const void *)call->request;
	Vledger__V1__GetShiftResponse out = VLEDGER__V1__GET_SHIFT_RESPONSE__INIT;
	struct shift_view view;
	PGresult *res;

	Vledger__V1__ShiftChange *changes = NULL, **ptrs = NULL;
	Google__Protobuf__Timestamp *times = NULL;
	const char *params[1] = {req->shift_id};
	PGresult *history;
	int i, n;

	if (!shift_load(conn, call, req->shift_id, SCOPE_OFFICE | SCOPE_TEAM_LEADER, false, &res, err))
		return false;
	history = PQexecParams(conn, "SELECT kind, ((extract(epoch FROM time) * 1000000)::bigint)::text, actor, reason,"
	    " changes::text, leaf_index::text FROM shift_history WHERE shift_id = $1 ORDER BY seq", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(history) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, history, "shift history", err);
		PQclear(history);
		PQclear(res);
		return false;
	}
	n = PQntuples(history);
	changes = xcalloc((size_t)n + 1, sizeof(*changes));
	ptrs = xcalloc((size_t)n + 1, sizeof(*ptrs));
	times = xcalloc((size_t)n + 1, sizeof(*times));
	for (i = 0; i < n; i++) {
		vledger__v1__shift_change__init(&changes[i]);
		google__protobuf__timestamp__init(&times[i]);
		changes[i].kind = PQgetvalue(history, i, 0);
		timestamp_from_micros(PQgetvalue(history, i, 1), &times[i].seconds, &times[i].nanos);
		changes[i].time = &times[i];
		changes[i].actor = PQgetvalue(history, i, 2);
		changes[i].reason = PQgetvalue(history, i, 3);
		changes[i].changes = strcmp(PQgetvalue(history, i, 4), "{}") == 0 ? "" : PQgetvalue(history, i, 4);
		changes[i].leaf_index = strtoull(PQgetvalue(history, i, 5), NULL, 10);
		ptrs[i] = &changes[i];
	}
	records_shift_from_row(res, 0, &view);
	out.shift = &view.shift;
	out.n_history = (size_t)n;
	out.history = ptrs;
	codec_encode_binary(&out.base, response, response_len);
	free(changes);
	free(ptrs);
	free(times);
	PQclear(history);
	PQclear(res);
	return true;
}

static void
get_shift(struct rpc_call *call)
{
	const Vledger__V1__GetShiftRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "read shifts", &err)) {
		rpc_fail(call, &err);
		return;
	}
	if (req->shift_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "shiftId: required");
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, get_job, NULL);
}

const struct rpc_method records_methods[] = {
	{"vledger.v1.RecordsService", "RecordShift", &vledger__v1__record_shift_request__descriptor,
	    &vledger__v1__record_shift_response__descriptor, RPC_TOKEN, records_record_shift, false},
	{"vledger.v1.RecordsService", "ApproveShift", &vledger__v1__approve_shift_request__descriptor,
	    &vledger__v1__approve_shift_response__descriptor, RPC_TOKEN, approve_shift, false},
	{"vledger.v1.RecordsService", "RejectShift", &vledger__v1__reject_shift_request__descriptor,
	    &vledger__v1__reject_shift_response__descriptor, RPC_TOKEN, reject_shift, false},
	{"vledger.v1.RecordsService", "GetShift", &vledger__v1__get_shift_request__descriptor,
	    &vledger__v1__get_shift_response__descriptor, RPC_TOKEN, get_shift, false},
	{"vledger.v1.RecordsService", "VoidEntry", &vledger__v1__void_entry_request__descriptor,
	    &vledger__v1__void_entry_response__descriptor, RPC_TOKEN, records_void_entry, false},
	{"vledger.v1.RecordsService", "AmendShift", &vledger__v1__amend_shift_request__descriptor,
	    &vledger__v1__amend_shift_response__descriptor, RPC_TOKEN, records_amend_shift, false},
	{"vledger.v1.RecordsService", "ListEntries", &vledger__v1__list_entries_request__descriptor,
	    &vledger__v1__list_entries_response__descriptor, RPC_TOKEN, records_list_entries, false},
	{"vledger.v1.RecordsService", "GetVolunteerSummary", &vledger__v1__get_volunteer_summary_request__descriptor,
	    &vledger__v1__get_volunteer_summary_response__descriptor, RPC_TOKEN, records_get_volunteer_summary, false},
};
const size_t records_methods_count = sizeof(records_methods) / sizeof(records_methods[0]);
