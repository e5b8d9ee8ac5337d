/*
 * commendation_service.c - AwardCommendation, ListCommendations, and the
 * commendations of a volunteer summary. See commendations.h for the rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/commendations.h"
#include "vledger/encoding.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/commendations.pb-c.h"

#define TITLE_MAX 100
#define CITATION_MAX 1000
#define RELATED_SHIFTS_MAX 50

/* Every column is text. Shift ids ("shf_" and hex) never hold a blank. */
#define COMMENDATION_COLUMNS \
	"id, volunteer_id, organization_id, level, title, citation, array_to_string(related_shift_ids, ' ')," \
	" ((extract(epoch FROM award_time) * 1000000)::bigint)::text, awarded_by, voided::text"

/* Indexed by CommendationLevel, whose value is the level's rank. */
static const char *const level_names[] = {
	[VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_TEAM] = "team",
	[VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_COMMUNITY] = "community",
	[VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_SUBDISTRICT] = "subdistrict",
	[VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_DISTRICT] = "district",
	[VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_CITY] = "city",
};
#define LEVEL_COUNT (sizeof(level_names) / sizeof(level_names[0]))

const char *
commendation_level_db_name(int level)
{
	if (level <= 0 || (size_t)level >= LEVEL_COUNT)
		return NULL;
	return level_names[level];
}

int
commendation_level_from_db(const char *name)
{
	size_t i;

	for (i = 1; i < LEVEL_COUNT; i++)
		if (strcmp(level_names[i], name) == 0)
			return (int)i;
	return 0;
}

/* The highest level an office of this kind awards: its own rank, the same
 * numbers as CommendationLevel. 0 for teams and employers (not offices). */
static int
org_rank(const char *kind)
{
	if (strcmp(kind, "community") == 0)
		return VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_COMMUNITY;
	if (strcmp(kind, "subdistrict") == 0)
		return VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_SUBDISTRICT;
	if (strcmp(kind, "district") == 0)
		return VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_DISTRICT;
	return 0;
}

void
commendation_list_free(struct commendation_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		free(list->shift_id_text[i]);
		free(list->shift_ids[i]);
	}
	free(list->items);
	free(list->ptrs);
	free(list->award_times);
	free(list->shift_id_text);
	free(list->shift_ids);
	PQclear(list->res);
	memset(list, 0, sizeof(*list));
}

/* Takes `res` (rows of COMMENDATION_COLUMNS) into `list`. */
static void
commendation_list_fill(PGresult *res, struct commendation_list *list)
{
	size_t n = (size_t)PQntuples(res), i, k;
	char *p, *save;

	memset(list, 0, sizeof(*list));
	list->res = res;
	list->count = n;
	list->items = xcalloc(n + 1, sizeof(*list->items));
	list->ptrs = xcalloc(n + 1, sizeof(*list->ptrs));
	list->award_times = xcalloc(n + 1, sizeof(*list->award_times));
	list->shift_id_text = xcalloc(n + 1, sizeof(*list->shift_id_text));
	list->shift_ids = xcalloc(n + 1, sizeof(*list->shift_ids));
	for (i = 0; i < n; i++) {
		Vledger__V1__Commendation *c = &list->items[i];
		int row = (int)i;

		vledger__v1__commendation__init(c);
		google__protobuf__timestamp__init(&list->award_times[i]);
		c->id = PQgetvalue(res, row, 0);
		c->volunteer_id = PQgetvalue(res, row, 1);
		c->organization_id = PQgetvalue(res, row, 2);
		c->level = (Vledger__V1__CommendationLevel)commendation_level_from_db(PQgetvalue(res, row, 3));
		c->title = PQgetvalue(res, row, 4);
		c->citation = PQgetvalue(res, row, 5);
		/* "shf_a shf_b" -> {"shf_a", "shf_b"}; at most RELATED_SHIFTS_MAX. */
		list->shift_id_text[i] = xstrdup(PQgetvalue(res, row, 6));
		list->shift_ids[i] = xcalloc(strlen(list->shift_id_text[i]) / 2 + 2, sizeof(char *));
		k = 0;
		for (p = strtok_r(list->shift_id_text[i], " ", &save); p != NULL; p = strtok_r(NULL, " ", &save))
			list->shift_ids[i][k++] = p;
		c->n_related_shift_ids = k;
		c->related_shift_ids = list->shift_ids[i];
		timestamp_from_micros(PQgetvalue(res, row, 7), &list->award_times[i].seconds,
		    &list->award_times[i].nanos);
		c->award_time = &list->award_times[i];
		c->awarded_by = PQgetvalue(res, row, 8);
		c->voided = strcmp(PQgetvalue(res, row, 9), "true") == 0;
		list->ptrs[i] = c;
	}
}

bool
commendations_for_summary(PGconn *conn, const char *volunteer_id, const char *from_rfc3339, const char *to_rfc3339,
    struct commendation_list *out, struct vl_error *err)
{
	const char *params[3] = {volunteer_id, from_rfc3339, to_rfc3339};
	PGresult *res;

	memset(out, 0, sizeof(*out));
	res = PQexecParams(conn, "SELECT " COMMENDATION_COLUMNS " FROM commendations"
	    " WHERE volunteer_id = $1 AND NOT voided AND ($2::timestamptz IS NULL OR award_time >= $2)"
	    "   AND ($3::timestamptz IS NULL OR award_time < $3)"
	    " ORDER BY award_time DESC, seq DESC", 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "commendations", err);
		PQclear(res);
		return false;
	}
	commendation_list_fill(res, out);
	return true;
}

/* A free-text field of 0..max characters, required ones not blank, with no
 * control characters (newlines allowed where `multiline`). */
static bool
text_valid(const char *field, const char *s, size_t max, bool required, bool multiline, struct vl_error *err)
{
	const unsigned char *p;
	size_t chars = 0;
	bool blank = true;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r'))) || *p == 0x7F)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: control characters are not allowed%s", field,
			    multiline ? " (except newlines)" : "");
		if ((*p & 0xC0) != 0x80)
			chars++;
		if (*p != ' ' && *p != '\n' && *p != '\r')
			blank = false;
	}
	if (required && blank)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: required", field);
	if (chars > max)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: at most %zu characters", field, max);
	return true;
}

/* The awarding organisation: known, within the caller's reach, an office
 * whose rank reaches the level. */
static bool
award_check_organization(PGconn *conn, const struct rpc_call *call, const char *org, int level, struct vl_error *err)
{
	const char *params[1] = {org};
	PGresult *res;
	int rank;
	bool ok = false;

	res = PQexecParams(conn, "SELECT kind FROM organizations WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organizationId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "organizationId: no such organization");
		goto out;
	}
	if (!scope_check(conn, &call->principal, org, SCOPE_OFFICE, "organizationId", err))
		goto out;
	rank = org_rank(PQgetvalue(res, 0, 0));
	if (rank == 0) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "organizationId: a %s does not award commendations; the awarding"
		    " organisation is a DISTRICT, SUBDISTRICT or COMMUNITY", PQgetvalue(res, 0, 0));
		goto out;
	}
	/* CITY is above every office: admin tokens only, checked before. */
	if (level != VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_CITY && level > rank) {
		vl_error_set(err, VL_PERMISSION_DENIED, "level: a %s office awards at most %s", PQgetvalue(res, 0, 0),
		    protobuf_c_enum_descriptor_get_value(&vledger__v1__commendation_level__descriptor, rank)->name);
		goto out;
	}
	ok = true;
out:
	PQclear(res);
	return ok;
}

/* The volunteer: known, in the awarding organisation or below it. */
static bool
award_check_volunteer(PGconn *conn, const char *volunteer_id, const char *org, struct vl_error *err)
{
	const char *params[1] = {volunteer_id};
	PGresult *res;
	bool within = false, ok = false;

	res = PQexecParams(conn, "SELECT organization_id FROM volunteers WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "volunteerId: no such volunteer");
		goto out;
	}
	if (!org_within(conn, PQgetvalue(res, 0, 0), org, &within, err))
		goto out;
	if (!within) {
		vl_error_set(err, VL_PERMISSION_DENIED, "volunteerId: not in the awarding organization or below it");
		goto out;
	}
	ok = true;
out:
	PQclear(res);
	return ok;
}

/* Each related shift (a JSON array of ids) exists, is the volunteer's and
 * is neither rejected nor voided. */
static bool
award_check_shifts(PGconn *conn, const char *volunteer_id, const char *shift_ids_json, struct vl_error *err)
{
	const char *params[2] = {shift_ids_json, volunteer_id};
	PGresult *res;
	bool ok = false;
	int i;

	res = PQexecParams(conn, "SELECT (u.n - 1)::text, s.id IS NULL, s.volunteer_id = $2, s.status, s.voided::text"
	    " FROM json_array_elements_text($1::json) WITH ORDINALITY AS u (id, n)"
	    " LEFT JOIN shifts s ON s.id = u.id ORDER BY u.n", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "relatedShiftIds", err);
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *index = PQgetvalue(res, i, 0);

		if (strcmp(PQgetvalue(res, i, 1), "t") == 0) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "relatedShiftIds[%s]: no such shift", index);
			goto out;
		}
		if (strcmp(PQgetvalue(res, i, 2), "t") != 0) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "relatedShiftIds[%s]: a shift of another volunteer", index);
			goto out;
		}
		if (strcmp(PQgetvalue(res, i, 3), "rejected") == 0) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "relatedShiftIds[%s]: the shift was rejected", index);
			goto out;
		}
		if (strcmp(PQgetvalue(res, i, 4), "true") == 0) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "relatedShiftIds[%s]: the shift was voided", index);
			goto out;
		}
	}
	ok = true;
out:
	PQclear(res);
	return ok;
}

static bool
award_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__AwardCommendationRequest *req = (const void *)call->request;
	const char *shift_ids_json = ctx;  /* the related shift ids as a JSON array */
	Vledger__V1__AwardCommendationResponse out = VLEDGER__V1__AWARD_COMMENDATION_RESPONSE__INIT;
	struct commendation_list list;
	struct log_record record;
	char id[32];
	const char *params[8];
	const char *level = commendation_level_db_name(req->level);
	PGresult *res;
	json_t *facts;
	bool ok = false;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&list, 0, sizeof(list));
	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	if (!award_check_organization(conn, call, req->organization_id, req->level, err) ||
	    !award_check_volunteer(conn, req->volunteer_id, req->organization_id, err) ||
	    !award_check_shifts(conn, req->volunteer_id, shift_ids_json, err))
		goto out;

	random_id("cmd_", id, sizeof(id));
	params[0] = id;
	params[1] = req->volunteer_id;
	params[2] = req->organization_id;
	params[3] = level;
	params[4] = req->title;
	params[5] = req->citation;
	params[6] = shift_ids_json;
	params[7] = call->principal.token_id;
	res = PQexecParams(conn,
	    "INSERT INTO commendations (id, volunteer_id, organization_id, level, title, citation, related_shift_ids,"
	    " awarded_by) VALUES ($1, $2, $3, $4, $5, $6, ARRAY(SELECT json_array_elements_text($7::json)), $8)"
	    " RETURNING " COMMENDATION_COLUMNS, 8, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "commendation", err);
		PQclear(res);
		goto out;
	}
	commendation_list_fill(res, &list);

	facts = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "volunteerId", req->volunteer_id, "organizationId",
	    req->organization_id, "level", level, "title", req->title);
	if (req->citation[0] != '\0')
		json_object_set_new(facts, "citation", json_string(req->citation));
	if (req->n_related_shift_ids > 0)
		json_object_set_new(facts, "relatedShiftIds", json_loads(shift_ids_json, 0, NULL));
	if (!log_record_append_about(conn, call, "commendation_awarded", json_pack("{s:o}", "commendation", facts),
	    req->volunteer_id, req->organization_id, &record, err))
		goto out;
	out.commendation = list.ptrs[0];
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	commendation_list_free(&list);
	return ok;
}

static void
award_commendation(struct rpc_call *call)
{
	const Vledger__V1__AwardCommendationRequest *req = (const void *)call->request;
	int role = call->principal.role;
	struct vl_error err;
	json_t *ids = NULL;
	char *ids_json;
	size_t i, j;

	if (!role_may(call, ROLES_OFFICE, "award commendations", &err))
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
	if (commendation_level_db_name(req->level) == NULL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "level: required (one of the COMMENDATION_LEVEL_ values)");
		goto fail;
	}
	if (req->level == VLEDGER__V1__COMMENDATION_LEVEL__COMMENDATION_LEVEL_CITY &&
	    role != VLEDGER__V1__ROLE__ROLE_ADMIN) {
		vl_error_set(&err, VL_PERMISSION_DENIED,
		    "level: COMMENDATION_LEVEL_CITY is awarded with an admin token only");
		goto fail;
	}
	if (!text_valid("title", req->title, TITLE_MAX, true, false, &err) ||
	    !text_valid("citation", req->citation, CITATION_MAX, false, true, &err))
		goto fail;
	if (req->n_related_shift_ids > RELATED_SHIFTS_MAX) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "relatedShiftIds: at most %d", RELATED_SHIFTS_MAX);
		goto fail;
	}
	ids = json_array();
	for (i = 0; i < req->n_related_shift_ids; i++) {
		if (req->related_shift_ids[i][0] == '\0') {
			vl_error_set(&err, VL_INVALID_ARGUMENT, "relatedShiftIds[%zu]: empty", i);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (strcmp(req->related_shift_ids[i], req->related_shift_ids[j]) == 0) {
				vl_error_set(&err, VL_INVALID_ARGUMENT, "relatedShiftIds[%zu]: repeats relatedShiftIds[%zu]",
				    i, j);
				goto fail;
			}
		json_array_append_new(ids, json_string(req->related_shift_ids[i]));
	}
	ids_json = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	if (ids_json == NULL)
		fatalx("out of memory");
	rpc_run_job(call, award_job, ids_json);
	return;
fail:
	json_decref(ids);
	rpc_fail(call, &err);
}

static bool
list_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__ListCommendationsRequest *req = (const void *)call->request;
	Vledger__V1__ListCommendationsResponse out = VLEDGER__V1__LIST_COMMENDATIONS_RESPONSE__INIT;
	struct commendation_list list;
	char from[40], to[40];
	const char *params[1] = {req->volunteer_id};
	PGresult *res;

	res = PQexecParams(conn, "SELECT organization_id FROM volunteers WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return vl_error_set(err, VL_NOT_FOUND, "volunteerId: no such volunteer");
	}
	if (!scope_check(conn, &call->principal, PQgetvalue(res, 0, 0), SCOPE_OFFICE | SCOPE_TEAM_LEADER, "volunteerId",
	    err)) {
		PQclear(res);
		return false;
	}
	PQclear(res);
	if (req->from != NULL)
		codec_timestamp_format(req->from->seconds, req->from->nanos, from);
	if (req->to != NULL)
		codec_timestamp_format(req->to->seconds, req->to->nanos, to);
	if (!commendations_for_summary(conn, req->volunteer_id, req->from != NULL ? from : NULL,
	    req->to != NULL ? to : NULL, &list, err))
		return false;
	out.n_commendations = list.count;
	out.commendations = list.ptrs;
	codec_encode_binary(&out.base, response, response_len);
	commendation_list_free(&list);
	return true;
}

static bool
nanos_valid(const Google__Protobuf__Timestamp *t)
{
	return t == NULL || (t->nanos >= 0 && t->nanos <= 999999999);
}

static void
list_commendations(struct rpc_call *call)
{
	const Vledger__V1__ListCommendationsRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "read commendations", &err))
		goto fail;
	if (req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required");
		goto fail;
	}
	if (!nanos_valid(req->from) || !nanos_valid(req->to)) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "%s: nanos out of range", nanos_valid(req->from) ? "to" : "from");
		goto fail;
	}
	if (req->from != NULL && req->to != NULL && (req->to->seconds < req->from->seconds ||
	    (req->to->seconds == req->from->seconds && req->to->nanos < req->from->nanos))) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "to: before from");
		goto fail;
	}
	rpc_run_job(call, list_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

const struct rpc_method commendation_methods[] = {
	{"vledger.v1.CommendationService", "AwardCommendation", &vledger__v1__award_commendation_request__descriptor,
	    &vledger__v1__award_commendation_response__descriptor, RPC_TOKEN, award_commendation, false},
	{"vledger.v1.CommendationService", "ListCommendations", &vledger__v1__list_commendations_request__descriptor,
	    &vledger__v1__list_commendations_response__descriptor, RPC_TOKEN, list_commendations, false},
};
const size_t commendation_methods_count = sizeof(commendation_methods) / sizeof(commendation_methods[0]);
