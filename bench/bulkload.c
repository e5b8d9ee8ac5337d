/*
 * bulkload.c - vledger-bulkload: grows a vledger log by N synthetic entries,
 * for benchmarks only (issue 6, "Scale": the log at 10^7 entries).
 *
 * The result is what N calls of tlog_append() would have stored, row for
 * row, except for the checkpoints: each entry is the RFC 8785 canonical JSON
 * {"actor":"bulkload","kind":"bulk_synthetic","n":<leaf index>,"time":...}
 * in log_entries with its leaf hash, log_nodes gets the hash of every
 * subtree the entry completes (the leaf itself at level 0, then one row per
 * level while the new node is a right child: merkle.h, "Appending"), and one
 * checkpoint at the final size is signed with the log's key. tlog_append()
 * signs one per entry; skipping the N - 1 intermediate ones is what makes
 * this fast, and costs nothing structural: readers, proofs and tiles only
 * ever use the latest checkpoint, and a checkpoint that was never published
 * cannot be missed by a monitor.
 *
 * How it is fast: hashes are computed here, from the right edge of the tree
 * kept in memory (the complete node for each one bit of the size, read from
 * log_nodes at the start), so no row is ever read back; rows go to the
 * server with binary COPY, one transaction per --batch entries. The client
 * (JSON, SHA-256, row encoding) and the server (inserts, index and foreign
 * key upkeep) each keep one core busy, because libpq ships COPY data while
 * we compute the next rows.
 *
 * Concurrency: each batch's transaction takes the log's lock (SELECT ...
 * FOR UPDATE on the log_heads row, as tlog_append does) and leaves the head
 * (size, right edge) as an append would, so vledgerd may keep running:
 * its appends wait for the batch to commit (a batch of 100000 takes a few
 * seconds) and land between two batches. The next batch sees the size it
 * did not expect and re-reads the right edge from log_nodes, so the log
 * stays one gap-free tree. Between batches the entries already loaded are
 * beyond the latest checkpoint, invisible to readers; an interrupted load
 * leaves them so (committed batches stay), and the next append by vledgerd
 * or `vledger-bulkload --entries 0` publishes a checkpoint covering them.
 *
 * Ownership: main() owns the loader, whose signer, JSON template and
 * buffers are freed by loader_free(); every PGresult is cleared where it is
 * read; entries from jcs_serialize() are freed after they are copied into
 * the COPY buffer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "vledger/codec.h"
#include "vledger/error.h"
#include "vledger/jcs.h"
#include "vledger/log.h"
#include "vledger/merkle.h"
#include "vledger/note.h"
#include "vledger/store.h"
#include "vledger/tlog.h"

#define DEFAULT_BATCH 100000
#define DEFAULT_LOG_ID "default"  /* the one log vledgerd runs (services/vledgerd/main.c) */
#define ENTRY_KIND "bulk_synthetic"
#define ENTRY_ACTOR "bulkload"

/* How much COPY data is gathered before it is handed to libpq: large
 * enough that the per-call cost vanishes, small enough to stay in cache. */
#define COPY_CHUNK (256 * 1024)

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: vledger-bulkload --database-url URL --log-key FILE --origin NAME --entries N\n"
	    "                        [--batch B] [--log-id ID] [--quiet]\n"
	    "\n"
	    "FOR BENCHMARKS ONLY: never run it on a production log. Appends N synthetic entries\n"
	    "of kind \"%s\" to the transparent log of a vledger database, exactly as N appends\n"
	    "by vledgerd would store them (entry, leaf hash, every completed subtree hash), then\n"
	    "signs ONE checkpoint at the new size with the log's key. Each entry is the RFC 8785\n"
	    "JSON {\"actor\":\"%s\",\"kind\":\"%s\",\"n\":<leaf index>,\"time\":<RFC 3339 UTC>}.\n"
	    "\n"
	    "  --database-url URL  libpq URL or conninfo of a database vledgerd has migrated and\n"
	    "                      started on once (which creates the log and its first checkpoint)\n"
	    "  --log-key FILE      the log's Ed25519 signing key (vledgerd's --log-key or\n"
	    "                      STATE_DIR/log.key); it must have signed the latest checkpoint\n"
	    "  --origin NAME       the log's origin (vledgerd's --origin, e.g. vledger.local/log)\n"
	    "  --entries N         how many entries to append (0: only sign a checkpoint covering\n"
	    "                      entries left beyond it by an interrupted load)\n"
	    "  --batch B           entries per transaction (default %d)\n"
	    "  --log-id ID         the log's id (default \"%s\", the one vledgerd uses)\n"
	    "  --quiet             no progress lines on stderr\n"
	    "\n"
	    "vledgerd may keep running: each batch holds the log's row lock (FOR UPDATE on logs),\n"
	    "so its appends wait for the batch and land between batches. Until the last batch\n"
	    "commits, the loaded entries are beyond the latest checkpoint and invisible to readers.\n"
	    "If interrupted, committed batches stay; run again (or with --entries 0) to finish.\n"
	    "\n"
	    "Output: progress on stderr; on success, key=value lines on stdout:\n"
	    "  entries_added, tree_size, seconds, entries_per_second, bytes_log_entries,\n"
	    "  bytes_log_nodes, bytes_log_checkpoints, bytes_per_entry\n"
	    "(bytes_* are pg_total_relation_size of the log tables, all logs in the database;\n"
	    "bytes_per_entry is their sum divided by tree_size).\n"
	    "Exit status: 0 done, 1 failed (the message says why), 2 usage.\n"
	    "This interface (flags, output keys, exit status) is stable: bench/run.sh --scale uses it.\n",
	    ENTRY_KIND, ENTRY_ACTOR, ENTRY_KIND, DEFAULT_BATCH, DEFAULT_LOG_ID);
}

struct options {
	const char *database_url, *log_key, *origin, *log_id;  /* borrowed from argv */
	uint64_t entries, batch;
	bool quiet;
};

/* A growable byte buffer; p is owned by the buffer and freed with buf_free. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void
buf_put(struct buf *b, const void *data, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;

		while (cap - b->len < n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void
buf_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	buf_put(b, x, sizeof(x));
}

static void
buf_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	buf_put(b, x, sizeof(x));
}

static void
buf_u64(struct buf *b, uint64_t v)
{
	buf_u32(b, (uint32_t)(v >> 32));
	buf_u32(b, (uint32_t)v);
}

/* One field of a binary COPY row: its length, then its bytes. */
static void
buf_field(struct buf *b, const void *data, size_t n)
{
	buf_u32(b, (uint32_t)n);
	buf_put(b, data, n);
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

struct loader {
	PGconn *conn;                 /* owned */
	const struct options *opt;
	struct note_signer *signer;   /* owned */
	size_t log_id_len;
	/* The tree as this process knows it: size leaves, and edge[l] the hash
	 * of the complete node (l, (size >> l) - 1) for each one bit l of size.
	 * Those are the only nodes an append ever combines with (merkle.h). */
	uint64_t size;
	uint8_t edge[MERKLE_MAX_LEVELS][MERKLE_HASH_LEN];
	bool edge_loaded;
	/* The latest checkpoint, read in each batch's transaction. */
	uint64_t checkpoint_size;
	uint8_t checkpoint_root[MERKLE_HASH_LEN];
	/* The entry template: n and time change in place between entries so
	 * that no object is built per entry. n_value and time_value are
	 * borrowed from entry, which is owned. */
	json_t *entry, *n_value, *time_value;
	int64_t time_seconds;
	/* COPY data: entry rows on their way to libpq, and node rows by level
	 * until the entries' COPY ends (one COPY at a time per connection).
	 * Grouping nodes by level keeps each index insert next to the last. */
	struct buf copy;
	struct buf levels[MERKLE_MAX_LEVELS];
	uint64_t others;  /* entries other writers appended during the load */
};

static void
loader_free(struct loader *l)
{
	unsigned i;

	PQfinish(l->conn);
	note_signer_free(l->signer);
	json_decref(l->entry);
	buf_free(&l->copy);
	for (i = 0; i < MERKLE_MAX_LEVELS; i++)
		buf_free(&l->levels[i]);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* PQexecParams with text parameters and binary results; *out (optional)
 * gets the result for the caller to PQclear. */
static bool
query(struct loader *l, const char *sql, int n, const char *const *params, ExecStatusType want, PGresult **out,
    const char *what, struct vl_error *err)
{
	PGresult *res = PQexecParams(l->conn, sql, n, NULL, params, NULL, NULL, 1);

	if (PQresultStatus(res) != want) {
		store_error_from_result(l->conn, res, what, err);
		PQclear(res);
		return false;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return true;
}

static uint64_t
be64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (uint8_t)p[i];
	return v;
}

/* Locks the log's row for this transaction, checks its origin, and reads
 * the stored size (the next leaf index, as tlog_append computes it) and
 * the latest checkpoint. */
static bool
lock_log(struct loader *l, uint64_t *size, struct vl_error *err)
{
	const char *params[1] = {l->opt->log_id};
	PGresult *res;

	if (!query(l, "SELECT origin FROM logs WHERE log_id = $1", 1, params, PGRES_TUPLES_OK, &res, "log", err))
		return false;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "--log-id: this database has no log \"%s\"; start vledgerd on it once first", l->opt->log_id);
	}
	if (strcmp(PQgetvalue(res, 0, 0), l->opt->origin) != 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "--origin: log %s was created with origin \"%s\", not \"%s\"",
		    l->opt->log_id, PQgetvalue(res, 0, 0), l->opt->origin);
		PQclear(res);
		return false;
	}
	PQclear(res);
	/* The lock, and the size as the previous writer left it. The stored
	 * right edge is not trusted here: load_edge reads it from log_nodes and
	 * checks it against the checkpoint. */
	if (!query(l, "SELECT tree_size FROM log_heads WHERE log_id = $1 FOR UPDATE", 1, params, PGRES_TUPLES_OK, &res,
	    "log lock", err))
		return false;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "log %s has no head row; start vledgerd (which applies sql/013_log_heads.sql) on it once first",
		    l->opt->log_id);
	}
	*size = be64(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!query(l, "SELECT tree_size, root_hash FROM log_checkpoints WHERE log_id = $1 ORDER BY tree_size DESC LIMIT 1",
	    1, params, PGRES_TUPLES_OK, &res, "log checkpoint", err))
		return false;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 1) != MERKLE_HASH_LEN) {
		PQclear(res);
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "log %s has no checkpoint; start vledgerd on this database once first", l->opt->log_id);
	}
	l->checkpoint_size = be64(PQgetvalue(res, 0, 0));
	memcpy(l->checkpoint_root, PQgetvalue(res, 0, 1), MERKLE_HASH_LEN);
	PQclear(res);
	if (l->checkpoint_size > *size)
		return vl_error_set(err, VL_DATA_LOSS, "log %s: the latest checkpoint has %" PRIu64 " entries, storage %"
		    PRIu64, l->opt->log_id, l->checkpoint_size, *size);
	return true;
}

/* The first time: the latest checkpoint must be signed by --log-key, or
 * our checkpoint would fork the log (tlog_open refuses the same way). */
static bool
check_key(struct loader *l, struct vl_error *err)
{
	const char *params[1] = {l->opt->log_id};
	const char *vkey = note_signer_vkey(l->signer);
	char *text = NULL;
	PGresult *res;
	bool ok;

	if (!query(l, "SELECT note FROM log_checkpoints WHERE log_id = $1 ORDER BY tree_size DESC LIMIT 1", 1, params,
	    PGRES_TUPLES_OK, &res, "log checkpoint", err))
		return false;
	ok = PQntuples(res) == 1 &&
	    note_verify(vkey, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), &text, err);
	PQclear(res);
	free(text);
	if (!ok)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "--log-key: the latest checkpoint of log %s is not signed by this key (%s)", l->opt->log_id, vkey);
	return true;
}

/* MTH of the tree the edge describes: the edge nodes folded from the
 * smallest (rightmost) up, as merkle_root() does from storage. */
static void
edge_root(const struct loader *l, uint8_t out[MERKLE_HASH_LEN])
{
	bool any = false;
	unsigned level;

	if (l->size == 0) {
		merkle_empty_root(out);
		return;
	}
	for (level = 0; level < MERKLE_MAX_LEVELS; level++) {
		if (!(l->size >> level & 1))
			continue;
		if (!any)
			memcpy(out, l->edge[level], MERKLE_HASH_LEN);
		else
			merkle_node_hash(l->edge[level], out, out);
		any = true;
	}
}

/* Reads the right edge of the tree of `size` leaves from log_nodes: one
 * row per one bit of size. When the latest checkpoint is at that size, the
 * edge must give its root, which catches a storage this loader would
 * otherwise extend with wrong hashes. */
static bool
load_edge(struct loader *l, uint64_t size, struct vl_error *err)
{
	char level_text[8], index_text[24];
	const char *params[3] = {l->opt->log_id, level_text, index_text};
	uint8_t root[MERKLE_HASH_LEN];
	unsigned level;
	PGresult *res;

	l->size = size;
	for (level = 0; level < MERKLE_MAX_LEVELS; level++) {
		if (!(size >> level & 1))
			continue;
		snprintf(level_text, sizeof(level_text), "%u", level);
		snprintf(index_text, sizeof(index_text), "%" PRIu64, (size >> level) - 1);
		if (!query(l, "SELECT hash FROM log_nodes WHERE log_id = $1 AND level = $2 AND node_index = $3", 3, params,
		    PGRES_TUPLES_OK, &res, "log node", err))
			return false;
		if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != MERKLE_HASH_LEN) {
			PQclear(res);
			return vl_error_set(err, VL_DATA_LOSS, "log %s: the hash of subtree (level %u, index %s) is missing",
			    l->opt->log_id, level, index_text);
		}
		memcpy(l->edge[level], PQgetvalue(res, 0, 0), MERKLE_HASH_LEN);
		PQclear(res);
	}
	l->edge_loaded = true;
	if (l->checkpoint_size == size) {
		edge_root(l, root);
		if (memcmp(root, l->checkpoint_root, MERKLE_HASH_LEN) != 0)
			return vl_error_set(err, VL_DATA_LOSS, "log %s: the stored subtree hashes do not give the root of the"
			    " latest checkpoint (size %" PRIu64 "); run vledgerd --verify-storage", l->opt->log_id, size);
	} else if (!l->opt->quiet) {
		fprintf(stderr, "bulkload: %" PRIu64 " entries are beyond the latest checkpoint (size %" PRIu64
		    "), left by an interrupted load; this load's checkpoint covers them\n",
		    size - l->checkpoint_size, l->checkpoint_size);
	}
	return true;
}

/* Appends one binary COPY row for log_nodes to the level's buffer. */
static void
node_row(struct loader *l, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	struct buf *b = &l->levels[level];

	buf_u16(b, 4);
	buf_field(b, l->opt->log_id, l->log_id_len);
	buf_u32(b, 2);
	buf_u16(b, (uint16_t)level);
	buf_u32(b, 8);
	buf_u64(b, index);
	buf_field(b, hash, MERKLE_HASH_LEN);
}

/* Adds leaf l->size to the in-memory tree, queueing the node rows it
 * completes: the leaf, then its parent for as long as the new node is a
 * right child (a one bit of the old size), whose left sibling is the edge
 * node of that level. What merkle_append() computes, without reads. */
static void
append_leaf(struct loader *l, const uint8_t leaf[MERKLE_HASH_LEN])
{
	uint8_t h[MERKLE_HASH_LEN];
	uint64_t index = l->size;
	unsigned level = 0;

	memcpy(h, leaf, MERKLE_HASH_LEN);
	node_row(l, 0, index, h);
	while (index & 1) {
		merkle_node_hash(l->edge[level], h, h);
		level++;
		index >>= 1;
		node_row(l, level, index, h);
	}
	memcpy(l->edge[level], h, MERKLE_HASH_LEN);
	l->size++;
}

/* The canonical JSON of entry `index`; *out is jcs_serialize()'s, for the
 * caller to free. The time is the wall clock, like tlog_append's. */
static bool
make_entry(struct loader *l, uint64_t index, char **out, size_t *len, struct vl_error *err)
{
	int64_t now = (int64_t)time(NULL);

	if (now != l->time_seconds) {
		char text[40];

		codec_timestamp_format(now, 0, text);
		json_string_set(l->time_value, text);
		l->time_seconds = now;
	}
	json_integer_set(l->n_value, (json_int_t)index);
	if (!jcs_serialize(l->entry, out, len, err))
		return false;
	if (*len > TLOG_ENTRY_MAX) {
		free(*out);
		*out = NULL;
		return vl_error_set(err, VL_INTERNAL, "entry %" PRIu64 " would be %zu bytes", index, *len);
	}
	return true;
}

static bool
copy_begin(struct loader *l, const char *sql, struct vl_error *err)
{
	static const uint8_t header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,
	    0, 0, 0, 0,   /* flags: no OIDs */
	    0, 0, 0, 0};  /* no header extension */
	PGresult *res = PQexec(l->conn, sql);

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		store_error_from_result(l->conn, res, "COPY", err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	l->copy.len = 0;
	buf_put(&l->copy, header, sizeof(header));
	return true;
}

static bool
copy_send(struct loader *l, const uint8_t *data, size_t len, struct vl_error *err)
{
	while (len > 0) {
		int n = len > COPY_CHUNK ? COPY_CHUNK : (int)len;

		if (PQputCopyData(l->conn, (const char *)data, n) != 1)
			return vl_error_set(err, VL_UNAVAILABLE, "COPY: %s", PQerrorMessage(l->conn));
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Ends the COPY: ok says whether to commit its rows (false aborts it, and
 * so the transaction, while the error already in err is kept). */
static bool
copy_end(struct loader *l, bool ok, struct vl_error *err)
{
	PGresult *res;
	struct vl_error end_err;

	if (ok) {
		buf_u16(&l->copy, 0xffff);  /* the file trailer: a field count of -1 */
		ok = copy_send(l, l->copy.p, l->copy.len, err);
		l->copy.len = 0;
	}
	if (PQputCopyEnd(l->conn, ok ? NULL : "vledger-bulkload gave up") != 1 && ok)
		ok = vl_error_set(err, VL_UNAVAILABLE, "COPY: %s", PQerrorMessage(l->conn));
	while ((res = PQgetResult(l->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && ok)
			ok = store_error_from_result(l->conn, res, "COPY", err);
		else if (PQresultStatus(res) != PGRES_COMMAND_OK)
			store_error_from_result(l->conn, res, "COPY", &end_err);  /* err says why we gave up */
		PQclear(res);
	}
	return ok;
}

/* Streams `count` entries with COPY, queueing their node rows, then the
 * node rows with a second COPY. */
static bool
load_rows(struct loader *l, uint64_t count, struct vl_error *err)
{
	uint8_t leaf[MERKLE_HASH_LEN];
	bool ok = true;
	unsigned level;
	uint64_t i;

	if (!copy_begin(l, "COPY log_entries (log_id, leaf_index, kind, entry, leaf_hash) FROM STDIN (FORMAT binary)",
	    err))
		return false;
	for (i = 0; i < count && ok; i++) {
		char *entry;
		size_t len;

		if (!make_entry(l, l->size, &entry, &len, err)) {
			ok = false;
			break;
		}
		merkle_leaf_hash(entry, len, leaf);
		buf_u16(&l->copy, 5);
		buf_field(&l->copy, l->opt->log_id, l->log_id_len);
		buf_u32(&l->copy, 8);
		buf_u64(&l->copy, l->size);
		buf_field(&l->copy, ENTRY_KIND, strlen(ENTRY_KIND));
		buf_field(&l->copy, entry, len);
		buf_field(&l->copy, leaf, MERKLE_HASH_LEN);
		free(entry);
		append_leaf(l, leaf);
		if (l->copy.len >= COPY_CHUNK) {
			ok = copy_send(l, l->copy.p, l->copy.len, err);
			l->copy.len = 0;
		}
	}
	if (!copy_end(l, ok, err))
		return false;

	if (!copy_begin(l, "COPY log_nodes (log_id, level, node_index, hash) FROM STDIN (FORMAT binary)", err))
		return false;
	for (level = 0; level < MERKLE_MAX_LEVELS && ok; level++) {
		ok = copy_send(l, l->copy.p, l->copy.len, err) &&
		    copy_send(l, l->levels[level].p, l->levels[level].len, err);
		l->copy.len = 0;
		l->levels[level].len = 0;
	}
	return copy_end(l, ok, err);
}

/* Leaves the head row as tlog_append would: the size and the right edge,
 * highest level first (sql/013_log_heads.sql). */
static bool
store_head(struct loader *l, struct vl_error *err)
{
	uint8_t edge[MERKLE_MAX_LEVELS * MERKLE_HASH_LEN];
	char size_text[24];
	const char *params[3];
	int lengths[3] = {0, 0, 0}, formats[3] = {0, 0, 1};
	size_t len = 0;
	PGresult *res;
	bool ok;
	int level;

	for (level = MERKLE_MAX_LEVELS - 1; level >= 0; level--) {
		if (!(l->size >> level & 1))
			continue;
		memcpy(edge + len, l->edge[level], MERKLE_HASH_LEN);
		len += MERKLE_HASH_LEN;
	}
	snprintf(size_text, sizeof(size_text), "%" PRIu64, l->size);
	params[0] = l->opt->log_id;
	params[1] = size_text;
	params[2] = (const char *)edge;
	lengths[2] = (int)len;
	res = PQexecParams(l->conn, "UPDATE log_heads SET tree_size = $2, right_edge = $3 WHERE log_id = $1", 3, NULL,
	    params, lengths, formats, 1);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK || store_error_from_result(l->conn, res, "log head", err);
	PQclear(res);
	return ok;
}

/* Signs and stores the checkpoint of the in-memory tree, as tlog's
 * publish_checkpoint() does. */
static bool
publish_checkpoint(struct loader *l, struct vl_error *err)
{
	uint8_t root[MERKLE_HASH_LEN];
	char size_text[24], *body, *note = NULL;
	const char *params[4];
	int lengths[4] = {0, 0, MERKLE_HASH_LEN, 0}, formats[4] = {0, 0, 1, 0};
	PGresult *res;
	bool ok;

	edge_root(l, root);
	body = checkpoint_body(note_signer_name(l->signer), l->size, root);
	if (body == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "--origin: not a valid checkpoint origin");
	ok = note_sign(l->signer, body, strlen(body), &note, err);
	free(body);
	if (!ok)
		return false;
	snprintf(size_text, sizeof(size_text), "%" PRIu64, l->size);
	params[0] = l->opt->log_id;
	params[1] = size_text;
	params[2] = (const char *)root;
	params[3] = note;
	res = PQexecParams(l->conn, "INSERT INTO log_checkpoints (log_id, tree_size, root_hash, note) VALUES ($1, $2, $3, $4)",
	    4, NULL, params, lengths, formats, 1);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK || store_error_from_result(l->conn, res, "log checkpoint", err);
	PQclear(res);
	free(note);
	return ok;
}

/* One transaction: lock, catch up with other writers, load `count`
 * entries, and on the last batch sign the checkpoint. A failure rolls the
 * transaction back but leaves the in-memory tree ahead of storage, so the
 * caller stops there (a new run re-reads the right edge). */
static bool
run_batch(struct loader *l, uint64_t count, bool last, struct vl_error *err)
{
	uint64_t size = 0;

	if (!store_exec(l->conn, "BEGIN", err))
		return false;
	if (!lock_log(l, &size, err))
		goto rollback;
	if (!l->edge_loaded) {
		if (!check_key(l, err) || !load_edge(l, size, err))
			goto rollback;
	} else if (size != l->size) {
		/* vledgerd appended between our batches (or storage shrank, which
		 * the triggers forbid): re-read the edge it extended. */
		if (size < l->size) {
			vl_error_set(err, VL_DATA_LOSS, "log %s: storage has %" PRIu64 " entries, expected %" PRIu64,
			    l->opt->log_id, size, l->size);
			goto rollback;
		}
		l->others += size - l->size;
		if (!l->opt->quiet)
			fprintf(stderr, "bulkload: another writer appended %" PRIu64 " entries; re-reading the right edge\n",
			    size - l->size);
		if (!load_edge(l, size, err))
			goto rollback;
	}
	if (count > 0 && (!load_rows(l, count, err) || !store_head(l, err)))
		goto rollback;
	if (last && l->checkpoint_size < l->size && !publish_checkpoint(l, err))
		goto rollback;
	return store_exec(l->conn, "COMMIT", err);
rollback:
	PQclear(PQexec(l->conn, "ROLLBACK"));
	return false;
}

/* Bytes the log tables take, for bytes per entry. */
static bool
report_storage(struct loader *l, double seconds, uint64_t added, struct vl_error *err)
{
	PGresult *res = PQexec(l->conn, "SELECT pg_total_relation_size('log_entries')::text,"
	    " pg_total_relation_size('log_nodes')::text, pg_total_relation_size('log_checkpoints')::text");
	uint64_t entries, nodes, checkpoints;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(l->conn, res, "table sizes", err);
		PQclear(res);
		return false;
	}
	entries = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	nodes = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	checkpoints = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	printf("entries_added=%" PRIu64 "\n", added);
	printf("tree_size=%" PRIu64 "\n", l->size);
	printf("seconds=%.1f\n", seconds);
	printf("entries_per_second=%.0f\n", seconds > 0 ? (double)added / seconds : 0.0);
	printf("bytes_log_entries=%" PRIu64 "\n", entries);
	printf("bytes_log_nodes=%" PRIu64 "\n", nodes);
	printf("bytes_log_checkpoints=%" PRIu64 "\n", checkpoints);
	printf("bytes_per_entry=%.1f\n", l->size > 0 ? (double)(entries + nodes + checkpoints) / (double)l->size : 0.0);
	return true;
}

static bool
parse_count(const char *flag, const char *text, uint64_t min, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	/* The entry's "n" must stay a safe JSON integer (jcs.h). */
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < min ||
	    v > (unsigned long long)JCS_MAX_SAFE_INTEGER) {
		fprintf(stderr, "vledger-bulkload: %s: expected a whole number from %" PRIu64 ", got \"%s\"\n", flag, min,
		    text);
		return false;
	}
	*out = v;
	return true;
}

/* 0 to run, 1 for --help, 2 for bad usage (message printed). */
static int
parse_args(int argc, char **argv, struct options *opt)
{
	bool have_entries = false;
	int a;

	memset(opt, 0, sizeof(*opt));
	opt->batch = DEFAULT_BATCH;
	opt->log_id = DEFAULT_LOG_ID;
	for (a = 1; a < argc; a++) {
		const char *arg = argv[a], *value = a + 1 < argc ? argv[a + 1] : NULL;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return 1;
		if (strcmp(arg, "--quiet") == 0) {
			opt->quiet = true;
			continue;
		}
		if (value == NULL) {
			fprintf(stderr, "vledger-bulkload: %s: unknown flag or missing value (see --help)\n", arg);
			return 2;
		}
		a++;
		if (strcmp(arg, "--database-url") == 0)
			opt->database_url = value;
		else if (strcmp(arg, "--log-key") == 0)
			opt->log_key = value;
		else if (strcmp(arg, "--origin") == 0)
			opt->origin = value;
		else if (strcmp(arg, "--log-id") == 0)
			opt->log_id = value;
		else if (strcmp(arg, "--entries") == 0) {
			if (!parse_count(arg, value, 0, &opt->entries))
				return 2;
			have_entries = true;
		} else if (strcmp(arg, "--batch") == 0) {
			if (!parse_count(arg, value, 1, &opt->batch))
				return 2;
		} else {
			fprintf(stderr, "vledger-bulkload: %s: unknown flag (see --help)\n", arg);
			return 2;
		}
	}
	if (opt->database_url == NULL || opt->log_key == NULL || opt->origin == NULL || !have_entries) {
		fprintf(stderr, "vledger-bulkload: --database-url, --log-key, --origin and --entries are required"
		    " (see --help)\n");
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct options opt;
	struct loader l;
	struct vl_error err;
	uint64_t done = 0, start_size = 0;
	double started, last_report;
	int status;

	status = parse_args(argc, argv, &opt);
	if (status == 1) {
		usage(stdout);
		return 0;
	}
	if (status != 0)
		return status;
	memset(&l, 0, sizeof(l));
	vl_error_clear(&err);
	l.opt = &opt;
	l.log_id_len = strlen(opt.log_id);
	l.entry = json_object();
	l.n_value = json_integer(0);
	l.time_value = json_string("");
	json_object_set_new(l.entry, "actor", json_string(ENTRY_ACTOR));
	json_object_set_new(l.entry, "kind", json_string(ENTRY_KIND));
	json_object_set_new(l.entry, "n", l.n_value);
	json_object_set_new(l.entry, "time", l.time_value);
	l.time_seconds = -1;

	if (!note_signer_load(opt.log_key, opt.origin, &l.signer, &err))
		goto fail;
	l.conn = PQconnectdb(opt.database_url);
	if (PQstatus(l.conn) != CONNECTION_OK) {
		vl_error_set(&err, VL_UNAVAILABLE, "--database-url: %s", PQerrorMessage(l.conn));
		goto fail;
	}
	started = last_report = now_seconds();
	do {
		uint64_t count = opt.entries - done < opt.batch ? opt.entries - done : opt.batch;
		double t;

		if (!run_batch(&l, count, done + count == opt.entries, &err))
			goto fail;
		if (done == 0)
			start_size = l.size - count;
		done += count;
		t = now_seconds();
		if (!opt.quiet && (t - last_report >= 5 || done == opt.entries)) {
			fprintf(stderr, "bulkload: %" PRIu64 " of %" PRIu64 " entries (%.1f%%) in %.0f s, %.0f entries/s;"
			    " log size %" PRIu64 "\n", done, opt.entries, opt.entries > 0 ? 100.0 * (double)done /
			    (double)opt.entries : 100.0, t - started, t > started ? (double)done / (t - started) : 0.0, l.size);
			last_report = t;
		}
	} while (done < opt.entries);
	if (!opt.quiet)
		fprintf(stderr, "bulkload: log %s grew from %" PRIu64 " to %" PRIu64 " entries (%" PRIu64
		    " by other writers); signed checkpoint at %" PRIu64 "\n", opt.log_id, start_size, l.size, l.others,
		    l.size);
	if (!report_storage(&l, now_seconds() - started, done, &err))
		goto fail;
	loader_free(&l);
	return 0;
fail:
	fprintf(stderr, "vledger-bulkload: %s\n", err.message);
	loader_free(&l);
	return 1;
}
