/*
 * pages.c - routing of the public pages and their database jobs.
 *
 * A page that needs the database asks certificates.c for a verdict in a
 * store job (worker thread, blocking libpq) and renders and replies in the
 * job's done callback (loop thread), as log_serve_http does: the event
 * loop never waits on the database, and libevent and the request are only
 * touched on the loop thread.
 *
 * Every HTML reply carries the same security headers: a
 * Content-Security-Policy that allows nothing but inline styles and data:
 * images (the pages have no script and load nothing), nosniff, no
 * referrer (a certificate URL is as good as the certificate), and no-store
 * (a certificate's status can change at any moment).
 */
#include "vledger/pages.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "vledger/app.h"
#include "vledger/certificates.h"
#include "vledger/encoding.h"
#include "vledger/http_server.h"
#include "vledger/log.h"
#include "vledger/store.h"
#include "vledger/vc.h"
#include "vledger/v1/certificates.pb-c.h"

/* Pages have no Connect-Timeout-Ms: a page's job is bounded here instead,
 * so that a stuck query cannot hold a pool connection for long. */
#define PAGE_STATEMENT_TIMEOUT_MS 10000

#define HDR_CSP "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:;" \
	" form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
#define HDR_NOSNIFF "X-Content-Type-Options: nosniff"
#define HDR_REFERRER "Referrer-Policy: no-referrer"
#define HDR_NO_STORE "Cache-Control: no-store"

#define RESULT_VALID VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_VALID
#define RESULT_REVOKED VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED
#define RESULT_NOT_FOUND VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_NOT_FOUND

enum page_what {
	WHAT_CERTIFICATE,     /* GET /certificates/<n> */
	WHAT_CREDENTIAL,      /* GET /certificates/<n>/credential.json */
	WHAT_STATUS,          /* GET /certificates/<n>/status */
	WHAT_VERIFY_NUMBER,   /* GET /verify/<n> */
	WHAT_VERIFY_DOCUMENT, /* POST /verify */
};

struct page_job {
	struct app *app;
	struct http_request *req;
	enum page_what what;
	char number[CERTIFICATE_NUMBER_SIZE];  /* well-formed; "" for a document */
	char *document;                        /* WHAT_VERIFY_DOCUMENT: a copy, owned */
	size_t document_len;
	/* Filled by the job. */
	bool ok;
	struct vl_error err;
	struct certificate_verdict verdict;
};

/* Sends an HTML page (taking ownership of `html`) with the security
 * headers and up to one extra header (e.g. Location), or NULL. */
static void
reply_html(struct http_request *req, int status, char *html, size_t len, const char *extra)
{
	const char *headers[] = {HDR_CSP, HDR_NOSNIFF, HDR_REFERRER, HDR_NO_STORE, extra, NULL};

	http_reply(req, status, "text/html; charset=utf-8", html, len, headers);
	free(html);
}

static void
reply_message(struct http_request *req, int status, const char *title, const char *message, const char *extra)
{
	size_t len;
	char *html = pages_render_message(title, message, &len);

	reply_html(req, status, html, len, extra);
}

static void
reply_method_not_allowed(struct http_request *req, const char *allow)
{
	reply_message(req, 405, "不支持的请求方法 Method not allowed", "此地址只接受 This address accepts GET.",
	    allow);
}

static void
reply_form(struct http_request *req, int status, const char *error)
{
	size_t len;
	char *html = pages_render_verify_form(error, &len);

	reply_html(req, status, html, len, NULL);
}

/* The answer for a number that is not a certificate number: NOT_FOUND
 * (as certificate_verify_number would say) without asking the database. */
static void
verdict_malformed(struct certificate_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->result = RESULT_NOT_FOUND;
	v->reason = xstrdup("不是证书编号 not a certificate number (VLC-YYYY-XXXX-XXXX-XXXX)");
}

/* Copies path segment [s, s+len) into out when it is a well-formed
 * certificate number. */
static bool
number_take(const char *s, size_t len, char out[CERTIFICATE_NUMBER_SIZE])
{
	if (len == 0 || len >= CERTIFICATE_NUMBER_SIZE)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return certificate_number_valid(out);
}

/* RFC 3339 UTC with seconds, from microseconds since the epoch. */
static void
format_utc(int64_t us, char *out, size_t size)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(out, size, "1970-01-01T00:00:00Z");
	else
		strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
result_word(int result)
{
	switch (result) {
	case RESULT_VALID:
		return "VALID";
	case RESULT_REVOKED:
		return "REVOKED";
	case RESULT_NOT_FOUND:
		return "NOT_FOUND";
	default:
		return "INVALID";
	}
}

/* The credentialStatus resource. `number` is what was asked for. */
static void
reply_status(struct http_request *req, const char *number, const struct certificate_verdict *v)
{
	static const char *const headers[] = {HDR_NOSNIFF, HDR_NO_STORE, "Access-Control-Allow-Origin: *", NULL};
	json_t *o = json_object();
	char when[32], *body;

	json_object_set_new(o, "number", json_string(number));
	json_object_set_new(o, "status", json_string(result_word(v->result)));
	if (v->result == RESULT_REVOKED) {
		if (v->revoke_time_us != 0) {
			format_utc(v->revoke_time_us, when, sizeof(when));
			json_object_set_new(o, "revokeTime", json_string(when));
		}
		if (v->reason != NULL)
			json_object_set_new(o, "revokeReason", json_string(v->reason));
	}
	/* json_string() refuses invalid UTF-8 (and returns NULL, which
	 * json_object_set_new skips); numbers here are well-formed ASCII. */
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (body == NULL)
		fatalx("pages: json_dumps failed");
	http_reply(req, v->result == RESULT_NOT_FOUND ? 404 : 200, "application/json", body, strlen(body), headers);
	free(body);
}

static void
reply_text(struct http_request *req, int status, const char *text)
{
	static const char *const headers[] = {HDR_NOSNIFF, HDR_NO_STORE, NULL};

	http_reply(req, status, "text/plain; charset=utf-8", text, strlen(text), headers);
}

static void
page_job_run(PGconn *conn, void *arg)
{
	struct page_job *j = arg;
	char sql[96];
	PGresult *res;

	memset(&j->verdict, 0, sizeof(j->verdict));
	/* One snapshot for the whole verdict: a revocation committing midway
	 * must not give a half-old answer. */
	if (!store_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", &j->err))
		return;
	snprintf(sql, sizeof(sql), "SET LOCAL statement_timeout = %d", PAGE_STATEMENT_TIMEOUT_MS);
	if (!store_exec(conn, sql, &j->err))
		goto rollback;
	if (j->what == WHAT_VERIFY_DOCUMENT)
		j->ok = certificate_verify_document(conn, j->app, j->document, j->document_len, &j->verdict, &j->err);
	else
		j->ok = certificate_verify_number(conn, j->app, j->number, &j->verdict, &j->err);
	if (!j->ok)
		goto rollback;
	res = PQexec(conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		j->ok = false;
		store_error_from_result(conn, res, "commit", &j->err);
	}
	PQclear(res);
	return;
rollback:
	j->ok = false;
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
}

static void
page_job_free(struct page_job *j)
{
	certificate_verdict_free(&j->verdict);
	free(j->document);
	free(j);
}

static void
page_job_done(void *arg)
{
	struct page_job *j = arg;
	const struct certificate_verdict *v = &j->verdict;
	bool found = v->result == RESULT_VALID || v->result == RESULT_REVOKED;
	char *html, *disposition;
	size_t len;

	if (!j->ok) {
		bool unavailable = j->err.code == VL_UNAVAILABLE || j->err.code == VL_DEADLINE_EXCEEDED;

		log_warnx("pages %s %s: %s", j->req->method, j->req->path, j->err.message);
		if (j->what == WHAT_CREDENTIAL || j->what == WHAT_STATUS)
			reply_text(j->req, unavailable ? 503 : 500, unavailable ? "temporarily unavailable\n" :
			    "internal error\n");
		else
			reply_message(j->req, unavailable ? 503 : 500, "暂时无法查询 Temporarily unavailable",
			    "请稍后再试。Please try again in a moment.", NULL);
		page_job_free(j);
		return;
	}
	switch (j->what) {
	case WHAT_CERTIFICATE:
		html = pages_render_certificate(j->app->config->public_url, j->number, v, &len);
		reply_html(j->req, v->result == RESULT_NOT_FOUND ? 404 : 200, html, len, NULL);
		break;
	case WHAT_CREDENTIAL:
		if (!found) {
			reply_text(j->req, 404, "no such certificate\n");
		} else if (v->credential == NULL) {
			reply_text(j->req, 410, "the volunteer's personal data was erased: the credential is no longer"
			    " available\n");
		} else {
			const char *headers[] = {HDR_NOSNIFF, HDR_NO_STORE, NULL, NULL};

			/* The number is well-formed ([A-Z0-9-]), safe in a quoted
			 * filename. */
			disposition = xasprintf("Content-Disposition: attachment; filename=\"%s.json\"", j->number);
			headers[2] = disposition;
			http_reply(j->req, 200, "application/json", v->credential, strlen(v->credential), headers);
			free(disposition);
		}
		break;
	case WHAT_STATUS:
		reply_status(j->req, j->number, v);
		break;
	case WHAT_VERIFY_NUMBER:
		html = pages_render_verify_result(j->number, v, &len);
		reply_html(j->req, v->result == RESULT_NOT_FOUND ? 404 : 200, html, len, NULL);
		break;
	case WHAT_VERIFY_DOCUMENT:
		/* The check itself succeeded whatever it found: 200. */
		html = pages_render_verify_result(NULL, v, &len);
		reply_html(j->req, 200, html, len, NULL);
		break;
	}
	page_job_free(j);
}

static void
submit(struct app *app, struct http_request *req, enum page_what what, const char *number, char *document,
    size_t document_len)
{
	struct page_job *j = xcalloc(1, sizeof(*j));

	j->app = app;
	j->req = req;
	j->what = what;
	if (number != NULL)
		snprintf(j->number, sizeof(j->number), "%s", number);
	j->document = document;
	j->document_len = document_len;
	/* Past --max-queued-jobs the page is refused at once, like an RPC:
	 * the queue (and the uploads waiting in it) must not grow unbounded. */
	if (!store_try_submit(app->store, page_job_run, page_job_done, j)) {
		if (what == WHAT_CREDENTIAL || what == WHAT_STATUS)
			reply_text(req, 503, "server busy: try again in a moment\n");
		else
			reply_message(req, 503, "服务器繁忙 Server busy",
			    "请稍后再试。Too many requests are waiting; please try again in a moment.", NULL);
		page_job_free(j);
	}
}

void
pages_serve_certificate(struct app *app, struct http_request *req)
{
	const char *rest = req->path + strlen("/certificates/");
	const char *slash = strchr(rest, '/');
	size_t seg = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	const char *suffix = rest + seg;
	char number[CERTIFICATE_NUMBER_SIZE];
	struct certificate_verdict v;
	enum page_what what;
	char *html, *raw;
	size_t len;

	if (strcmp(req->method, "GET") != 0) {
		reply_method_not_allowed(req, "Allow: GET");
		return;
	}
	if (*suffix == '\0')
		what = WHAT_CERTIFICATE;
	else if (strcmp(suffix, "/credential.json") == 0)
		what = WHAT_CREDENTIAL;
	else if (strcmp(suffix, "/status") == 0)
		what = WHAT_STATUS;
	else {
		reply_message(req, 404, "页面不存在 Not found", "没有这个页面。There is no such page.", NULL);
		return;
	}
	if (number_take(rest, seg, number)) {
		submit(app, req, what, number, NULL, 0);
		return;
	}
	verdict_malformed(&v);
	switch (what) {
	case WHAT_CERTIFICATE:
		/* The requested segment is shown (escaped) so people see what they typed. */
		raw = xstrndup(rest, seg);
		html = pages_render_certificate(app->config->public_url, raw, &v, &len);
		reply_html(req, 404, html, len, NULL);
		free(raw);
		break;
	case WHAT_STATUS:
		raw = xstrndup(rest, seg);
		reply_status(req, raw, &v);
		free(raw);
		break;
	default:
		reply_text(req, 404, "no such certificate\n");
		break;
	}
	certificate_verdict_free(&v);
}

/* A number as people type or paste it: blanks around it, lower case,
 * look-alike letters, or the whole verification URL the QR code holds.
 * Returns a malloc'd string
 * the caller frees. */
static char *
number_normalize(const char *in)
{
	const char *s = in, *end, *slash;
	char *out, *p;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	while (end > s && end[-1] == '/')
		end--;
	for (slash = s; slash < end; slash++)
		if (*slash == '/')
			s = slash + 1;
	out = xstrndup(s, (size_t)(end - s));
	for (p = out; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	/* Numbers are Crockford base32, read off paper: O is 0, I and L are 1
	 * in the random groups (not in the "VLC-" prefix). */
	if (strlen(out) == CERTIFICATE_NUMBER_SIZE - 1 && strncmp(out, "VLC-", 4) == 0)
		for (p = out + 9; *p != '\0'; p++) {
			int v = crockford32_value(*p);

			if (v >= 0)
				*p = crockford32_alphabet[v];
		}
	return out;
}

/* A number from the form: a 303 to its result page, or the NOT_FOUND
 * result right away when it cannot be a number. */
static void
verify_typed_number(struct http_request *req, const char *typed)
{
	char *number = number_normalize(typed), *location, *html;
	struct certificate_verdict v;
	size_t len;

	if (number[0] == '\0') {
		reply_form(req, 400, "请输入证书编号。Please enter a certificate number.");
	} else if (strlen(number) < CERTIFICATE_NUMBER_SIZE && certificate_number_valid(number)) {
		location = xasprintf("Location: /verify/%s", number);
		reply_message(req, 303, "证书验证 Verify", "正在跳转 Redirecting…", location);
		free(location);
	} else {
		verdict_malformed(&v);
		html = pages_render_verify_result(number, &v, &len);
		reply_html(req, 404, html, len, NULL);
		certificate_verdict_free(&v);
	}
	free(number);
}

static bool
content_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	return ct != NULL && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The whole body, NUL bytes and all (the verifier takes a length): a
 * malloc'd copy, NUL-terminated, that the caller frees. */
static char *
body_copy(const struct http_request *req, size_t *len)
{
	char *copy = xmalloc(req->body_len + 1);

	memcpy(copy, req->body, req->body_len);
	copy[req->body_len] = '\0';
	*len = req->body_len;
	return copy;
}

/* POST /verify: the credential as a form file (multipart/form-data), a form
 * field (urlencoded), or the raw JSON body (curl --data-binary). */
static void
verify_post(struct app *app, struct http_request *req)
{
	const char *ct = http_request_header(req, "content-type");
	const uint8_t *value;
	size_t value_len = 0;
	char *document = NULL, *typed = NULL;

	if (content_type_is(ct, "multipart/form-data")) {
		if (form_multipart_field(ct, req->body, req->body_len, "credential", &value, &value_len) &&
		    value_len > 0) {
			document = xmalloc(value_len + 1);
			memcpy(document, value, value_len);
			document[value_len] = '\0';
		} else if (form_multipart_field(ct, req->body, req->body_len, "number", &value, &value_len)) {
			typed = xstrndup((const char *)value, value_len);
		}
	} else if (content_type_is(ct, "application/x-www-form-urlencoded")) {
		document = form_urlencoded_field((const char *)req->body, req->body_len, "credential", &value_len);
		if (document == NULL)
			typed = form_urlencoded_field((const char *)req->body, req->body_len, "number", NULL);
		/* curl --data-binary @file.json sends this content type with the
		 * file as it is. */
		if (document == NULL && typed == NULL) {
			size_t i = 0;

			while (i < req->body_len && isspace(req->body[i]))
				i++;
			if (i < req->body_len && req->body[i] == '{')
				document = body_copy(req, &value_len);
		}
	} else if (content_type_is(ct, "application/json") || content_type_is(ct, "application/vc+ld+json") ||
	    content_type_is(ct, "application/ld+json") || content_type_is(ct, "application/vc")) {
		document = body_copy(req, &value_len);
	} else {
		reply_form(req, 415, "不支持的提交格式 Unsupported Content-Type: send the file with the form"
		    " (multipart/form-data) or as application/json.");
		return;
	}
	if (document != NULL && value_len > 0) {
		submit(app, req, WHAT_VERIFY_DOCUMENT, NULL, document, value_len);
		return;
	}
	free(document);
	if (typed != NULL) {
		verify_typed_number(req, typed);
		free(typed);
		return;
	}
	reply_form(req, 400, "请选择凭证文件。Please choose the credential file (JSON) to verify.");
}

void
pages_serve_verify(struct app *app, struct http_request *req)
{
	char number[CERTIFICATE_NUMBER_SIZE], *typed, *html;
	struct certificate_verdict v;
	const char *rest;
	size_t len;

	if (strcmp(req->path, "/verify") == 0) {
		if (strcmp(req->method, "POST") == 0) {
			verify_post(app, req);
			return;
		}
		if (strcmp(req->method, "GET") != 0) {
			reply_message(req, 405, "不支持的请求方法 Method not allowed",
			    "此地址只接受 This address accepts GET and POST.", "Allow: GET, POST");
			return;
		}
		typed = req->query != NULL ? form_urlencoded_field(req->query, strlen(req->query), "number", NULL) :
		    NULL;
		if (typed != NULL) {
			verify_typed_number(req, typed);
			free(typed);
		} else
			reply_form(req, 200, NULL);
		return;
	}
	/* /verify/<number> */
	if (strcmp(req->method, "GET") != 0) {
		reply_method_not_allowed(req, "Allow: GET");
		return;
	}
	rest = req->path + strlen("/verify/");
	if (*rest == '\0') {
		reply_message(req, 303, "证书验证 Verify", "正在跳转 Redirecting…", "Location: /verify");
		return;
	}
	if (number_take(rest, strlen(rest), number)) {
		submit(app, req, WHAT_VERIFY_NUMBER, number, NULL, 0);
		return;
	}
	verdict_malformed(&v);
	html = pages_render_verify_result(rest, &v, &len);
	reply_html(req, 404, html, len, NULL);
	certificate_verdict_free(&v);
}

void
pages_serve_did(struct app *app, struct http_request *req)
{
	char *body;

	if (strcmp(req->method, "GET") != 0) {
		static const char *const allow[] = {"Allow: GET", NULL};

		http_reply(req, 405, NULL, NULL, 0, allow);
		return;
	}
	body = xasprintf("%s\n", vc_signer_did(app->credentials));
	reply_text(req, 200, body);
	free(body);
}
