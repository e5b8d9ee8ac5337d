/*
 * connect.c - Connect unary RPCs: framing, deadlines, the call lifecycle.
 * See connect.h for the request path.
 *
 * Lifecycle of a connect_call: created by connect_serve(); "busy" while an
 * auth job or the handler holds it; "answered" (http == NULL) once a reply or
 * error was sent. It is freed when it is answered and nobody holds it:
 * normally by rpc_reply()/rpc_fail(); when the deadline fires first, by
 * whichever of the timer and the holder comes last.
 */
#include "vledger/connect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/encoding.h"
#include "vledger/log.h"
#include "vledger/router.h"
#include "vledger/store.h"

struct connect_call {
	struct rpc_call rpc;          /* first, so an rpc_call * is a connect_call * */
	struct http_request *http;    /* NULL once answered */
	const struct route *route;
	bool json;
	bool busy;                    /* an auth job or the handler holds the call */
	struct event *timer;
	int64_t start_us;
	uint8_t *payload;             /* the encoded request message */
	size_t payload_len;
	bool payload_owned;
	uint8_t token_hash[32];
	bool auth_ok;
	struct vl_error auth_error;
	char peer[64];
};

/*
 * Admission control. Calls admitted and not yet freed, on the loop thread
 * only (one app per process). Every admitted call holds its request and
 * waits on the database (in the store's queue, on a worker, or in a write
 * batch), so bounding them bounds both the queues and their memory: past
 * --max-queued-jobs (plus one per database connection, for the calls running) a new
 * call is refused at once with resource_exhausted, before it is decoded or
 * authenticated, instead of waiting behind work the server cannot finish
 * in time. The store's own queue is checked too: /readyz, /log/ and the
 * pages queue jobs there without being calls.
 */
static int64_t calls_in_flight;

static bool
admit(struct app *app, struct vl_error *err)
{
	int64_t limit = app->config->max_queued_jobs + app->config->db_pool_size;

	if (calls_in_flight > limit || store_saturated(app->store))
		return vl_error_set(err, VL_RESOURCE_EXHAUSTED,
		    "server overloaded: %lld calls in flight, %d waiting for a database connection "
		    "(--max-queued-jobs %lld); retry later", (long long)calls_in_flight - 1,
		    store_queued(app->store), (long long)app->config->max_queued_jobs);
	return true;
}

int64_t
rpc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
rpc_remaining_ms(const struct rpc_call *call)
{
	int64_t left;

	if (call->deadline_us == 0)
		return 0;
	left = (call->deadline_us - rpc_now_us()) / 1000;
	return left < 1 ? 1 : left;
}

static char *
error_json(const struct vl_error *err, size_t *len)
{
	json_t *obj = json_object();
	char *text;

	json_object_set_new(obj, "code", json_string(vl_code_name(err->code)));
	/* json_string rejects invalid UTF-8; messages quote user input, so
	 * fall back to a lossless-enough form rather than dropping it. */
	if (json_object_set_new(obj, "message", json_string(err->message)) != 0)
		json_object_set_new(obj, "message", json_string("(message not valid UTF-8)"));
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (text == NULL)
		fatalx("json_dumps failed");
	*len = strlen(text);
	return text;
}

void
connect_send_error(struct http_request *req, const struct vl_error *err)
{
	size_t len;
	char *body = error_json(err, &len);

	log_info("http %s %s %s: %s (%s)", req->peer, req->method, req->path, vl_code_name(err->code),
	    err->message);
	http_reply(req, vl_code_http_status(err->code), "application/json", body, len, NULL);
	free(body);
}

void
connect_oversize_body(int *status, const char **content_type, char **body, size_t *body_len)
{
	struct vl_error err;

	vl_error_set(&err, VL_RESOURCE_EXHAUSTED, "request body exceeds the server's limit (--max-body-bytes)");
	*status = vl_code_http_status(err.code);
	*content_type = "application/json";
	*body = error_json(&err, body_len);
}

static void
call_log(struct connect_call *cc, enum vl_code code, const char *detail)
{
	const struct rpc_method *m = cc->rpc.method;
	double ms = (double)(rpc_now_us() - cc->start_us) / 1000.0;

	log_info("req=%s rpc=%s/%s code=%s ms=%.1f peer=%s%s%s%s%s", cc->rpc.id, m->service, m->name,
	    vl_code_name(code), ms, cc->peer, cc->rpc.principal.token_id[0] != '\0' ? " token=" : "",
	    cc->rpc.principal.token_id, detail != NULL ? " msg=" : "", detail != NULL ? detail : "");
}

static void
call_free(struct connect_call *cc)
{
	calls_in_flight--;
	if (cc->timer != NULL)
		event_free(cc->timer);
	if (cc->rpc.request != NULL)
		protobuf_c_message_free_unpacked(cc->rpc.request, NULL);
	if (cc->payload_owned)
		free(cc->payload);
	free(cc);
}

static void
call_answer_error(struct connect_call *cc, const struct vl_error *err)
{
	size_t len;
	char *body;
	const char *headers[2] = {NULL, NULL};
	char request_id_header[40];

	if (cc->http == NULL)
		return;
	snprintf(request_id_header, sizeof(request_id_header), "X-Request-Id: %s", cc->rpc.id);
	headers[0] = request_id_header;
	body = error_json(err, &len);
	call_log(cc, err->code, err->message);
	http_reply(cc->http, vl_code_http_status(err->code), "application/json", body, len, headers);
	free(body);
	cc->http = NULL;
	if (cc->timer != NULL)
		event_del(cc->timer);
}

void
rpc_fail(struct rpc_call *call, const struct vl_error *err)
{
	struct connect_call *cc = (struct connect_call *)call;

	call_answer_error(cc, err);
	call_free(cc);
}

void
rpc_reply(struct rpc_call *call, const ProtobufCMessage *response)
{
	struct connect_call *cc = (struct connect_call *)call;
	const char *headers[2] = {NULL, NULL};
	char request_id_header[40];
	struct vl_error err;
	uint8_t *bin;
	char *text;
	size_t len;

	if (cc->http == NULL) {
		call_free(cc);
		return;
	}
	if (response->descriptor != cc->rpc.method->output)
		fatalx("rpc_reply: %s/%s answered with %s", cc->rpc.method->service, cc->rpc.method->name,
		    response->descriptor->name);
	snprintf(request_id_header, sizeof(request_id_header), "X-Request-Id: %s", cc->rpc.id);
	headers[0] = request_id_header;
	if (cc->json) {
		if (!codec_encode_json(cc->rpc.app->schema, response, &text, &len, &err)) {
			vl_error_set(&err, VL_INTERNAL, "encoding the response failed: %s", err.message);
			rpc_fail(call, &err);
			return;
		}
		call_log(cc, VL_OK, NULL);
		http_reply(cc->http, 200, "application/json", text, len, headers);
		free(text);
	} else {
		codec_encode_binary(response, &bin, &len);
		call_log(cc, VL_OK, NULL);
		http_reply(cc->http, 200, "application/proto", bin, len, headers);
		free(bin);
	}
	cc->http = NULL;
	call_free(cc);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct connect_call *cc = arg;
	struct vl_error err;

	vl_error_set(&err, VL_DEADLINE_EXCEEDED, "deadline exceeded (connect-timeout-ms)");
	call_answer_error(cc, &err);
	if (!cc->busy)
		call_free(cc);
}

/* Decodes the request and runs the handler. */
static void
call_invoke(struct connect_call *cc)
{
	struct vl_error err;
	bool ok;

	if (cc->json)
		ok = codec_decode_json(cc->rpc.app->schema, cc->rpc.method->input, (const char *)cc->payload,
		    cc->payload_len, &cc->rpc.request, &err);
	else
		ok = codec_decode_binary(cc->rpc.method->input, cc->payload, cc->payload_len, &cc->rpc.request,
		    &err);
	if (!ok) {
		rpc_fail(&cc->rpc, &err);
		return;
	}
	cc->busy = true;
	cc->rpc.method->handler(&cc->rpc);
}

static void
auth_job(PGconn *conn, void *arg)
{
	struct connect_call *cc = arg;

	cc->auth_ok = auth_lookup(conn, cc->token_hash, &cc->rpc.principal, &cc->auth_error);
}

static void
auth_done(void *arg)
{
	struct connect_call *cc = arg;

	cc->busy = false;
	if (cc->http == NULL) {  /* the deadline passed meanwhile */
		call_free(cc);
		return;
	}
	if (!cc->auth_ok) {
		rpc_fail(&cc->rpc, &cc->auth_error);
		return;
	}
	call_invoke(cc);
}

/* "application/json; charset=utf-8" -> json. Returns false for anything
 * that is not a unary Connect content type. */
static bool
content_type_codec(const char *value, bool *json)
{
	size_t n;

	if (value == NULL)
		return false;
	n = strcspn(value, "; \t");
	if (n == strlen("application/json") && strncasecmp(value, "application/json", n) == 0) {
		*json = true;
		return true;
	}
	if (n == strlen("application/proto") && strncasecmp(value, "application/proto", n) == 0) {
		*json = false;
		return true;
	}
	return false;
}

/* Parses the GET form's query: connect=v1&encoding=json|proto&message=...
 * [&base64=1][&compression=identity], in any order. */
static bool
parse_get_query(struct connect_call *cc, const char *query, struct vl_error *err)
{
	char *copy, *cursor, *pair;
	char *message = NULL, *encoding = NULL;
	size_t message_len = 0, len;
	bool base64 = false, ok = false;

	if (query == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "GET query: missing encoding and message");
	copy = xstrdup(query);
	cursor = copy;
	while ((pair = strsep(&cursor, "&")) != NULL) {
		char *eq = strchr(pair, '=');
		char *value;

		if (pair[0] == '\0')
			continue;
		if (eq != NULL)
			*eq = '\0';
		value = percent_decode(eq != NULL ? eq + 1 : "", eq != NULL ? strlen(eq + 1) : 0, &len);
		if (value == NULL) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "GET query: %s: malformed percent-encoding", pair);
			goto out;
		}
		if (strcmp(pair, "message") == 0) {
			free(message);
			message = value;
			message_len = len;
			continue;
		}
		if (strcmp(pair, "encoding") == 0) {
			free(encoding);
			encoding = value;
			continue;
		}
		if (strcmp(pair, "connect") == 0 && strcmp(value, "v1") != 0) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "GET query: connect: unsupported version \"%s\"", value);
			free(value);
			goto out;
		}
		if (strcmp(pair, "base64") == 0)
			base64 = strcmp(value, "1") == 0;
		if (strcmp(pair, "compression") == 0 && strcmp(value, "identity") != 0) {
			vl_error_set(err, VL_UNIMPLEMENTED, "GET query: compression \"%s\" is not supported", value);
			free(value);
			goto out;
		}
		free(value);
	}
	if (encoding == NULL || (strcmp(encoding, "json") != 0 && strcmp(encoding, "proto") != 0)) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "GET query: encoding must be json or proto");
		goto out;
	}
	if (message == NULL) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "GET query: message is required");
		goto out;
	}
	cc->json = strcmp(encoding, "json") == 0;
	if (base64) {
		uint8_t *raw;
		if (!base64_decode(message, message_len, &raw, &len)) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "GET query: message: malformed base64");
			goto out;
		}
		free(message);
		message = (char *)raw;
		message_len = len;
	}
	cc->payload = (uint8_t *)message;
	cc->payload_len = message_len;
	cc->payload_owned = true;
	message = NULL;
	ok = true;
out:
	free(message);
	free(encoding);
	free(copy);
	return ok;
}

/* Connect-Timeout-Ms: a positive integer of at most 10 digits. */
static bool
parse_timeout(const char *value, int64_t *ms)
{
	size_t n = strlen(value), i;
	int64_t v = 0;

	if (n == 0 || n > 10)
		return false;
	for (i = 0; i < n; i++) {
		if (value[i] < '0' || value[i] > '9')
			return false;
		v = v * 10 + (value[i] - '0');
	}
	*ms = v;
	return v > 0;
}

void
connect_serve(struct app *app, struct http_request *req)
{
	const struct route *route;
	struct connect_call *cc;
	struct vl_error err;
	const char *value, *secret;
	uint8_t rid[8];
	int64_t timeout_ms;
	bool is_get;

	route = router_find(app->router, req->path);
	if (route == NULL) {
		vl_error_set(&err, VL_UNIMPLEMENTED, "unknown procedure %s", req->path);
		/* The Connect spec answers an unknown procedure with HTTP 404. */
		size_t len;
		char *body = error_json(&err, &len);
		log_info("http %s %s %s: 404 unknown procedure", req->peer, req->method, req->path);
		http_reply(req, 404, "application/json", body, len, NULL);
		free(body);
		return;
	}
	is_get = strcmp(req->method, "GET") == 0;
	if (!is_get && strcmp(req->method, "POST") != 0) {
		static const char *const allow_post[] = {"Allow: POST", NULL};
		static const char *const allow_both[] = {"Allow: GET, POST", NULL};
		http_reply(req, 405, NULL, NULL, 0, route->no_side_effects ? allow_both : allow_post);
		return;
	}
	if (is_get && !route->no_side_effects) {
		static const char *const allow_post[] = {"Allow: POST", NULL};
		log_info("http %s GET %s: 405 (the method has side effects)", req->peer, req->path);
		http_reply(req, 405, NULL, NULL, 0, allow_post);
		return;
	}

	cc = xcalloc(1, sizeof(*cc));
	calls_in_flight++;
	cc->rpc.method = route->method;
	cc->rpc.app = app;
	cc->route = route;
	cc->http = req;
	cc->start_us = rpc_now_us();
	memcpy(cc->peer, req->peer, sizeof(cc->peer));
	random_bytes(rid, sizeof(rid));
	hex_encode(rid, sizeof(rid), cc->rpc.id);

	if (is_get) {
		if (!parse_get_query(cc, req->query, &err))
			goto fail;
	} else {
		if (!content_type_codec(http_request_header(req, "content-type"), &cc->json)) {
			static const char *const accept[] = {"Accept-Post: application/json, application/proto", NULL};
			log_info("req=%s rpc=%s/%s http=415 content-type=%s", cc->rpc.id, route->method->service,
			    route->method->name, http_request_header(req, "content-type") != NULL ? "other" : "none");
			http_reply(req, 415, NULL, NULL, 0, accept);
			cc->http = NULL;
			call_free(cc);
			return;
		}
		value = http_request_header(req, "content-encoding");
		if (value != NULL && strcasecmp(value, "identity") != 0) {
			vl_error_set(&err, VL_UNIMPLEMENTED, "content-encoding %s is not supported", value);
			goto fail;
		}
		cc->payload = req->body;
		cc->payload_len = req->body_len;
	}
	value = http_request_header(req, "connect-protocol-version");
	if (value != NULL && strcmp(value, "1") != 0) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "connect-protocol-version: unsupported version \"%s\"", value);
		goto fail;
	}
	if (route->method->streaming) {
		vl_error_set(&err, VL_UNIMPLEMENTED, "%s/%s is a streaming method; this server speaks unary Connect only",
		    route->method->service, route->method->name);
		goto fail;
	}
	value = http_request_header(req, "connect-timeout-ms");
	if (value != NULL) {
		struct timeval tv;

		if (!parse_timeout(value, &timeout_ms)) {
			vl_error_set(&err, VL_INVALID_ARGUMENT, "connect-timeout-ms: expected a positive integer of at most 10 digits");
			goto fail;
		}
		cc->rpc.deadline_us = cc->start_us + timeout_ms * 1000;
		cc->timer = evtimer_new(app->base, deadline_cb, cc);
		if (cc->timer == NULL)
			fatalx("evtimer_new failed");
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		evtimer_add(cc->timer, &tv);
	}
	if (app->shutting_down) {
		vl_error_set(&err, VL_UNAVAILABLE, "server is shutting down");
		goto fail;
	}
	if (!admit(app, &err))
		goto fail;

	if (route->method->access == RPC_PUBLIC) {
		call_invoke(cc);
		return;
	}
	secret = auth_bearer(http_request_header(req, "authorization"));
	if (secret == NULL) {
		vl_error_set(&err, VL_UNAUTHENTICATED, "authorization: a bearer token is required");
		goto fail;
	}
	auth_secret_hash(secret, strlen(secret), cc->token_hash);
	cc->busy = true;
	/* admit() just looked, but /readyz or the pages may have filled the
	 * queue since; try_submit is the check that cannot race. */
	if (!store_try_submit(app->store, auth_job, auth_done, cc)) {
		cc->busy = false;
		vl_error_set(&err, VL_RESOURCE_EXHAUSTED,
		    "server overloaded: %d requests waiting for a database connection (--max-queued-jobs %lld); "
		    "retry later", store_queued(app->store), (long long)app->config->max_queued_jobs);
		goto fail;
	}
	return;
fail:
	rpc_fail(&cc->rpc, &err);
}

void
rpc_reply_packed(struct rpc_call *call, const uint8_t *packed, size_t len)
{
	struct connect_call *cc = (struct connect_call *)call;
	const char *headers[2] = {NULL, NULL};
	char request_id_header[40];
	ProtobufCMessage *msg;
	struct vl_error err;

	if (cc->http == NULL) {
		call_free(cc);
		return;
	}
	if (cc->json) {
		if (!codec_decode_binary(call->method->output, packed, len, &msg, &err)) {
			vl_error_set(&err, VL_INTERNAL, "decoding a stored response failed");
			rpc_fail(call, &err);
			return;
		}
		rpc_reply(call, msg);
		protobuf_c_message_free_unpacked(msg, NULL);
		return;
	}
	/* Binary: the packed bytes are already the answer. */
	snprintf(request_id_header, sizeof(request_id_header), "X-Request-Id: %s", cc->rpc.id);
	headers[0] = request_id_header;
	call_log(cc, VL_OK, NULL);
	http_reply(cc->http, 200, "application/proto", packed, len, headers);
	cc->http = NULL;
	call_free(cc);
}
