/*
 * bench/loadgen.c - the load generator of the benchmark harness (bench/run.sh).
 *
 *   vledger-loadgen --url http://127.0.0.1:PORT --workload W [options]
 *
 * Keeps --connections HTTP/1.1 keep-alive connections busy (one request in
 * flight on each: a closed loop, like wrk without pipelining) for --warmup
 * seconds, then for --duration seconds in which every completed request's
 * latency is recorded (microseconds, one slot per request, so p50/p99/max are
 * exact order statistics, not histogram estimates), then lets the requests in
 * flight finish. It prints one JSON line with the results on stdout.
 *
 * Workloads:
 *   healthz  GET /healthz
 *   append   POST RecordsService/RecordShift (JSON, office token): every
 *            connection owns distinct volunteers (--volunteers FILE, one id a
 *            line; volunteer j belongs to connection j mod N) and advances each
 *            volunteer's clock by 11 minutes a shift (10 minutes of service, 1
 *            minute gap) from --shift-base (default 80 days ago) up to
 *            --shift-limit (default 2 minutes ago), so no two shifts overlap and
 *            none is refused for it; every request has a fresh idempotency key; a 2xx
 *            answer without a "receipt" is an error
 *   verify   alternately LogService/GetInclusionProof for a random leaf below
 *            --tree-size and CertificateService/VerifyCertificate by a number
 *            from --certificates FILE (both public: no token); an answer other
 *            than a proof or VALID is an error
 *   proof    GetInclusionProof only (the --scale runs)
 *   idle     opens every connection, proves it with one GET /healthz, holds
 *            them all idle for --duration, then proves each again with one more
 *            GET /healthz; --server-pid's RSS is sampled while they are held
 *
 * Errors are counted over the whole run (warm-up and drain included, so a
 * target of "zero errors" means zero): non-2xx answers (Connect errors), 2xx
 * answers with the wrong body, connections that failed or were closed under a
 * request, and requests without an answer after --timeout seconds.
 * Throughput and latencies cover only the requests completed in the measured
 * window.
 *
 * Single-threaded on purpose: on the 2-core target one core is the load
 * generator's at most, and one event loop drives thousands of connections.
 * HTTP parsing is only what vledgerd sends: a status line, headers and a
 * Content-Length body (vledgerd never sends chunked bodies; one is an error).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX (64 * 1024)
#define BODY_MAX (16 * 1024 * 1024)
#define TICK_MS 50
#define DRAIN_SECONDS 15.0
#define IDLE_CONNECT_SECONDS 60.0
#define RECONNECT_DELAY_MS 20
#define SHIFT_SECONDS 600
#define SHIFT_STEP_SECONDS 660

enum workload { WL_HEALTHZ, WL_APPEND, WL_VERIFY, WL_PROOF, WL_IDLE };
static const char *const workload_names[] = {"healthz", "append", "verify", "proof", "idle"};

/* What a request was, to check its answer. */
enum req_kind { REQ_HEALTHZ, REQ_APPEND, REQ_PROOF, REQ_CERT };

enum phase {
	PH_WARMUP,  /* load, nothing recorded but errors */
	PH_MEASURE, /* load, every completion recorded */
	PH_DRAIN,   /* no new requests; wait for those in flight */
	PH_IDLE_CONNECT, /* idle: opening and proving connections */
	PH_IDLE_HOLD,    /* idle: every connection open and silent */
	PH_IDLE_RECHECK, /* idle: one more request on each connection */
	PH_DONE
};

struct volunteer {
	char *id;           /* owned; freed by free_lines() */
	int64_t next_start; /* Unix seconds of this volunteer's next shift */
};

struct bench;

struct conn {
	struct bench *b;
	int index;
	struct bufferevent *bev; /* NULL while disconnected */
	bool connected;
	bool busy;               /* a request is in flight */
	enum req_kind kind;
	int64_t sent_ns;
	/* the response being read */
	bool have_head;
	int status;
	size_t body_len;
	bool close_after;
	/* append: the volunteers this connection owns (indexes into b->vols) */
	size_t *own;
	size_t nown;
	size_t next_own;
	uint64_t seq;
	/* idle: answered in the current idle phase */
	bool proven;
	struct event *retry; /* reconnect timer */
};

struct bench {
	/* configuration */
	enum workload wl;
	char host[256];
	char port[16];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int nconns;
	double duration;
	double warmup;
	double timeout;
	char *token;        /* owned */
	char *org;          /* owned (strdup of the argument) */
	struct volunteer *vols;
	size_t nvols;
	char **certs;       /* owned lines */
	size_t ncerts;
	uint64_t tree_size;
	int64_t shift_base;
	int64_t shift_limit; /* no shift may end after this (Unix seconds) */
	long server_pid;
	char run_id[40];

	struct event_base *base;
	struct event *tick;
	struct conn *conns;
	enum phase phase;
	int64_t t0_ns, t_measure_ns, t_end_ns, t_deadline_ns;
	int64_t measured_ns;
	uint64_t rng;

	/* results */
	uint32_t *lat; /* microseconds, one per request completed in the window */
	size_t nlat, caplat;
	uint64_t completed_all;
	uint64_t http_errors, body_errors, conn_errors, timeouts;
	char first_error[256];
	long rss_max_kb;
	int established;  /* idle: connections proven before the hold */
	int survived;     /* idle: connections proven again after the hold */
};

static void conn_open(struct conn *c);
static void conn_send(struct conn *c);

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("vledger-loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* The first error of each run is kept verbatim: it usually says why. */
static void
note_error(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(b->first_error, sizeof b->first_error, fmt, ap);
	va_end(ap);
}

/* xorshift64*: cheap, seeded per run; the leaves need not be secret. */
static uint64_t
rng_next(struct bench *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545F4914F6CDD1DULL;
}

/* Reads a file's non-empty lines, trimmed. Returns a malloc'd array of
 * malloc'd strings, *n of them; the caller frees them with free_lines(). */
static char **
read_lines(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, **out = NULL;
	size_t cap = 0, len = 0, lcap = 0;
	ssize_t got;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while ((got = getline(&line, &lcap, f)) >= 0) {
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r' || line[got - 1] == ' '))
			line[--got] = '\0';
		if (got == 0)
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			out = realloc(out, cap * sizeof *out);
			if (out == NULL)
				die("out of memory");
		}
		out[len] = strdup(line);
		if (out[len] == NULL)
			die("out of memory");
		len++;
	}
	free(line);
	fclose(f);
	*n = len;
	return out;
}

static void
free_lines(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* VmRSS of the server in kB, or -1 when it cannot be read. */
static long
read_rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static void
sample_rss(struct bench *b)
{
	long kb;

	if (b->server_pid <= 0)
		return;
	kb = read_rss_kb(b->server_pid);
	if (kb > b->rss_max_kb)
		b->rss_max_kb = kb;
}

static void
record_latency(struct bench *b, int64_t ns)
{
	int64_t us = ns / 1000;

	if (b->nlat == b->caplat) {
		b->caplat = b->caplat ? b->caplat * 2 : 65536;
		b->lat = realloc(b->lat, b->caplat * sizeof *b->lat);
		if (b->lat == NULL)
			die("out of memory");
	}
	b->lat[b->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void
format_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Writes the next request of connection c's workload into its output. */
static void
build_request(struct conn *c)
{
	struct bench *b = c->b;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char body[1024];
	const char *path;
	int len;

	switch (b->wl) {
	case WL_HEALTHZ:
	case WL_IDLE:
		c->kind = REQ_HEALTHZ;
		evbuffer_add_printf(out, "GET /healthz HTTP/1.1\r\nHost: %s:%s\r\n\r\n", b->host, b->port);
		return;
	case WL_APPEND: {
		struct volunteer *v = &b->vols[c->own[c->next_own]];
		char start[32], end[32];
		c->next_own = (c->next_own + 1) % c->nown;
		/* Past the limit a shift would overlap the next run's (or end in
		 * the future, which the server refuses): a harness error (too few
		 * volunteers for the run), not the server's. */
		if (v->next_start + SHIFT_SECONDS > b->shift_limit)
			die("volunteer %s has no time left before --shift-limit: give --volunteers more ids", v->id);
		format_time(v->next_start, start, sizeof start);
		format_time(v->next_start + SHIFT_SECONDS, end, sizeof end);
		v->next_start += SHIFT_STEP_SECONDS;
		len = snprintf(body, sizeof body,
		    "{\"volunteerId\":\"%s\",\"organizationId\":\"%s\",\"category\":\"SHIFT_CATEGORY_ELDERLY_CARE\","
		    "\"startTime\":\"%s\",\"endTime\":\"%s\",\"activity\":\"bench visit\",\"place\":\"bench station\","
		    "\"idempotencyKey\":\"bench-%s-%d-%" PRIu64 "\"}",
		    v->id, b->org, start, end, b->run_id, c->index, c->seq++);
		c->kind = REQ_APPEND;
		path = "/vledger.v1.RecordsService/RecordShift";
		break;
	}
	case WL_VERIFY:
	case WL_PROOF:
		if (b->wl == WL_PROOF || c->seq % 2 == 0) {
			len = snprintf(body, sizeof body, "{\"leafIndex\":\"%" PRIu64 "\"}", rng_next(b) % b->tree_size);
			c->kind = REQ_PROOF;
			path = "/vledger.v1.LogService/GetInclusionProof";
		} else {
			len = snprintf(body, sizeof body, "{\"number\":\"%s\"}", b->certs[rng_next(b) % b->ncerts]);
			c->kind = REQ_CERT;
			path = "/vledger.v1.CertificateService/VerifyCertificate";
		}
		c->seq++;
		break;
	default:
		die("unreachable workload");
	}
	if (len < 0 || (size_t)len >= sizeof body)
		die("request body too long");
	evbuffer_add_printf(out, "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
	    path, b->host, b->port, len);
	if (c->kind == REQ_APPEND)
		evbuffer_add_printf(out, "Authorization: Bearer %s\r\n", b->token);
	evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, body, (size_t)len);
}

static bool
load_phase(const struct bench *b)
{
	return b->phase == PH_WARMUP || b->phase == PH_MEASURE;
}

static bool
all_quiet(const struct bench *b)
{
	for (int i = 0; i < b->nconns; i++)
		if (b->conns[i].busy)
			return false;
	return true;
}

/* idle: every connection has been proven, or is lost (and counted). A
 * connection still connecting is neither: the hold waits for it. */
static bool
all_settled(const struct bench *b)
{
	for (int i = 0; i < b->nconns; i++)
		if (b->conns[i].bev != NULL && !b->conns[i].proven)
			return false;
	return true;
}

static void
conn_close(struct conn *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->connected = false;
	c->busy = false;
	c->have_head = false;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (load_phase(c->b))
		conn_open(c);
}

/* A connection failed or was closed: count it if a request was lost or the
 * connection was needed, and open a new one while there is load to give. */
static void
conn_lost(struct conn *c, const char *why)
{
	struct bench *b = c->b;
	bool counts = c->busy || b->phase == PH_IDLE_HOLD || b->phase == PH_IDLE_CONNECT ||
	    (load_phase(b) && !c->connected);

	if (counts) {
		b->conn_errors++;
		note_error(b, "connection %d: %s", c->index, why);
	}
	conn_close(c);
	if (load_phase(b)) {
		struct timeval tv = {0, RECONNECT_DELAY_MS * 1000};
		evtimer_add(c->retry, &tv);
	}
}

/* Checks a complete answer and records it. The caller drains the body and
 * then decides what the connection does next (next_request()). */
static void
check_answer(struct conn *c, const char *body, size_t len)
{
	struct bench *b = c->b;
	int64_t now = now_ns();
	bool ok = true;

	c->busy = false;
	b->completed_all++;
	if (c->status < 200 || c->status > 299) {
		b->http_errors++;
		note_error(b, "HTTP %d: %.*s", c->status, (int)(len > 200 ? 200 : len), body);
		ok = false;
	} else {
		const char *want = NULL;

		switch (c->kind) {
		case REQ_HEALTHZ: break;
		case REQ_APPEND: want = "\"receipt\""; break;
		case REQ_PROOF: want = "\"treeSize\""; break;
		case REQ_CERT: want = "\"VERIFICATION_RESULT_VALID\""; break;
		}
		if (want != NULL && memmem(body, len, want, strlen(want)) == NULL) {
			b->body_errors++;
			note_error(b, "answer without %s: %.*s", want, (int)(len > 200 ? 200 : len), body);
			ok = false;
		}
	}
	/* Errors are counted always; latencies only inside the window (an
	 * error's latency too: a fast failure is still a request served). */
	if (b->phase == PH_MEASURE || b->phase == PH_IDLE_CONNECT || b->phase == PH_IDLE_RECHECK)
		record_latency(b, now - c->sent_ns);
	if (ok && (b->phase == PH_IDLE_CONNECT || b->phase == PH_IDLE_RECHECK) && !c->proven) {
		c->proven = true;
		if (b->phase == PH_IDLE_CONNECT)
			b->established++;
		else
			b->survived++;
	}
}

/* After an answer: the next request while there is load to give, a new
 * connection if the server asked to close, else silence (no timeouts: an
 * idle connection is not a late answer). */
static void
next_request(struct conn *c)
{
	struct bench *b = c->b;

	if (c->close_after) {
		conn_close(c);
		if (load_phase(b))
			conn_open(c);
		return;
	}
	if (load_phase(b))
		conn_send(c);
	else
		bufferevent_set_timeouts(c->bev, NULL, NULL);
}

/* Parses the status line and the headers vledgerd sends. Returns false on
 * an answer this client cannot read. */
static bool
parse_head(struct conn *c, char *head)
{
	char *line, *save = NULL;
	bool have_length = false;

	line = strtok_r(head, "\r\n", &save);
	if (line == NULL || strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12)
		return false;
	c->status = atoi(line + 9);
	c->body_len = 0;
	c->close_after = strncmp(line, "HTTP/1.0", 8) == 0;
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
		char *colon = strchr(line, ':'), *value;

		if (colon == NULL)
			return false;
		*colon = '\0';
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (strcasecmp(line, "Content-Length") == 0) {
			char *end;
			unsigned long long n = strtoull(value, &end, 10);

			if (end == value || n > BODY_MAX)
				return false;
			c->body_len = (size_t)n;
			have_length = true;
		} else if (strcasecmp(line, "Connection") == 0) {
			if (strcasestr(value, "close") != NULL)
				c->close_after = true;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			return false;
		}
	}
	return have_length;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (!c->busy) {
		/* Nothing was asked: vledgerd never speaks first. */
		conn_lost(c, "data without a request");
		return;
	}
	if (!c->have_head) {
		struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		char *head;

		if (p.pos < 0) {
			if (evbuffer_get_length(in) > HEAD_MAX)
				conn_lost(c, "response head too long");
			return;
		}
		head = malloc((size_t)p.pos + 1);
		if (head == NULL)
			die("out of memory");
		evbuffer_remove(in, head, (size_t)p.pos);
		head[p.pos] = '\0';
		evbuffer_drain(in, 4);
		if (!parse_head(c, head)) {
			free(head);
			conn_lost(c, "unreadable response head");
			return;
		}
		free(head);
		c->have_head = true;
	}
	if (evbuffer_get_length(in) < c->body_len)
		return;
	if (evbuffer_get_length(in) > c->body_len) {
		conn_lost(c, "more bytes than one response");
		return;
	}
	c->have_head = false;
	check_answer(c, c->body_len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)c->body_len) : "", c->body_len);
	evbuffer_drain(in, c->body_len);
	next_request(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct bench *b = c->b;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		c->connected = true;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (load_phase(b) || b->phase == PH_IDLE_CONNECT)
			conn_send(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (!c->busy) {
			conn_close(c);
			return;
		}
		b->timeouts++;
		note_error(b, "connection %d: no answer in %.0f s", c->index, b->timeout);
		c->busy = false; /* counted as a timeout, not again as lost */
		conn_lost(c, "timeout");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		conn_lost(c, "closed by the server");
		return;
	}
	conn_lost(c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
conn_send(struct conn *c)
{
	struct timeval tv;

	build_request(c);
	c->busy = true;
	c->have_head = false;
	c->sent_ns = now_ns();
	tv.tv_sec = (time_t)c->b->timeout;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

static void
conn_open(struct conn *c)
{
	struct bench *b = c->b;

	c->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		die("bufferevent_socket_new failed");
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&b->addr, (int)b->addrlen) != 0) {
		/* Immediate failure (out of descriptors, say): the event callback
		 * has not run, so count and retry here. */
		conn_lost(c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
}

/* idle: after a connection is proven it stays open with no timeouts. */
static void
quiet_all(struct bench *b)
{
	for (int i = 0; i < b->nconns; i++) {
		struct conn *c = &b->conns[i];

		if (c->bev != NULL)
			bufferevent_set_timeouts(c->bev, NULL, NULL);
		c->proven = false;
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	int64_t now = now_ns();

	sample_rss(b);
	switch (b->phase) {
	case PH_WARMUP:
		if (now >= b->t_measure_ns) {
			b->phase = PH_MEASURE;
			/* RSS is reported for the measured window. */
			b->rss_max_kb = -1;
			sample_rss(b);
		}
		break;
	case PH_MEASURE:
		if (now >= b->t_end_ns) {
			b->phase = PH_DRAIN;
			b->measured_ns = now - b->t_measure_ns;
			b->t_deadline_ns = now + (int64_t)(DRAIN_SECONDS * 1e9);
		}
		break;
	case PH_DRAIN:
		if (all_quiet(b) || now >= b->t_deadline_ns) {
			b->phase = PH_DONE;
			event_base_loopbreak(b->base);
		}
		break;
	case PH_IDLE_CONNECT:
		if (all_settled(b) || now >= b->t_deadline_ns) {
			quiet_all(b);
			b->phase = PH_IDLE_HOLD;
			b->t_measure_ns = now;
			b->t_end_ns = now + (int64_t)(b->duration * 1e9);
			b->rss_max_kb = -1;
			sample_rss(b);
		}
		break;
	case PH_IDLE_HOLD:
		if (now >= b->t_end_ns) {
			b->measured_ns = now - b->t_measure_ns;
			b->phase = PH_IDLE_RECHECK;
			b->t_deadline_ns = now + (int64_t)(b->timeout * 1e9);
			for (int i = 0; i < b->nconns; i++)
				if (b->conns[i].bev != NULL)
					conn_send(&b->conns[i]);
		}
		break;
	case PH_IDLE_RECHECK:
		if (all_quiet(b) || now >= b->t_deadline_ns) {
			b->phase = PH_DONE;
			event_base_loopbreak(b->base);
		}
		break;
	case PH_DONE:
		break;
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n): the smallest value with at
 * least p% of the values at or below it. */
static double
percentile_ms(const uint32_t *v, size_t n, unsigned p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (p * n + 99) / 100;
	if (rank < 1)
		rank = 1;
	return v[rank - 1] / 1000.0;
}

static void
print_results(struct bench *b)
{
	double secs = b->measured_ns / 1e9, sum = 0, cpu = 0, wall = (now_ns() - b->t0_ns) / 1e9;
	struct rusage ru;
	uint64_t errors = b->http_errors + b->body_errors + b->conn_errors + b->timeouts;

	/* The load generator's own share of a core: near 1.0 means it, not
	 * the server, may be what limits the rate. */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (b->nlat > 0) /* b->lat is NULL until the first latency */
		qsort(b->lat, b->nlat, sizeof *b->lat, cmp_u32);
	for (size_t i = 0; i < b->nlat; i++)
		sum += b->lat[i];
	printf("{\"workload\":\"%s\",\"connections\":%d,\"duration_s\":%.3f,\"requests\":%zu,"
	       "\"throughput_rps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,"
	       "\"errors\":%" PRIu64 ",\"http_errors\":%" PRIu64 ",\"body_errors\":%" PRIu64
	       ",\"conn_errors\":%" PRIu64 ",\"timeouts\":%" PRIu64 ",\"completed_all\":%" PRIu64
	       ",\"rss_max_kb\":%ld,\"loadgen_cpu\":%.2f",
	    workload_names[b->wl], b->nconns, secs, b->nlat,
	    b->wl == WL_IDLE || secs <= 0 ? 0.0 : (double)b->nlat / secs,
	    percentile_ms(b->lat, b->nlat, 50), percentile_ms(b->lat, b->nlat, 99),
	    b->nlat ? b->lat[b->nlat - 1] / 1000.0 : 0.0, b->nlat ? sum / (double)b->nlat / 1000.0 : 0.0,
	    errors, b->http_errors, b->body_errors, b->conn_errors, b->timeouts, b->completed_all, b->rss_max_kb,
	    wall > 0 ? cpu / wall : 0.0);
	if (b->wl == WL_IDLE)
		printf(",\"established\":%d,\"survived\":%d", b->established, b->survived);
	printf(",\"first_error\":\"");
	for (const char *p = b->first_error; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	printf("\"}\n");
	fflush(stdout);
}

static void
usage(FILE *f)
{
	fputs("usage: vledger-loadgen --url http://HOST:PORT --workload healthz|append|verify|proof|idle\n"
	      "         [--connections N] [--duration S] [--warmup S] [--timeout S] [--server-pid PID]\n"
	      "         append: --token-file F --org ORG_ID --volunteers F\n"
	      "                 [--shift-base UNIX_SECONDS] [--shift-limit UNIX_SECONDS]\n"
	      "         verify: --tree-size N --certificates F      proof: --tree-size N\n"
	      "Prints one JSON line of results (see the comment at the top of bench/loadgen.c).\n",
	    f);
}

static void
parse_url(struct bench *b, const char *url)
{
	struct addrinfo hints = {0}, *res = NULL;
	const char *hp, *colon, *slash;
	size_t hl;
	int rc;

	if (strncmp(url, "http://", 7) != 0)
		die("--url must be http://HOST:PORT (TLS is not benchmarked)");
	hp = url + 7;
	slash = strchr(hp, '/');
	colon = strrchr(hp, ':');
	if (colon == NULL || (slash != NULL && colon > slash))
		die("--url needs a port");
	hl = (size_t)(colon - hp);
	if (hl == 0 || hl >= sizeof b->host)
		die("--url: bad host");
	memcpy(b->host, hp, hl);
	b->host[hl] = '\0';
	snprintf(b->port, sizeof b->port, "%.*s", (int)(slash ? slash - colon - 1 : (long)strlen(colon + 1)), colon + 1);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(b->host, b->port, &hints, &res);
	if (rc != 0)
		die("%s: %s", url, gai_strerror(rc));
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
}

static double
parse_double(const char *flag, const char *v, double min)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end != '\0' || d < min)
		die("%s: bad value %s", flag, v);
	return d;
}

int
main(int argc, char **argv)
{
	struct bench b = {0};
	const char *url = NULL, *workload = NULL, *token_file = NULL, *vol_file = NULL, *cert_file = NULL;
	char **vol_lines = NULL;
	struct rlimit rl;
	int i;

	b.nconns = 64;
	b.duration = 10;
	b.warmup = 2;
	b.timeout = 30;
	b.shift_base = (int64_t)time(NULL) - 80 * 86400;
	b.shift_limit = (int64_t)time(NULL) - 120;
	b.rss_max_kb = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (v == NULL)
			die("%s needs a value (--help)", a);
		i++;
		if (strcmp(a, "--url") == 0) url = v;
		else if (strcmp(a, "--workload") == 0) workload = v;
		else if (strcmp(a, "--connections") == 0) b.nconns = (int)parse_double(a, v, 1);
		else if (strcmp(a, "--duration") == 0) b.duration = parse_double(a, v, 0.1);
		else if (strcmp(a, "--warmup") == 0) b.warmup = parse_double(a, v, 0);
		else if (strcmp(a, "--timeout") == 0) b.timeout = parse_double(a, v, 1);
		else if (strcmp(a, "--server-pid") == 0) b.server_pid = (long)parse_double(a, v, 1);
		else if (strcmp(a, "--token-file") == 0) token_file = v;
		else if (strcmp(a, "--org") == 0) b.org = strdup(v);
		else if (strcmp(a, "--volunteers") == 0) vol_file = v;
		else if (strcmp(a, "--certificates") == 0) cert_file = v;
		else if (strcmp(a, "--tree-size") == 0) b.tree_size = (uint64_t)parse_double(a, v, 1);
		else if (strcmp(a, "--shift-base") == 0) b.shift_base = (int64_t)parse_double(a, v, 0);
		else if (strcmp(a, "--shift-limit") == 0) b.shift_limit = (int64_t)parse_double(a, v, 0);
		else die("unknown option %s (--help)", a);
	}
	if (url == NULL || workload == NULL) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < (int)(sizeof workload_names / sizeof *workload_names); i++)
		if (strcmp(workload, workload_names[i]) == 0)
			break;
	if (i == (int)(sizeof workload_names / sizeof *workload_names))
		die("unknown workload %s", workload);
	b.wl = (enum workload)i;
	parse_url(&b, url);

	if (b.wl == WL_APPEND) {
		size_t n;
		char **t;

		if (token_file == NULL || vol_file == NULL || b.org == NULL)
			die("append needs --token-file, --org and --volunteers");
		t = read_lines(token_file, &n);
		if (n != 1)
			die("%s: want one line, the token", token_file);
		b.token = t[0];
		free(t);
		vol_lines = read_lines(vol_file, &b.nvols);
		if (b.nvols < (size_t)b.nconns)
			die("append: %zu volunteers for %d connections; every connection needs its own", b.nvols, b.nconns);
		b.vols = calloc(b.nvols, sizeof *b.vols);
		if (b.vols == NULL)
			die("out of memory");
		for (size_t j = 0; j < b.nvols; j++) {
			b.vols[j].id = vol_lines[j];
			b.vols[j].next_start = b.shift_base;
		}
	}
	if (b.wl == WL_VERIFY || b.wl == WL_PROOF) {
		if (b.tree_size == 0)
			die("%s needs --tree-size", workload);
		if (b.wl == WL_VERIFY) {
			if (cert_file == NULL)
				die("verify needs --certificates");
			b.certs = read_lines(cert_file, &b.ncerts);
			if (b.ncerts == 0)
				die("%s: no certificate numbers", cert_file);
		}
	}

	/* Each connection is a descriptor; 1,000 idle ones need more than the
	 * usual soft limit of 1024. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)b.nconns + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)b.nconns + 64 ? rl.rlim_max : (rlim_t)b.nconns + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		b.rng = ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40) ^ 1;
		/* Idempotency keys must never repeat across runs on one database. */
		snprintf(b.run_id, sizeof b.run_id, "%lx-%lx-%x", (unsigned long)ts.tv_sec, (unsigned long)ts.tv_nsec,
		    (unsigned)getpid());
	}

	b.base = event_base_new();
	if (b.base == NULL)
		die("event_base_new failed");
	b.conns = calloc((size_t)b.nconns, sizeof *b.conns);
	if (b.conns == NULL)
		die("out of memory");
	for (i = 0; i < b.nconns; i++) {
		struct conn *c = &b.conns[i];

		c->b = &b;
		c->index = i;
		c->retry = evtimer_new(b.base, retry_cb, c);
		if (b.wl == WL_APPEND) {
			for (size_t j = (size_t)i; j < b.nvols; j += (size_t)b.nconns)
				c->nown++;
			c->own = calloc(c->nown, sizeof *c->own);
			if (c->own == NULL)
				die("out of memory");
			for (size_t j = (size_t)i, k = 0; j < b.nvols; j += (size_t)b.nconns)
				c->own[k++] = j;
		}
	}

	b.t0_ns = now_ns();
	if (b.wl == WL_IDLE) {
		b.phase = PH_IDLE_CONNECT;
		b.t_deadline_ns = b.t0_ns + (int64_t)(IDLE_CONNECT_SECONDS * 1e9);
	} else {
		b.phase = b.warmup > 0 ? PH_WARMUP : PH_MEASURE;
		b.t_measure_ns = b.t0_ns + (int64_t)(b.warmup * 1e9);
		b.t_end_ns = b.t_measure_ns + (int64_t)(b.duration * 1e9);
	}
	for (i = 0; i < b.nconns; i++)
		conn_open(&b.conns[i]);
	{
		struct timeval tv = {0, TICK_MS * 1000};

		b.tick = event_new(b.base, -1, EV_PERSIST, tick_cb, &b);
		event_add(b.tick, &tv);
	}
	sample_rss(&b);
	event_base_dispatch(b.base);

	print_results(&b);

	for (i = 0; i < b.nconns; i++) {
		conn_close(&b.conns[i]);
		event_free(b.conns[i].retry);
		free(b.conns[i].own);
	}
	free(b.conns);
	event_free(b.tick);
	event_base_free(b.base);
	free(b.lat);
	free(b.token);
	free(b.org);
	free(b.vols);
	free_lines(vol_lines, b.nvols);
	free_lines(b.certs, b.ncerts);
	return 0;
}
