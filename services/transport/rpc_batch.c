/*
 * rpc_batch.c - the write sequencer: calls queued on the loop thread, run
 * in batches of one transaction each on store workers. See rpc_batch.h.
 */
#include "vledger/rpc_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/app.h"
#include "vledger/log.h"
#include "vledger/store.h"

#include "rpc_txn.h"

/* A call whose key another transaction claimed meanwhile runs again; past
 * this many runs it is refused instead (aborted: the client may retry). */
#define MAX_RUNS 4

struct batch_run {
	struct rpc_batcher *b;
	struct rpc_batch batch;
	bool failed;      /* the batch as a whole: err */
	bool committed;   /* ... after its COMMIT (flush not confirmed) */
	struct vl_error err;
	struct batch_run *next;
};

struct rpc_batcher {
	struct app *app;
	char *name;
	rpc_batch_fn fn;
	void *arg;
	size_t max_batch, max_running;
	struct rpc_batch_item *head, *tail;  /* waiting, oldest first */
	size_t queued;
	struct batch_run *running;
	size_t running_count, running_calls;
};

struct rpc_batcher *
rpc_batcher_new(struct app *app, const char *name, rpc_batch_fn fn, void *arg, size_t max_batch, size_t max_running)
{
	struct rpc_batcher *b = xcalloc(1, sizeof(*b));

	b->app = app;
	b->name = xstrdup(name);
	b->fn = fn;
	b->arg = arg;
	b->max_batch = max_batch > 0 ? max_batch : 1;
	b->max_running = max_running > 0 ? max_running : 1;
	return b;
}

static void
item_free(struct rpc_batch_item *it)
{
	free(it->response);
	free(it->ctx);
	free(it);
}

void
rpc_batcher_free(struct rpc_batcher *b)
{
	struct rpc_batch_item *it, *next;

	if (b == NULL)
		return;
	/* Only at exit: calls still queued are dropped with their memory. */
	for (it = b->head; it != NULL; it = next) {
		next = it->next;
		item_free(it);
	}
	free(b->name);
	free(b);
}

size_t
rpc_batcher_pending(const struct rpc_batcher *b)
{
	return b->queued + b->running_calls;
}

/* FNV-1a: keys are compared by hash; a collision only delays a call. */
static uint64_t
key_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool
items_clash(const struct rpc_batch_item *it, struct rpc_batch_item *const *items, size_t count)
{
	size_t i;
	unsigned a, k;

	for (i = 0; i < count; i++)
		for (a = 0; a < it->nkeys; a++)
			for (k = 0; k < items[i]->nkeys; k++)
				if (it->keys[a] == items[i]->keys[k])
					return true;
	return false;
}

static bool
clashes_running(const struct rpc_batcher *b, const struct rpc_batch_item *it)
{
	const struct batch_run *r;

	for (r = b->running; r != NULL; r = r->next)
		if (items_clash(it, r->batch.items, r->batch.count))
			return true;
	return false;
}

static void
queue_push(struct rpc_batcher *b, struct rpc_batch_item *it, bool front)
{
	if (front) {
		it->next = b->head;
		b->head = it;
		if (b->tail == NULL)
			b->tail = it;
	} else {
		it->next = NULL;
		if (b->tail != NULL)
			b->tail->next = it;
		else
			b->head = it;
		b->tail = it;
	}
	b->queued++;
}

static void dispatch(struct rpc_batcher *b);

/* Runs on a store worker: the batch's transaction, for the calls whose
 * deadline has not passed yet (the others are refused one by one). */
static void
batch_job(PGconn *conn, void *arg)
{
	struct batch_run *r = arg;
	struct rpc_batch *batch = &r->batch;
	struct rpc_batch live = *batch;
	int64_t timeout_ms = 0, ms, now = rpc_now_us(), first_deadline = 0;
	size_t i;

	live.items = xcalloc(batch->count, sizeof(*live.items));
	live.count = 0;
	for (i = 0; i < batch->count; i++) {
		struct rpc_batch_item *it = batch->items[i];

		it->ok = false;
		it->again = false;
		if (it->call->deadline_us != 0 && now >= it->call->deadline_us) {
			vl_error_set(&it->err, VL_DEADLINE_EXCEEDED, "deadline exceeded before the request ran");
			continue;
		}
		vl_error_set(&it->err, VL_INTERNAL, "not answered");
		live.items[live.count++] = it;
		if (it->call->deadline_us != 0) {
			ms = rpc_remaining_ms(it->call);
			if (timeout_ms == 0 || ms < timeout_ms)
				timeout_ms = ms;
			if (first_deadline == 0 || it->call->deadline_us < first_deadline)
				first_deadline = it->call->deadline_us;
		}
	}
	if (live.count == 0)
		goto out;
	if (!rpc_txn_begin(conn, timeout_ms, &r->err) || !r->b->fn(conn, &live, &r->err))
		goto rollback;
	if (!rpc_txn_commit(conn, live.flush, &r->committed, &r->err)) {
		r->failed = true;
		if (r->committed)
			goto out;
		goto rollback;
	}
	goto out;
rollback:
	rpc_txn_rollback(conn);
	r->failed = true;
	/* Whatever failed once a deadline had passed failed because of it. */
	if (r->err.code == VL_DEADLINE_EXCEEDED || (first_deadline != 0 && rpc_now_us() >= first_deadline))
		vl_error_set(&r->err, VL_DEADLINE_EXCEEDED, "deadline exceeded");
out:
	free(live.items);
}

/* Back on the loop thread: answers, or runs the calls again alone. */
static void
batch_done(void *arg)
{
	struct batch_run *r = arg, **pp;
	struct rpc_batcher *b = r->b;
	struct rpc_batch *batch = &r->batch;
	size_t i;

	for (pp = &b->running; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	b->running_count--;
	b->running_calls -= batch->count;

	if (r->failed && !r->committed && batch->count > 1 && r->err.code == VL_DEADLINE_EXCEEDED) {
		/* The batch ran with its shortest deadline and ran out of it:
		 * the calls past their deadline fail, the others wait for the
		 * next batch (not alone: one short deadline must not slow the
		 * rest down to one call per transaction). */
		for (i = batch->count; i-- > 0;) {
			struct rpc_batch_item *it = batch->items[i];

			free(it->response);
			it->response = NULL;
			if (it->call->deadline_us != 0 && rpc_now_us() >= it->call->deadline_us) {
				rpc_fail(it->call, &r->err);
				item_free(it);
			} else {
				queue_push(b, it, true);
			}
		}
	} else if (r->failed && !r->committed && batch->count > 1) {
		/* Rolled back as a whole: each call again on its own, so that
		 * whatever failed fails only the call that causes it. Back at
		 * the front, in their order. */
		log_info("%s: a batch of %zu calls failed (%s: %s); running them one by one", b->name, batch->count,
		    vl_code_name(r->err.code), r->err.message);
		for (i = batch->count; i-- > 0;) {
			struct rpc_batch_item *it = batch->items[i];

			free(it->response);
			it->response = NULL;
			it->alone = true;
			queue_push(b, it, true);
		}
	} else {
		for (i = 0; i < batch->count; i++) {
			struct rpc_batch_item *it = batch->items[i];

			if (it->err.code == VL_DEADLINE_EXCEEDED && !it->ok && !it->again) {
				/* Its deadline passed before the batch started. */
				rpc_fail(it->call, &it->err);
			} else if (r->failed && !r->committed && r->err.code == VL_ABORTED && it->runs + 1 < MAX_RUNS) {
				/* Alone, and aborted by a deadlock or a serialization
				 * failure (another process's transaction): again. */
				log_info("%s: a call was aborted (%s); running it again", b->name, r->err.message);
				it->runs++;
				it->alone = true;
				queue_push(b, it, false);
				continue;
			} else if (r->failed && (it->ok || !r->committed || batch->count == 1)) {
				/* The batch's failure is this call's: rolled back, or
				 * committed without a confirmed flush. */
				rpc_fail(it->call, &r->err);
			} else if (it->ok) {
				rpc_reply_packed(it->call, it->response, it->response_len);
			} else if (it->again && it->runs + 1 < MAX_RUNS) {
				/* Its key was claimed meanwhile: look again. */
				it->runs++;
				it->alone = true;
				queue_push(b, it, false);
				continue;
			} else if (it->again) {
				vl_error_set(&it->err, VL_ABORTED, "idempotencyKey: in use by concurrent requests; retry");
				rpc_fail(it->call, &it->err);
			} else {
				rpc_fail(it->call, &it->err);
			}
			item_free(it);
		}
	}
	free(batch->items);
	free(r);
	dispatch(b);
}

/* Starts batches while fewer than max_running run and calls wait that may
 * go: each takes, oldest first, every waiting call that shares no key with
 * one already taken or running, up to max_batch; a call that must run
 * alone goes only into an empty batch and closes it. */
static void
dispatch(struct rpc_batcher *b)
{
	while (b->running_count < b->max_running && b->head != NULL) {
		struct rpc_batch_item **items = xcalloc(b->max_batch, sizeof(*items)), *it, *prev = NULL, *next;
		struct batch_run *r;
		size_t n = 0;
		bool closed = false;

		for (it = b->head; it != NULL && n < b->max_batch && !closed; it = next) {
			bool take;

			next = it->next;
			if (it->alone)
				take = n == 0 && !clashes_running(b, it);
			else
				take = !items_clash(it, items, n) && !clashes_running(b, it);
			if (!take) {
				prev = it;
				continue;
			}
			/* Unlink it. */
			if (prev != NULL)
				prev->next = next;
			else
				b->head = next;
			if (b->tail == it)
				b->tail = prev;
			b->queued--;
			it->next = NULL;
			items[n++] = it;
			closed = it->alone;
		}
		if (n == 0) {
			free(items);
			return;  /* everything waiting clashes with a running batch */
		}
		r = xcalloc(1, sizeof(*r));
		r->b = b;
		r->batch.items = items;
		r->batch.count = n;
		r->batch.arg = b->arg;
		r->next = b->running;
		b->running = r;
		b->running_count++;
		b->running_calls += n;
		store_submit(b->app->store, batch_job, batch_done, r);
	}
}

void
rpc_batcher_submit(struct rpc_batcher *b, struct rpc_call *call, void *ctx, const char *const *keys, unsigned nkeys)
{
	struct rpc_batch_item *it = xcalloc(1, sizeof(*it));
	unsigned k;

	it->call = call;
	it->ctx = ctx;
	for (k = 0; k < nkeys && k < 2; k++)
		it->keys[it->nkeys++] = key_hash(keys[k]);
	queue_push(b, it, false);
	dispatch(b);
}
