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

bool
records_summary_load(PGconn *conn, const struct config *config, const char *volunteer_id, const char *from,
    const char *to, struct records_summary *out, struct vl_error *err)
{
	Vledger__V1__VolunteerSummary *summary = &out->summary;
	const char *params[3] = {volunteer_id, from, to};
	PGresult *by_cat = NULL, *by_org = NULL;
	int i;

	memset(out, 0, sizeof(*out));
	vledger__v1__volunteer_summary__init(summary);
	if (!query(conn,
	    "SELECT coalesce(sum(minutes) FILTER (WHERE " COUNTED " AND " IN_PERIOD "), 0)::text,"
	    "  coalesce(sum(minutes) FILTER (WHERE " COUNTED " AND " IN_PERIOD " AND source = 'measured'), 0)::text,"
	    "  coalesce(sum(minutes) FILTER (WHERE " COUNTED " AND " IN_PERIOD " AND source = 'entered'), 0)::text,"
	    "  (count(*) FILTER (WHERE " COUNTED " AND " IN_PERIOD "))::text,"
	    "  (count(*) FILTER (WHERE status = 'pending' AND NOT voided AND " IN_PERIOD "))::text,"
	    "  coalesce(sum(minutes) FILTER (WHERE " COUNTED "), 0)::text"
	    ", points_balance($1)::text"
	    " FROM shifts WHERE volunteer_id = $1", params, &out->totals, err) ||
	    !query(conn, "SELECT category, sum(minutes)::text FROM shifts WHERE " COUNTED " AND " IN_PERIOD
	    " GROUP BY category ORDER BY category", params, &by_cat, err) ||
	    !query(conn, "SELECT organization_id, sum(minutes)::text FROM shifts WHERE " COUNTED " AND " IN_PERIOD
	    " GROUP BY organization_id ORDER BY organization_id", params, &out->by_org, err) ||
	    !query(conn, "SELECT count(*)::text, coalesce(avg(f.rating), 0)::text,"
	    " round(coalesce(avg(f.rating), 0), 2)::numeric(5,2)::text FROM feedback f"
	    " JOIN shifts s ON s.id = f.shift_id WHERE NOT f.voided AND s.status = 'approved' AND NOT s.voided AND s."
	    IN_PERIOD_S,
	    params, &out->feedback, err) ||
	    !commendations_for_summary(conn, volunteer_id, from, to, &out->commendations, err)) {
		PQclear(by_cat);
		records_summary_release(out);
		return false;
	}
	by_org = out->by_org;

	summary->volunteer_id = (char *)volunteer_id;
	summary->total_minutes = strtoll(PQgetvalue(out->totals, 0, 0), NULL, 10);
	summary->measured_minutes = strtoll(PQgetvalue(out->totals, 0, 1), NULL, 10);
	summary->entered_minutes = strtoll(PQgetvalue(out->totals, 0, 2), NULL, 10);
	summary->shift_count = atoi(PQgetvalue(out->totals, 0, 3));
	summary->pending_shift_count = atoi(PQgetvalue(out->totals, 0, 4));
	summary->lifetime_minutes = strtoll(PQgetvalue(out->totals, 0, 5), NULL, 10);
	summary->star_level = star_level(config, summary->lifetime_minutes);
	summary->points_balance = strtoll(PQgetvalue(out->totals, 0, 6), NULL, 10);
	summary->feedback_count = atoi(PQgetvalue(out->feedback, 0, 0));
	summary->average_rating = strtod(PQgetvalue(out->feedback, 0, 1), NULL);
	out->average_rating_2dp = PQgetvalue(out->feedback, 0, 2);

	out->cats = xcalloc((size_t)PQntuples(by_cat) + 1, sizeof(*out->cats));
	out->cat_ptrs = xcalloc((size_t)PQntuples(by_cat) + 1, sizeof(*out->cat_ptrs));
	for (i = 0; i < PQntuples(by_cat); i++) {
		vledger__v1__category_minutes__init(&out->cats[i]);
		out->cats[i].category = (Vledger__V1__ShiftCategory)records_category_from_db(PQgetvalue(by_cat, i, 0));
		out->cats[i].minutes = strtoll(PQgetvalue(by_cat, i, 1), NULL, 10);
		out->cat_ptrs[i] = &out->cats[i];
	}
	summary->n_by_category = (size_t)PQntuples(by_cat);
	summary->by_category = out->cat_ptrs;
	PQclear(by_cat);
	out->orgs = xcalloc((size_t)PQntuples(by_org) + 1, sizeof(*out->orgs));
	out->org_ptrs = xcalloc((size_t)PQntuples(by_org) + 1, sizeof(*out->org_ptrs));
	for (i = 0; i < PQntuples(by_org); i++) {
		vledger__v1__organization_minutes__init(&out->orgs[i]);
		out->orgs[i].organization_id = PQgetvalue(by_org, i, 0);
		out->orgs[i].minutes = strtoll(PQgetvalue(by_org, i, 1), NULL, 10);
		out->org_ptrs[i] = &out->orgs[i];
	}
	summary->n_by_organization = (size_t)PQntuples(by_org);
	summary->by_organization = out->org_ptrs;
	summary->n_commendations = out->commendations.count;
	summary->commendations = out->commendations.ptrs;
	return true;
}

void
records_summary_release(struct records_summary *s)
{
	free(s->cats);
	free(s->cat_ptrs);
	free(s->orgs);
	free(s->org_ptrs);
	PQclear(s->totals);
	PQclear(s->by_org);
	PQclear(s->feedback);
	commendation_list_free(&s->commendations);
	memset(s, 0, sizeof(*s));
}

static bool
summary_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetVolunteerSummaryRequest *req = (const void *)call->request;
	Vledger__V1__GetVolunteerSummaryResponse out = VLEDGER__V1__GET_VOLUNTEER_SUMMARY_RESPONSE__INIT;
	struct records_summary sum;
	char from[40], to[40];

	if (!volunteer_scope_check(conn, &call->principal, req->volunteer_id,
	    SCOPE_OFFICE | SCOPE_TEAM_LEADER | SCOPE_VOLUNTEER, "volunteerId", NULL, err))
		return false;
	if (req->from != NULL)
		codec_timestamp_format(req->from->seconds, req->from->nanos, from);
	if (req->to != NULL)
		codec_timestamp_format(req->to->seconds, req->to->nanos, to);
	if (!records_summary_load(conn, call->app->config, req->volunteer_id, req->from != NULL ? from : NULL,
	    req->to != NULL ? to : NULL, &sum, err))
		return false;
	out.summary = &sum.summary;
	codec_encode_binary(&out.base, response, response_len);
	records_summary_release(&sum);
	return true;
}

void
records_get_volunteer_summary(struct rpc_call *call)
{
	const Vledger__V1__GetVolunteerSummaryRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD_OR_SELF, "read volunteer summaries", &err))
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
