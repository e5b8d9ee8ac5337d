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
};

/* Runs on a worker thread. `conn` is connected (the pool reconnects a broken
 * connection before handing it out); if the job finds the connection broken
 * mid-way it reports VL_UNAVAILABLE through its own arg. */
typedef void (*store_job_fn)(PGconn *conn, void *arg);
/* Runs on the event loop thread after the job returned. */
typedef void (*store_done_cb)(void *arg);

/* Connects pool_size connections (fails if the first cannot connect) and
 * starts the workers. *out is freed with store_close(). */
VL_MUST_CHECK bool store_open(struct event_base *base, const struct store_config *config, struct store **out,
    struct vl_error *err);

/* Queues a job. Never blocks. `done` is always called exactly once, after the
 * job ran, unless the store is closed first (store_close waits for queued jobs). */
void store_submit(struct store *store, store_job_fn job, store_done_cb done, void *arg);

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

#endif
