/*
 * tlog.h - the transparent log in PostgreSQL: appending entries, signing
 * checkpoints, serving proofs and tiles, checking storage.
 *
 * Every function takes a connection that a store job owns, and blocks on
 * it: call them from store jobs (or at startup), never on the loop thread.
 * Appends happen inside the caller's transaction, so a write, its log entry,
 * the tree update and the new signed checkpoint commit together or not at
 * all. The log's head row (log_heads) is locked FOR UPDATE by the first
 * append of a transaction: one writer per log across all vledgerd processes
 * sharing the database; the lock is released at COMMIT/ROLLBACK. tlog.h's
 * exception: tlog_inclusion_proof_cached() reads memory only and may run on
 * the loop thread.
 *
 * The tables are described in sql/002_log.sql and sql/013_log_heads.sql;
 * the append path in services/log/tlog_append.c.
 */
#ifndef VLEDGER_TLOG_H
#define VLEDGER_TLOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "vledger/error.h"
#include "vledger/merkle.h"
#include "vledger/tile_path.h"

struct note_signer;
struct subtree_cache;

/* Entries are at most this long: tile bundles prefix each with a uint16. */
#define TLOG_ENTRY_MAX 65535

struct tlog {
	char *log_id;
	char *origin;
	struct note_signer *signer;  /* owned */
	/* Complete subtree hashes proofs have read (subtree_cache.h); owned;
	 * NULL: none. Set by tlog_cache_subtrees(). */
	struct subtree_cache *subtrees;
	/* Leaves known to be on disk (tlog_latest saw them flushed): only
	 * nodes among them enter `subtrees`. Atomic: read and raised by
	 * every worker. */
	_Atomic uint64_t durable_size;
	/* When durable_size was last known to be the latest checkpoint's size
	 * (CLOCK_MONOTONIC microseconds): read from the database, or appended
	 * and flushed by this process. tlog_inclusion_proof_cached() answers
	 * "the latest" from memory for a short while after. */
	_Atomic int64_t durable_confirmed_us;
	/* A proof has gone to the database to confirm it again
	 * (tlog_inclusion_proof_cached): the others keep answering from
	 * memory meanwhile, for up to another second. Cleared by confirming. */
	_Atomic bool latest_refreshing;
	/* The largest checkpoint size tlog_latest has read: what a proof
	 * against the latest checkpoint plans its node reads for. */
	_Atomic uint64_t seen_size;
};

/* Proof that an entry is in the log (all owned by the receipt). */
struct tlog_receipt {
	uint64_t leaf_index;
	uint64_t tree_size;
	uint8_t leaf_hash[MERKLE_HASH_LEN];
	char *checkpoint;                 /* signed note */
	uint8_t (*proof)[MERKLE_HASH_LEN];
	size_t proof_count;
	uint8_t *entry;
	size_t entry_len;
};

/* Registers the log (first start), publishes the signed checkpoint of the
 * empty tree if there is none, and checks that the latest checkpoint is
 * signed by `signer` and names `origin`: a different key or origin would
 * fork the log, so startup stops with VL_FAILED_PRECONDITION. Takes
 * ownership of `signer` (also on failure). *out is freed with tlog_free(). */
VL_MUST_CHECK bool tlog_open(PGconn *conn, const char *log_id, const char *origin, struct note_signer *signer,
    struct tlog **out, struct vl_error *err);
void tlog_free(struct tlog *log);

/* Gives the log a cache of complete subtree hashes of at most budget_bytes
 * (0: none), which inclusion and consistency proofs use and fill: a proof
 * whose nodes are all cached reads no node from the database. Call at
 * startup, before store jobs use the log; the log owns the cache. Proofs
 * add to it only what they read in a transaction that has written nothing,
 * so a node appended by a transaction that then rolls back never gets in. */
void tlog_cache_subtrees(struct tlog *log, size_t budget_bytes);

/* The verifier key ("<name>+<hex id>+<base64 key>"); owned by the log. */
const char *tlog_vkey(const struct tlog *log);

/* Appends the entry {"kind": kind, "time": now (RFC 3339 UTC), "actor":
 * actor, ...facts} as RFC 8785 canonical JSON. `facts` is a JSON object the
 * caller keeps; it must not contain kind/time/actor or floats. Fills
 * `receipt` (free with tlog_receipt_free). An entry over TLOG_ENTRY_MAX
 * bytes is VL_INVALID_ARGUMENT. Must run inside a transaction. */
VL_MUST_CHECK bool tlog_append(PGconn *conn, const struct tlog *log, const char *kind, const char *actor,
    const json_t *facts, struct tlog_receipt *receipt, struct vl_error *err);

/* One entry of a batch for tlog_append_many(); the strings and facts stay
 * the caller's. */
struct tlog_entry_in {
	const char *kind;    /* [a-z_]+ */
	const char *actor;
	const json_t *facts;
};

/* Appends `count` entries (count >= 1) in order, as one append: the
 * entries get consecutive leaf indexes, and ONE checkpoint is signed, for
 * the tree that ends with the last of them. receipts[i] gets entry i's
 * index, that checkpoint and its inclusion proof against it (free each
 * with tlog_receipt_free; on failure all are freed already). The cost in
 * the database is two statements whatever the count: this is how a batch
 * of writes shares one lock, one signature and one flush. tlog_append()
 * is tlog_append_many() of one entry. */
VL_MUST_CHECK bool tlog_append_many(PGconn *conn, const struct tlog *log, size_t count,
    const struct tlog_entry_in *in, struct tlog_receipt *receipts, struct vl_error *err);
void tlog_receipt_free(struct tlog_receipt *receipt);

/* True when this thread called tlog_append (successfully) since the last
 * call; clears the mark. The owner of a transaction asks before COMMIT:
 * a transaction that appended holds the log's lock, and rpc_job.c commits
 * it without waiting for the WAL flush so that the next writer can go on,
 * then waits for the flush before it answers (see rpc_job.c). */
bool tlog_take_appended(void);

/* After the COMMIT and flush of a transaction that appended on this thread
 * (rpc_txn_commit): its checkpoint is durable and, having been signed under
 * the log's lock, the latest - the log's durable_size says so at once, so
 * that a proof read through this process right after the answer finds it.
 * tlog_forget_appended() drops the mark instead (rollback, failed flush, a
 * new transaction). */
void tlog_appended_durable(void);
void tlog_forget_appended(void);

/* A receipt for the existing entry `index`, proven against the latest
 * checkpoint (for a read that shows an earlier write's proof).
 * VL_NOT_FOUND naming leafIndex when the checkpoint does not cover it. Free
 * with tlog_receipt_free(); on failure it is already freed. */
VL_MUST_CHECK bool tlog_receipt_for(PGconn *conn, const struct tlog *log, uint64_t index,
    struct tlog_receipt *receipt, struct vl_error *err);

/* The latest checkpoint. *note is malloc'd (caller frees); may be NULL. */
VL_MUST_CHECK bool tlog_latest(PGconn *conn, const struct tlog *log, uint64_t *size, uint8_t root[MERKLE_HASH_LEN],
    char **note, struct vl_error *err);

/* Proofs against the tree of `size` leaves, which must not exceed the latest
 * checkpoint (VL_OUT_OF_RANGE naming treeSize/toSize otherwise; index >=
 * size is VL_OUT_OF_RANGE naming leafIndex; from > to is VL_INVALID_ARGUMENT
 * naming fromSize). *proof is malloc'd; caller frees. */
VL_MUST_CHECK bool tlog_inclusion_proof(PGconn *conn, const struct tlog *log, uint64_t index, uint64_t size,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err);
VL_MUST_CHECK bool tlog_consistency_proof(PGconn *conn, const struct tlog *log, uint64_t from, uint64_t to,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err);

/* An inclusion proof answered from memory, on any thread, or false when it
 * cannot be (nothing is read from the database; the caller then runs
 * tlog_inclusion_proof / _latest in a store job, which also produces every
 * error). size 0 is the latest checkpoint: answered only within a second of
 * this process last confirming it (durable_confirmed_us), so that another
 * vledgerd's appends show within that second - past it, one call goes to the
 * database to confirm it while the others are answered from memory for up
 * to one more second (not every call at once); a given size only when it is
 * within the durable checkpoint. Every node must be in the subtree cache.
 * *size_out gets the tree size; *proof is malloc'd (caller frees). */
bool tlog_inclusion_proof_cached(const struct tlog *log, uint64_t index, uint64_t size, uint64_t *size_out,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count);

/* The same against the latest checkpoint, read once: *size (*to) gets its
 * tree size, also on failure once it was read. */
VL_MUST_CHECK bool tlog_inclusion_proof_latest(PGconn *conn, const struct tlog *log, uint64_t index, uint64_t *size,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err);
VL_MUST_CHECK bool tlog_consistency_proof_latest(PGconn *conn, const struct tlog *log, uint64_t from, uint64_t *to,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err);

/* A C2SP tile or entry bundle, as served. VL_NOT_FOUND when the latest
 * checkpoint does not cover it (yet). *data is malloc'd; caller frees. */
VL_MUST_CHECK bool tlog_tile(PGconn *conn, const struct tlog *log, const struct tile_ref *ref, uint8_t **data,
    size_t *len, struct vl_error *err);

/* Entries [start, end) with their leaf hashes, through `cb`. */
typedef void (*tlog_entry_cb)(void *arg, uint64_t index, const uint8_t *entry, size_t len,
    const uint8_t leaf_hash[MERKLE_HASH_LEN]);
VL_MUST_CHECK bool tlog_entries(PGconn *conn, const struct tlog *log, uint64_t start, uint64_t end,
    tlog_entry_cb cb, void *arg, struct vl_error *err);

/* Recomputes every leaf hash from the stored entries, every stored subtree
 * hash from the leaves, and the root, and checks the root against the
 * latest checkpoint and that checkpoint's signature. Detects rows changed by
 * someone who got past the triggers. Reports what differs in err. */
VL_MUST_CHECK bool tlog_verify_storage(PGconn *conn, const struct tlog *log, uint64_t *checked,
    struct vl_error *err);

#endif
