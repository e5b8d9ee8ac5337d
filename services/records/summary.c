/*
 * summary.c - GetVolunteerSummary: a volunteer's approved service, totalled
 * in the database from the shifts table (approved, not voided).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/auth.h"
#include "vledger/commendations.h"
#include "vledger/codec.h"
#include "vledger/log.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/records.pb-c.h"

/* Only approved, non-voided shifts count anywhere. */
#define COUNTED "status = 'approved' AND NOT voided"
#define IN_PERIOD_S "volunteer_id = $1 AND ($2::timestamptz IS NULL OR s.start_time >= $2) AND ($3::timestamptz IS NULL OR s.start_time < $3)"
#define IN_PERIOD "volunteer_id = $1 AND ($2::timestamptz IS NULL OR start_time >= $2) AND ($3::timestamptz IS NULL OR start_time < $3)"

static int
star_level(const struct config *config, long long lifetime)
{
	int level = 0;

	while (level < 5 && lifetime >= config->star_minutes[level])
		level++;
	return level;
}

static bool
query(PGconn *conn, const char *sql, const char *const *params, PGresult **out, struct vl_error *err)
{
	PGresult *res = PQexecParams(conn, sql, 3, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "summary", err);
		PQclear(res);
		return false;
	}
	*out = res;
	return true;
}

static bool
summary_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetVolunteerSummaryRequest *req = (const void *)call->request;
	Vledger__V1__GetVolunteerSummaryResponse out = VLEDGER__V1__GET_VOLUNTEER_SUMMARY_RESPONSE__INIT;
	Vledger__V1__VolunteerSummary summary = VLEDGER__V1__VOLUNTEER_SUMMARY__INIT;
	Vledger__V1__CategoryMinutes *cats = NULL, **cat_ptrs = NULL;
	Vledger__V1__OrganizationMinutes *orgs = NULL, **org_ptrs = NULL;
	char from[40], to[40];
	const char *params[3] = {req->volunteer_id, NULL, NULL};
	PGresult *res = NULL, *by_cat = NULL, *by_org = NULL, *fb = NULL;
	struct commendation_list cmds;
	bool ok = false;
	int i;

	memset(&cmds, 0, sizeof(cmds));
	res = PQexecParams(conn, "SELECT organization_id FROM volunteers WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "volunteerId: no such volunteer");
		goto out;
	}
	if (!scope_check(conn, &call->principal, PQgetvalue(res, 0, 0), SCOPE_OFFICE | SCOPE_TEAM_LEADER, "volunteerId",
	    err))
		goto out;
	PQclear(res);
	res = NULL;
	if (req->from != NULL) {
		codec_timestamp_format(req->from->seconds, req->from->nanos, from);
		params[1] = from;
	}
	if (req->to != NULL) {
		codec_timestamp_format(req->to->seconds, req->to->nanos, to);
		params[2] = to;
	}
	if (!query(conn,
	    "SELECT coalesce(sum(minutes) FILTER (WHERE " COUNTED " AND " IN_PERIOD "), 0)::text,"
	    "  coalesce(sum(minutes) FILTER (WHERE " COUNTED " AND " IN_PERIOD " AND source = 'measured'), 0)::text,"
	    "  coalesce(sum(minutes) FILTER (WHERE " COUNTED " AND " IN_PERIOD " AND source = 'entered'), 0)::text,"
	    "  (count(*) FILTER (WHERE " COUNTED " AND " IN_PERIOD "))::text,"
	    "  (count(*) FILTER (WHERE status = 'pending' AND NOT voided AND " IN_PERIOD "))::text,"
	    "  coalesce(sum(minutes) FILTER (WHERE " COUNTED "), 0)::text"
	    ", points_balance($1)::text"
	    " FROM shifts WHERE volunteer_id = $1", params, &res, err) ||
	    !query(conn, "SELECT category, sum(minutes)::text FROM shifts WHERE " COUNTED " AND " IN_PERIOD
	    " GROUP BY category ORDER BY category", params, &by_cat, err) ||
	    !query(conn, "SELECT organization_id, sum(minutes)::text FROM shifts WHERE " COUNTED " AND " IN_PERIOD
	    " GROUP BY organization_id ORDER BY organization_id", params, &by_org, err) ||
	    !query(conn, "SELECT count(*)::text, coalesce(avg(f.rating), 0)::text FROM feedback f"
	    " JOIN shifts s ON s.id = f.shift_id WHERE NOT f.voided AND s.status = 'approved' AND NOT s.voided AND s."
	    IN_PERIOD_S,
	    params, &fb, err) ||
	    !commendations_for_summary(conn, req->volunteer_id, params[1], params[2], &cmds, err))
		goto out;

	summary.volunteer_id = req->volunteer_id;
	summary.total_minutes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	summary.measured_minutes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	summary.entered_minutes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	summary.shift_count = atoi(PQgetvalue(res, 0, 3));
	summary.pending_shift_count = atoi(PQgetvalue(res, 0, 4));
	summary.lifetime_minutes = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	summary.star_level = star_level(call->app->config, summary.lifetime_minutes);
	summary.points_balance = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	summary.feedback_count = atoi(PQgetvalue(fb, 0, 0));
	summary.average_rating = strtod(PQgetvalue(fb, 0, 1), NULL);

	cats = xcalloc((size_t)PQntuples(by_cat) + 1, sizeof(*cats));
	cat_ptrs = xcalloc((size_t)PQntuples(by_cat) + 1, sizeof(*cat_ptrs));
	for (i = 0; i < PQntuples(by_cat); i++) {
		vledger__v1__category_minutes__init(&cats[i]);
		cats[i].category = (Vledger__V1__ShiftCategory)records_category_from_db(PQgetvalue(by_cat, i, 0));
		cats[i].minutes = strtoll(PQgetvalue(by_cat, i, 1), NULL, 10);
		cat_ptrs[i] = &cats[i];
	}
	summary.n_by_category = (size_t)PQntuples(by_cat);
	summary.by_category = cat_ptrs;
	orgs = xcalloc((size_t)PQntuples(by_org) + 1, sizeof(*orgs));
	org_ptrs = xcalloc((size_t)PQntuples(by_org) + 1, sizeof(*org_ptrs));
	for (i = 0; i < PQntuples(by_org); i++) {
		vledger__v1__organization_minutes__init(&orgs[i]);
		orgs[i].organization_id = PQgetvalue(by_org, i, 0);
		orgs[i].minutes = strtoll(PQgetvalue(by_org, i, 1), NULL, 10);
		org_ptrs[i] = &orgs[i];
	}
	summary.n_by_organization = (size_t)PQntuples(by_org);
	summary.by_organization = org_ptrs;
	summary.n_commendations = cmds.count;
	summary.commendations = cmds.ptrs;
	out.summary = &summary;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	free(cats);
	free(cat_ptrs);
	free(orgs);
	free(org_ptrs);
	PQclear(res);
	PQclear(by_cat);
	PQclear(by_org);
	PQclear(fb);
	commendation_list_free(&cmds);
	return ok;
}

void
records_get_volunteer_summary(struct rpc_call *call)
{
	const Vledger__V1__GetVolunteerSummaryRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "read volunteer summaries", &err))
		goto fail;
	if (req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required");
		goto fail;
	}
	if ((req->from != NULL && (req->from->nanos < 0 || req->from->nanos > 999999999)) ||
	    (req->to != NULL && (req->to->nanos < 0 || req->to->nanos > 999999999))) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "%s: nanos out of range",
		    req->from != NULL && (req->from->nanos < 0 || req->from->nanos > 999999999) ? "from" : "to");
		goto fail;
	}
	if (req->from != NULL && req->to != NULL && (req->to->seconds < req->from->seconds ||
	    (req->to->seconds == req->from->seconds && req->to->nanos < req->from->nanos))) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "to: before from");
		goto fail;
	}
	rpc_run_job(call, summary_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}
