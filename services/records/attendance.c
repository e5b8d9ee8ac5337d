/*
 * attendance.c - CheckIn, CheckOut and the sweep of stale check-ins.
 * See attendance.h for the rules.
 *
 * Times are the database's: now() at check-in is the start, now() at
 * check-out the end (capped at start + --max-shift-hours). Both writes, like
 * RecordShift, serialise on the per-volunteer shift lock, taken before any
 * check-in row lock so that a check-out, a check-in and the sweep cannot
 * deadlock.
 */
#include "vledger/attendance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "vledger/tlog.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/attendance.pb-c.h"
#include "vledger/v1/records.pb-c.h"

#define SWEEP_ACTOR "vledgerd"
#define MICROS 1000000LL

/* Every column is text. */
#define CHECK_IN_COLUMNS \
	"id, volunteer_id, organization_id, category, ((extract(epoch FROM start_time) * 1000000)::bigint)::text," \
	" activity, place, grid, beneficiary, role, checked_in_by"

/* A CheckIn message with room for its timestamp. */
struct check_in_view {
	Vledger__V1__CheckIn check_in;
	Google__Protobuf__Timestamp start;
};

static void
check_in_from_row(const PGresult *res, int row, struct check_in_view *v)
{
	Vledger__V1__CheckIn *c = &v->check_in;

	vledger__v1__check_in__init(c);
	google__protobuf__timestamp__init(&v->start);
	c->id = PQgetvalue(res, row, 0);
	c->volunteer_id = PQgetvalue(res, row, 1);
	c->organization_id = PQgetvalue(res, row, 2);
	c->category = (Vledger__V1__ShiftCategory)records_category_from_db(PQgetvalue(res, row, 3));
	timestamp_from_micros(PQgetvalue(res, row, 4), &v->start.seconds, &v->start.nanos);
	c->start_time = &v->start;
	c->activity = PQgetvalue(res, row, 5);
	c->place = PQgetvalue(res, row, 6);
	c->grid = PQgetvalue(res, row, 7);
	c->beneficiary = PQgetvalue(res, row, 8);
	c->role = PQgetvalue(res, row, 9);
	c->checked_in_by = PQgetvalue(res, row, 10);
}

/* Microseconds since the epoch -> RFC 3339, as the log and SQL take it. */
static void
format_micros(long long us, char buf[40])
{
	long long s = us / MICROS, rem = us % MICROS;

	if (rem < 0) {
		rem += MICROS;
		s--;
	}
	codec_timestamp_format(s, (int32_t)(rem * 1000), buf);
}

/* The open check-in of a volunteer, if any: VL_FAILED_PRECONDITION naming
 * volunteerId. */
static bool
no_open_check_in(PGconn *conn, const char *volunteer_id, struct vl_error *err)
{
	const char *params[1] = {volunteer_id};
	PGresult *res;
	bool ok = false;

	res = PQexecParams(conn, "SELECT id FROM check_ins WHERE volunteer_id = $1 AND shift_id IS NULL", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		store_error_from_result(conn, res, "volunteerId", err);
	else if (PQntuples(res) > 0)
		vl_error_set(err, VL_FAILED_PRECONDITION, "volunteerId: already checked in (%s); check out first",
		    PQgetvalue(res, 0, 0));
	else
		ok = true;
	PQclear(res);
	return ok;
}

static bool
check_in_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__CheckInRequest *req = (const void *)call->request;
	Vledger__V1__CheckInResponse out = VLEDGER__V1__CHECK_IN_RESPONSE__INIT;
	struct check_in_view view;
	struct log_record record;
	char id[32], start[40];
	const char *params[10];
	const char *constraint;
	PGresult *res = NULL;
	json_t *facts;
	bool ok = false;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;

	if (!records_reach_check(conn, call, req->organization_id, req->volunteer_id, err))
		goto out;

	/* One open check-in per volunteer: checked under the lock, backed by
	 * the unique index check_ins_open. */
	if (!records_lock_volunteer(conn, req->volunteer_id, err) || !no_open_check_in(conn, req->volunteer_id, err))
		goto out;

	random_id("chk_", id, sizeof(id));
	params[0] = id;
	params[1] = req->volunteer_id;
	params[2] = req->organization_id;
	params[3] = records_category_db_name(req->category);
	params[4] = req->activity;
	params[5] = req->place;
	params[6] = req->grid;
	params[7] = req->beneficiary;
	params[8] = req->role;
	params[9] = call->principal.token_id;
	res = PQexecParams(conn,
	    "INSERT INTO check_ins (id, volunteer_id, organization_id, category, activity, place, grid, beneficiary, role,"
	    " checked_in_by, start_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())"
	    " RETURNING " CHECK_IN_COLUMNS,
	    10, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
		if (constraint != NULL && strcmp(constraint, "check_ins_open") == 0)
			vl_error_set(err, VL_FAILED_PRECONDITION, "volunteerId: already checked in; check out first");
		else
			store_error_from_result(conn, res, "checkIn", err);
		goto out;
	}
	check_in_from_row(res, 0, &view);
	codec_timestamp_format(view.start.seconds, view.start.nanos, start);
	facts = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "volunteerId", req->volunteer_id,
	    "organizationId", req->organization_id, "category", records_category_db_name(req->category), "activity",
	    req->activity, "place", req->place, "startTime", start);
	if (req->grid[0] != '\0')
		json_object_set_new(facts, "grid", json_string(req->grid));
	if (req->beneficiary[0] != '\0')
		json_object_set_new(facts, "beneficiary", json_string(req->beneficiary));
	if (req->role[0] != '\0')
		json_object_set_new(facts, "role", json_string(req->role));
	if (!log_record_append_about(conn, call, "checked_in", json_pack("{s:o}", "checkIn", facts), req->volunteer_id,
	    req->organization_id, &record, err))
		goto out;
	out.check_in = &view.check_in;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	PQclear(res);
	return ok;
}

static void
check_in(struct rpc_call *call)
{
	const Vledger__V1__CheckInRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "check volunteers in", &err) ||
	    !idempotency_key_valid(req->idempotency_key, &err))
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
	if (!records_fields_valid(req->activity, req->place, req->grid, req->beneficiary, req->role, "", &err))
		goto fail;
	rpc_run_job(call, check_in_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/* Who closes a check-in: a caller (CheckOut) or the sweep (call == NULL). */
struct closer {
	const struct rpc_call *call;
	const struct tlog *log;
	int64_t max_shift_hours;
};

/* Appends `kind` with `facts` (taking the reference) and indexes it under
 * the volunteer and organisation, as log_record_append_about() does; for
 * the sweep, with actor "vledgerd". */
static bool
closer_append(PGconn *conn, const struct closer *c, const char *kind, json_t *facts, const char *volunteer_id,
    const char *organization_id, struct log_record *record, struct vl_error *err)
{
	char index[24];
	const char *params[5];
	PGresult *res;
	bool ok;

	if (c->call != NULL)
		return log_record_append_about(conn, c->call, kind, facts, volunteer_id, organization_id, record, err);
	memset(record, 0, sizeof(*record));
	ok = tlog_append(conn, c->log, kind, SWEEP_ACTOR, facts, &record->receipt, err);
	json_decref(facts);
	if (!ok)
		return false;
	snprintf(index, sizeof(index), "%llu", (unsigned long long)record->receipt.leaf_index);
	params[0] = c->log->log_id;
	params[1] = index;
	params[2] = kind;
	params[3] = volunteer_id;
	params[4] = organization_id;
	res = PQexecParams(conn, "INSERT INTO entry_subjects (log_id, leaf_index, kind, volunteer_id, organization_id)"
	    " VALUES ($1, $2, $3, $4, $5)", 5, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		store_error_from_result(conn, res, "entry index", err);
	PQclear(res);
	return ok;
}

static bool
closer_history(PGconn *conn, const struct closer *c, const char *shift_id, uint64_t leaf_index,
    struct vl_error *err)
{
	char index[24];
	const char *params[3];
	PGresult *res;
	bool ok;

	if (c->call != NULL)
		return records_history_add(conn, c->call, shift_id, "recorded", NULL, NULL, leaf_index, err);
	snprintf(index, sizeof(index), "%llu", (unsigned long long)leaf_index);
	params[0] = shift_id;
	params[1] = SWEEP_ACTOR;
	params[2] = index;
	res = PQexecParams(conn, "INSERT INTO shift_history (shift_id, kind, actor, leaf_index)"
	    " VALUES ($1, 'recorded', $2, $3)", 3, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		store_error_from_result(conn, res, "shift history", err);
	PQclear(res);
	return ok;
}

/* Closes check-in `id` into a measured shift, inside the caller's
 * transaction. *shift gets the shift's row (SHIFT_COLUMNS; caller clears),
 * `record` the shift_recorded entry (caller releases). */
static bool
close_check_in(PGconn *conn, const struct closer *c, const char *id, PGresult **shift, struct log_record *record,
    struct vl_error *err)
{
	const struct principal *p = c->call != NULL ? &c->call->principal : NULL;
	bool approved = p != NULL && p->role != VLEDGER__V1__ROLE__ROLE_TEAM_LEADER;
	const char *actor = p != NULL ? p->token_id : SWEEP_ACTOR;
	const char *params[16];
	char volunteer[64], organization[64], shift_id[32], start[40], end[40], minutes_text[16];
	long long start_us, end_us, limit_us = (long long)c->max_shift_hours * 3600 * MICROS;
	bool capped = false;
	int minutes;
	PGresult *res, *row = NULL;
	json_t *facts;
	bool ok = false;

	memset(record, 0, sizeof(*record));
	*shift = NULL;
	params[0] = id;
	res = PQexecParams(conn, "SELECT volunteer_id, organization_id FROM check_ins WHERE id = $1", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "checkInId", err);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return vl_error_set(err, VL_NOT_FOUND, "checkInId: no such check-in");
	}
	snprintf(volunteer, sizeof(volunteer), "%s", PQgetvalue(res, 0, 0));
	snprintf(organization, sizeof(organization), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if (p != NULL && !scope_check(conn, p, organization, SCOPE_OFFICE | SCOPE_TEAM_LEADER, "checkInId", err))
		return false;

	/* The volunteer's lock first, then the row: the order every writer of
	 * a volunteer's shifts and check-ins follows. */
	if (!records_lock_volunteer(conn, volunteer, err))
		return false;
	res = PQexecParams(conn,
	    "SELECT category, activity, place, grid, beneficiary, role, coalesce(shift_id, ''),"
	    " ((extract(epoch FROM start_time) * 1000000)::bigint)::text,"
	    " ((extract(epoch FROM now()) * 1000000)::bigint)::text"
	    " FROM check_ins WHERE id = $1 FOR UPDATE", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "checkInId", err);
		goto out;
	}
	row = res;
	res = NULL;
	if (PQgetvalue(row, 0, 6)[0] != '\0') {
		vl_error_set(err, VL_FAILED_PRECONDITION, "checkInId: already checked out (shift %s)", PQgetvalue(row, 0, 6));
		goto out;
	}
	start_us = strtoll(PQgetvalue(row, 0, 7), NULL, 10);
	end_us = strtoll(PQgetvalue(row, 0, 8), NULL, 10);
	if (end_us - start_us > limit_us) {
		end_us = start_us + limit_us;
		capped = true;
	}
	/* A shift ends after it starts, even one checked out at once. */
	if (end_us <= start_us)
		end_us = start_us + MICROS;
	minutes = (int)((end_us - start_us) / (60 * MICROS));
	format_micros(start_us, start);
	format_micros(end_us, end);
	if (!records_overlap_check(conn, volunteer, start, end, NULL, "checkInId", err))
		goto out;

	random_id("shf_", shift_id, sizeof(shift_id));
	snprintf(minutes_text, sizeof(minutes_text), "%d", minutes);
	params[0] = shift_id;
	params[1] = volunteer;
	params[2] = organization;
	params[3] = PQgetvalue(row, 0, 0);
	params[4] = start;
	params[5] = end;
	params[6] = minutes_text;
	params[7] = PQgetvalue(row, 0, 1);
	params[8] = PQgetvalue(row, 0, 2);
	params[9] = PQgetvalue(row, 0, 3);
	params[10] = PQgetvalue(row, 0, 4);
	params[11] = PQgetvalue(row, 0, 5);
	params[12] = approved ? "approved" : "pending";
	params[13] = actor;
	params[14] = approved ? actor : "";
	params[15] = capped ? "true" : "false";
	res = PQexecParams(conn,
	    "INSERT INTO shifts (id, volunteer_id, organization_id, category, start_time, end_time, minutes, activity,"
	    " place, grid, beneficiary, role, source, status, recorded_by, decided_by, decide_time, capped)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'measured', $13, $14, $15,"
	    "  CASE WHEN $15 = '' THEN NULL ELSE now() END, $16)"
	    " RETURNING " SHIFT_COLUMNS,
	    16, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "shift", err);
		goto out;
	}
	*shift = res;
	params[1] = id;
	res = PQexecParams(conn, "UPDATE check_ins SET shift_id = $1, close_time = now() WHERE id = $2", 2, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res, "checkInId", err);
		goto out;
	}
	PQclear(res);
	res = NULL;

	facts = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "id", shift_id, "volunteerId",
	    volunteer, "organizationId", organization, "category", PQgetvalue(row, 0, 0), "startTime", start, "endTime",
	    end, "minutes", minutes, "activity", PQgetvalue(row, 0, 1), "place", PQgetvalue(row, 0, 2), "source",
	    "measured", "status", approved ? "approved" : "pending", "checkInId", id);
	if (PQgetvalue(row, 0, 3)[0] != '\0')
		json_object_set_new(facts, "grid", json_string(PQgetvalue(row, 0, 3)));
	if (PQgetvalue(row, 0, 4)[0] != '\0')
		json_object_set_new(facts, "beneficiary", json_string(PQgetvalue(row, 0, 4)));
	if (PQgetvalue(row, 0, 5)[0] != '\0')
		json_object_set_new(facts, "role", json_string(PQgetvalue(row, 0, 5)));
	if (capped)
		json_object_set_new(facts, "capped", json_true());
	if (!closer_append(conn, c, "shift_recorded", json_pack("{s:o}", "shift", facts), volunteer, organization, record,
	    err) ||
	    !closer_history(conn, c, shift_id, record->receipt.leaf_index, err))
		goto out;
	ok = true;
out:
	if (!ok) {
		PQclear(*shift);
		*shift = NULL;
	}
	PQclear(row);
	PQclear(res);
	return ok;
}

static bool
check_out_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__CheckOutRequest *req = (const void *)call->request;
	Vledger__V1__CheckOutResponse out = VLEDGER__V1__CHECK_OUT_RESPONSE__INIT;
	struct closer c = {call, call->app->tlog, call->app->config->max_shift_hours};
	struct shift_view view;
	struct log_record record;
	PGresult *shift = NULL;
	bool ok = false;

	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	if (!close_check_in(conn, &c, req->check_in_id, &shift, &record, err))
		goto out;
	records_shift_from_row(shift, 0, &view);
	out.shift = &view.shift;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	PQclear(shift);
	return ok;
}

static void
check_out(struct rpc_call *call)
{
	const Vledger__V1__CheckOutRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "check volunteers out", &err) ||
	    !idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->check_in_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "checkInId: required");
		goto fail;
	}
	rpc_run_job(call, check_out_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

bool
attendance_close_stale(PGconn *conn, const struct tlog *log, int64_t max_shift_hours, int *closed,
    struct vl_error *err)
{
	struct closer c = {NULL, log, max_shift_hours};
	struct log_record record;
	struct vl_error one;
	char hours[24];
	const char *params[1] = {hours};
	PGresult *ids, *res, *shift = NULL;
	int i;
	bool ok;

	*closed = 0;
	snprintf(hours, sizeof(hours), "%lld", (long long)max_shift_hours);
	ids = PQexecParams(conn, "SELECT id FROM check_ins WHERE shift_id IS NULL"
	    " AND start_time < now() - make_interval(hours => $1::int) ORDER BY start_time", 1, NULL, params, NULL, NULL,
	    0);
	if (PQresultStatus(ids) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, ids, "check-in sweep", err);
		PQclear(ids);
		return false;
	}
	for (i = 0; i < PQntuples(ids); i++) {
		vl_error_clear(&one);
		memset(&record, 0, sizeof(record));
		ok = store_exec(conn, "BEGIN", &one) &&
		    store_exec(conn, "SET LOCAL statement_timeout = 30000; SET LOCAL lock_timeout = 10000", &one) &&
		    close_check_in(conn, &c, PQgetvalue(ids, i, 0), &shift, &record, &one);
		if (ok) {
			PQclear(shift);
			log_record_release(&record);
			res = PQexec(conn, "COMMIT");
			ok = PQresultStatus(res) == PGRES_COMMAND_OK;
			if (!ok)
				store_error_from_result(conn, res, "commit", &one);
			PQclear(res);
		} else {
			log_record_release(&record);
			PQclear(PQexec(conn, "ROLLBACK"));
		}
		if (ok) {
			(*closed)++;
			log_info("check-in %s closed at --max-shift-hours (%lld), shift capped", PQgetvalue(ids, i, 0),
			    (long long)max_shift_hours);
			continue;
		}
		if (PQstatus(conn) != CONNECTION_OK) {
			*err = one;
			PQclear(ids);
			return false;
		}
		/* Checked out meanwhile, or overlapping another shift: an
		 * office resolves it; the others still close. */
		log_warnx("check-in %s not closed: %s", PQgetvalue(ids, i, 0), one.message);
	}
	PQclear(ids);
	return true;
}

const struct rpc_method attendance_methods[] = {
	{"vledger.v1.AttendanceService", "CheckIn", &vledger__v1__check_in_request__descriptor,
	    &vledger__v1__check_in_response__descriptor, RPC_TOKEN, check_in, false},
	{"vledger.v1.AttendanceService", "CheckOut", &vledger__v1__check_out_request__descriptor,
	    &vledger__v1__check_out_response__descriptor, RPC_TOKEN, check_out, false},
};
const size_t attendance_methods_count = sizeof(attendance_methods) / sizeof(attendance_methods[0]);
