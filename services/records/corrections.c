/*
 * corrections.c - VoidEntry and AmendShift: corrections are appended, never
 * edited in. The original entries stay in the log; the shifts, feedback and
 * commendations tables (what totals read) follow the latest correction, and
 * shift_history lists every step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"

/* The subjects VoidEntry can void, by id prefix. For each: how to find its
 * organisation (whose offices may void it) and volunteer, and how to mark it. */
static const struct void_target {
	const char *prefix;
	const char *kind;
	const char *select;  /* $1 = id -> voided::text, organization_id, volunteer_id; locks the row */
	const char *update;  /* $1 = id, $2 = reason */
} void_targets[] = {
	{"shf_", "shift",
	    "SELECT voided::text, organization_id, volunteer_id FROM shifts WHERE id = $1 FOR UPDATE",
	    "UPDATE shifts SET voided = true WHERE id = $1 AND $2::text IS NOT NULL"},
	{"fbk_", "feedback",
	    "SELECT f.voided::text, s.organization_id, s.volunteer_id FROM feedback f JOIN shifts s ON s.id = f.shift_id"
	    " WHERE f.id = $1 FOR UPDATE OF f",
	    "UPDATE feedback SET voided = true WHERE id = $1 AND $2::text IS NOT NULL"},
	{"cmd_", "commendation",
	    "SELECT voided::text, organization_id, volunteer_id FROM commendations WHERE id = $1 FOR UPDATE",
	    "UPDATE commendations SET voided = true, void_reason = $2 WHERE id = $1"},
};

static const struct void_target *
void_target_for(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(void_targets) / sizeof(void_targets[0]); i++)
		if (strncmp(id, void_targets[i].prefix, 4) == 0)
			return &void_targets[i];
	return NULL;
}

static bool
void_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__VoidEntryRequest *req = (const void *)call->request;
	const struct void_target *target = void_target_for(req->entry_id);
	Vledger__V1__VoidEntryResponse out = VLEDGER__V1__VOID_ENTRY_RESPONSE__INIT;
	struct log_record record;
	const char *params[2] = {req->entry_id, req->reason};
	PGresult *res = NULL, *res2;
	bool ok = false;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	res = PQexecParams(conn, target->select, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "entryId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "entryId: no such %s", target->kind);
		goto out;
	}
	if (!scope_check(conn, &call->principal, PQgetvalue(res, 0, 1), SCOPE_OFFICE, "entryId", err))
		goto out;
	if (strcmp(PQgetvalue(res, 0, 0), "true") == 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "entryId: the %s is already voided", target->kind);
		goto out;
	}
	res2 = PQexecParams(conn, target->update, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res2) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res2, "entryId", err);
		PQclear(res2);
		goto out;
	}
	PQclear(res2);
	if (!log_record_append_about(conn, call, "entry_voided", json_pack("{s:{s:s, s:s}, s:s}", "voided", "id",
	    req->entry_id, "kind", target->kind, "reason", req->reason), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1),
	    &record, err))
		goto out;
	if (strcmp(target->kind, "shift") == 0 &&
	    !records_history_add(conn, call, req->entry_id, "voided", req->reason, NULL, record.receipt.leaf_index, err))
		goto out;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	PQclear(res);
	return ok;
}

void
records_void_entry(struct rpc_call *call)
{
	const Vledger__V1__VoidEntryRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "void entries", &err) || !idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (void_target_for(req->entry_id) == NULL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "entryId: expected a shift (shf_...), feedback (fbk_...) or"
		    " commendation (cmd_...) id");
		goto fail;
	}
	if (!records_text_valid("reason", req->reason, 300, true, true, &err))
		goto fail;
	rpc_run_job(call, void_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/* The fields AmendShift may change, by JSON name. */
static const char *const amendable[] = {"category", "startTime", "endTime", "activity", "place", "grid",
    "beneficiary", "role", "note"};

static bool
field_listed(const Vledger__V1__AmendShiftRequest *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->n_fields; i++)
		if (strcmp(req->fields[i], name) == 0)
			return true;
	return false;
}

/* Records one change in `changes` ({"field":{"from":…,"to":…}}) and `facts`
 * (the new value), when the value really changes. */
static void
note_change(json_t *changes, json_t *facts, const char *field, const char *from, const char *to)
{
	if (strcmp(from, to) == 0)
		return;
	json_object_set_new(changes, field, json_pack("{s:s, s:s}", "from", from, "to", to));
	json_object_set_new(facts, field, json_string(to));
}

static bool
amend_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__AmendShiftRequest *req = (const void *)call->request;
	Vledger__V1__AmendShiftResponse out = VLEDGER__V1__AMEND_SHIFT_RESPONSE__INIT;
	struct shift_view old, now;
	struct log_record record;
	Google__Protobuf__Timestamp start, end;
	char old_start[40], old_end[40], new_start[40], new_end[40], minutes_text[16];
	const char *category, *activity, *place, *grid, *beneficiary, *role, *note;
	const char *params[12];
	json_t *changes = json_object(), *facts = json_object();
	char *changes_text = NULL;
	PGresult *res = NULL, *res2 = NULL;
	bool ok = false;
	int minutes;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		goto done;
	if (*response != NULL) {
		ok = true;
		goto done;
	}
	params[0] = req->shift_id;
	res = PQexecParams(conn, "SELECT " SHIFT_COLUMNS " FROM shifts WHERE id = $1 FOR UPDATE", 1, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "shiftId", err);
		goto done;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "shiftId: no such shift");
		goto done;
	}
	records_shift_from_row(res, 0, &old);
	if (!scope_check(conn, &call->principal, old.shift.organization_id, SCOPE_OFFICE, "shiftId", err))
		goto done;
	if (old.shift.voided || old.shift.status == VLEDGER__V1__SHIFT_STATUS__SHIFT_STATUS_REJECTED) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "shiftId: a %s shift cannot be amended",
		    old.shift.voided ? "voided" : "rejected");
		goto done;
	}

	/* The shift as it would be: listed fields from the request, the rest
	 * as they are. Then the same rules as a new record. */
	start = field_listed(req, "startTime") && req->start_time != NULL ? *req->start_time : old.start;
	end = field_listed(req, "endTime") && req->end_time != NULL ? *req->end_time : old.end;
	if ((field_listed(req, "startTime") && req->start_time == NULL) ||
	    (field_listed(req, "endTime") && req->end_time == NULL)) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "%s: listed in fields but not given",
		    req->start_time == NULL && field_listed(req, "startTime") ? "startTime" : "endTime");
		goto done;
	}
	category = field_listed(req, "category") ? records_category_db_name(req->category) :
	    records_category_db_name(old.shift.category);
	if (category == NULL) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "category: required (one of the SHIFT_CATEGORY_ values)");
		goto done;
	}
	activity = field_listed(req, "activity") ? req->activity : old.shift.activity;
	place = field_listed(req, "place") ? req->place : old.shift.place;
	grid = field_listed(req, "grid") ? req->grid : old.shift.grid;
	beneficiary = field_listed(req, "beneficiary") ? req->beneficiary : old.shift.beneficiary;
	role = field_listed(req, "role") ? req->role : old.shift.role;
	note = field_listed(req, "note") ? req->note : old.shift.note;
	if (!records_times_valid(call->app->config, call->principal.role, &start, &end, &minutes, err) ||
	    !records_fields_valid(activity, place, grid, beneficiary, role, note, err))
		goto done;
	codec_timestamp_format(old.start.seconds, old.start.nanos, old_start);
	codec_timestamp_format(old.end.seconds, old.end.nanos, old_end);
	codec_timestamp_format(start.seconds, start.nanos, new_start);
	codec_timestamp_format(end.seconds, end.nanos, new_end);
	note_change(changes, facts, "category", records_category_db_name(old.shift.category), category);
	note_change(changes, facts, "startTime", old_start, new_start);
	note_change(changes, facts, "endTime", old_end, new_end);
	note_change(changes, facts, "activity", old.shift.activity, activity);
	note_change(changes, facts, "place", old.shift.place, place);
	note_change(changes, facts, "grid", old.shift.grid, grid);
	note_change(changes, facts, "beneficiary", old.shift.beneficiary, beneficiary);
	note_change(changes, facts, "role", old.shift.role, role);
	note_change(changes, facts, "note", old.shift.note, note);
	if (json_object_size(changes) == 0) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "fields: the amendment changes nothing");
		goto done;
	}
	if (!records_lock_volunteer(conn, old.shift.volunteer_id, err) ||
	    !records_overlap_check(conn, old.shift.volunteer_id, new_start, new_end, req->shift_id, "startTime", err) ||
	    !records_checkin_overlap_check(conn, old.shift.volunteer_id, new_end, "startTime", err))
		goto done;

	snprintf(minutes_text, sizeof(minutes_text), "%d", minutes);
	params[1] = category;
	params[2] = new_start;
	params[3] = new_end;
	params[4] = minutes_text;
	params[5] = activity;
	params[6] = place;
	params[7] = grid;
	params[8] = beneficiary;
	params[9] = role;
	params[10] = note;
	res2 = PQexecParams(conn, "UPDATE shifts SET category = $2, start_time = $3, end_time = $4, minutes = $5,"
	    " activity = $6, place = $7, grid = $8, beneficiary = $9, role = $10, note = $11 WHERE id = $1"
	    " RETURNING " SHIFT_COLUMNS, 11, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res2) != PGRES_TUPLES_OK || PQntuples(res2) != 1) {
		store_error_from_result(conn, res2, "shift", err);
		goto done;
	}
	records_shift_from_row(res2, 0, &now);
	json_object_set_new(facts, "id", json_string(req->shift_id));
	json_object_set_new(facts, "minutes", json_integer(minutes));
	changes_text = json_dumps(changes, JSON_COMPACT | JSON_SORT_KEYS);
	if (!log_record_append_about(conn, call, "shift_amended", json_pack("{s:O, s:s}", "shift", facts, "reason",
	    req->reason), now.shift.volunteer_id, now.shift.organization_id, &record, err) ||
	    !records_history_add(conn, call, req->shift_id, "amended", req->reason, changes_text,
	    record.receipt.leaf_index, err))
		goto done;
	out.shift = &now.shift;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
done:
	log_record_release(&record);
	json_decref(changes);
	json_decref(facts);
	free(changes_text);
	PQclear(res2);
	PQclear(res);
	return ok;
}

void
records_amend_shift(struct rpc_call *call)
{
	const Vledger__V1__AmendShiftRequest *req = (const void *)call->request;
	struct vl_error err;
	size_t i, j;

	if (!role_may(call, ROLES_OFFICE, "amend shifts", &err) || !idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->shift_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "shiftId: required");
		goto fail;
	}
	if (req->n_fields == 0) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "fields: name at least one field to change");
		goto fail;
	}
	for (i = 0; i < req->n_fields; i++) {
		for (j = 0; j < sizeof(amendable) / sizeof(amendable[0]); j++)
			if (strcmp(req->fields[i], amendable[j]) == 0)
				break;
		if (j == sizeof(amendable) / sizeof(amendable[0])) {
			vl_error_set(&err, VL_INVALID_ARGUMENT, "fields[%zu]: \"%.40s\" cannot be amended", i, req->fields[i]);
			goto fail;
		}
	}
	if (!records_text_valid("reason", req->reason, 300, true, true, &err))
		goto fail;
	rpc_run_job(call, amend_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}
