/*
 * pages.h - the public pages for people: the printable certificate
 * (/certificates/<number>), its credential and status resources, the
 * verification form and results (/verify) and the credential key's DID
 * (/credentials/did). No token is needed: certificate numbers are
 * unguessable (certificates.h).
 *
 * Every page is self-contained: styles inline, the QR code an inline SVG
 * drawn on the server, no script, and a Content-Security-Policy that
 * forbids loading anything else. Every value shown comes from a credential
 * or a request, so every value goes through html_buf_text() (text and
 * quoted attribute values alike).
 *
 * Markup contract for browser tests (data-testid): "status" (with
 * data-status="VALID|REVOKED|INVALID|NOT_FOUND" and that word in its text),
 * "volunteer-name", "total-hours", "certificate-number", "qr", "download",
 * "verify-number-input", "verify-file-input", "verify-submit-number",
 * "verify-submit-file". Each appears at most once per page.
 *
 * The serve functions run on the loop thread and reply exactly once
 * (database work runs as store jobs). The rest is exposed for unit tests.
 */
#ifndef VLEDGER_PAGES_H
#define VLEDGER_PAGES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vledger/error.h"

struct app;
struct http_request;
struct certificate_verdict;

/* GET /certificates/<number>, /certificates/<number>/credential.json,
 * /certificates/<number>/status. */
void pages_serve_certificate(struct app *app, struct http_request *req);

/* GET /verify (the form; ?number=... redirects), POST /verify (a
 * credential file), GET /verify/<number>. */
void pages_serve_verify(struct app *app, struct http_request *req);

/* GET /credentials/did: the credential key's did:key, text/plain. */
void pages_serve_did(struct app *app, struct http_request *req);

/*
 * html.c: a growable buffer, escaping and display formats.
 */

struct html_buf {
	char *data;   /* NUL-terminated while len > 0 or after html_buf_take */
	size_t len;
	size_t cap;
};

void html_buf_init(struct html_buf *b);
/* Appends markup as is: only for text written in this program. */
void html_buf_raw(struct html_buf *b, const char *s);
void html_buf_rawf(struct html_buf *b, const char *fmt, ...) VL_PRINTF(2, 3);
/* Appends untrusted text escaped for HTML text and for double- or
 * single-quoted attribute values: & < > " ' ` become character
 * references; C0 controls other than tab, LF and CR, DEL, and bytes that
 * are not well-formed UTF-8 become U+FFFD; all other UTF-8 passes
 * through. NULL appends nothing. */
void html_buf_text(struct html_buf *b, const char *s);
void html_buf_textn(struct html_buf *b, const char *s, size_t len);
/* Appends `s` percent-encoded for one URL path segment (everything but
 * A-Z a-z 0-9 - . _ ~), then escaped as text. */
void html_buf_url_segment(struct html_buf *b, const char *s);
/* Hands over the contents: a malloc'd NUL-terminated string the caller
 * frees; *len (if not NULL) its length. The buffer is empty afterwards. */
char *html_buf_take(struct html_buf *b, size_t *len);
void html_buf_free(struct html_buf *b);

/* html_buf_text() into a new string; the caller frees it. */
char *html_escape(const char *s);

/* Hours with one decimal, rounded half up: 750 -> "12.5". out holds at
 * least 32 bytes. */
void pages_format_hours(int64_t minutes, char *out, size_t size);

/* The Chinese and English labels of a shift category, by its short name
 * ("elderly_care") or enum name ("SHIFT_CATEGORY_ELDERLY_CARE"); false (and
 * NULLs) for an unknown one. Static strings. */
bool pages_category_label(const char *category, const char **zh, const char **en);

/* Same for a commendation level ("COMMENDATION_LEVEL_DISTRICT", "district"). */
bool pages_commendation_level_label(const char *level, const char **zh, const char **en);

/* Parses an RFC 3339 date-time (fractional seconds ignored) into seconds
 * since the epoch. */
bool pages_parse_rfc3339(const char *s, int64_t *out);

/* Formats seconds since the epoch in China Standard Time (UTC+8, the
 * ledger's users' time): "2026-05-01", or "2026-05-01 14:30" with_time. */
void pages_format_cst(int64_t seconds, bool with_time, char *out, size_t size);

/*
 * qr.c
 */

/* An inline SVG (data-testid="qr") of the QR code of `text` (byte mode,
 * error correction M, a quiet zone of 4 modules), `px` pixels wide.
 * Returns a malloc'd string the caller frees, or NULL when libqrencode
 * refuses (text too long). */
char *qr_svg(const char *text, int px);

/*
 * form.c: request bodies of the verification form.
 */

/* Finds the part named `name` in a multipart/form-data body, `content_type`
 * being the request's Content-Type (with its boundary parameter). On
 * success *value points into body (not copied) for *value_len bytes. False
 * when the body is malformed, the boundary missing, or no such part. */
bool form_multipart_field(const char *content_type, const uint8_t *body, size_t len, const char *name,
    const uint8_t **value, size_t *value_len);

/* The decoded value of `name` in an application/x-www-form-urlencoded
 * string of `len` bytes (a query string or a body): malloc'd, the caller
 * frees; NULL when absent or malformed. *value_len (if not NULL) is its
 * length. */
char *form_urlencoded_field(const char *s, size_t len, const char *name, size_t *value_len);

/*
 * render.c: whole pages, as malloc'd HTML (the caller frees; *len its
 * length). `public_url` has no trailing '/'.
 */

/* The printable certificate for a VALID or REVOKED verdict. `number` is the
 * (well-formed) number that was asked for. */
char *pages_render_certificate(const char *public_url, const char *number, const struct certificate_verdict *v,
    size_t *len);

/* A verification result (any verdict). `number` is the number asked for,
 * or NULL when a document was presented. */
char *pages_render_verify_result(const char *number, const struct certificate_verdict *v, size_t *len);

/* The verification form; `error` (may be NULL) is shown above it. */
char *pages_render_verify_form(const char *error, size_t *len);

/* A short page with a heading and a message (404, 405, 500...). */
char *pages_render_message(const char *title, const char *message, size_t *len);

#endif
