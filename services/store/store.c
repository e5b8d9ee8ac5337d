/*
 * store.c - the PostgreSQL connection pool: worker threads that each own one
 * PGconn, a FIFO of jobs, and a hand-off of finished jobs back to the event
 * loop thread.
 *
 * Threading: the job queue, the completed queue and the counters are
 * protected by store->mu. Workers sleep on store->cv. A finished job is
 * pushed on the completed queue and the worker calls event_active() on
 * store->done_ev; its callback runs on the loop thread and calls each done().
 * event_active() from another thread is only safe, and only wakes a loop
 * blocked in epoll, when the event_base was created after
 * evthread_use_pthreads(): vledgerd calls it before event_base_new(), and
 * every program that uses the store must do the same.
 *
 * Ownership: the store owns its jobs (allocated in store_submit, freed after
 * done() ran or in store_close), the connections and the event. The `arg` of
 * a job belongs to the caller.
 */
#include "vledger/store.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vledger/log.h"

struct store_job {
	store_job_fn fn;
	store_done_cb done;
	void *arg;
	struct store_job *next;
};

struct store_queue {
	struct store_job *head;
	struct store_job *tail;
};

/* Pause between failed reconnects: doubles from the first to the last.
 * The cap bounds how long after the database returns a worker may still
 * be waiting to try again. */
#define RECONNECT_PAUSE_FIRST_MS 50
#define RECONNECT_PAUSE_MAX_MS 1000

struct store_worker {
	struct store *store;
	PGconn *conn;       /* owned; used only by this worker's thread after open */
	pthread_t thread;
	int index;
	bool started;
	/* Reconnect backoff, this worker's thread only. */
	int64_t retry_at_ms;  /* no reconnect attempt before this (monotonic) */
	int pause_ms;         /* 0 while the connection is good */
	int failures;         /* consecutive failed reconnects, for the log */
	/* Statements prepared on conn since it was (re)connected; this
	 * worker's thread only. Owned array of pointers to static statements. */
	const struct store_statement **prepared;
	size_t nprepared, prepared_cap;
};

/* The worker whose thread this is (NULL on other threads): how
 * store_exec_prepared() finds which statements a job's connection has
 * prepared without every job passing the worker along. */
static _Thread_local struct store_worker *current_worker;

struct store {
	struct event_base *base;
	struct event *done_ev;      /* owned; activated by workers */
	char *conninfo;             /* owned copy; never logged (may hold a password) */

	pthread_mutex_t mu;
	pthread_cond_t cv;          /* signalled when a job is queued or on close */
	struct store_queue queue;   /* jobs waiting for a worker */
	struct store_queue done;    /* jobs that ran and wait for the loop */
	bool closing;

	/* queued + running + ran-but-done()-not-yet-called. Atomic so that
	 * store_pending() can read it through a const pointer without the lock. */
	atomic_int pending;
	/* Jobs in `queue`; changed under mu, atomic for store_saturated(). */
	atomic_int queued;
	int max_queued;             /* 0: no limit */
	bool unprepared;            /* store_config.unprepared */

	struct store_worker *workers;  /* owned array of pool_size */
	int nworkers;
};

static void
queue_push(struct store_queue *q, struct store_job *job)
{
	job->next = NULL;
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
}

static struct store_job *
queue_pop(struct store_queue *q)
{
	struct store_job *job = q->head;

	if (job != NULL) {
		q->head = job->next;
		if (q->head == NULL)
			q->tail = NULL;
		job->next = NULL;
	}
	return job;
}

/* libpq messages end with a newline and may span lines; keep the first line
 * so that log lines and error messages stay one line. */
static void
first_line(char *dst, size_t len, const char *msg)
{
	size_t n;

	if (msg == NULL || *msg == '\0')
		msg = "(no message)";
	n = strcspn(msg, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(dst, msg, n);
	dst[n] = '\0';
}

/* Server notices and warnings go to our log instead of libpq's default,
 * a raw fprintf to stderr. Only the primary message: DETAIL may quote row
 * values. */
static void
store_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (msg == NULL)
		return;
	if (sev != NULL && strcmp(sev, "WARNING") == 0)
		log_warnx("store: server warning: %s", msg);
	else
		log_debug("store: server %s: %s", sev != NULL ? sev : "notice", msg);
}

/*
 * Connects with `fallback_application_name` so that pg_stat_activity shows
 * vledgerd unless the operator's conninfo names an application itself.
 * expand_dbname makes libpq parse the conninfo (key=value or URL) given as
 * the dbname.
 *
 * libpq's own defaults wait forever: no connect timeout, and a TCP
 * connection to a server that vanished (power loss, partition) is only
 * noticed when the kernel gives up, after many minutes. A worker stuck like
 * that stalls every job queued behind it. So, unless the conninfo sets them
 * (libpq keeps the last value of a repeated keyword, and these come before
 * the expanded dbname): connect within 5 s, probe an idle TCP connection
 * after 10 s and drop it after 3 unanswered probes 5 s apart, and fail a
 * send that stays unacknowledged for 30 s. Unix sockets ignore the TCP ones.
 */
static PGconn *
store_connect(const char *conninfo)
{
	const char *keys[] = { "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "tcp_user_timeout", "dbname", "fallback_application_name", NULL };
	const char *vals[] = { "5", "1", "10", "5", "3", "30000", conninfo, "vledgerd", NULL };
	PGconn *conn;

	conn = PQconnectdbParams(keys, vals, 1);
	/* Kept across PQreset. */
	PQsetNoticeReceiver(conn, store_notice, NULL);
	return conn;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is an idle connection still good? NULL if so, else why not. libpq only
 * learns that the server closed a connection (restart, failover,
 * pg_terminate_backend, idle timeout) when it next reads, so without this
 * the first job on each connection after a database restart would fail.
 * An idle connection has nothing to read: if its socket is readable, the
 * server has closed it or is closing it (a FATAL message, then EOF, which
 * may not have arrived yet) or, rarely, reported something unasked
 * (a parameter change): reconnecting is right, or harmless. One poll(),
 * no round trip, so it costs nothing on the normal path. A connection left
 * inside a transaction or in pipeline mode by a job is not reused either:
 * the next job's statements would run inside them. */
static const char *
conn_unusable(PGconn *conn)
{
	struct pollfd pfd;

	if (PQstatus(conn) != CONNECTION_OK)
		return "connection failed";
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return "left inside a transaction";
	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
		return "left in pipeline mode";  /* a tail that could not be finished (tail.c) */
	pfd.fd = PQsocket(conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0)
		return "no socket";
	if (poll(&pfd, 1, 0) != 0)
		return "the server closed it or spoke while it was idle";
	return NULL;
}

/* Makes sure the worker's connection is usable before a job gets it,
 * reconnecting a broken one. While the database is down, a reconnect is
 * tried at most once per pause (50 ms doubling to 1 s); jobs in between get
 * the broken connection and fail at once with VL_UNAVAILABLE, which beats
 * stalling the queue, and the server is not hammered. Only the first
 * failure and every 20th after are logged. */
static void
worker_check_conn(struct store_worker *w)
{
	char msg[200];
	const char *why;
	int64_t now;

	if (w->conn == NULL) {
		w->conn = store_connect(w->store->conninfo);
		w->nprepared = 0;
	}
	why = conn_unusable(w->conn);
	if (why == NULL)
		return;
	now = now_ms();
	if (w->pause_ms > 0 && now < w->retry_at_ms)
		return;
	if (w->failures == 0) {
		first_line(msg, sizeof(msg), PQerrorMessage(w->conn));
		log_warnx("store: connection %d: %s (%s); reconnecting", w->index, why, msg);
	}
	PQreset(w->conn);
	/* A new server session: nothing is prepared on it. */
	w->nprepared = 0;
	if (PQstatus(w->conn) == CONNECTION_OK) {
		log_info("store: connection %d reconnected%s", w->index, w->failures > 0 ? " after an outage" : "");
		w->pause_ms = 0;
		w->failures = 0;
		return;
	}
	w->failures++;
	w->pause_ms = w->pause_ms == 0 ? RECONNECT_PAUSE_FIRST_MS : w->pause_ms * 2;
	if (w->pause_ms > RECONNECT_PAUSE_MAX_MS)
		w->pause_ms = RECONNECT_PAUSE_MAX_MS;
	w->retry_at_ms = now_ms() + w->pause_ms;
	if (w->failures % 20 == 1) {
		first_line(msg, sizeof(msg), PQerrorMessage(w->conn));
		log_warnx("store: connection %d: reconnect failed (%d so far; next in %d ms): %s", w->index,
		    w->failures, w->pause_ms, msg);
	}
}

static void *
worker_main(void *p)
{
	struct store_worker *w = p;
	struct store *store = w->store;
	struct store_job *job;

	current_worker = w;
	for (;;) {
		pthread_mutex_lock(&store->mu);
		while (store->queue.head == NULL && !store->closing)
			pthread_cond_wait(&store->cv, &store->mu);
		job = queue_pop(&store->queue);
		if (job != NULL)
			atomic_fetch_sub(&store->queued, 1);
		pthread_mutex_unlock(&store->mu);
		/* Closing and the queue is drained: store_close waits for queued
		 * jobs, so only an empty queue ends a worker. */
		if (job == NULL)
			break;

		worker_check_conn(w);
		job->fn(w->conn, job->arg);

		pthread_mutex_lock(&store->mu);
		queue_push(&store->done, job);
		pthread_mutex_unlock(&store->mu);
		event_active(store->done_ev, EV_READ, 0);
	}
	return NULL;
}

/* Loop thread: deliver every finished job. The list is detached under the
 * lock and walked without it, so done() may call store_submit(). */
static void
store_deliver(evutil_socket_t fd, short what, void *p)
{
	struct store *store = p;
	struct store_job *job, *next;

	pthread_mutex_lock(&store->mu);
	job = store->done.head;
	store->done.head = store->done.tail = NULL;
	pthread_mutex_unlock(&store->mu);

	for (; job != NULL; job = next) {
		next = job->next;
		if (job->done != NULL)
			job->done(job->arg);
		free(job);
		atomic_fetch_sub(&store->pending, 1);
	}
}

bool
store_open(struct event_base *base, const struct store_config *config, struct store **out,
    struct vl_error *err)
{
	struct store *store;
	char msg[200];
	int i, r;

	*out = NULL;
	if (config->conninfo == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "store: no database connection string");
	if (config->pool_size < 1 || config->pool_size > 1000)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "store: pool size %d is not in 1..1000",
		    config->pool_size);
	if (config->max_queued < 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "store: max_queued %d is negative", config->max_queued);

	store = xcalloc(1, sizeof(*store));
	store->base = base;
	store->conninfo = xstrdup(config->conninfo);
	pthread_mutex_init(&store->mu, NULL);
	pthread_cond_init(&store->cv, NULL);
	atomic_init(&store->pending, 0);
	atomic_init(&store->queued, 0);
	store->max_queued = config->max_queued;
	store->unprepared = config->unprepared;
	store->nworkers = config->pool_size;
	store->workers = xcalloc((size_t)store->nworkers, sizeof(*store->workers));
	store->done_ev = event_new(base, -1, 0, store_deliver, store);
	if (store->done_ev == NULL) {
		store_close(store);
		return vl_error_set(err, VL_INTERNAL, "store: event_new failed");
	}

	/* Startup only, so connecting synchronously is fine. Only the first
	 * connection must succeed: a later failure is likely a transient
	 * max_connections limit and the worker retries before its first job. */
	for (i = 0; i < store->nworkers; i++) {
		struct store_worker *w = &store->workers[i];

		w->store = store;
		w->index = i;
		w->conn = store_connect(store->conninfo);
		if (PQstatus(w->conn) == CONNECTION_OK)
			continue;
		first_line(msg, sizeof(msg), PQerrorMessage(w->conn));
		if (i == 0) {
			vl_error_set(err, VL_UNAVAILABLE, "cannot connect to PostgreSQL: %s", msg);
			store_close(store);
			return false;
		}
		log_warnx("store: connection %d of %d failed (will retry): %s", i + 1,
		    store->nworkers, msg);
	}

	for (i = 0; i < store->nworkers; i++) {
		struct store_worker *w = &store->workers[i];

		r = pthread_create(&w->thread, NULL, worker_main, w);
		if (r != 0) {
			vl_error_set(err, VL_INTERNAL, "store: pthread_create: %s", strerror(r));
			store_close(store);
			return false;
		}
		w->started = true;
	}
	log_info("store: %d connections open", store->nworkers);
	*out = store;
	return true;
}

static bool
submit(struct store *store, store_job_fn job, store_done_cb done, void *arg, bool bounded)
{
	struct store_job *j;

	pthread_mutex_lock(&store->mu);
	if (store->closing) {
		pthread_mutex_unlock(&store->mu);
		fatalx("store_submit called on a closing store");
	}
	if (bounded && store->max_queued > 0 && atomic_load(&store->queued) >= store->max_queued) {
		pthread_mutex_unlock(&store->mu);
		return false;
	}
	j = xmalloc(sizeof(*j));
	j->fn = job;
	j->done = done;
	j->arg = arg;
	queue_push(&store->queue, j);
	atomic_fetch_add(&store->queued, 1);
	atomic_fetch_add(&store->pending, 1);
	pthread_cond_signal(&store->cv);
	pthread_mutex_unlock(&store->mu);
	return true;
}

void
store_submit(struct store *store, store_job_fn job, store_done_cb done, void *arg)
{
	(void)submit(store, job, done, arg, false);
}

bool
store_try_submit(struct store *store, store_job_fn job, store_done_cb done, void *arg)
{
	return submit(store, job, done, arg, true);
}

bool
store_saturated(const struct store *store)
{
	return store->max_queued > 0 && atomic_load(&store->queued) >= store->max_queued;
}

int
store_queued(const struct store *store)
{
	return atomic_load(&store->queued);
}

int
store_pending(const struct store *store)
{
	return atomic_load(&store->pending);
}

void
store_close(struct store *store)
{
	struct store_job *job;
	int i;

	if (store == NULL)
		return;

	pthread_mutex_lock(&store->mu);
	store->closing = true;
	pthread_cond_broadcast(&store->cv);
	pthread_mutex_unlock(&store->mu);

	/* Workers exit once the queue is empty, so queued jobs still run. */
	for (i = 0; i < store->nworkers; i++)
		if (store->workers[i].started)
			pthread_join(store->workers[i].thread, NULL);

	/* Finished jobs whose done() never ran: the caller is shutting down and
	 * has given up on them (store.h); their args stay the caller's. */
	while ((job = queue_pop(&store->done)) != NULL)
		free(job);
	while ((job = queue_pop(&store->queue)) != NULL)
		free(job);

	for (i = 0; i < store->nworkers; i++) {
		if (store->workers[i].conn != NULL)
			PQfinish(store->workers[i].conn);
		free(store->workers[i].prepared);
	}
	if (store->done_ev != NULL)
		event_free(store->done_ev);
	pthread_cond_destroy(&store->cv);
	pthread_mutex_destroy(&store->mu);
	free(store->workers);
	free(store->conninfo);
	free(store);
}

/* SQLSTATE -> Connect code. Class 08 (connection exception) and 57P01..03
 * (the server is shutting down or starting up) mean "try again later". */
static enum vl_code
store_code_for_sqlstate(const char *state)
{
	if (state == NULL || strlen(state) != 5)
		return VL_INTERNAL;
	if (strcmp(state, "23505") == 0)
		return VL_ALREADY_EXISTS;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return VL_ABORTED;
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
		return VL_UNAVAILABLE;
	/* query_canceled by statement_timeout, lock_not_available by
	 * lock_timeout: vledgerd sets both only from a call's deadline. */
	if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
		return VL_DEADLINE_EXCEEDED;
	if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0 ||
	    strcmp(state, "23503") == 0 || strncmp(state, "22", 2) == 0)
		return VL_INVALID_ARGUMENT;
	return VL_INTERNAL;
}

bool
store_error_from_result(PGconn *conn, const PGresult *res, const char *what, struct vl_error *err)
{
	const char *state = NULL, *primary = NULL;
	enum vl_code code;
	char msg[200];

	if (what == NULL)
		what = "database";
	if (res != NULL) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (primary == NULL && *PQresultErrorMessage(res) != '\0')
			primary = PQresultErrorMessage(res);
	}
	if (primary == NULL && conn != NULL)
		primary = PQerrorMessage(conn);
	first_line(msg, sizeof(msg), primary);

	if (res == NULL || conn == NULL || PQstatus(conn) == CONNECTION_BAD) {
		/* No result (out of memory or lost connection) or the connection
		 * died with the statement: the database is unreachable. A real
		 * SQLSTATE still wins (57P01 also breaks the connection). */
		code = store_code_for_sqlstate(state);
		if (code == VL_INTERNAL) {
			code = VL_UNAVAILABLE;
			/* Say plainly what happened: libpq's own words ("no
			 * connection to the server", "server closed the
			 * connection unexpectedly") follow. */
			return vl_error_set(err, code, "%s: database unavailable: %s", what, msg);
		}
	} else if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK) {
		code = VL_INTERNAL;
		snprintf(msg, sizeof(msg), "unexpected result status %s",
		    PQresStatus(PQresultStatus(res)));
	} else
		code = store_code_for_sqlstate(state);

	if (code == VL_INTERNAL)
		log_warnx("store: %s: SQLSTATE %s: %s", what, state != NULL ? state : "none", msg);
	return vl_error_set(err, code, "%s: %s", what, msg);
}

bool
store_exec(PGconn *conn, const char *sql, struct vl_error *err)
{
	PGresult *res;
	char what[64];
	ExecStatusType st;
	bool ok;

	res = PQexec(conn, sql);
	st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	ok = res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
	if (!ok) {
		/* The statement's start names it well enough; store_exec is for
		 * fixed SQL, never for SQL that embeds user data. */
		first_line(what, sizeof(what), sql);
		if (strlen(sql) >= sizeof(what) - 1)
			memcpy(what + sizeof(what) - 4, "...", 4);
		store_error_from_result(conn, res, what, err);
	}
	PQclear(res);
	return ok;
}

bool
store_wal_barrier(PGconn *conn, struct vl_error *err)
{
	/* A transactional logical message: a WAL record that touches no table
	 * and needs no privilege, which makes the enclosing transaction one
	 * that waits for its WAL flush at COMMIT. */
	return store_exec(conn, "SELECT pg_logical_emit_message(true, 'vledger', 'flush')", err);
}

/* The worker that owns conn and prepares statements on it, or NULL. */
static struct store_worker *
preparing_worker(const PGconn *conn)
{
	struct store_worker *w = current_worker;

	return w == NULL || w->conn != conn || w->store->unprepared ? NULL : w;
}

bool
store_is_prepared(const PGconn *conn, const struct store_statement *stmt)
{
	struct store_worker *w = preparing_worker(conn);
	size_t i;

	for (i = 0; w != NULL && i < w->nprepared; i++)
		if (w->prepared[i] == stmt)
			return true;
	return false;
}

/* Prepares stmt on w's connection; NULL on success, else the failed
 * result (caller clears). */
static PGresult *
prepare(struct store_worker *w, const struct store_statement *stmt)
{
	PGresult *res = PQprepare(w->conn, stmt->name, stmt->sql, stmt->nparams, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return res;
	PQclear(res);
	if (w->nprepared == w->prepared_cap) {
		w->prepared_cap = w->prepared_cap == 0 ? 16 : 2 * w->prepared_cap;
		w->prepared = xrealloc(w->prepared, w->prepared_cap * sizeof(*w->prepared));
	}
	w->prepared[w->nprepared++] = stmt;
	return NULL;
}

bool
store_prepare(PGconn *conn, const struct store_statement *stmt, struct vl_error *err)
{
	struct store_worker *w = preparing_worker(conn);
	PGresult *res;

	if (w == NULL || store_is_prepared(conn, stmt))
		return true;
	if (store_tail_active(conn))
		return vl_error_set(err, VL_INTERNAL, "store_prepare(%s) inside a pipelined tail", stmt->name);
	if ((res = prepare(w, stmt)) == NULL)
		return true;
	store_error_from_result(conn, res, stmt->name, err);
	PQclear(res);
	return false;
}

PGresult *
store_exec_prepared(PGconn *conn, const struct store_statement *stmt, const char *const *values, const int *lengths,
    const int *formats, int result_format)
{
	struct store_worker *w = preparing_worker(conn);
	PGresult *res;

	if (w == NULL)
		return PQexecParams(conn, stmt->sql, stmt->nparams, NULL, values, lengths, formats, result_format);
	if (!store_is_prepared(conn, stmt) && (res = prepare(w, stmt)) != NULL)
		return res;
	return PQexecPrepared(conn, stmt->name, stmt->nparams, values, lengths, formats, result_format);
}
