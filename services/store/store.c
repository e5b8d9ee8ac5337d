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

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

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

struct store_worker {
	struct store *store;
	PGconn *conn;       /* owned; used only by this worker's thread after open */
	pthread_t thread;
	int index;
	bool started;
};

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
 */
static PGconn *
store_connect(const char *conninfo)
{
	const char *keys[] = { "dbname", "fallback_application_name", NULL };
	const char *vals[] = { conninfo, "vledgerd", NULL };
	PGconn *conn;

	conn = PQconnectdbParams(keys, vals, 1);
	/* Kept across PQreset. */
	PQsetNoticeReceiver(conn, store_notice, NULL);
	return conn;
}

/* Makes sure the worker's connection is usable before a job gets it. One
 * PQreset per job: if the server is down the job itself will fail and report
 * VL_UNAVAILABLE, which is better than stalling the queue. */
static void
worker_check_conn(struct store_worker *w)
{
	char msg[200];

	if (w->conn == NULL)
		w->conn = store_connect(w->store->conninfo);
	if (PQstatus(w->conn) == CONNECTION_OK)
		return;
	first_line(msg, sizeof(msg), PQerrorMessage(w->conn));
	log_warnx("store: connection %d is broken (%s); reconnecting", w->index, msg);
	PQreset(w->conn);
	if (PQstatus(w->conn) != CONNECTION_OK) {
		first_line(msg, sizeof(msg), PQerrorMessage(w->conn));
		log_warnx("store: connection %d: reconnect failed: %s", w->index, msg);
	} else
		log_info("store: connection %d reconnected", w->index);
}

static void *
worker_main(void *p)
{
	struct store_worker *w = p;
	struct store *store = w->store;
	struct store_job *job;

	for (;;) {
		pthread_mutex_lock(&store->mu);
		while (store->queue.head == NULL && !store->closing)
			pthread_cond_wait(&store->cv, &store->mu);
		job = queue_pop(&store->queue);
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

	store = xcalloc(1, sizeof(*store));
	store->base = base;
	store->conninfo = xstrdup(config->conninfo);
	pthread_mutex_init(&store->mu, NULL);
	pthread_cond_init(&store->cv, NULL);
	atomic_init(&store->pending, 0);
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

void
store_submit(struct store *store, store_job_fn job, store_done_cb done, void *arg)
{
	struct store_job *j;

	j = xmalloc(sizeof(*j));
	j->fn = job;
	j->done = done;
	j->arg = arg;

	pthread_mutex_lock(&store->mu);
	if (store->closing) {
		pthread_mutex_unlock(&store->mu);
		fatalx("store_submit called on a closing store");
	}
	queue_push(&store->queue, j);
	atomic_fetch_add(&store->pending, 1);
	pthread_cond_signal(&store->cv);
	pthread_mutex_unlock(&store->mu);
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

	for (i = 0; i < store->nworkers; i++)
		if (store->workers[i].conn != NULL)
			PQfinish(store->workers[i].conn);
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
		if (code == VL_INTERNAL)
			code = VL_UNAVAILABLE;
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
