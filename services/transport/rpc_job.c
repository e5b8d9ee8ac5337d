/*
 * rpc_job.c - runs a handler's database work in one transaction on a store
 * worker and answers the call on the loop thread. See rpc.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vledger/app.h"
#include "vledger/log.h"
#include "vledger/rpc.h"
#include "vledger/store.h"
#include "vledger/tlog.h"

#include "rpc_txn.h"

struct rpc_job {
	struct rpc_call *call;
	rpc_job_fn fn;
	void *ctx;
	bool ok;
	uint8_t *response;
	size_t response_len;
	struct vl_error err;
	bool read_only;  /* rpc_run_read_job */
};

/*
 * A write that appended to the log holds the log's lock until COMMIT
 * returns, and a synchronous COMMIT returns only after its WAL flush:
 * every append would wait for the one before it to reach the disk. So it
 * commits without waiting, which releases the lock at once, and then waits
 * for the flush with a barrier (store_wal_barrier) that shares
 * PostgreSQL's flushes with the other writers doing the same. The answer,
 * and with it the receipt, leaves only after the flush: nothing is
 * acknowledged that a crash could take back. Readers of checkpoints wait
 * the same way (tlog_latest).
 */
bool
rpc_txn_begin(PGconn *conn, int64_t timeout_ms, struct vl_error *err)
{
	char sql[160];

	tlog_forget_appended();  /* left over by work outside a call */
	store_tail_reset();
	/* The deadline bounds every statement and every lock wait, so a call
	 * that times out rolls back instead of committing after its caller
	 * has given up. 0 means no limit. One round trip for the three. */
	snprintf(sql, sizeof(sql), "BEGIN; SET LOCAL statement_timeout = %lld; SET LOCAL lock_timeout = %lld",
	    (long long)timeout_ms, (long long)timeout_ms);
	return store_exec(conn, sql, err);
}

bool
rpc_txn_commit(PGconn *conn, bool flush, bool *committed, struct vl_error *err)
{
	bool appended = tlog_take_appended();
	PGresult *res;

	*committed = false;
	if (store_tail_active(conn)) {
		/* The append's pipelined tail (store.h): the COMMIT joins it.
		 * A failure leaves the tail finished, or for rollback to finish. */
		if (!store_tail_exec(conn, "SET LOCAL synchronous_commit = off", 0, NULL, NULL, NULL, "commit", err) ||
		    !store_tail_finish(conn, "COMMIT", err))
			return false;
	} else {
		res = PQexec(conn, appended ? "SET LOCAL synchronous_commit = off; COMMIT" : "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			store_error_from_result(conn, res, "commit", err);
			PQclear(res);
			return false;
		}
		PQclear(res);
	}
	*committed = true;
	if ((appended || flush) && !store_wal_barrier(conn, err)) {
		/* Committed, but not known to be on disk: no receipt. A retry
		 * with the same idempotency key returns the stored answer. */
		char cause[sizeof(err->message)];

		snprintf(cause, sizeof(cause), "%s", err->message);
		tlog_forget_appended();
		return vl_error_set(err, VL_UNAVAILABLE, "the write was committed but its flush to disk was not confirmed"
		    " (%s); retry with the same idempotencyKey", cause);
	}
	if (appended)
		tlog_appended_durable();
	return true;
}

void
rpc_txn_rollback(PGconn *conn)
{
	PGresult *res;

	if (store_tail_active(conn)) {
		struct vl_error ignored;

		/* Read what the pipeline answered before rolling back; the
		 * error that brought us here is the one to report. */
		if (!store_tail_finish(conn, NULL, &ignored))
			log_debug("rollback after a pipelined tail: %s", ignored.message);
	}
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
	tlog_forget_appended();
}

static void
rpc_job_run(PGconn *conn, void *arg)
{
	struct rpc_job *job = arg;
	struct rpc_call *call = job->call;
	bool committed;

	if (call->deadline_us != 0 && rpc_now_us() >= call->deadline_us) {
		vl_error_set(&job->err, VL_DEADLINE_EXCEEDED, "deadline exceeded before the request ran");
		return;
	}
	/* Nothing to time out and nothing to roll back: no transaction. */
	if (job->read_only && call->deadline_us == 0) {
		tlog_forget_appended();
		store_tail_reset();
		job->ok = job->fn(conn, call, job->ctx, &job->response, &job->response_len, &job->err);
		if (!job->ok) {
			free(job->response);
			job->response = NULL;
		}
		return;
	}
	if (!rpc_txn_begin(conn, rpc_remaining_ms(call), &job->err))
		goto rollback;
	job->ok = job->fn(conn, call, job->ctx, &job->response, &job->response_len, &job->err);
	if (!job->ok)
		goto rollback;
	if (!rpc_txn_commit(conn, false, &committed, &job->err)) {
		job->ok = false;
		free(job->response);
		job->response = NULL;
		if (committed)
			return;
		goto rollback;
	}
	return;
rollback:
	rpc_txn_rollback(conn);
	job->ok = false;
	free(job->response);
	job->response = NULL;
	/* Whatever failed once the deadline had passed failed because of it. */
	if (job->err.code == VL_DEADLINE_EXCEEDED || (call->deadline_us != 0 && rpc_now_us() >= call->deadline_us))
		vl_error_set(&job->err, VL_DEADLINE_EXCEEDED, "deadline exceeded");
}

static void
rpc_job_done(void *arg)
{
	struct rpc_job *job = arg;

	if (job->ok)
		rpc_reply_packed(job->call, job->response, job->response_len);
	else
		rpc_fail(job->call, &job->err);
	free(job->response);
	free(job->ctx);
	free(job);
}

static void
submit(struct rpc_call *call, rpc_job_fn fn, void *ctx, bool read_only)
{
	struct rpc_job *job = xcalloc(1, sizeof(*job));

	job->call = call;
	job->fn = fn;
	job->ctx = ctx;
	job->read_only = read_only;
	store_submit(call->app->store, rpc_job_run, rpc_job_done, job);
}

void
rpc_run_job(struct rpc_call *call, rpc_job_fn fn, void *ctx)
{
	submit(call, fn, ctx, false);
}

void
rpc_run_read_job(struct rpc_call *call, rpc_job_fn fn, void *ctx)
{
	submit(call, fn, ctx, true);
}
