/*
 * points.c - the points policy, RedeemPoints and GetPointsBalance.
 * Balances are computed in SQL from the facts (sql/009_points.sql).
 */
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
#include "vledger/jcs.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/points.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/tlog.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/points.pb-c.h"

const char points_default_policy[] =
    "{\"pointsPerHour\": {\"default\": 10},"
    " \"measuredOnly\": false,"
    " \"commendationBonus\": {\"team\": 20, \"community\": 50, \"subdistrict\": 100, \"district\": 200, \"city\": 500}}";

/* Reads a policy file whole; NULL when it cannot. Caller frees. */
static char *
policy_file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > 65536 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = xmalloc((size_t)size + 1);
	*len = fread(buf, 1, (size_t)size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static const char *const levels[] = {"team", "community", "subdistrict", "district", "city"};

static bool
rate_valid(const char *where, const char *key, json_t *v, struct vl_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s.%s: a whole number 0..100000", where, key);
	return true;
}

bool
points_policy_valid(const char *text, size_t len, struct vl_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	const char *key;
	bool ok = false;
	size_t i;

	if (!json_is_object(doc)) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: not a JSON object (%s)", doc == NULL ? jerr.text : "");
		goto out;
	}
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "pointsPerHour") != 0 && strcmp(key, "measuredOnly") != 0 &&
		    strcmp(key, "commendationBonus") != 0 && strcmp(key, "cap") != 0 && strcmp(key, "expiryMonths") != 0) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: unknown key \"%s\"", key);
			goto out;
		}
	}
	v = json_object_get(doc, "pointsPerHour");
	if (!json_is_object(v)) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: pointsPerHour: required object");
		goto out;
	}
	{
		json_t *rate;

		json_object_foreach(v, key, rate) {
			bool known = strcmp(key, "default") == 0;
			for (i = 1; !known && records_category_db_name((int)i) != NULL; i++)
				known = strcmp(records_category_db_name((int)i), key) == 0;
			if (!known) {
				vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: pointsPerHour.%s: not a shift category", key);
				goto out;
			}
			if (!rate_valid("points policy: pointsPerHour", key, rate, err))
				goto out;
		}
	}
	v = json_object_get(doc, "measuredOnly");
	if (v != NULL && !json_is_boolean(v)) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: measuredOnly: true or false");
		goto out;
	}
	v = json_object_get(doc, "cap");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000000)) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: cap: a whole number 0..100000000 (0: no cap)");
		goto out;
	}
	v = json_object_get(doc, "expiryMonths");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 240)) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: expiryMonths: a whole number 0..240 (0: never)");
		goto out;
	}
	v = json_object_get(doc, "commendationBonus");
	if (v != NULL) {
		json_t *bonus;

		if (!json_is_object(v)) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: commendationBonus: an object");
			goto out;
		}
		json_object_foreach(v, key, bonus) {
			bool known = false;
			for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
				known = known || strcmp(levels[i], key) == 0;
			if (!known) {
				vl_error_set(err, VL_INVALID_ARGUMENT, "points policy: commendationBonus.%s: not a level", key);
				goto out;
			}
			if (!rate_valid("points policy: commendationBonus", key, bonus, err))
				goto out;
		}
	}
	ok = true;
out:
	json_decref(doc);
	return ok;
}

bool
points_policy_apply(PGconn *conn, const struct tlog *log, const char *path, struct vl_error *err)
{
	struct tlog_receipt receipt;
	json_error_t jerr;
	json_t *doc = NULL, *facts = NULL;
	char *text = NULL, *canonical = NULL, version[16], index[24];
	const char *params[4];
	size_t len, canonical_len;
	PGresult *res = NULL;
	bool ok = false;

	memset(&receipt, 0, sizeof(receipt));
	if (path != NULL) {
		text = policy_file_read(path, &len);
		if (text == NULL)
			return vl_error_set(err, VL_FAILED_PRECONDITION, "--points-policy %s: cannot read it (or over 64 KiB)",
			    path);
	} else {
		text = xstrdup(points_default_policy);
		len = strlen(text);
	}
	if (!points_policy_valid(text, len, err)) {
		if (path != NULL)
			vl_error_prefix(err, "--points-policy");
		goto out;
	}
	doc = json_loadb(text, len, 0, &jerr);
	if (!jcs_serialize(doc, &canonical, &canonical_len, err) || !store_exec(conn, "BEGIN", err))
		goto out;
	/* The log's row lock orders two instances starting together. */
	params[0] = log->log_id;
	res = PQexecParams(conn, "SELECT 1 FROM logs WHERE log_id = $1 FOR UPDATE", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "points policy", err);
		goto rollback;
	}
	PQclear(res);
	res = PQexecParams(conn, "SELECT canonical, version FROM points_policies WHERE log_id = $1 ORDER BY version DESC"
	    " LIMIT 1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "points policy", err);
		goto rollback;
	}
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), canonical) == 0) {
		PQclear(res);
		res = NULL;
		ok = store_exec(conn, "COMMIT", err);
		goto out;
	}
	snprintf(version, sizeof(version), "%d", PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 1)) + 1 : 1);
	PQclear(res);
	res = NULL;
	facts = json_pack("{s:O, s:i}", "policy", doc, "version", atoi(version));
	if (!tlog_append(conn, log, "points_policy_set", "vledgerd", facts, &receipt, err))
		goto rollback;
	snprintf(index, sizeof(index), "%llu", (unsigned long long)receipt.leaf_index);
	params[1] = version;
	params[2] = canonical;
	params[3] = index;
	res = PQexecParams(conn, "INSERT INTO points_policies (log_id, version, policy, canonical, leaf_index)"
	    " VALUES ($1, $2, $3::text::jsonb, $3::text, $4)", 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res, "points policy", err);
		goto rollback;
	}
	if (!store_exec(conn, "COMMIT", err))
		goto out;
	log_info("points policy: version %s in force (entry %s): %s", version, index, canonical);
	ok = true;
	goto out;
rollback:
	PQclear(PQexec(conn, "ROLLBACK"));
out:
	tlog_receipt_free(&receipt);
	PQclear(res);
	json_decref(facts);
	json_decref(doc);
	free(canonical);
	free(text);
	return ok;
}

/* Earned, redeemed and balance of a volunteer, in the caller's transaction. */
static bool
balance_of(PGconn *conn, const char *volunteer_id, long long *earned, long long *redeemed, long long *balance,
    struct vl_error *err)
{
	const char *params[1] = {volunteer_id};
	PGresult *res;

	res = PQexecParams(conn, "SELECT points_earned($1)::text,"
	    " coalesce((SELECT sum(points) FROM points_redemptions WHERE volunteer_id = $1), 0)::text,"
	    " points_balance($1)::text", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "points", err);
		PQclear(res);
		return false;
	}
	*earned = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*redeemed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	*balance = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return true;
}

/* The volunteer must exist and be within the caller's reach. */
static bool
volunteer_reach(PGconn *conn, const struct rpc_call *call, const char *volunteer_id, unsigned allow,
    struct vl_error *err)
{
	const char *params[1] = {volunteer_id};
	PGresult *res;
	bool ok;

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
	ok = scope_check(conn, &call->principal, PQgetvalue(res, 0, 0), allow, "volunteerId", err);
	PQclear(res);
	return ok;
}

static bool
redeem_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__RedeemPointsRequest *req = (const void *)call->request;
	Vledger__V1__RedeemPointsResponse out = VLEDGER__V1__REDEEM_POINTS_RESPONSE__INIT;
	struct log_record record;
	long long earned, redeemed, balance;
	char id[32], points[24], index[24];
	const char *params[6];
	PGresult *res;
	bool ok = false;

	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	if (!volunteer_reach(conn, call, req->volunteer_id, SCOPE_OFFICE, err))
		return false;
	/* One redemption per volunteer at a time: the balance read below
	 * cannot be spent twice, however many requests race. */
	params[0] = req->volunteer_id;
	res = PQexecParams(conn, "SELECT pg_advisory_xact_lock(hashtextextended('points:' || $1, 0))", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	if (!balance_of(conn, req->volunteer_id, &earned, &redeemed, &balance, err))
		return false;
	if (balance < req->points)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "points: the balance is %lld, short of %lld", balance,
		    (long long)req->points);
	random_id("rdm_", id, sizeof(id));
	if (!log_record_append_about(conn, call, "points_redeemed", json_pack("{s:{s:s}, s:s, s:I, s:s, s:I}",
	    "volunteer", "id", req->volunteer_id, "id", id, "points", (json_int_t)req->points, "reason", req->reason,
	    "balanceAfter", (json_int_t)(balance - req->points)), req->volunteer_id, NULL, &record, err))
		goto out;
	snprintf(points, sizeof(points), "%lld", (long long)req->points);
	snprintf(index, sizeof(index), "%llu", (unsigned long long)record.receipt.leaf_index);
	params[0] = id;
	params[1] = req->volunteer_id;
	params[2] = points;
	params[3] = req->reason;
	params[4] = call->principal.token_id;
	params[5] = index;
	res = PQexecParams(conn, "INSERT INTO points_redemptions (id, volunteer_id, points, reason, redeemed_by,"
	    " leaf_index) VALUES ($1, $2, $3, $4, $5, $6)", 6, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res, "points", err);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	out.redemption_id = id;
	out.balance = balance - req->points;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	return ok;
}

static void
redeem_points(struct rpc_call *call)
{
	const Vledger__V1__RedeemPointsRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "redeem points", &err))
		goto fail;
	if (!idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required");
		goto fail;
	}
	if (req->points < 1 || req->points > 1000000) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "points: must be 1 to 1000000");
		goto fail;
	}
	if (!records_text_valid("reason", req->reason, 200, true, false, &err))
		goto fail;
	rpc_run_job(call, redeem_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

static bool
balance_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetPointsBalanceRequest *req = (const void *)call->request;
	Vledger__V1__GetPointsBalanceResponse out = VLEDGER__V1__GET_POINTS_BALANCE_RESPONSE__INIT;
	long long earned, redeemed, balance;

	if (!volunteer_reach(conn, call, req->volunteer_id, SCOPE_OFFICE | SCOPE_TEAM_LEADER, err) ||
	    !balance_of(conn, req->volunteer_id, &earned, &redeemed, &balance, err))
		return false;
	out.earned = earned;
	out.redeemed = redeemed;
	out.balance = balance;
	codec_encode_binary(&out.base, response, response_len);
	return true;
}

static void
get_balance(struct rpc_call *call)
{
	const Vledger__V1__GetPointsBalanceRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "read points", &err)) {
		rpc_fail(call, &err);
		return;
	}
	if (req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required");
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, balance_job, NULL);
}

const struct rpc_method points_methods[] = {
	{"vledger.v1.PointsService", "RedeemPoints", &vledger__v1__redeem_points_request__descriptor,
	    &vledger__v1__redeem_points_response__descriptor, RPC_TOKEN, redeem_points, false},
	{"vledger.v1.PointsService", "GetPointsBalance", &vledger__v1__get_points_balance_request__descriptor,
	    &vledger__v1__get_points_balance_response__descriptor, RPC_TOKEN, get_balance, false},
};
const size_t points_methods_count = sizeof(points_methods) / sizeof(points_methods[0]);
