/*
 * tlog.c - the transparent log's storage: opening a log, checkpoints,
 * proofs, tiles and the storage check. The append path is tlog_append.c.
 * See tlog.h and sql/002_log.sql.
 */
#include "vledger/tlog.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vledger/codec.h"
#include "vledger/encoding.h"
#include "vledger/jcs.h"
#include "vledger/log.h"
#include "vledger/note.h"
#include "vledger/store.h"
#include "vledger/subtree_cache.h"

#include "tlog_internal.h"

bool
tlog_node_read(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	struct node_reader *r = ctx;
	char level_text[8], index_text[24];
	const char *params[3] = {r->log_id, level_text, index_text};
	PGresult *res;
	bool ok = false;

	snprintf(level_text, sizeof(level_text), "%u", level);
	snprintf(index_text, sizeof(index_text), "%" PRIu64, index);
	res = PQexecParams(r->conn, "SELECT hash FROM log_nodes WHERE log_id = $1 AND level = $2 AND node_index = $3",
	    3, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(r->conn, res, "log", err);
	} else if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != MERKLE_HASH_LEN) {
		vl_error_set(err, VL_DATA_LOSS, "log: the hash of subtree (level %u, index %" PRIu64 ") is missing",
		    level, index);
	} else {
		memcpy(out, PQgetvalue(res, 0, 0), MERKLE_HASH_LEN);
		ok = true;
	}
	PQclear(res);
	return ok;
}

void
right_edge_of(uint64_t size, struct right_edge *e)
{
	int k;

	e->count = 0;
	for (k = 63; k >= 0; k--)
		if (size >> k & 1) {
			e->levels[e->count] = (unsigned)k;
			e->indexes[e->count] = (size >> k) - 1;
			e->count++;
		}
}

/*
 * The nodes one proof walk uses, in memory: prefetched in one query (see
 * node_wanted below) or taken from the subtree cache, with the database as
 * the fallback for anything missing.
 */
struct node_cache {
	struct node_reader reader;  /* the fallback for anything not cached */
	struct merkle_node nodes[2 * MERKLE_MAX_LEVELS];
	unsigned count;
};

static void
node_cache_put(struct node_cache *c, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	if (c->count == sizeof(c->nodes) / sizeof(c->nodes[0]))
		return;
	c->nodes[c->count].level = level;
	c->nodes[c->count].index = index;
	memcpy(c->nodes[c->count].hash, hash, MERKLE_HASH_LEN);
	c->count++;
}

static bool
node_cache_has(const struct node_cache *c, unsigned level, uint64_t index)
{
	unsigned i;

	for (i = 0; i < c->count; i++)
		if (c->nodes[i].level == level && c->nodes[i].index == index)
			return true;
	return false;
}

static bool
node_cache_read(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	struct node_cache *c = ctx;
	unsigned i;

	for (i = 0; i < c->count; i++)
		if (c->nodes[i].level == level && c->nodes[i].index == index) {
			memcpy(out, c->nodes[i].hash, MERKLE_HASH_LEN);
			return true;
		}
	return tlog_node_read(&c->reader, level, index, out, err);
}

static bool exec_params(PGconn *conn, const char *sql, int n, const char *const *values, const int *lengths,
    const int *formats, ExecStatusType want, PGresult **out, const char *what, struct vl_error *err);

/*
 * Proofs for readers, prefetched: which nodes a Merkle walk asks for
 * depends only on the indexes, never on the hashes, so a first walk with a
 * reader that records the requests (and answers zeros) lists them, one
 * query fetches them all, and the real walk runs from the cache.
 */
struct node_wanted {
	unsigned count;
	bool overflow;
	unsigned levels[2 * MERKLE_MAX_LEVELS];
	uint64_t indexes[2 * MERKLE_MAX_LEVELS];
};

static bool
node_record(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	struct node_wanted *w = ctx;

	memset(out, 0, MERKLE_HASH_LEN);
	if (w->count == sizeof(w->levels) / sizeof(w->levels[0])) {
		w->overflow = true;
		return true;
	}
	w->levels[w->count] = level;
	w->indexes[w->count] = index;
	w->count++;
	return true;
}

/* The hot read queries, prepared once per pool connection (store.h). */
static const struct store_statement latest_statement = {
	"tlog_latest",
	"SELECT tree_size, root_hash, note, pg_current_wal_insert_lsn() <= pg_current_wal_flush_lsn()"
	" FROM log_checkpoints WHERE log_id = $1 ORDER BY tree_size DESC LIMIT 1", 1
};
/* The last column says whether this transaction has written nothing, so
 * that every row read is committed (see node_cache_load). */
static const struct store_statement nodes_statement = {
	"tlog_nodes",
	"SELECT level::text, node_index::text, hash, pg_current_xact_id_if_assigned() IS NULL FROM log_nodes"
	" WHERE log_id = $1 AND (level, node_index) IN (SELECT * FROM unnest($2::int[], $3::bigint[]))", 3
};
/* latest_statement and nodes_statement in one round trip: the checkpoint's
 * columns on every row (and one row with NULL nodes when none is found). */
static const struct store_statement latest_and_nodes_statement = {
	"tlog_latest_and_nodes",
	"SELECT c.tree_size, c.root_hash, c.note, c.flushed, n.level::text, n.node_index::text, n.hash,"
	" pg_current_xact_id_if_assigned() IS NULL"
	" FROM (SELECT tree_size, root_hash, note, pg_current_wal_insert_lsn() <= pg_current_wal_flush_lsn() AS flushed"
	"  FROM log_checkpoints WHERE log_id = $1 ORDER BY tree_size DESC LIMIT 1) c"
	" LEFT JOIN LATERAL (SELECT level, node_index, hash FROM log_nodes WHERE log_id = $1"
	"  AND (level, node_index) IN (SELECT * FROM unnest($2::int[], $3::bigint[]))) n ON true", 3
};
static const struct store_statement entries_statement = {
	"tlog_entries",
	"SELECT leaf_index::text, entry, leaf_hash FROM log_entries WHERE log_id = $1"
	" AND leaf_index >= $2 AND leaf_index < $3 ORDER BY log_entries.leaf_index", 3
};

/* The wanted nodes as the two array parameters of nodes_statement. */
struct wanted_literals {
	char levels[2 * MERKLE_MAX_LEVELS * 4 + 3];
	char indexes[2 * MERKLE_MAX_LEVELS * 21 + 3];
};

static void
wanted_literals(const struct node_wanted *w, struct wanted_literals *out)
{
	size_t lo = 0, io = 0;
	unsigned i;

	out->levels[lo++] = '{';
	out->indexes[io++] = '{';
	for (i = 0; i < w->count; i++) {
		lo += (size_t)snprintf(out->levels + lo, sizeof(out->levels) - lo, "%s%u", i > 0 ? "," : "", w->levels[i]);
		io += (size_t)snprintf(out->indexes + io, sizeof(out->indexes) - io, "%s%" PRIu64, i > 0 ? "," : "",
		    w->indexes[i]);
	}
	out->levels[lo++] = '}';
	out->levels[lo] = '\0';
	out->indexes[io++] = '}';
	out->indexes[io] = '\0';
}

/*
 * Puts the node rows of res (columns col..col+3: level, index, hash, "this
 * transaction has written nothing") into the cache. With `remember`, they
 * also go into that subtree cache, but only when this transaction has
 * written nothing (a row it wrote itself, an append earlier in the same
 * transaction, could still roll back, and another append would then store
 * a different hash at that place) and only nodes inside the first `durable`
 * leaves, which are known to be on disk: appends commit before their WAL
 * flush (rpc_job.c), and a node a PostgreSQL crash took back would be
 * replaced by another hash.
 */
static void
node_rows_put(struct node_cache *c, const PGresult *res, int col, struct subtree_cache *remember, uint64_t durable)
{
	int r;

	for (r = 0; r < PQntuples(res); r++)
		if (!PQgetisnull(res, r, col + 2) && PQgetlength(res, r, col + 2) == MERKLE_HASH_LEN) {
			unsigned level = (unsigned)atoi(PQgetvalue(res, r, col));
			uint64_t index = strtoull(PQgetvalue(res, r, col + 1), NULL, 10);
			const uint8_t *hash = (const uint8_t *)PQgetvalue(res, r, col + 2);

			node_cache_put(c, level, index, hash);
			/* binary bool: 1 when no write of this transaction can be among the rows */
			if (remember != NULL && PQgetlength(res, r, col + 3) == 1 && PQgetvalue(res, r, col + 3)[0] == 1 &&
			    level < 64 && index < durable >> level)
				subtree_cache_put(remember, level, index, hash);
		}
}

/* Fetches the wanted nodes into the cache in one query (and into
 * `remember` as node_rows_put says). */
static bool
node_cache_load(struct node_cache *c, const struct node_wanted *w, struct subtree_cache *remember, uint64_t durable,
    struct vl_error *err)
{
	struct wanted_literals lit;
	const char *params[3] = {c->reader.log_id, lit.levels, lit.indexes};
	PGresult *res;

	if (w->count == 0 || w->overflow)
		return true;  /* nothing to fetch, or too much: the walk reads as it goes */
	wanted_literals(w, &lit);
	res = store_exec_prepared(c->reader.conn, &nodes_statement, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(c->reader.conn, res, "log nodes", err);
		PQclear(res);
		return false;
	}
	node_rows_put(c, res, 0, remember, durable);
	PQclear(res);
	return true;
}

static bool
exec_params(PGconn *conn, const char *sql, int n, const char *const *values, const int *lengths, const int *formats,
    ExecStatusType want, PGresult **out, const char *what, struct vl_error *err)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, values, lengths, formats, 1);

	if (PQresultStatus(res) != want) {
		store_error_from_result(conn, res, what, err);
		PQclear(res);
		return false;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return true;
}

/* Signs and stores the checkpoint of the tree of `size` leaves. *note_out
 * (optional) gets the signed note, malloc'd. */
static bool
publish_checkpoint(PGconn *conn, const struct tlog *log, uint64_t size, const uint8_t root[MERKLE_HASH_LEN],
    char **note_out, struct vl_error *err)
{
	char size_text[24], *body, *note = NULL;
	const char *params[4];
	int lengths[4] = {0, 0, MERKLE_HASH_LEN, 0}, formats[4] = {0, 0, 1, 0};
	bool ok;

	body = checkpoint_body(log->origin, size, root);
	if (!note_sign(log->signer, body, strlen(body), &note, err)) {
		free(body);
		return false;
	}
	free(body);
	snprintf(size_text, sizeof(size_text), "%" PRIu64, size);
	params[0] = log->log_id;
	params[1] = size_text;
	params[2] = (const char *)root;
	params[3] = note;
	ok = exec_params(conn, "INSERT INTO log_checkpoints (log_id, tree_size, root_hash, note) VALUES ($1, $2, $3, $4)",
	    4, params, lengths, formats, PGRES_COMMAND_OK, NULL, "log checkpoint", err);
	if (ok && note_out != NULL)
		*note_out = note;
	else
		free(note);
	return ok;
}

/* The latest checkpoint from columns col.. of row 0 of res (tree_size,
 * root_hash, note, "WAL flushed up to what this statement saw"; binary), as
 * tlog_latest() returns it. */
static bool
latest_from_row(PGconn *conn, const struct tlog *log, const PGresult *res, int col, uint64_t *size,
    uint8_t root[MERKLE_HASH_LEN], char **note, struct vl_error *err)
{
	bool durable;

	if (PQntuples(res) < 1 || PQgetlength(res, 0, col) != 8 || PQgetlength(res, 0, col + 1) != MERKLE_HASH_LEN)
		return vl_error_set(err, VL_DATA_LOSS, "log %s has no checkpoint", log->log_id);
	*size = int8_value(res, 0, col);
	/* Not yet flushed: make this transaction wait for the flush when it
	 * commits (or now, outside a transaction), so that no checkpoint
	 * reaches a reader that a crash of PostgreSQL could still take back. */
	durable = PQgetvalue(res, 0, col + 3)[0] != 0;
	if (!durable) {
		durable = PQtransactionStatus(conn) == PQTRANS_IDLE;  /* the barrier commits at once */
		if (!store_wal_barrier(conn, err))
			return false;
	}
	if (durable) {
		size_raise(&log->durable_size, *size);
		/* Read now, so the latest now (if nothing larger was seen). */
		if (atomic_load(&log->durable_size) == *size)
			durable_confirm(log);
	}
	size_raise(&log->seen_size, *size);
	memcpy(root, PQgetvalue(res, 0, col + 1), MERKLE_HASH_LEN);
	if (note != NULL)
		*note = xstrndup(PQgetvalue(res, 0, col + 2), (size_t)PQgetlength(res, 0, col + 2));
	return true;
}

bool
tlog_latest(PGconn *conn, const struct tlog *log, uint64_t *size, uint8_t root[MERKLE_HASH_LEN], char **note,
    struct vl_error *err)
{
	const char *params[1] = {log->log_id};
	PGresult *res;
	bool ok;

	if (note != NULL)
		*note = NULL;
	res = store_exec_prepared(conn, &latest_statement, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "log checkpoint", err);
		PQclear(res);
		return false;
	}
	ok = latest_from_row(conn, log, res, 0, size, root, note, err);
	PQclear(res);
	return ok;
}

bool
tlog_open(PGconn *conn, const char *log_id, const char *origin, struct note_signer *signer, struct tlog **out,
    struct vl_error *err)
{
	struct tlog *log = xcalloc(1, sizeof(*log));
	const char *params[2] = {log_id, origin};
	PGresult *res = NULL;
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t size;
	char *note = NULL, *text = NULL;

	log->log_id = xstrdup(log_id);
	log->origin = xstrdup(origin);
	log->signer = signer;
	if (!store_exec(conn, "BEGIN", err))
		goto fail;
	if (!exec_params(conn, "INSERT INTO logs (log_id, origin) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, params,
	    NULL, NULL, PGRES_COMMAND_OK, NULL, "log", err))
		goto fail_rollback;
	/* The row lock orders two instances opening a new log together. */
	if (!exec_params(conn, "SELECT origin FROM logs WHERE log_id = $1 FOR UPDATE", 1, params, NULL, NULL,
	    PGRES_TUPLES_OK, &res, "log", err))
		goto fail_rollback;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), origin) != 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "--origin: log %s was created with origin \"%s\", not \"%s\"",
		    log_id, PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?", origin);
		goto fail_rollback;
	}
	PQclear(res);
	res = NULL;
	if (!exec_params(conn, "SELECT EXISTS (SELECT 1 FROM log_checkpoints WHERE log_id = $1)", 1, params, NULL,
	    NULL, PGRES_TUPLES_OK, &res, "log", err))
		goto fail_rollback;
	if (PQgetvalue(res, 0, 0)[0] == 0) {  /* binary bool: no checkpoint yet */
		merkle_empty_root(root);
		if (!publish_checkpoint(conn, log, 0, root, NULL, err))
			goto fail_rollback;
		log_info("log %s: created (origin %s); published the checkpoint of the empty tree", log_id, origin);
	}
	PQclear(res);
	res = NULL;
	/* A new log's head; an existing log got its head from 013_log_heads. */
	if (!exec_params(conn, "INSERT INTO log_heads (log_id, tree_size, right_edge) VALUES ($1, 0, ''::bytea)"
	    " ON CONFLICT DO NOTHING", 1, params, NULL, NULL, PGRES_COMMAND_OK, NULL, "log head", err))
		goto fail_rollback;
	if (!store_exec(conn, "COMMIT", err))
		goto fail;

	/* A checkpoint signed by another key means this instance would fork
	 * the log: refuse to start. */
	if (!tlog_latest(conn, log, &size, root, &note, err))
		goto fail;
	if (!note_verify(note_signer_vkey(signer), note, strlen(note), &text, err)) {
		vl_error_set(err, VL_FAILED_PRECONDITION,
		    "--log-key: the latest checkpoint of log %s (size %" PRIu64 ") is not signed by this key (%s);"
		    " start with the log's key", log_id, size, note_signer_vkey(signer));
		goto fail;
	}
	free(text);
	free(note);
	*out = log;
	return true;
fail_rollback:
	PQclear(res);
	res = NULL;
	PQclear(PQexec(conn, "ROLLBACK"));
fail:
	PQclear(res);
	free(note);
	tlog_free(log);
	return false;
}

void
tlog_free(struct tlog *log)
{
	if (log == NULL)
		return;
	note_signer_free(log->signer);
	subtree_cache_free(log->subtrees);
	free(log->log_id);
	free(log->origin);
	free(log);
}

void
tlog_cache_subtrees(struct tlog *log, size_t budget_bytes)
{
	subtree_cache_free(log->subtrees);
	log->subtrees = subtree_cache_new(budget_bytes);
}

const char *
tlog_vkey(const struct tlog *log)
{
	return note_signer_vkey(log->signer);
}

void
tlog_receipt_free(struct tlog_receipt *receipt)
{
	free(receipt->checkpoint);
	free(receipt->proof);
	free(receipt->entry);
	memset(receipt, 0, sizeof(*receipt));
}

static void
receipt_entry_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len, const uint8_t leaf_hash[MERKLE_HASH_LEN])
{
	struct tlog_receipt *receipt = arg;

	free(receipt->entry);
	receipt->entry = xmalloc(len > 0 ? len : 1);
	memcpy(receipt->entry, entry, len);
	receipt->entry_len = len;
	memcpy(receipt->leaf_hash, leaf_hash, MERKLE_HASH_LEN);
}

bool
tlog_receipt_for(PGconn *conn, const struct tlog *log, uint64_t index, struct tlog_receipt *receipt,
    struct vl_error *err)
{
	uint8_t root[MERKLE_HASH_LEN];

	memset(receipt, 0, sizeof(*receipt));
	receipt->leaf_index = index;
	if (!tlog_latest(conn, log, &receipt->tree_size, root, &receipt->checkpoint, err))
		goto fail;
	if (index >= receipt->tree_size) {
		vl_error_set(err, VL_NOT_FOUND, "leafIndex: entry %llu is not covered by the latest checkpoint",
		    (unsigned long long)index);
		goto fail;
	}
	if (!tlog_inclusion_proof(conn, log, index, receipt->tree_size, &receipt->proof, &receipt->proof_count, err) ||
	    !tlog_entries(conn, log, index, index + 1, receipt_entry_cb, receipt, err))
		goto fail;
	if (receipt->entry == NULL) {
		vl_error_set(err, VL_INTERNAL, "log: entry %llu is missing", (unsigned long long)index);
		goto fail;
	}
	return true;
fail:
	tlog_receipt_free(receipt);
	return false;
}

/* The nodes a proof walk wants, into `local`: from the log's subtree cache
 * when it has them, the others from log_nodes in one query (and then into
 * the subtree cache). A proof whose nodes are all cached reads none. */
static bool
proof_nodes_load(const struct tlog *log, struct node_cache *local, const struct node_wanted *w,
    struct vl_error *err)
{
	struct node_wanted missing;
	uint8_t hash[MERKLE_HASH_LEN];
	unsigned i;

	if (w->overflow)
		return true;  /* cannot happen for proofs; the walk would read as it goes */
	memset(&missing, 0, sizeof(missing));
	for (i = 0; i < w->count; i++) {
		if (node_cache_has(local, w->levels[i], w->indexes[i]))
			continue;  /* prefetched (tlog_inclusion_proof_latest) */
		if (subtree_cache_get(log->subtrees, w->levels[i], w->indexes[i], hash)) {
			node_cache_put(local, w->levels[i], w->indexes[i], hash);
		} else {
			missing.levels[missing.count] = w->levels[i];
			missing.indexes[missing.count] = w->indexes[i];
			missing.count++;
		}
	}
	return node_cache_load(local, &missing, log->subtrees, atomic_load(&log->durable_size), err);
}

/* The checks and the walk of tlog_inclusion_proof(), given the latest
 * checkpoint's size. */
static bool
inclusion_proof_within(PGconn *conn, const struct tlog *log, uint64_t index, uint64_t size, uint64_t latest,
    const struct node_cache *prefetched, uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err)
{
	struct node_wanted wanted;
	struct node_cache cache;
	uint8_t (*dry)[MERKLE_HASH_LEN] = NULL;
	size_t dry_count = 0;
	unsigned i;

	*proof = NULL;
	*count = 0;
	if (size > latest)
		return vl_error_set(err, VL_OUT_OF_RANGE, "treeSize: %" PRIu64 " is beyond the latest checkpoint (%" PRIu64
		    ")", size, latest);
	if (index >= size)
		return vl_error_set(err, VL_OUT_OF_RANGE, "leafIndex: %" PRIu64 " is not in a tree of %" PRIu64 " leaves",
		    index, size);
	memset(&wanted, 0, sizeof(wanted));
	memset(&cache, 0, sizeof(cache));
	cache.reader.conn = conn;
	cache.reader.log_id = log->log_id;
	for (i = 0; prefetched != NULL && i < prefetched->count; i++)
		node_cache_put(&cache, prefetched->nodes[i].level, prefetched->nodes[i].index, prefetched->nodes[i].hash);
	if (!merkle_inclusion_proof(index, size, node_record, &wanted, &dry, &dry_count, err))
		return false;
	free(dry);
	if (!proof_nodes_load(log, &cache, &wanted, err))
		return false;
	return merkle_inclusion_proof(index, size, node_cache_read, &cache, proof, count, err);
}

bool
tlog_inclusion_proof(PGconn *conn, const struct tlog *log, uint64_t index, uint64_t size,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err)
{
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t latest;

	*proof = NULL;
	*count = 0;
	if (!tlog_latest(conn, log, &latest, root, NULL, err))
		return false;
	return inclusion_proof_within(conn, log, index, size, latest, NULL, proof, count, err);
}

/*
 * Against the latest checkpoint, in one round trip when the log has not
 * moved much: the nodes a proof needs depend on the tree size, so the
 * walk is planned for the size this instance saw last; the checkpoint and
 * those of its nodes that are not cached come in one statement. When the
 * latest size turns out different, the walk for it fetches what is still
 * missing, so the proof is the same either way.
 */
/* A merkle_hash_fn over the subtree cache alone (ctx). */
static bool
cached_node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	if (subtree_cache_get(ctx, level, index, out))
		return true;
	return vl_error_set(err, VL_NOT_FOUND, "log: node (%u, %" PRIu64 ") is not cached", level, index);
}

/* How long "the latest checkpoint" is answered from memory after this
 * process last confirmed it. */
#define LATEST_FRESH_US 1000000

bool
tlog_inclusion_proof_cached(const struct tlog *log, uint64_t index, uint64_t size, uint64_t *size_out,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count)
{
	uint64_t durable = atomic_load(&log->durable_size);
	struct vl_error ignored;

	if (log->subtrees == NULL)
		return false;
	if (size == 0) {
		int64_t age = tlog_now_us() - atomic_load(&log->durable_confirmed_us);
		bool idle = false;

		/* Stale: this call confirms it in the database, unless another
		 * one is doing that already (then memory, for one more second). */
		if (age > 2 * LATEST_FRESH_US || (age > LATEST_FRESH_US &&
		    atomic_compare_exchange_strong((_Atomic bool *)&log->latest_refreshing, &idle, true)))
			return false;
		size = durable;
	} else if (size > durable) {
		return false;
	}
	if (index >= size || !merkle_inclusion_proof(index, size, cached_node, log->subtrees, proof, count, &ignored))
		return false;
	*size_out = size;
	return true;
}

bool
tlog_inclusion_proof_latest(PGconn *conn, const struct tlog *log, uint64_t index, uint64_t *size,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err)
{
	uint64_t guess = atomic_load(&log->seen_size);
	uint8_t root[MERKLE_HASH_LEN], hash[MERKLE_HASH_LEN], (*dry)[MERKLE_HASH_LEN] = NULL;
	struct node_wanted wanted, missing;
	struct wanted_literals lit;
	struct node_cache prefetched;
	const char *params[3] = {log->log_id, lit.levels, lit.indexes};
	size_t dry_count = 0;
	PGresult *res;
	unsigned i;
	bool ok;

	*proof = NULL;
	*count = 0;
	memset(&wanted, 0, sizeof(wanted));
	memset(&missing, 0, sizeof(missing));
	if (index < guess) {
		if (!merkle_inclusion_proof(index, guess, node_record, &wanted, &dry, &dry_count, err))
			return false;
		free(dry);
		for (i = 0; i < wanted.count && !wanted.overflow; i++)
			if (!subtree_cache_get(log->subtrees, wanted.levels[i], wanted.indexes[i], hash)) {
				missing.levels[missing.count] = wanted.levels[i];
				missing.indexes[missing.count] = wanted.indexes[i];
				missing.count++;
			}
	}
	if (missing.count == 0) {
		/* All cached (or nothing to plan for): the checkpoint alone. */
		if (!tlog_latest(conn, log, size, root, NULL, err))
			return false;
		return inclusion_proof_within(conn, log, index, *size, *size, NULL, proof, count, err);
	}
	wanted_literals(&missing, &lit);
	res = store_exec_prepared(conn, &latest_and_nodes_statement, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "log checkpoint", err);
		PQclear(res);
		return false;
	}
	memset(&prefetched, 0, sizeof(prefetched));
	/* The checkpoint first: it raises durable_size, which decides which
	 * of the nodes read with it may be cached. */
	ok = latest_from_row(conn, log, res, 0, size, root, NULL, err);
	if (ok)
		node_rows_put(&prefetched, res, 4, log->subtrees, atomic_load(&log->durable_size));
	PQclear(res);
	if (!ok)
		return false;
	return inclusion_proof_within(conn, log, index, *size, *size, &prefetched, proof, count, err);
}

/* The checks and the walk of tlog_consistency_proof(), given the latest
 * checkpoint's size. */
static bool
consistency_proof_within(PGconn *conn, const struct tlog *log, uint64_t from, uint64_t to, uint64_t latest,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err)
{
	struct node_wanted wanted;
	struct node_cache cache;
	uint8_t (*dry)[MERKLE_HASH_LEN] = NULL;
	size_t dry_count = 0;

	*proof = NULL;
	*count = 0;
	if (to > latest)
		return vl_error_set(err, VL_OUT_OF_RANGE, "toSize: %" PRIu64 " is beyond the latest checkpoint (%" PRIu64 ")",
		    to, latest);
	if (from > to)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "fromSize: %" PRIu64 " is larger than toSize %" PRIu64, from,
		    to);
	memset(&wanted, 0, sizeof(wanted));
	memset(&cache, 0, sizeof(cache));
	cache.reader.conn = conn;
	cache.reader.log_id = log->log_id;
	if (!merkle_consistency_proof(from, to, node_record, &wanted, &dry, &dry_count, err))
		return false;
	free(dry);
	if (!proof_nodes_load(log, &cache, &wanted, err))
		return false;
	return merkle_consistency_proof(from, to, node_cache_read, &cache, proof, count, err);
}

bool
tlog_consistency_proof(PGconn *conn, const struct tlog *log, uint64_t from, uint64_t to,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err)
{
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t latest;

	*proof = NULL;
	*count = 0;
	if (!tlog_latest(conn, log, &latest, root, NULL, err))
		return false;
	return consistency_proof_within(conn, log, from, to, latest, proof, count, err);
}

bool
tlog_consistency_proof_latest(PGconn *conn, const struct tlog *log, uint64_t from, uint64_t *to,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err)
{
	uint8_t root[MERKLE_HASH_LEN];

	*proof = NULL;
	*count = 0;
	if (!tlog_latest(conn, log, to, root, NULL, err))
		return false;
	return consistency_proof_within(conn, log, from, *to, *to, proof, count, err);
}

bool
tlog_tile(PGconn *conn, const struct tlog *log, const struct tile_ref *ref, uint8_t **data, size_t *len,
    struct vl_error *err)
{
	uint8_t root[MERKLE_HASH_LEN], *buf = NULL;
	char level_text[8], start_text[24], end_text[24];
	const char *params[4];
	uint64_t latest, available, start;
	PGresult *res;
	size_t n = 0;
	int i, rows;

	*data = NULL;
	*len = 0;
	if (!tlog_latest(conn, log, &latest, root, NULL, err))
		return false;
	available = ref->entries ? latest : (ref->level * TILE_HEIGHT >= 64 ? 0 : latest >> (ref->level * TILE_HEIGHT));
	if (ref->index > (UINT64_MAX - TILE_WIDTH) / TILE_WIDTH ||
	    ref->index * TILE_WIDTH + ref->width > available)
		return vl_error_set(err, VL_NOT_FOUND, "tile not covered by the latest checkpoint (tree size %" PRIu64 ")",
		    latest);
	start = ref->index * TILE_WIDTH;
	snprintf(start_text, sizeof(start_text), "%" PRIu64, start);
	snprintf(end_text, sizeof(end_text), "%" PRIu64, start + ref->width);
	params[0] = log->log_id;
	if (ref->entries) {
		params[1] = start_text;
		params[2] = end_text;
		if (!exec_params(conn, "SELECT entry FROM log_entries WHERE log_id = $1 AND leaf_index >= $2"
		    " AND leaf_index < $3 ORDER BY log_entries.leaf_index", 3, params, NULL, NULL, PGRES_TUPLES_OK, &res, "log entries", err))
			return false;
	} else {
		snprintf(level_text, sizeof(level_text), "%u", ref->level * TILE_HEIGHT);
		params[1] = level_text;
		params[2] = start_text;
		params[3] = end_text;
		if (!exec_params(conn, "SELECT hash FROM log_nodes WHERE log_id = $1 AND level = $2 AND node_index >= $3"
		    " AND node_index < $4 ORDER BY log_nodes.node_index", 4, params, NULL, NULL, PGRES_TUPLES_OK, &res, "log tile", err))
			return false;
	}
	rows = PQntuples(res);
	if ((unsigned)rows != ref->width) {
		PQclear(res);
		return vl_error_set(err, VL_DATA_LOSS, "log: tile needs %u rows, storage has %d", ref->width, rows);
	}
	for (i = 0; i < rows; i++) {
		size_t item = (size_t)PQgetlength(res, i, 0);

		buf = xrealloc(buf, n + 2 + item);
		if (ref->entries) {
			buf[n++] = (uint8_t)(item >> 8);
			buf[n++] = (uint8_t)item;
		}
		memcpy(buf + n, PQgetvalue(res, i, 0), item);
		n += item;
	}
	PQclear(res);
	*data = buf;
	*len = n;
	return true;
}

bool
tlog_entries(PGconn *conn, const struct tlog *log, uint64_t start, uint64_t end, tlog_entry_cb cb, void *arg,
    struct vl_error *err)
{
	char start_text[24], end_text[24];
	const char *params[3] = {log->log_id, start_text, end_text};
	PGresult *res;
	int i;

	snprintf(start_text, sizeof(start_text), "%" PRIu64, start);
	snprintf(end_text, sizeof(end_text), "%" PRIu64, end);
	res = store_exec_prepared(conn, &entries_statement, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "log entries", err);
		PQclear(res);
		return false;
	}
	for (i = 0; i < PQntuples(res); i++)
		cb(arg, strtoull(PQgetvalue(res, i, 0), NULL, 10), (const uint8_t *)PQgetvalue(res, i, 1),
		    (size_t)PQgetlength(res, i, 1), (const uint8_t *)PQgetvalue(res, i, 2));
	PQclear(res);
	return true;
}

/* In-memory hashes of every level, for tlog_verify_storage. */
struct level_hashes {
	uint8_t (*levels[MERKLE_MAX_LEVELS])[MERKLE_HASH_LEN];
	uint64_t counts[MERKLE_MAX_LEVELS];
};

static bool
memory_node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	struct level_hashes *h = ctx;

	if (level >= MERKLE_MAX_LEVELS || index >= h->counts[level])
		return vl_error_set(err, VL_INTERNAL, "verify: node (%u, %" PRIu64 ") not computed", level, index);
	memcpy(out, h->levels[level][index], MERKLE_HASH_LEN);
	return true;
}

/* Checks the head row (sql/013_log_heads.sql) against the recomputed tree
 * of the checkpoint's `size` leaves: appends trust it for their root. It
 * may be ahead of the checkpoint only after an interrupted bulk load, and
 * then the next append's checkpoint covers it. */
static bool
check_head(PGconn *conn, const struct tlog *log, uint64_t size, struct level_hashes *h, struct vl_error *err)
{
	const char *params[1] = {log->log_id};
	uint8_t expected[MERKLE_HASH_LEN];
	const uint8_t *edge;
	struct right_edge e;
	uint64_t head;
	PGresult *res;
	bool ok = false;
	unsigned i;

	if (!exec_params(conn, "SELECT tree_size, right_edge FROM log_heads WHERE log_id = $1", 1, params, NULL, NULL,
	    PGRES_TUPLES_OK, &res, "log head", err))
		return false;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8) {
		vl_error_set(err, VL_DATA_LOSS, "verify: log %s has no head row", log->log_id);
		goto out;
	}
	head = int8_value(res, 0, 0);
	if (head < size) {
		vl_error_set(err, VL_DATA_LOSS, "verify: the head row says %" PRIu64 " entries, the checkpoint %" PRIu64,
		    head, size);
		goto out;
	}
	if (head > size) {
		log_warnx("verify: log %s: %" PRIu64 " entries beyond the latest checkpoint (an interrupted bulk load);"
		    " the next append's checkpoint covers them", log->log_id, head - size);
		ok = true;
		goto out;
	}
	edge = (const uint8_t *)PQgetvalue(res, 0, 1);
	right_edge_of(size, &e);
	if ((size_t)PQgetlength(res, 0, 1) != e.count * MERKLE_HASH_LEN) {
		vl_error_set(err, VL_DATA_LOSS, "verify: the head row's right edge has the wrong length");
		goto out;
	}
	for (i = 0; i < e.count; i++) {
		if (!memory_node(h, e.levels[i], e.indexes[i], expected, err))
			goto out;
		if (memcmp(edge + i * MERKLE_HASH_LEN, expected, MERKLE_HASH_LEN) != 0) {
			vl_error_set(err, VL_DATA_LOSS, "verify: the head row's right edge differs from the stored tree at"
			    " level %u", e.levels[i]);
			goto out;
		}
	}
	ok = true;
out:
	PQclear(res);
	return ok;
}

/* Compares the stored hashes of one level with the recomputed ones. */
static bool
check_level(PGconn *conn, const struct tlog *log, unsigned level, const struct level_hashes *h, struct vl_error *err)
{
	char level_text[8];
	const char *params[2] = {log->log_id, level_text};
	PGresult *res;
	uint64_t i, rows;
	bool ok = true;

	snprintf(level_text, sizeof(level_text), "%u", level);
	if (!exec_params(conn, "SELECT node_index::text, hash FROM log_nodes WHERE log_id = $1 AND level = $2"
	    " ORDER BY log_nodes.node_index", 2, params, NULL, NULL, PGRES_TUPLES_OK, &res, "log nodes", err))
		return false;
	rows = (uint64_t)PQntuples(res);
	for (i = 0; i < rows && ok; i++) {
		uint64_t index = strtoull(PQgetvalue(res, (int)i, 0), NULL, 10);

		if (index != i || i >= h->counts[level])
			ok = vl_error_set(err, VL_DATA_LOSS, "verify: unexpected stored node (level %u, index %" PRIu64 ")",
			    level, index);
		else if (PQgetlength(res, (int)i, 1) != MERKLE_HASH_LEN ||
		    memcmp(PQgetvalue(res, (int)i, 1), h->levels[level][i], MERKLE_HASH_LEN) != 0)
			ok = vl_error_set(err, VL_DATA_LOSS,
			    "verify: stored hash of subtree (level %u, index %" PRIu64 ") does not match the entries", level, i);
	}
	if (ok && rows != h->counts[level])
		ok = vl_error_set(err, VL_DATA_LOSS, "verify: level %u has %" PRIu64 " stored hashes, expected %" PRIu64,
		    level, rows, h->counts[level]);
	PQclear(res);
	return ok;
}

bool
tlog_verify_storage(PGconn *conn, const struct tlog *log, uint64_t *checked, struct vl_error *err)
{
	struct level_hashes h;
	uint8_t root[MERKLE_HASH_LEN], computed[MERKLE_HASH_LEN], parsed_root[MERKLE_HASH_LEN];
	char *note = NULL, *text = NULL, *origin = NULL, start_text[24];
	const char *params[2] = {log->log_id, start_text};
	uint64_t size, parsed_size, next = 0, i;
	unsigned level;
	PGresult *res;
	bool ok = false;

	memset(&h, 0, sizeof(h));
	*checked = 0;
	if (!tlog_latest(conn, log, &size, root, &note, err))
		return false;
	if (!note_verify(tlog_vkey(log), note, strlen(note), &text, err)) {
		vl_error_prefix(err, "verify: latest checkpoint");
		goto out;
	}
	if (!checkpoint_parse(text, strlen(text), &origin, &parsed_size, parsed_root, err))
		goto out;
	if (parsed_size != size || memcmp(parsed_root, root, MERKLE_HASH_LEN) != 0 || strcmp(origin, log->origin) != 0) {
		vl_error_set(err, VL_DATA_LOSS, "verify: the stored size or root differs from the signed checkpoint");
		goto out;
	}

	/* Leaves, in chunks, each recomputed from its entry. */
	h.levels[0] = xcalloc(size > 0 ? size : 1, MERKLE_HASH_LEN);
	while (next < size) {
		int rows, r;

		snprintf(start_text, sizeof(start_text), "%" PRIu64, next);
		if (!exec_params(conn, "SELECT leaf_index::text, entry, leaf_hash FROM log_entries WHERE log_id = $1"
		    " AND leaf_index >= $2 ORDER BY log_entries.leaf_index LIMIT 10000", 2, params, NULL, NULL, PGRES_TUPLES_OK, &res,
		    "log entries", err))
			goto out;
		rows = PQntuples(res);
		if (rows == 0) {
			PQclear(res);
			vl_error_set(err, VL_DATA_LOSS, "verify: entries stop at %" PRIu64 ", the checkpoint has %" PRIu64,
			    next, size);
			goto out;
		}
		for (r = 0; r < rows && next < size; r++, next++) {
			uint8_t leaf[MERKLE_HASH_LEN];

			if (strtoull(PQgetvalue(res, r, 0), NULL, 10) != next) {
				vl_error_set(err, VL_DATA_LOSS, "verify: entry %" PRIu64 " is missing (found %s)", next,
				    PQgetvalue(res, r, 0));
				PQclear(res);
				goto out;
			}
			merkle_leaf_hash(PQgetvalue(res, r, 1), (size_t)PQgetlength(res, r, 1), leaf);
			if (PQgetlength(res, r, 2) != MERKLE_HASH_LEN || memcmp(PQgetvalue(res, r, 2), leaf, MERKLE_HASH_LEN) != 0) {
				vl_error_set(err, VL_DATA_LOSS, "verify: entry %" PRIu64 " does not hash to its stored leaf hash",
				    next);
				PQclear(res);
				goto out;
			}
			memcpy(h.levels[0][next], leaf, MERKLE_HASH_LEN);
		}
		PQclear(res);
	}
	h.counts[0] = size;
	/* Every complete subtree, level by level. */
	for (level = 1; level < MERKLE_MAX_LEVELS && h.counts[level - 1] >= 2; level++) {
		h.counts[level] = h.counts[level - 1] / 2;
		h.levels[level] = xcalloc(h.counts[level], MERKLE_HASH_LEN);
		for (i = 0; i < h.counts[level]; i++)
			merkle_node_hash(h.levels[level - 1][2 * i], h.levels[level - 1][2 * i + 1], h.levels[level][i]);
	}
	for (level = 0; level < MERKLE_MAX_LEVELS; level++)
		if (!check_level(conn, log, level, &h, err))
			goto out;
	if (!merkle_root(size, memory_node, &h, computed, err))
		goto out;
	if (memcmp(computed, root, MERKLE_HASH_LEN) != 0) {
		vl_error_set(err, VL_DATA_LOSS, "verify: the root recomputed from %" PRIu64 " entries differs from the"
		    " signed checkpoint's", size);
		goto out;
	}
	if (!check_head(conn, log, size, &h, err))
		goto out;
	*checked = size;
	ok = true;
out:
	for (level = 0; level < MERKLE_MAX_LEVELS; level++)
		free(h.levels[level]);
	free(note);
	free(text);
	free(origin);
	return ok;
}
