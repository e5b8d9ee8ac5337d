/*
 * http_client.c - blocking HTTP/1.1 requests for the `vledger` tool.
 */
#include "vledger/http_client.h"

#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "vledger/log.h"

#define RESPONSE_MAX (256 * 1024 * 1024)

bool
http_url_parse(const char *text, struct http_url *u)
{
	const char *p, *slash, *colon;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (strncmp(text, "http://", 7) == 0) {
		p = text + 7;
		strcpy(u->port, "80");
	} else if (strncmp(text, "https://", 8) == 0) {
		p = text + 8;
		u->tls = true;
		strcpy(u->port, "443");
	} else {
		return false;
	}
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	colon = memchr(p, ':', n);
	if (colon != NULL) {
		size_t port_len = n - (size_t)(colon - p) - 1;
		if (port_len == 0 || port_len >= sizeof(u->port))
			return false;
		memcpy(u->port, colon + 1, port_len);
		u->port[port_len] = '\0';
		n = (size_t)(colon - p);
	}
	if (n == 0 || n >= sizeof(u->host))
		return false;
	memcpy(u->host, p, n);
	if (slash != NULL) {
		snprintf(u->path_prefix, sizeof(u->path_prefix), "%s", slash);
		n = strlen(u->path_prefix);
		if (n > 0 && u->path_prefix[n - 1] == '/')
			u->path_prefix[n - 1] = '\0';
	}
	return true;
}

char *
read_file(const char *path, size_t *len_out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap * 2 + 4096;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	if (len_out != NULL)
		*len_out = len;
	return buf;
}

static BIO *
connect_to(const struct http_url *u, SSL_CTX **ctx_out)
{
	struct addrinfo hints, *res, *ai;
	BIO *bio, *ssl_bio;
	SSL *ssl;
	int fd = -1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(u->host, u->port, &hints, &res);
	if (r != 0) {
		fprintf(stderr, "vledger: %s: %s\n", u->host, gai_strerror(r));
		return NULL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "vledger: cannot connect to %s:%s: %s\n", u->host, u->port, strerror(errno));
		return NULL;
	}
	bio = BIO_new_socket(fd, BIO_CLOSE);
	if (!u->tls)
		return bio;
	*ctx_out = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_default_verify_paths(*ctx_out);
	SSL_CTX_set_verify(*ctx_out, u->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	ssl_bio = BIO_new_ssl(*ctx_out, 1);
	BIO_get_ssl(ssl_bio, &ssl);
	SSL_set_tlsext_host_name(ssl, u->host);
	SSL_set1_host(ssl, u->host);
	bio = BIO_push(ssl_bio, bio);
	if (BIO_do_handshake(bio) != 1) {
		fprintf(stderr, "vledger: TLS handshake with %s failed: %s\n", u->host,
		    ERR_reason_error_string(ERR_get_error()));
		BIO_free_all(bio);
		return NULL;
	}
	return bio;
}

int
http_fetch(const struct http_url *u, const char *method, const char *path, const char *token, const char *content_type,
    const void *body, size_t body_len, char **response, size_t *response_len)
{
	SSL_CTX *ctx = NULL;
	BIO *bio;
	char *head = NULL, *buf = NULL, *p;
	size_t len = 0, cap = 0;
	int n, status = -1;

	*response = NULL;
	*response_len = 0;
	bio = connect_to(u, &ctx);
	if (bio == NULL)
		goto out;
	head = xasprintf("%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\nContent-Length: %zu\r\n"
	    "%s%s%s%s%s%s\r\n", method, u->path_prefix, path, u->host, u->port, body_len,
	    content_type != NULL ? "Content-Type: " : "", content_type != NULL ? content_type : "",
	    content_type != NULL ? "\r\nConnect-Protocol-Version: 1\r\n" : "",
	    token != NULL ? "Authorization: Bearer " : "", token != NULL ? token : "", token != NULL ? "\r\n" : "");
	if (BIO_write(bio, head, (int)strlen(head)) <= 0 ||
	    (body_len > 0 && BIO_write(bio, body, (int)body_len) <= 0)) {
		fprintf(stderr, "vledger: sending the request to %s:%s failed\n", u->host, u->port);
		goto out;
	}
	for (;;) {
		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			if (cap > RESPONSE_MAX) {
				fprintf(stderr, "vledger: response from %s:%s too large\n", u->host, u->port);
				goto out;
			}
			buf = xrealloc(buf, cap);
		}
		n = BIO_read(bio, buf + len, (int)(cap - len - 1));
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL || len < 12 || strncmp(buf, "HTTP/1.", 7) != 0) {
		fprintf(stderr, "vledger: no HTTP response from %s:%s\n", u->host, u->port);
		goto out;
	}
	buf[len] = '\0';
	p = strstr(buf, "\r\n\r\n");
	if (p == NULL) {
		fprintf(stderr, "vledger: truncated HTTP response from %s:%s\n", u->host, u->port);
		goto out;
	}
	status = atoi(buf + 9);
	p += 4;
	*response_len = len - (size_t)(p - buf);
	*response = xmalloc(*response_len + 1);
	memcpy(*response, p, *response_len);
	(*response)[*response_len] = '\0';
out:
	free(head);
	free(buf);
	if (bio != NULL)
		BIO_free_all(bio);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return status;
}
