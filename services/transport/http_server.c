/*
 * http_server.c - HTTP/1.1 framing for vledgerd: accept, read one request
 * (head, then body within the limit), hand it to the application, write the
 * reply, repeat. See http_server.h for why this is not evhttp.
 */
#include "vledger/http_server.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>

#include "vledger/log.h"

#define HEAD_MAX_BYTES (16 * 1024)  /* request line plus headers */
#define HEADERS_MAX 100
#define IDLE_TIMEOUT_SECONDS 60     /* also bounds a slow client mid-request */
#define PIPELINE_MAX_BYTES (256 * 1024)
/* After refusing a request whose body is still arriving, keep reading (and
 * discarding) for a while before closing: closing a socket with unread data
 * makes the kernel send a reset, which can destroy the refusal before the
 * client reads it. */
#define LINGER_SECONDS 2
#define LINGER_MAX_BYTES (64 * 1024 * 1024)

enum conn_state {
	CONN_READ_HEAD,
	CONN_READ_BODY,
	CONN_READ_CHUNK_SIZE,
	CONN_READ_CHUNK_DATA,
	CONN_READ_CHUNK_END,
	CONN_READ_TRAILER,
	CONN_WAIT_REPLY,   /* the application has the request */
	CONN_CLOSING,      /* flushing the last reply, then close */
	CONN_LINGERING,    /* reply sent, write side shut: discard what the client still sends */
};

struct http_conn {
	TAILQ_ENTRY(http_conn) entry;
	struct http_server *server;
	struct bufferevent *bev;
	enum conn_state state;
	struct http_request *req;   /* being read, or in flight */
	struct evbuffer *body;
	size_t remaining;           /* of Content-Length or of the current chunk */
	size_t head_bytes;
	size_t lingered;
	bool keep_alive;
	bool linger;                /* refused mid-request: linger after the reply */
	char peer[64];
};

struct http_server {
	struct event_base *base;
	struct evconnlistener *listener;
	TAILQ_HEAD(, http_conn) conns;
	http_request_cb cb;
	void *cb_arg;
	size_t max_body_bytes;
	SSL_CTX *tls;
	void (*oversize_body)(int *, const char **, char **, size_t *);
	size_t in_flight;
	bool draining;
	size_t conn_count;          /* open connections */
	size_t max_connections;
	struct event *accept_pause; /* re-enables the listener after a pause */
	uint64_t refused;           /* connections refused at the cap, for the log */
};

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_process(struct http_conn *conn);

static void
request_free(struct http_request *req)
{
	size_t i;

	if (req == NULL)
		return;
	for (i = 0; i < req->header_count; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	free(req->headers);
	free(req->path);
	free(req->query);
	free(req->body);
	free(req);
}

/* Frees the connection. A request the application still holds is detached:
 * its reply will be dropped by http_reply(). */
static void
conn_free(struct http_conn *conn)
{
	struct http_server *server = conn->server;

	if (conn->req != NULL) {
		if (conn->state == CONN_WAIT_REPLY)
			conn->req->conn = NULL;
		else
			request_free(conn->req);
		conn->req = NULL;
	}
	TAILQ_REMOVE(&server->conns, conn, entry);
	server->conn_count--;
	if (conn->bev != NULL)
		bufferevent_free(conn->bev);
	if (conn->body != NULL)
		evbuffer_free(conn->body);
	free(conn);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 499: return "Client Closed Request";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static void
write_response(struct http_conn *conn, int status, const char *content_type, const void *body, size_t body_len,
    const char *const *headers, bool keep_alive)
{
	struct evbuffer *out = bufferevent_get_output(conn->bev);
	size_t i;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
	if (content_type != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
	evbuffer_add_printf(out, "Content-Length: %zu\r\n", body_len);
	evbuffer_add_printf(out, "Connection: %s\r\n", keep_alive ? "keep-alive" : "close");
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		evbuffer_add_printf(out, "%s\r\n", headers[i]);
	evbuffer_add(out, "\r\n", 2);
	if (body_len > 0)
		evbuffer_add(out, body, body_len);
}

/* Answers a request that never reached the application (bad framing,
 * oversize body) and closes the connection once the answer is written: the
 * rest of what the client sends is never read. */
static void
conn_fail(struct http_conn *conn, int status, const char *why)
{
	log_info("http %s: %d %s", conn->peer, status, why);
	write_response(conn, status, "text/plain; charset=utf-8", why, strlen(why), NULL, false);
	request_free(conn->req);
	conn->req = NULL;
	conn->state = CONN_CLOSING;
	conn->linger = true;
	bufferevent_disable(conn->bev, EV_READ);
}

static void
conn_fail_oversize(struct http_conn *conn)
{
	struct http_server *server = conn->server;
	const char *content_type = "text/plain; charset=utf-8";
	char *body = NULL;
	size_t body_len = 0;
	int status = 413;

	log_info("http %s: request body over the %zu-byte limit refused", conn->peer, server->max_body_bytes);
	if (server->oversize_body != NULL)
		server->oversize_body(&status, &content_type, &body, &body_len);
	if (body == NULL) {
		body = xstrdup("request body too large\n");
		body_len = strlen(body);
	}
	write_response(conn, status, content_type, body, body_len, NULL, false);
	free(body);
	request_free(conn->req);
	conn->req = NULL;
	conn->state = CONN_CLOSING;
	conn->linger = true;
	bufferevent_disable(conn->bev, EV_READ);
}

static void
conn_dispatch(struct http_conn *conn)
{
	struct http_request *req = conn->req;
	struct http_server *server = conn->server;

	req->body_len = evbuffer_get_length(conn->body);
	req->body = xmalloc(req->body_len + 1);
	evbuffer_remove(conn->body, req->body, req->body_len);
	req->body[req->body_len] = '\0';
	conn->state = CONN_WAIT_REPLY;
	server->in_flight++;
	server->cb(req, server->cb_arg);
}

static bool
parse_request_line(struct http_conn *conn, char *line)
{
	struct http_request *req = conn->req;
	char *method, *target, *version, *q;

	method = strsep(&line, " ");
	target = strsep(&line, " ");
	version = line;
	if (method == NULL || target == NULL || version == NULL || strchr(version, ' ') != NULL ||
	    strlen(method) == 0 || strlen(method) >= sizeof(req->method) || target[0] != '/') {
		conn_fail(conn, 400, "malformed request line\n");
		return false;
	}
	if (strcmp(version, "HTTP/1.1") == 0) {
		conn->keep_alive = true;
	} else if (strcmp(version, "HTTP/1.0") == 0) {
		conn->keep_alive = false;
	} else {
		conn_fail(conn, 505, "only HTTP/1.0 and HTTP/1.1 are served here\n");
		return false;
	}
	strcpy(req->method, method);
	q = strchr(target, '?');
	if (q != NULL) {
		*q = '\0';
		req->query = xstrdup(q + 1);
	}
	req->path = xstrdup(target);
	return true;
}

static bool
parse_header_line(struct http_conn *conn, char *line)
{
	struct http_request *req = conn->req;
	char *colon, *value, *end, *p;

	colon = strchr(line, ':');
	if (colon == NULL || colon == line) {
		conn_fail(conn, 400, "malformed header line\n");
		return false;
	}
	if (req->header_count == HEADERS_MAX) {
		conn_fail(conn, 431, "too many header fields\n");
		return false;
	}
	*colon = '\0';
	for (p = line; *p != '\0'; p++) {
		if (!isgraph((unsigned char)*p)) {
			conn_fail(conn, 400, "malformed header name\n");
			return false;
		}
		*p = (char)tolower((unsigned char)*p);
	}
	value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	req->headers = xrealloc(req->headers, (req->header_count + 1) * sizeof(*req->headers));
	req->headers[req->header_count].name = xstrdup(line);
	req->headers[req->header_count].value = xstrdup(value);
	req->header_count++;
	return true;
}

/* Called when the blank line ending the head has been read: decides how the
 * body is framed and checks its declared size against the limit. */
static bool
start_body(struct http_conn *conn)
{
	struct http_request *req = conn->req;
	const char *te = http_request_header(req, "transfer-encoding");
	const char *cl = http_request_header(req, "content-length");
	const char *connection = http_request_header(req, "connection");
	const char *expect = http_request_header(req, "expect");
	char *end;
	unsigned long long length;

	if (connection != NULL) {
		if (strcasestr(connection, "close") != NULL)
			conn->keep_alive = false;
		else if (strcasestr(connection, "keep-alive") != NULL)
			conn->keep_alive = true;
	}
	if (conn->server->draining)
		conn->keep_alive = false;
	if (te != NULL) {
		if (strcasecmp(te, "chunked") != 0) {
			conn_fail(conn, 501, "unsupported transfer-encoding\n");
			return false;
		}
		conn->state = CONN_READ_CHUNK_SIZE;
	} else if (cl != NULL) {
		errno = 0;
		length = strtoull(cl, &end, 10);
		if (cl[0] < '0' || cl[0] > '9' || *end != '\0' || errno != 0) {
			conn_fail(conn, 400, "malformed content-length\n");
			return false;
		}
		if (length > conn->server->max_body_bytes) {
			conn_fail_oversize(conn);
			return false;
		}
		conn->remaining = (size_t)length;
		conn->state = CONN_READ_BODY;
	} else {
		conn->remaining = 0;
		conn->state = CONN_READ_BODY;
	}
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    (conn->state != CONN_READ_BODY || conn->remaining > 0))
		evbuffer_add_printf(bufferevent_get_output(conn->bev), "HTTP/1.1 100 Continue\r\n\r\n");
	return true;
}

/* Reads the head line by line. Returns true when the head is complete. */
static bool
read_head(struct http_conn *conn, struct evbuffer *in)
{
	char *line;
	size_t n;

	for (;;) {
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (conn->head_bytes + evbuffer_get_length(in) > HEAD_MAX_BYTES)
				conn_fail(conn, 431, "request head too large\n");
			return false;
		}
		conn->head_bytes += n + 2;
		if (conn->head_bytes > HEAD_MAX_BYTES) {
			free(line);
			conn_fail(conn, 431, "request head too large\n");
			return false;
		}
		if (conn->req == NULL) {
			if (n == 0) {  /* stray CRLF between requests is allowed */
				free(line);
				continue;
			}
			conn->req = xcalloc(1, sizeof(*conn->req));
			conn->req->conn = conn;
			conn->req->server = conn->server;
			memcpy(conn->req->peer, conn->peer, sizeof(conn->peer));
			if (!parse_request_line(conn, line)) {
				free(line);
				return false;
			}
		} else if (n == 0) {
			free(line);
			return start_body(conn);
		} else if (!parse_header_line(conn, line)) {
			free(line);
			return false;
		}
		free(line);
	}
}

static bool
body_append(struct http_conn *conn, struct evbuffer *in, size_t n)
{
	if (evbuffer_get_length(conn->body) + n > conn->server->max_body_bytes) {
		conn_fail_oversize(conn);
		return false;
	}
	evbuffer_remove_buffer(in, conn->body, n);
	return true;
}

/* Advances the state machine over what is buffered. */
static void
conn_process(struct http_conn *conn)
{
	struct evbuffer *in = bufferevent_get_input(conn->bev);
	char *line, *end;
	size_t n, avail;
	unsigned long long size;

	for (;;) {
		switch (conn->state) {
		case CONN_READ_HEAD:
			if (!read_head(conn, in))
				return;
			break;
		case CONN_READ_BODY:
			avail = evbuffer_get_length(in);
			n = avail < conn->remaining ? avail : conn->remaining;
			if (n > 0 && !body_append(conn, in, n))
				return;
			conn->remaining -= n;
			if (conn->remaining > 0)
				return;
			conn_dispatch(conn);
			return;
		case CONN_READ_CHUNK_SIZE:
			line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
			if (line == NULL) {
				if (evbuffer_get_length(in) > 1024)
					conn_fail(conn, 400, "malformed chunk size\n");
				return;
			}
			errno = 0;
			size = strtoull(line, &end, 16);
			if (end == line || (*end != '\0' && *end != ';') || errno != 0) {
				free(line);
				conn_fail(conn, 400, "malformed chunk size\n");
				return;
			}
			free(line);
			if (size > conn->server->max_body_bytes) {
				conn_fail_oversize(conn);
				return;
			}
			conn->remaining = (size_t)size;
			conn->state = size == 0 ? CONN_READ_TRAILER : CONN_READ_CHUNK_DATA;
			break;
		case CONN_READ_CHUNK_DATA:
			avail = evbuffer_get_length(in);
			n = avail < conn->remaining ? avail : conn->remaining;
			if (n > 0 && !body_append(conn, in, n))
				return;
			conn->remaining -= n;
			if (conn->remaining > 0)
				return;
			conn->state = CONN_READ_CHUNK_END;
			break;
		case CONN_READ_CHUNK_END:
			if (evbuffer_get_length(in) < 2)
				return;
			line = (char *)evbuffer_pullup(in, 2);
			if (line[0] != '\r' || line[1] != '\n') {
				conn_fail(conn, 400, "malformed chunk\n");
				return;
			}
			evbuffer_drain(in, 2);
			conn->state = CONN_READ_CHUNK_SIZE;
			break;
		case CONN_READ_TRAILER:
			line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
			if (line == NULL)
				return;
			free(line);
			if (n == 0) {
				conn_dispatch(conn);
				return;
			}
			break;
		case CONN_LINGERING:
			avail = evbuffer_get_length(in);
			conn->lingered += avail;
			evbuffer_drain(in, avail);
			if (conn->lingered > LINGER_MAX_BYTES)
				conn_free(conn);
			return;
		case CONN_WAIT_REPLY:
		case CONN_CLOSING:
			return;
		}
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	conn_process(arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *conn = arg;
	struct timeval linger = {LINGER_SECONDS, 0};

	if (conn->state != CONN_CLOSING)
		return;
	if (!conn->linger || conn->server->tls != NULL) {
		conn_free(conn);
		return;
	}
	/* The reply is out: tell the client we are done writing, then
	 * swallow the rest of its body until it hangs up or time is up. */
	shutdown(bufferevent_getfd(conn->bev), SHUT_WR);
	conn->state = CONN_LINGERING;
	bufferevent_setwatermark(conn->bev, EV_READ, 0, 0);
	bufferevent_set_timeouts(conn->bev, &linger, NULL);
	bufferevent_enable(conn->bev, EV_READ);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *conn = arg;

	if (what == BEV_EVENT_CONNECTED)  /* the TLS handshake finished */
		return;
	if ((what & BEV_EVENT_TIMEOUT) && conn->state == CONN_WAIT_REPLY) {
		/* The application is still working; the client is allowed to
		 * wait. Keep watching for it to hang up. */
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_debug("http %s: connection error", conn->peer);
	conn_free(conn);
}

void
http_reply(struct http_request *req, int status, const char *content_type, const void *body, size_t body_len,
    const char *const *headers)
{
	struct http_conn *conn = req->conn;

	if (req->replied)
		fatalx("http_reply called twice for one request");
	req->replied = true;
	req->server->in_flight--;
	if (conn == NULL) {
		/* The client went away while the application worked. */
		request_free(req);
		return;
	}
	conn->req = NULL;
	request_free(req);
	if (conn->server->draining)
		conn->keep_alive = false;
	write_response(conn, status, content_type, body, body_len, headers, conn->keep_alive);
	conn->head_bytes = 0;
	if (!conn->keep_alive) {
		conn->state = CONN_CLOSING;
		bufferevent_disable(conn->bev, EV_READ);
		return;
	}
	conn->state = CONN_READ_HEAD;
	/* A pipelined request may already be buffered. */
	conn_process(conn);
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->header_count; i++)
		if (strcmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

static void
format_peer(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, len, "%s:%d", host, port);
}

/* Past --max-connections a new connection gets a 503 and is closed: each
 * connection holds buffers (up to a body limit plus pipelined input), so
 * their number is what bounds vledgerd's memory. The reply is one small
 * write on a fresh socket (its send buffer is empty): it cannot block. */
static void
refuse_connection(struct http_server *server, evutil_socket_t fd)
{
	static const char reply[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 43\r\nConnection: close\r\n"
	    "Retry-After: 1\r\n\r\ntoo many connections: try again in a moment";
	ssize_t n;

	/* Plain text on a TLS socket would only be garbage to the client. */
	if (server->tls == NULL) {
		n = send(fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	evutil_closesocket(fd);
	if (server->refused++ % 1000 == 0)
		log_warnx("http: %zu connections open (--max-connections); refusing new ones (%llu so far)",
		    server->conn_count, (unsigned long long)server->refused);
}

static void
accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	struct http_server *server = arg;
	struct http_conn *conn;
	struct timeval timeout = {IDLE_TIMEOUT_SECONDS, 0};

	if (server->max_connections > 0 && server->conn_count >= server->max_connections) {
		refuse_connection(server, fd);
		return;
	}
	conn = xcalloc(1, sizeof(*conn));
	conn->server = server;
	conn->state = CONN_READ_HEAD;
	conn->body = evbuffer_new();
	if (conn->body == NULL)
		fatalx("evbuffer_new failed");
	format_peer(sa, conn->peer, sizeof(conn->peer));
	if (server->tls != NULL) {
		SSL *ssl = SSL_new(server->tls);
		if (ssl == NULL)
			fatalx("SSL_new failed");
		conn->bev = bufferevent_openssl_socket_new(server->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (conn->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
	} else {
		conn->bev = bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (conn->bev == NULL)
		fatalx("bufferevent_socket_new failed");
	TAILQ_INSERT_TAIL(&server->conns, conn, entry);
	server->conn_count++;
	bufferevent_setcb(conn->bev, conn_read_cb, conn_write_cb, conn_event_cb, conn);
	bufferevent_set_timeouts(conn->bev, &timeout, &timeout);
	/* Stop reading ahead of a slow application: bounds pipelined input. */
	bufferevent_setwatermark(conn->bev, EV_READ, 0, PIPELINE_MAX_BYTES);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *server = arg;

	if (server->listener != NULL)
		evconnlistener_enable(server->listener);
}

/* accept() failing on a listener that is still readable would be retried
 * at once, forever: out of file descriptors (EMFILE, ENFILE) or memory, the
 * loop would spin and flood the log. Pause accepting for a moment instead;
 * connections already open go on, and closing them frees what is missing. */
static void
accept_error_cb(struct evconnlistener *listener, void *arg)
{
	struct http_server *server = arg;
	struct timeval pause = {0, 200 * 1000};
	int e = EVUTIL_SOCKET_ERROR();

	log_warnx("http: accept: %s; pausing new connections for 200 ms (%zu open)", evutil_socket_error_to_string(e),
	    server->conn_count);
	evconnlistener_disable(listener);
	if (server->accept_pause == NULL)
		server->accept_pause = evtimer_new(server->base, accept_resume_cb, server);
	evtimer_add(server->accept_pause, &pause);
}

/* Splits "HOST:PORT" or "[V6]:PORT" into its parts. */
static bool
split_listen(const char *listen, char *host, size_t host_len, char *port, size_t port_len)
{
	const char *colon;
	size_t n;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (close == NULL || close[1] != ':')
			return false;
		n = (size_t)(close - listen - 1);
		colon = close + 1;
		if (n >= host_len)
			return false;
		memcpy(host, listen + 1, n);
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL)
			return false;
		n = (size_t)(colon - listen);
		if (n >= host_len)
			return false;
		memcpy(host, listen, n);
	}
	host[n] = '\0';
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= port_len)
		return false;
	strcpy(port, colon + 1);
	return true;
}

bool
http_server_start(struct event_base *base, const struct http_server_config *config, http_request_cb cb, void *arg,
    struct http_server **out, struct vl_error *err)
{
	struct http_server *server;
	struct addrinfo hints, *res = NULL;
	char host[256], port[16];
	int r;

	if (!split_listen(config->listen, host, sizeof(host), port, sizeof(port)))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "--listen: expected HOST:PORT, got \"%s\"",
		    config->listen);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	r = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (r != 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "--listen: %s: %s", config->listen, gai_strerror(r));

	server = xcalloc(1, sizeof(*server));
	server->base = base;
	server->cb = cb;
	server->cb_arg = arg;
	server->max_body_bytes = config->max_body_bytes;
	server->tls = config->tls;
	server->oversize_body = config->oversize_body;
	server->max_connections = config->max_connections;
	TAILQ_INIT(&server->conns);
	server->listener = evconnlistener_new_bind(base, accept_cb, server,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 128, res->ai_addr,
	    (int)res->ai_addrlen);
	if (server->listener == NULL) {
		vl_error_set(err, VL_UNAVAILABLE, "--listen: cannot listen on %s: %s", config->listen,
		    strerror(errno));
		freeaddrinfo(res);
		free(server);
		return false;
	}
	freeaddrinfo(res);
	evconnlistener_set_error_cb(server->listener, accept_error_cb);
	*out = server;
	return true;
}

void
http_server_stop_accepting(struct http_server *server)
{
	struct http_conn *conn, *next;

	server->draining = true;
	if (server->listener != NULL) {
		evconnlistener_free(server->listener);
		server->listener = NULL;
	}
	if (server->accept_pause != NULL) {
		event_free(server->accept_pause);
		server->accept_pause = NULL;
	}
	/* Idle keep-alive connections go now; busy ones after their reply. */
	for (conn = TAILQ_FIRST(&server->conns); conn != NULL; conn = next) {
		next = TAILQ_NEXT(conn, entry);
		if (conn->state == CONN_READ_HEAD && conn->req == NULL &&
		    evbuffer_get_length(bufferevent_get_input(conn->bev)) == 0 &&
		    evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
			conn_free(conn);
	}
}

size_t
http_server_in_flight(const struct http_server *server)
{
	return server->in_flight;
}

void
http_server_free(struct http_server *server)
{
	struct http_conn *conn;

	if (server == NULL)
		return;
	if (server->listener != NULL)
		evconnlistener_free(server->listener);
	if (server->accept_pause != NULL)
		event_free(server->accept_pause);
	while ((conn = TAILQ_FIRST(&server->conns)) != NULL)
		conn_free(conn);
	free(server);
}
