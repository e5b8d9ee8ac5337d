/*
 * store.h - the PostgreSQL connection pool. The event loop never waits on
 * the database.
 *
 * A job is a function that runs on one of the pool's worker threads with a
 * connection of its own, where it may block in libpq (a whole transaction,
 * several statements). When it returns, its `done` callback runs on the event
 * loop thread. Jobs must not touch libevent objects or request state other
 * than the `arg` they were given; `done` may.
 *
 *     handler (loop) --store_submit--> job (worker, blocking libpq)
 *                                       |
 *     done (loop)    <--event_active---+
 *
 * Errors from libpq map to Connect codes in one place, store_error_from_result().
 */
#ifndef VLEDGER_STORE_H
#define VLEDGER_STORE_H

#include <stdbool.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "vledger/error.h"

struct store;

struct store_config {
	const char *conninfo;  /* libpq connection string or URL */
	int pool_size;         /* worker threads, each with one connection */
	/* Jobs waiting for a worker beyond which store_try_submit() refuses
	 * and store_saturated() is true; 0: no limit. */
	int max_queued;
	/* true: store_exec_prepared() never prepares (each call parses and
	 * plans its SQL anew), for PgBouncer in transaction pooling mode before
	 * 1.21, where a statement prepared on one server connection is not
	 * there for the next transaction. */
	bool unprepared;
};

/*
 * Runs on a worker thread. `conn` is connected when the database is up: the
 * pool checks a connection before handing it out (an idle connection whose
 * server closed it is noticed without a round trip) and reconnects a broken
 * one, with a growing pause between failed attempts (up to 1 s) so that an
 * outage is not hammered. During that pause, or when reconnecting failed,
 * the job gets a broken connection: its first statement fails at once and
 * store_error_from_result() maps that to VL_UNAVAILABLE, which the job
 * reports through its own arg. Unless the conninfo says otherwise,
 * connecting gives up after 5 s and TCP connections use keepalives, so a
 * dead server or network fails jobs instead of hanging workers.
 */
typedef void (*store_job_fn)(PGconn *conn, void *arg);
/* Runs on the event loop thread after the job returned. */
typedef void (*store_done_cb)(void *arg);

/* Connects pool_size connections (fails if the first cannot connect) and
 * starts the workers. *out is freed with store_close(). */
VL_MUST_CHECK bool store_open(struct event_base *base, const struct store_config *config, struct store **out,
    struct vl_error *err);

/* Queues a job. Never blocks. `done` is always called exactly once, after the
 * job ran, unless the store is closed first (store_close waits for queued jobs).
 * Ignores max_queued: it is for work already admitted (the next step of a
 * call that store_try_submit() or a store_saturated() check let in), which
 * must not be dropped half-way. */
void store_submit(struct store *store, store_job_fn job, store_done_cb done, void *arg);

/* Like store_submit(), but when max_queued jobs are already waiting it
 * queues nothing, never calls `done`, and returns false: the caller refuses
 * the work (resource_exhausted) instead of letting the queue, and the memory
 * of the requests behind it, grow without bound. */
VL_MUST_CHECK bool store_try_submit(struct store *store, store_job_fn job, store_done_cb done, void *arg);

/* True when max_queued jobs are waiting: new work should be refused. */
bool store_saturated(const struct store *store);

/* Jobs waiting for a worker (not running); for messages and logs. */
int store_queued(const struct store *store);

/* Jobs queued or running; for graceful shutdown. */
int store_pending(const struct store *store);

/* Waits for queued jobs to finish (their done callbacks are not run), stops
 * the workers and closes every connection. */
void store_close(struct store *store);

/* Maps a failed PGresult (or a NULL result / broken connection) to a Connect
 * code: unique_violation -> already_exists, serialization_failure and
 * deadlock -> aborted, connection failures -> unavailable, query_canceled ->
 * deadline_exceeded, check/not-null/foreign-key violations -> invalid_argument,
 * anything else -> internal. The message is `what` plus the server's primary
 * message. Always returns false. */
bool store_error_from_result(PGconn *conn, const PGresult *res, const char *what, struct vl_error *err);

/* Runs a command that returns no rows; false (with err set) on failure. */
VL_MUST_CHECK bool store_exec(PGconn *conn, const char *sql, struct vl_error *err);

/*
 * Makes sure that what this connection has seen is on disk before it answers:
 * writes a WAL record in the current transaction (or, outside one, as a
 * transaction of its own). With synchronous_commit on, a transaction that
 * wrote WAL does not finish COMMIT until the WAL up to its commit record is
 * flushed - and the WAL is flushed in order, so every transaction that
 * committed before it, including those that committed with
 * synchronous_commit off, is durable by then. Concurrent barriers share
 * PostgreSQL's flushes (group commit).
 */
VL_MUST_CHECK bool store_wal_barrier(PGconn *conn, struct vl_error *err);

/*
 * The tail of a write, pipelined. A write that appended to the log holds
 * the log's lock until it commits, so every round trip between its append
 * and its COMMIT delays every other writer. The statements after an append
 * need no answer that the write still depends on (rows that name the new
 * leaf index, the stored response, the COMMIT): they are sent without
 * waiting, in libpq's pipeline mode, and their results are read in one go.
 *
 *   store_tail_allow(conn)    the job promises that after its append it
 *                             runs nothing on conn but store_tail_exec()
 *   tlog_append()             starts the tail if allowed and sends its own
 *                             last statement into it
 *   store_tail_exec()         queued while a tail runs, run at once otherwise
 *                             (so the helpers that use it work in any job)
 *   store_tail_finish()       (rpc_job.c, at COMMIT) sends the last
 *                             statement, syncs, reads every result
 *
 * Per thread (one connection per worker). A failed tail leaves the
 * transaction to be rolled back by the caller.
 */
void store_tail_allow(PGconn *conn);
/* Forgets store_tail_allow (at the start of every job). */
void store_tail_reset(void);
/* store_tail_allow(conn) was called and no tail runs yet. */
bool store_tail_allowed(const PGconn *conn);
/* A tail runs on conn: statements are queued, not run. */
bool store_tail_active(const PGconn *conn);
/* Enters pipeline mode on conn. */
VL_MUST_CHECK bool store_tail_start(PGconn *conn, struct vl_error *err);
/* A statement with no result rows the caller needs (text results). With a
 * tail running, queued: its error, if any, is reported by
 * store_tail_finish(), named by `what` (a static string). Otherwise run
 * now, as PQexecParams. */
VL_MUST_CHECK bool store_tail_exec(PGconn *conn, const char *sql, int n, const char *const *values, const int *lengths,
    const int *formats, const char *what, struct vl_error *err);
/* Queues `last_sql` (may be NULL), syncs, and reads every queued result;
 * false with the first statement's error that failed. Leaves pipeline mode
 * either way and forgets store_tail_allow. */
VL_MUST_CHECK bool store_tail_finish(PGconn *conn, const char *last_sql, struct vl_error *err);

/*
 * Prepared statements for the hot read queries: parsing and planning a
 * short query costs the server more than running it.
 *
 * A statement is a static constant that names its SQL. On a pool worker's
 * own connection, store_exec_prepared() prepares it (PQprepare) the first
 * time that connection runs it, then only executes it (PQexecPrepared).
 * The pool forgets what a connection prepared whenever it resets the
 * connection (the server forgets it too). On any other connection (startup,
 * command-line tools) or with store_config.unprepared, it runs the SQL with
 * PQexecParams: the answer is the same either way.
 *
 * Prepared statements are not transactional: one prepared inside a
 * transaction that rolls back stays prepared, so the bookkeeping holds.
 */
struct store_statement {
	const char *name;  /* unique among all statements: the server's name for it */
	const char *sql;
	int nparams;       /* $1..$nparams, types inferred by the server */
};

/* Like PQexecParams(conn, stmt->sql, stmt->nparams, NULL, values, lengths,
 * formats, result_format): returns the result, which the caller PQclear()s
 * (it may be NULL or a failed one: map it with store_error_from_result).
 * When preparing fails, that failed result is returned. */
PGresult *store_exec_prepared(PGconn *conn, const struct store_statement *stmt, const char *const *values,
    const int *lengths, const int *formats, int result_format);

/* Prepares stmt on conn now unless it is already (or conn does not prepare:
 * not a pool connection, or store_config.unprepared). For statements that
 * will run in a pipelined tail, where preparing is not possible: a job
 * prepares them before it takes the log's lock. */
VL_MUST_CHECK bool store_prepare(PGconn *conn, const struct store_statement *stmt, struct vl_error *err);
/* stmt is prepared on conn. */
bool store_is_prepared(const PGconn *conn, const struct store_statement *stmt);
/* store_tail_exec() of a statement: prepared when store_prepare() made it
 * so, as plain SQL otherwise. */
VL_MUST_CHECK bool store_tail_exec_prepared(PGconn *conn, const struct store_statement *stmt, const char *const *values,
    const int *lengths, const int *formats, const char *what, struct vl_error *err);

#endif
