/*
 * http_client.h - a small blocking HTTP/1.1 client for the `vledger` tool
 * (a command-line program may block; the daemon never uses this).
 * http:// and https:// (OpenSSL, verifying the server unless insecure).
 */
#ifndef VLEDGER_HTTP_CLIENT_H
#define VLEDGER_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct http_url {
	bool tls;
	bool insecure;         /* https without certificate verification */
	char host[256];
	char port[8];
	char path_prefix[256]; /* without a trailing slash */
};

/* Parses "http[s]://host[:port][/prefix]". */
bool http_url_parse(const char *text, struct http_url *out);

/* Sends one request (Connection: close) and reads the whole response.
 * `token` (may be NULL) is sent as a bearer credential; `content_type` and
 * `body` may be NULL for GET. Returns the HTTP status, or -1 after printing
 * why to stderr. *response (malloc'd, NUL-terminated, *response_len bytes
 * without the NUL) is the body; the caller frees it. */
int http_fetch(const struct http_url *url, const char *method, const char *path, const char *token,
    const char *content_type, const void *body, size_t body_len, char **response, size_t *response_len);

/* Reads a whole file, or stdin for "-". Returns a malloc'd NUL-terminated
 * buffer (caller frees) and its length, or NULL with errno set. */
char *read_file(const char *path, size_t *len);

#endif
