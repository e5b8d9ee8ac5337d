/*
 * tlog_append.c - the log's append path: entries, the nodes they complete,
 * the new head and one signed checkpoint, for one entry or a batch. See
 * tlog.h ("Appends") and sql/013_log_heads.sql.
 *
 * Two statements inside the caller's transaction, whatever the batch size:
 *   1. lock the log's head row, read its size and right edge;
 *   2. store entries, nodes, head and checkpoint in one statement.
 * Everything in between - leaf hashes, the nodes the new leaves complete,
 * the root, the inclusion proofs, the checkpoint signature - is computed in
 * memory from the right edge.
 */
#include "vledger/tlog.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vledger/codec.h"
#include "vledger/jcs.h"
#include "vledger/log.h"
#include "vledger/note.h"
#include "vledger/pg_array.h"
#include "vledger/store.h"

#include "tlog_internal.h"

/* {"kind","time","actor"} + facts, canonicalised. */
static bool
entry_bytes(const char *kind, const char *actor, const json_t *facts, char **out, size_t *len, struct vl_error *err)
{
	json_t *obj = json_object();
	struct timespec ts;
	char now[40];
	const char *key;
	json_t *value;
	bool ok;

	/* The precise clock, not time(): time() reads a coarse clock that can
	 * still show the previous second for a few milliseconds after
	 * PostgreSQL's now() (gettimeofday) has moved on, and an entry would
	 * then be older than the rows its transaction created. */
	clock_gettime(CLOCK_REALTIME, &ts);
	codec_timestamp_format((int64_t)ts.tv_sec, 0, now);
	json_object_set_new(obj, "kind", json_string(kind));
	json_object_set_new(obj, "time", json_string(now));
	json_object_set_new(obj, "actor", json_string(actor));
	json_object_foreach((json_t *)facts, key, value) {
		if (json_object_get(obj, key) != NULL) {
			json_decref(obj);
			return vl_error_set(err, VL_INTERNAL, "log entry %s: fact \"%s\" clashes with a header field", kind,
			    key);
		}
		json_object_set(obj, key, value);
	}
	ok = jcs_serialize(obj, out, len, err);
	json_decref(obj);
	return ok;
}

/* Thread-local: set by an append, read and cleared by the transaction's
 * owner (tlog_take_appended, then tlog_appended_durable or
 * tlog_forget_appended). appended_log/appended_size: the last checkpoint
 * this thread signed, to publish once it is on disk. */
static _Thread_local bool appended_here;
static _Thread_local const struct tlog *appended_log;
static _Thread_local uint64_t appended_size;

bool
tlog_take_appended(void)
{
	bool was = appended_here;

	appended_here = false;
	return was;
}

void
tlog_appended_durable(void)
{
	if (appended_log != NULL) {
		size_raise(&appended_log->durable_size, appended_size);
		if (atomic_load(&appended_log->durable_size) == appended_size)
			durable_confirm(appended_log);
	}
	appended_log = NULL;
}

void
tlog_forget_appended(void)
{
	appended_here = false;
	appended_log = NULL;
}

/*
 * The nodes an append of leaves [old_size, new_size) completes. At level l
 * they are (l, i) for old_size >> l <= i < new_size >> l, and the appends
 * complete them in that order. Together with the old tree's right edge
 * (from the head row) they are every node the walks here ask for: a
 * complete node left of a new leaf either lies wholly in the old tree, and
 * is then on the old right edge, or contains a new leaf, and is then new.
 * Anything else would come from the database (tlog_node_read), which the
 * argument says never happens.
 */
struct append_nodes {
	struct node_reader reader;
	uint64_t old_size, new_size;
	struct right_edge edge;                 /* of old_size */
	uint8_t edge_hashes[64][MERKLE_HASH_LEN];
	uint8_t (*hashes)[MERKLE_HASH_LEN];     /* the new nodes, level by level */
	size_t base[MERKLE_MAX_LEVELS + 1];     /* level l starts at hashes[base[l]] */
	uint64_t filled[MERKLE_MAX_LEVELS];     /* computed so far at level l */
	size_t total;                           /* base[MERKLE_MAX_LEVELS] */
};

static void
append_nodes_init(struct append_nodes *a, PGconn *conn, const char *log_id, uint64_t old_size, uint64_t new_size)
{
	unsigned l;

	memset(a, 0, sizeof(*a));
	a->reader.conn = conn;
	a->reader.log_id = log_id;
	a->old_size = old_size;
	a->new_size = new_size;
	right_edge_of(old_size, &a->edge);
	for (l = 0; l < MERKLE_MAX_LEVELS; l++)
		a->base[l + 1] = a->base[l] + (size_t)((new_size >> l) - (old_size >> l));
	a->total = a->base[MERKLE_MAX_LEVELS];
	a->hashes = xcalloc(a->total + 1, sizeof(*a->hashes));
}

static bool
append_nodes_read(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	struct append_nodes *a = ctx;
	unsigned i;

	if (level < MERKLE_MAX_LEVELS && index >= a->old_size >> level &&
	    index - (a->old_size >> level) < a->filled[level]) {
		memcpy(out, a->hashes[a->base[level] + (index - (a->old_size >> level))], MERKLE_HASH_LEN);
		return true;
	}
	for (i = 0; i < a->edge.count; i++)
		if (a->edge.levels[i] == level && a->edge.indexes[i] == index) {
			memcpy(out, a->edge_hashes[i], MERKLE_HASH_LEN);
			return true;
		}
	return tlog_node_read(&a->reader, level, index, out, err);
}

/* Keeps the nodes one merkle_append() completed. */
static bool
append_nodes_put(struct append_nodes *a, const struct merkle_node *nodes, unsigned count, struct vl_error *err)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		unsigned l = nodes[i].level;

		/* In order, and inside the range: anything else is a bug here. */
		if (l >= MERKLE_MAX_LEVELS || nodes[i].index != (a->old_size >> l) + a->filled[l] ||
		    a->base[l] + a->filled[l] >= a->base[l + 1])
			return vl_error_set(err, VL_INTERNAL, "log append: node (%u, %" PRIu64 ") out of order", l,
			    nodes[i].index);
		memcpy(a->hashes[a->base[l] + a->filled[l]], nodes[i].hash, MERKLE_HASH_LEN);
		a->filled[l]++;
	}
	return true;
}

/* Stores entries, the nodes they complete, the new head and the signed
 * checkpoint: $1 log, $2 the first new index, $3-$5 the entries' kinds,
 * bytes and leaf hashes, $6-$8 the nodes' levels, indexes and hashes, $9 the
 * new size, $10 the checkpoint note, $11 its root, $12 the new right edge. */
static const struct store_statement append_statement = {
	"tlog_append_many",
	"WITH e AS (INSERT INTO log_entries (log_id, leaf_index, kind, entry, leaf_hash)"
	"  SELECT $1, $2::bigint + u.o - 1, u.k, u.e, u.h"
	"  FROM unnest($3::text[], $4::bytea[], $5::bytea[]) WITH ORDINALITY AS u (k, e, h, o)),"
	" n AS (INSERT INTO log_nodes (log_id, level, node_index, hash)"
	"  SELECT $1, l, i, h FROM unnest($6::int[], $7::bigint[], $8::bytea[]) AS u (l, i, h)),"
	" h AS (UPDATE log_heads SET tree_size = $9, right_edge = $12 WHERE log_id = $1)"
	" INSERT INTO log_checkpoints (log_id, tree_size, root_hash, note) VALUES ($1, $9, $11, $10)", 12
};
/* The writer's lock, and the head as the previous writer left it. */
static const struct store_statement head_lock_statement = {
	"tlog_head_lock", "SELECT tree_size, right_edge FROM log_heads WHERE log_id = $1 FOR UPDATE", 1
};

/* Locks the head row and reads the old size and right edge into `a`
 * (initialised for `count` new leaves). */
static bool
head_lock(PGconn *conn, const struct tlog *log, size_t count, struct append_nodes *a, struct vl_error *err)
{
	const char *params[1] = {log->log_id};
	PGresult *res;
	uint64_t size;
	size_t edge_len;
	unsigned i;

	/* One writer per log, across every vledgerd on this database: the head
	 * row's lock is held until this transaction ends. A statement that
	 * waited for the lock returns the row as the previous writer left it
	 * (READ COMMITTED re-reads a locked row), so size and edge are current
	 * even though everything else this statement could see is not. */
	res = store_exec_prepared(conn, &head_lock_statement, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "log lock", err);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8) {
		PQclear(res);
		return vl_error_set(err, VL_DATA_LOSS, "log %s has no head row (sql/013_log_heads.sql)", log->log_id);
	}
	size = int8_value(res, 0, 0);
	if (size > UINT64_MAX - 1 - count) {
		PQclear(res);
		return vl_error_set(err, VL_RESOURCE_EXHAUSTED, "the log is full");
	}
	append_nodes_init(a, conn, log->log_id, size, size + count);
	edge_len = (size_t)PQgetlength(res, 0, 1);
	if (edge_len != a->edge.count * MERKLE_HASH_LEN) {
		PQclear(res);
		return vl_error_set(err, VL_DATA_LOSS, "log %s: the head row's right edge has %zu bytes for a tree of %"
		    PRIu64 " entries; run vledgerd --verify-storage", log->log_id, edge_len, size);
	}
	for (i = 0; i < a->edge.count; i++)
		memcpy(a->edge_hashes[i], PQgetvalue(res, 0, 1) + i * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
	PQclear(res);
	return true;
}

/* The second statement's node parameters: every new node. */
struct node_params {
	char *levels, *indexes, *hashes;
};

static void
node_params_build(const struct append_nodes *a, struct node_params *p)
{
	const uint8_t **hashes = xcalloc(a->total + 1, sizeof(*hashes));
	size_t lo = 0, io = 0, k = 0, lsize = a->total * 4 + 3, isize = a->total * 21 + 3;
	uint64_t j;
	unsigned l;

	p->levels = xmalloc(lsize);
	p->indexes = xmalloc(isize);
	p->levels[lo++] = '{';
	p->indexes[io++] = '{';
	for (l = 0; l < MERKLE_MAX_LEVELS; l++)
		for (j = 0; j < a->filled[l]; j++, k++) {
			lo += (size_t)snprintf(p->levels + lo, lsize - lo, "%s%u", k > 0 ? "," : "", l);
			io += (size_t)snprintf(p->indexes + io, isize - io, "%s%" PRIu64, k > 0 ? "," : "",
			    (a->old_size >> l) + j);
			hashes[k] = a->hashes[a->base[l] + j];
		}
	p->levels[lo++] = '}';
	p->levels[lo] = '\0';
	p->indexes[io++] = '}';
	p->indexes[io] = '\0';
	p->hashes = pg_bytea_array(hashes, NULL, MERKLE_HASH_LEN, k);
	free(hashes);
}

static void
node_params_free(struct node_params *p)
{
	free(p->levels);
	free(p->indexes);
	free(p->hashes);
}

bool
tlog_append(PGconn *conn, const struct tlog *log, const char *kind, const char *actor, const json_t *facts,
    struct tlog_receipt *receipt, struct vl_error *err)
{
	struct tlog_entry_in in = {kind, actor, facts};

	return tlog_append_many(conn, log, 1, &in, receipt, err);
}

bool
tlog_append_many(PGconn *conn, const struct tlog *log, size_t count, const struct tlog_entry_in *in,
    struct tlog_receipt *receipts, struct vl_error *err)
{
	struct append_nodes a;
	struct merkle_node nodes[MERKLE_MAX_LEVELS];
	struct node_params np = {NULL, NULL, NULL};
	struct right_edge new_edge;
	uint8_t root[MERKLE_HASH_LEN], *edge = NULL;
	char first_text[24], size_text[24], *body = NULL, *note = NULL, *kinds = NULL, *entries = NULL, *leaves = NULL;
	const char **kind_list = NULL;
	const uint8_t **entry_list = NULL, **leaf_list = NULL;
	size_t *entry_lens = NULL, i, s;
	const char *params[12];
	int lengths[12] = {0}, formats[12] = {0};
	unsigned n, e;
	bool ok = false;

	memset(&a, 0, sizeof(a));
	memset(receipts, 0, count * sizeof(*receipts));
	if (count == 0)
		return vl_error_set(err, VL_INTERNAL, "log append: no entries");
	for (i = 0; i < count; i++) {
		char *bytes;
		size_t len;

		if (strspn(in[i].kind, "abcdefghijklmnopqrstuvwxyz_") != strlen(in[i].kind) || in[i].kind[0] == '\0') {
			vl_error_set(err, VL_INTERNAL, "log append: bad entry kind \"%s\"", in[i].kind);
			goto out;
		}
		if (!entry_bytes(in[i].kind, in[i].actor, in[i].facts, &bytes, &len, err))
			goto out;
		/* The receipt owns the entry from here: a failure frees it. */
		receipts[i].entry = (uint8_t *)bytes;
		receipts[i].entry_len = len;
		if (len > TLOG_ENTRY_MAX) {
			vl_error_set(err, VL_INVALID_ARGUMENT, "the %s log entry would be %zu bytes; entries are at most %d"
			    " bytes", in[i].kind, len, TLOG_ENTRY_MAX);
			goto out;
		}
		merkle_leaf_hash(bytes, len, receipts[i].leaf_hash);
	}

	/* Parsing and planning happen now, not while the lock is held. */
	if (!store_prepare(conn, &append_statement, err) || !head_lock(conn, log, count, &a, err))
		goto out;
	for (i = 0; i < count; i++) {
		receipts[i].leaf_index = a.old_size + i;
		receipts[i].tree_size = a.new_size;
		if (!merkle_append(a.old_size + i, receipts[i].leaf_hash, append_nodes_read, &a, nodes, &n, err) ||
		    !append_nodes_put(&a, nodes, n, err))
			goto out;
	}
	if (!merkle_root(a.new_size, append_nodes_read, &a, root, err))
		goto out;
	for (i = 0; i < count; i++)
		if (!merkle_inclusion_proof(receipts[i].leaf_index, a.new_size, append_nodes_read, &a, &receipts[i].proof,
		    &receipts[i].proof_count, err))
			goto out;
	right_edge_of(a.new_size, &new_edge);
	edge = xmalloc(new_edge.count * MERKLE_HASH_LEN + 1);
	for (e = 0; e < new_edge.count; e++)
		if (!append_nodes_read(&a, new_edge.levels[e], new_edge.indexes[e], edge + e * MERKLE_HASH_LEN, err))
			goto out;
	body = checkpoint_body(log->origin, a.new_size, root);
	if (!note_sign(log->signer, body, strlen(body), &note, err))
		goto out;
	for (i = 0; i < count; i++)
		receipts[i].checkpoint = xstrdup(note);

	kind_list = xcalloc(count, sizeof(*kind_list));
	entry_list = xcalloc(count, sizeof(*entry_list));
	leaf_list = xcalloc(count, sizeof(*leaf_list));
	entry_lens = xcalloc(count, sizeof(*entry_lens));
	for (i = 0; i < count; i++) {
		kind_list[i] = in[i].kind;
		entry_list[i] = receipts[i].entry;
		entry_lens[i] = receipts[i].entry_len;
		leaf_list[i] = receipts[i].leaf_hash;
	}
	kinds = pg_text_array(kind_list, count);
	entries = pg_bytea_array(entry_list, entry_lens, 0, count);
	leaves = pg_bytea_array(leaf_list, NULL, MERKLE_HASH_LEN, count);
	node_params_build(&a, &np);
	snprintf(first_text, sizeof(first_text), "%" PRIu64, a.old_size);
	snprintf(size_text, sizeof(size_text), "%" PRIu64, a.new_size);
	params[0] = log->log_id;
	params[1] = first_text;
	params[2] = kinds;
	params[3] = entries;
	params[4] = leaves;
	params[5] = np.levels;
	params[6] = np.indexes;
	params[7] = np.hashes;
	params[8] = size_text;
	params[9] = note;
	params[10] = (const char *)root;
	lengths[10] = MERKLE_HASH_LEN;
	formats[10] = 1;
	s = new_edge.count * MERKLE_HASH_LEN;
	params[11] = (const char *)edge;
	lengths[11] = (int)s;
	formats[11] = 1;
	/* When the job allows it (store.h, "The tail of a write"), this
	 * statement and everything after it up to COMMIT go out without
	 * waiting for answers: the lock is held for one more round trip, not
	 * one per statement. Its errors then surface at COMMIT. */
	if (store_tail_allowed(conn) && !store_tail_start(conn, err))
		goto out;
	if (!store_tail_exec_prepared(conn, &append_statement, params, lengths, formats, "log append", err))
		goto out;
	appended_here = true;
	appended_log = log;
	appended_size = a.new_size;
	ok = true;
out:
	if (!ok)
		for (i = 0; i < count; i++)
			tlog_receipt_free(&receipts[i]);
	node_params_free(&np);
	free(kind_list);
	free(entry_list);
	free(leaf_list);
	free(entry_lens);
	free(kinds);
	free(entries);
	free(leaves);
	free(edge);
	free(body);
	free(note);
	free(a.hashes);
	return ok;
}
