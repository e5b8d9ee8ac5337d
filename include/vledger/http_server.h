/*
 * http_server.h - a small HTTP/1.1 server on libevent bufferevents.
 *
 * Why not evhttp: evhttp (libevent 2.1) answers an oversize body with its own
 * HTML 413 page, and the Connect protocol needs a Connect error
 * (resource_exhausted) sent before the body is buffered. Owning the framing
 * also gives one place for limits and timeouts, and TLS through
 * bufferevent_openssl.
 *
 * What it does: keep-alive, Content-Length and chunked request bodies, a body
 * limit checked while reading (the connection is closed after a refusal, so
 * the rest of the body is never read), `Expect: 100-continue`, header and
 * idle timeouts, one request at a time per connection (a pipelined request
 * waits until the previous reply is sent), a cap on open connections, and a
 * pause in accepting when accept() fails (out of file descriptors).
 *
 * Contract with the application: the request callback is called once per
 * complete request and must eventually call http_reply() exactly once for
 * it, possibly from a later loop turn. The request stays valid until then,
 * even if the client goes away (the reply is then dropped).
 */
#ifndef VLEDGER_HTTP_SERVER_H
#define VLEDGER_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "vledger/error.h"

struct http_server;

struct http_header {
	char *name;   /* lower-cased */
	char *value;  /* leading/trailing blanks removed */
};

struct http_request {
	char method[16];
	char *path;          /* the target before '?', not decoded */
	char *query;         /* after '?', or NULL */
	struct http_header *headers;
	size_t header_count;
	unsigned char *body; /* NUL-terminated for convenience; body_len excludes it */
	size_t body_len;
	char peer[64];       /* "addr:port" of the client */
	/* private to http_server.c */
	struct http_conn *conn;      /* NULL once the client went away */
	struct http_server *server;
	bool replied;
};

/* Called on the loop thread with a complete request. `arg` is the one given
 * to http_server_start(). */
typedef void (*http_request_cb)(struct http_request *req, void *arg);

struct http_server_config {
	const char *listen;      /* "HOST:PORT" */
	size_t max_body_bytes;
	size_t max_connections;  /* open at once; beyond it a new one gets 503 and is closed (0: no cap) */
	SSL_CTX *tls;            /* NULL: plain HTTP; else owned by the caller, outlives the server */
	/* Sent (as a complete HTTP response: status, content type, body) when a
	 * body is over the limit. Lets the application speak its own error
	 * format. */
	void (*oversize_body)(int *status, const char **content_type, char **body, size_t *body_len);
};

/* Binds and listens. On failure (bad address, port in use) returns false
 * with err set. Free with http_server_free(). */
VL_MUST_CHECK bool http_server_start(struct event_base *base, const struct http_server_config *config,
    http_request_cb cb, void *arg, struct http_server **out, struct vl_error *err);

/* The header's value, or NULL. `name` is lower-case. */
const char *http_request_header(const struct http_request *req, const char *name);

/* Sends the reply and releases the request: `req` must not be used after.
 * `headers` is a NULL-terminated array of "Name: value" strings, or NULL.
 * The body is copied. */
void http_reply(struct http_request *req, int status, const char *content_type, const void *body,
    size_t body_len, const char *const *headers);

/* Stops accepting and closes idle connections; connections with a request
 * in flight are closed after their reply. */
void http_server_stop_accepting(struct http_server *server);

/* Requests received and not yet replied to. */
size_t http_server_in_flight(const struct http_server *server);

/* Closes everything that is left and frees the server. Call it only when
 * http_server_in_flight() is 0: a request still held by the application
 * points at the server. */
void http_server_free(struct http_server *server);

/* Bytes of a reply status line reason ("Not Found"); static string. */
const char *http_reason(int status);

#endif
