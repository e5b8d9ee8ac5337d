/*
 * rpc_batch.h - group commit for a write RPC: a sequencer that runs the
 * calls waiting for it as one transaction.
 *
 * Run one by one, every write pays for its own transaction, its own turn
 * at the log's lock, its own checkpoint signature and its own flush. A
 * batcher instead queues the calls a handler has validated; whenever fewer
 * than `max_running` batches are running, it takes every waiting call (up
 * to `max_batch`) into the next batch, which runs on one store worker in
 * one transaction (BEGIN ... COMMIT, then the flush, rpc_job.c), through
 * the method's rpc_batch_fn. Under load, the calls that arrive while a
 * batch runs form the next one; alone, a call runs at once as a batch of
 * one.
 *
 *   handler (loop) -- rpc_batcher_submit --> queue
 *                                              | when a batch may start
 *   batch fn (worker): one transaction for every call in the batch
 *                                              |
 *   answers (loop) <---------------------------+
 *
 * Rules the batcher keeps:
 *   - Calls that share a key (the submitter names up to two, e.g. the
 *     volunteer and the idempotency key) are never in one batch, nor in two
 *     batches running at once: a later one waits for the next batch.
 *   - One call never sinks the others: the fn refuses a call by setting its
 *     item's error (and must then have written nothing for it). If the fn
 *     or the COMMIT fails for the batch as a whole, it rolls back and every
 *     call of it runs again alone, so the failure reaches only the call
 *     that causes it.
 *   - The transaction's statement and lock timeout is the shortest
 *     remaining deadline in the batch; calls whose deadline has passed
 *     before their batch starts fail with deadline_exceeded. A batch that
 *     runs out of that time fails the calls past their deadline; the
 *     others go into the next batch.
 *   - The queue is bounded by the transport's admission limit
 *     (--max-queued-jobs), like the store's.
 */
#ifndef VLEDGER_RPC_BATCH_H
#define VLEDGER_RPC_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vledger/error.h"
#include "vledger/rpc.h"

struct app;
struct rpc_batcher;

/* One call in a batch. The fn reads call and ctx and sets the outcome. */
struct rpc_batch_item {
	struct rpc_call *call;
	void *ctx;             /* the submitter's; freed with free() after the answer */
	/* Outcome, set by the fn for each item: */
	bool ok;               /* answer *response (malloc'd; the runner frees it) */
	uint8_t *response;
	size_t response_len;
	struct vl_error err;   /* !ok: the refusal (the fn wrote nothing for it) */
	bool again;            /* !ok: run it again, alone (err is ignored) */
	/* The batcher's: */
	uint64_t keys[2];
	unsigned nkeys;
	bool alone;
	unsigned runs;         /* earlier runs that asked for `again` */
	struct rpc_batch_item *next;
};

struct rpc_batch {
	struct rpc_batch_item **items;
	size_t count;
	void *arg;             /* rpc_batcher_new's */
	/* Set by the fn when an answer stored by an earlier transaction is
	 * sent again: it must be on disk first (store_wal_barrier). */
	bool flush;
};

/* Runs on a store worker inside the batch's transaction. Sets every item's
 * outcome and returns true, or returns false with err set when the batch
 * as a whole failed (everything is rolled back). Items start with ok false
 * and err code VL_INTERNAL "not answered". */
typedef bool (*rpc_batch_fn)(PGconn *conn, struct rpc_batch *batch, struct vl_error *err);

/* A batcher for one method. *out is freed with rpc_batcher_free() once no
 * batch runs (at shutdown, after the store is closed). */
struct rpc_batcher *rpc_batcher_new(struct app *app, const char *name, rpc_batch_fn fn, void *arg,
    size_t max_batch, size_t max_running);
void rpc_batcher_free(struct rpc_batcher *b);

/* Queues a validated call with its ctx (malloc'd or NULL; the batcher frees
 * it with free()) and the keys it must not share a batch with (nkeys <= 2,
 * NUL-terminated strings, copied). The call is answered later. */
void rpc_batcher_submit(struct rpc_batcher *b, struct rpc_call *call, void *ctx, const char *const *keys,
    unsigned nkeys);

/* Calls queued or in a running batch; for logs and shutdown. */
size_t rpc_batcher_pending(const struct rpc_batcher *b);

#endif
