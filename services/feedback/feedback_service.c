/*
 * feedback_service.c - IssueFeedbackTickets, SubmitFeedback.
 *
 * Tickets are derived (pii_ticket_code) from the shift, the caller's token
 * and the idempotency key, and only their SHA-256 is stored: the codes are
 * bearer secrets, and a retried request can still be answered with the same
 * codes. Feedback comments stay off the log (free text from the public may
 * name people); the entry holds the comment's SHA-256.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/config.h"
#include "vledger/encoding.h"
#include "vledger/feedback.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/pii.h"
#include "vledger/store.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/feedback.pb-c.h"

#define TICKETS_MAX 100

/* The tickets of one IssueFeedbackTickets request, derived again on a retry. */
struct ticket_set {
	char (*codes)[PII_TICKET_LEN + 1];
	char **ptrs;
	size_t count;
};

static void
ticket_set_derive(const struct rpc_call *call, const char *shift_id, const char *key, size_t count,
    struct ticket_set *set)
{
	char *scope = xasprintf("%s/%s/%s", shift_id, call->principal.token_id, key);
	size_t i;

	set->codes = xcalloc(count + 1, sizeof(*set->codes));
	set->ptrs = xcalloc(count + 1, sizeof(*set->ptrs));
	set->count = count;
	for (i = 0; i < count; i++) {
		pii_ticket_code(call->app->pii, scope, (uint32_t)i, set->codes[i]);
		set->ptrs[i] = set->codes[i];
	}
	free(scope);
}

static void
ticket_set_free(struct ticket_set *set)
{
	if (set->codes != NULL)
		OPENSSL_cleanse(set->codes, (set->count + 1) * sizeof(*set->codes));
	free(set->codes);
	free(set->ptrs);
	memset(set, 0, sizeof(*set));
}

/* Puts the derived codes into a packed response (kept without them). */
static bool
with_tickets(const uint8_t *stored, size_t stored_len, const struct ticket_set *set, uint8_t **out, size_t *out_len,
    struct vl_error *err)
{
	ProtobufCMessage *msg;
	Vledger__V1__IssueFeedbackTicketsResponse *resp;
	char **kept;
	size_t kept_n;

	if (!codec_decode_binary(&vledger__v1__issue_feedback_tickets_response__descriptor, stored, stored_len, &msg, err))
		return false;
	resp = (Vledger__V1__IssueFeedbackTicketsResponse *)msg;
	kept = resp->tickets;
	kept_n = resp->n_tickets;
	resp->tickets = set->ptrs;
	resp->n_tickets = set->count;
	codec_encode_binary(msg, out, out_len);
	resp->tickets = kept;
	resp->n_tickets = kept_n;
	protobuf_c_message_free_unpacked(msg, NULL);
	return true;
}

static bool
issue_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__IssueFeedbackTicketsRequest *req = (const void *)call->request;
	Vledger__V1__IssueFeedbackTicketsResponse out = VLEDGER__V1__ISSUE_FEEDBACK_TICKETS_RESPONSE__INIT;
	Google__Protobuf__Timestamp expire = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct ticket_set set;
	struct log_record record;
	char expire_text[40], volunteer[64], organization[64];
	uint8_t hash[32], *stored = NULL;
	size_t stored_len, i;
	const char *params[3];
	int lengths[3] = {32, 0, 0}, formats[3] = {1, 0, 0};
	PGresult *res = NULL;
	bool ok = false;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&record, 0, sizeof(record));
	ticket_set_derive(call, req->shift_id, req->idempotency_key, (size_t)req->count, &set);
	if (!idempotency_claim(conn, call, req->idempotency_key, &stored, &stored_len, err))
		goto out;
	if (stored != NULL) {
		ok = with_tickets(stored, stored_len, &set, response, response_len, err);
		goto out;
	}
	params[0] = req->shift_id;
	res = PQexecParams(conn, "SELECT organization_id, status, volunteer_id FROM shifts WHERE id = $1 AND NOT voided",
	    1, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "shiftId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "shiftId: no such shift");
		goto out;
	}
	if (!scope_check(conn, &call->principal, PQgetvalue(res, 0, 0), SCOPE_OFFICE | SCOPE_TEAM_LEADER, "shiftId", err))
		goto out;
	if (strcmp(PQgetvalue(res, 0, 1), "rejected") == 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "shiftId: the shift was rejected");
		goto out;
	}
	snprintf(volunteer, sizeof(volunteer), "%s", PQgetvalue(res, 0, 2));
	snprintf(organization, sizeof(organization), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = PQexec(conn, "SELECT (extract(epoch FROM now()))::bigint");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "tickets", err);
		goto out;
	}
	expire.seconds = strtoll(PQgetvalue(res, 0, 0), NULL, 10) + call->app->config->ticket_days * 86400;
	PQclear(res);
	res = NULL;
	codec_timestamp_format(expire.seconds, 0, expire_text);
	for (i = 0; i < set.count; i++) {
		SHA256((const uint8_t *)set.codes[i], PII_TICKET_LEN, hash);
		params[0] = (const char *)hash;
		params[1] = req->shift_id;
		params[2] = expire_text;
		res = PQexecParams(conn, "INSERT INTO feedback_tickets (ticket_hash, shift_id, expire_time)"
		    " VALUES ($1, $2, $3)", 3, NULL, params, lengths, formats, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			store_error_from_result(conn, res, "tickets", err);
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	if (!log_record_append_about(conn, call, "feedback_tickets_issued", json_pack("{s:{s:s}, s:i, s:s}", "shift",
	    "id", req->shift_id, "count", (int)set.count, "expireTime", expire_text), volunteer, organization, &record,
	    err))
		goto out;
	out.expire_time = &expire;
	out.receipt = &record.message;
	/* Kept without the codes; they are derived again on a retry. */
	free(stored);
	codec_encode_binary(&out.base, &stored, &stored_len);
	if (!idempotency_record(conn, call, req->idempotency_key, stored, stored_len, err))
		goto out;
	out.tickets = set.ptrs;
	out.n_tickets = set.count;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	log_record_release(&record);
	ticket_set_free(&set);
	free(stored);
	PQclear(res);
	return ok;
}

static void
issue_tickets(struct rpc_call *call)
{
	const Vledger__V1__IssueFeedbackTicketsRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "issue feedback tickets", &err))
		goto fail;
	if (!idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->shift_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "shiftId: required");
		goto fail;
	}
	if (req->count < 1 || req->count > TICKETS_MAX) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "count: must be 1 to %d", TICKETS_MAX);
		goto fail;
	}
	rpc_run_job(call, issue_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/* The ticket as printed: case-insensitive, blanks and dashes ignored. */
static bool
ticket_normalize(const char *in, char out[PII_TICKET_LEN + 1])
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (*in == ' ' || *in == '-')
			continue;
		if (n == PII_TICKET_LEN || !isalnum((unsigned char)*in))
			return false;
		out[n++] = (char)toupper((unsigned char)*in);
	}
	out[n] = '\0';
	return n == PII_TICKET_LEN;
}

static bool
text_ok(const char *field, const char *s, size_t min, size_t max, struct vl_error *err)
{
	const unsigned char *p;
	size_t chars = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 && *p != '\n')
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: control characters are not allowed", field);
		if ((*p & 0xC0) != 0x80)
			chars++;
	}
	if (chars < min || chars > max)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: %zu to %zu characters", field, min, max);
	return true;
}

static bool
submit_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__SubmitFeedbackRequest *req = (const void *)call->request;
	const char *code = ctx;
	Vledger__V1__SubmitFeedbackResponse out = VLEDGER__V1__SUBMIT_FEEDBACK_RESPONSE__INIT;
	struct log_record record;
	uint8_t hash[32], comment_hash[32];
	char id[32], rating[8], comment_hex[65], *tags_text;
	const char *params[5];
	int lengths[5] = {32, 0, 0, 0, 0}, formats[5] = {1, 0, 0, 0, 0};
	json_t *tags, *facts;
	PGresult *res = NULL;
	bool ok = false;
	size_t i;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&record, 0, sizeof(record));
	SHA256((const uint8_t *)code, PII_TICKET_LEN, hash);
	params[0] = (const char *)hash;
	res = PQexecParams(conn, "SELECT shift_id, used_time IS NOT NULL, expire_time <= now() FROM feedback_tickets"
	    " WHERE ticket_hash = $1 FOR UPDATE", 1, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "ticket", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "ticket: unknown ticket");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
		vl_error_set(err, VL_ALREADY_EXISTS, "ticket: this ticket was already used");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "ticket: this ticket has expired");
		goto out;
	}
	random_id("fbk_", id, sizeof(id));
	tags = json_array();
	for (i = 0; i < req->n_tags; i++)
		json_array_append_new(tags, json_string(req->tags[i]));
	tags_text = json_dumps(tags, JSON_COMPACT);
	snprintf(rating, sizeof(rating), "%d", req->rating);
	params[1] = id;
	params[2] = rating;
	params[3] = req->comment;
	params[4] = tags_text;
	/* params[0] is still the ticket hash: mark the ticket used. */
	PQclear(res);
	res = PQexecParams(conn,
	    "WITH used AS (UPDATE feedback_tickets SET used_time = now() WHERE ticket_hash = $1 RETURNING shift_id)"
	    " INSERT INTO feedback (id, shift_id, rating, comment, tags)"
	    " SELECT $2, shift_id, $3, $4, ARRAY(SELECT json_array_elements_text($5::json)) FROM used"
	    " RETURNING shift_id, (SELECT volunteer_id FROM shifts s WHERE s.id = shift_id),"
	    "  (SELECT organization_id FROM shifts s WHERE s.id = shift_id)",
	    5, NULL, params, lengths, formats, 0);
	free(tags_text);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "feedback", err);
		json_decref(tags);
		goto out;
	}
	SHA256((const uint8_t *)req->comment, strlen(req->comment), comment_hash);
	hex_encode(comment_hash, sizeof(comment_hash), comment_hex);
	facts = json_pack("{s:s, s:s, s:i, s:o}", "id", id, "shiftId", PQgetvalue(res, 0, 0), "rating", req->rating,
	    "tags", tags);
	if (req->comment[0] != '\0')
		json_object_set_new(facts, "commentSha256", json_string(comment_hex));
	if (!log_record_append_about(conn, call, "feedback_given", json_pack("{s:o}", "feedback", facts),
	    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), &record, err))
		goto out;
	out.feedback_id = id;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	log_record_release(&record);
	PQclear(res);
	return ok;
}

static void
submit_feedback(struct rpc_call *call)
{
	const Vledger__V1__SubmitFeedbackRequest *req = (const void *)call->request;
	char *code = xmalloc(PII_TICKET_LEN + 1);
	struct vl_error err;
	size_t i;

	if (!ticket_normalize(req->ticket, code)) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "ticket: expected the %d-character code on the ticket",
		    PII_TICKET_LEN);
		goto fail;
	}
	if (req->rating < 1 || req->rating > 5) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "rating: must be 1 to 5");
		goto fail;
	}
	if (!text_ok("comment", req->comment, 0, 300, &err))
		goto fail;
	if (req->n_tags > 10) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "tags: at most 10");
		goto fail;
	}
	for (i = 0; i < req->n_tags; i++) {
		char field[32];

		snprintf(field, sizeof(field), "tags[%zu]", i);
		if (!text_ok(field, req->tags[i], 1, 20, &err))
			goto fail;
	}
	rpc_run_job(call, submit_job, code);
	return;
fail:
	free(code);
	rpc_fail(call, &err);
}

const struct rpc_method feedback_methods[] = {
	{"vledger.v1.FeedbackService", "IssueFeedbackTickets", &vledger__v1__issue_feedback_tickets_request__descriptor,
	    &vledger__v1__issue_feedback_tickets_response__descriptor, RPC_TOKEN, issue_tickets, false},
	{"vledger.v1.FeedbackService", "SubmitFeedback", &vledger__v1__submit_feedback_request__descriptor,
	    &vledger__v1__submit_feedback_response__descriptor, RPC_PUBLIC, submit_feedback, false},
};
const size_t feedback_methods_count = sizeof(feedback_methods) / sizeof(feedback_methods[0]);
