/*
 * log_service.c - LogService RPCs, the /log/ HTTP resources and receipts.
 */
#include "vledger/log_service.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/codec.h"
#include "vledger/log.h"
#include "vledger/pg_array.h"
#include "vledger/store.h"

#define ENTRIES_PER_CALL 1000

void
log_receipt_message(const struct tlog_receipt *receipt, Vledger__V1__Receipt *msg, ProtobufCBinaryData *hashes)
{
	size_t i;

	vledger__v1__receipt__init(msg);
	msg->leaf_index = receipt->leaf_index;
	msg->tree_size = receipt->tree_size;
	msg->leaf_hash.data = (uint8_t *)receipt->leaf_hash;
	msg->leaf_hash.len = MERKLE_HASH_LEN;
	msg->checkpoint = receipt->checkpoint;
	for (i = 0; i < receipt->proof_count; i++) {
		hashes[i].data = receipt->proof[i];
		hashes[i].len = MERKLE_HASH_LEN;
	}
	msg->n_inclusion_proof = receipt->proof_count;
	msg->inclusion_proof = hashes;
	msg->entry.data = receipt->entry;
	msg->entry.len = receipt->entry_len;
}

bool
log_record_append(PGconn *conn, const struct rpc_call *call, const char *kind, json_t *facts,
    struct log_record *record, struct vl_error *err)
{
	bool ok;

	memset(record, 0, sizeof(*record));
	/* Public RPCs (feedback) have no token: their actor is "public". */
	ok = tlog_append(conn, call->app->tlog, kind,
	    call->principal.token_id[0] != '\0' ? call->principal.token_id : "public", facts, &record->receipt, err);
	json_decref(facts);
	if (!ok)
		return false;
	record->hashes = xcalloc(record->receipt.proof_count + 1, sizeof(*record->hashes));
	log_receipt_message(&record->receipt, &record->message, record->hashes);
	return true;
}

/* Every entry of a batch indexed in one statement: $1 log, $2 the first
 * entry's leaf index (the others follow it), $3-$5 kinds, volunteers and
 * organisations (NULL elements for none). */
static const struct store_statement subjects_insert = {
	"entry_subjects_insert_many",
	"INSERT INTO entry_subjects (log_id, leaf_index, kind, volunteer_id, organization_id)"
	" SELECT $1, $2::bigint + u.o - 1, u.k, u.v, u.g"
	" FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u (k, v, g, o)", 5
};

bool
log_record_append_about(PGconn *conn, const struct rpc_call *call, const char *kind, json_t *facts,
    const char *volunteer_id, const char *organization_id, struct log_record *record, struct vl_error *err)
{
	struct log_append one = {call, kind, facts, volunteer_id, organization_id, record};

	return log_records_append_about(conn, &one, 1, err);
}

bool
log_records_append_about(PGconn *conn, struct log_append *items, size_t count, struct vl_error *err)
{
	struct tlog_entry_in *in = xcalloc(count, sizeof(*in));
	struct tlog_receipt *receipts = xcalloc(count, sizeof(*receipts));
	const char **kinds = xcalloc(count, sizeof(*kinds)), **volunteers = xcalloc(count, sizeof(*volunteers)),
	    **orgs = xcalloc(count, sizeof(*orgs));
	char first[24], *kind_list = NULL, *volunteer_list = NULL, *org_list = NULL;
	const char *params[5];
	size_t i;
	bool ok = false;

	for (i = 0; i < count; i++) {
		const struct rpc_call *call = items[i].call;

		memset(items[i].record, 0, sizeof(*items[i].record));
		/* Public RPCs (feedback) have no token: their actor is "public". */
		in[i].kind = items[i].kind;
		in[i].actor = call->principal.token_id[0] != '\0' ? call->principal.token_id : "public";
		in[i].facts = items[i].facts;
		kinds[i] = items[i].kind;
		volunteers[i] = items[i].volunteer_id;
		orgs[i] = items[i].organization_id;
	}
	/* Prepared before the append: it may run in a pipelined tail. */
	if (!store_prepare(conn, &subjects_insert, err) ||
	    !tlog_append_many(conn, items[0].call->app->tlog, count, in, receipts, err))
		goto out;
	for (i = 0; i < count; i++) {
		struct log_record *record = items[i].record;

		record->receipt = receipts[i];
		record->hashes = xcalloc(record->receipt.proof_count + 1, sizeof(*record->hashes));
		log_receipt_message(&record->receipt, &record->message, record->hashes);
	}
	snprintf(first, sizeof(first), "%llu", (unsigned long long)receipts[0].leaf_index);
	kind_list = pg_text_array(kinds, count);
	volunteer_list = pg_text_array(volunteers, count);
	org_list = pg_text_array(orgs, count);
	params[0] = items[0].call->app->tlog->log_id;
	params[1] = first;
	params[2] = kind_list;
	params[3] = volunteer_list;
	params[4] = org_list;
	ok = store_tail_exec_prepared(conn, &subjects_insert, params, NULL, NULL, "entry index", err);
out:
	for (i = 0; i < count; i++)
		json_decref(items[i].facts);
	free(kind_list);
	free(volunteer_list);
	free(org_list);
	free(kinds);
	free(volunteers);
	free(orgs);
	free(receipts);
	free(in);
	return ok;
}

void
log_record_release(struct log_record *record)
{
	tlog_receipt_free(&record->receipt);
	free(record->hashes);
	record->hashes = NULL;
}

static bool
checkpoint_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	Vledger__V1__GetCheckpointResponse out = VLEDGER__V1__GET_CHECKPOINT_RESPONSE__INIT;
	uint8_t root[MERKLE_HASH_LEN];
	char *note;
	uint64_t size;

	if (!tlog_latest(conn, call->app->tlog, &size, root, &note, err))
		return false;
	out.checkpoint = note;
	out.tree_size = size;
	out.root_hash.data = root;
	out.root_hash.len = MERKLE_HASH_LEN;
	codec_encode_binary(&out.base, response, response_len);
	free(note);
	return true;
}

static void
get_checkpoint(struct rpc_call *call)
{
	rpc_run_read_job(call, checkpoint_job, NULL);
}

/* Packs a proof response: `hashes` field of either proof message. */
static void
proof_fill(uint8_t (*proof)[MERKLE_HASH_LEN], size_t count, ProtobufCBinaryData **out)
{
	size_t i;

	*out = xcalloc(count > 0 ? count : 1, sizeof(**out));
	for (i = 0; i < count; i++) {
		(*out)[i].data = proof[i];
		(*out)[i].len = MERKLE_HASH_LEN;
	}
}

static bool
inclusion_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetInclusionProofRequest *req = (const void *)call->request;
	Vledger__V1__GetInclusionProofResponse out = VLEDGER__V1__GET_INCLUSION_PROOF_RESPONSE__INIT;
	uint8_t (*proof)[MERKLE_HASH_LEN];
	ProtobufCBinaryData *hashes;
	uint64_t size = req->tree_size;
	size_t count;

	/* 0: the latest checkpoint, read once for both the size and the check. */
	if (size == 0 ? !tlog_inclusion_proof_latest(conn, call->app->tlog, req->leaf_index, &size, &proof, &count, err) :
	    !tlog_inclusion_proof(conn, call->app->tlog, req->leaf_index, size, &proof, &count, err))
		return false;
	proof_fill(proof, count, &hashes);
	out.leaf_index = req->leaf_index;
	out.tree_size = size;
	out.n_hashes = count;
	out.hashes = hashes;
	codec_encode_binary(&out.base, response, response_len);
	free(hashes);
	free(proof);
	return true;
}

static void
get_inclusion_proof(struct rpc_call *call)
{
	const Vledger__V1__GetInclusionProofRequest *req = (const void *)call->request;
	Vledger__V1__GetInclusionProofResponse out = VLEDGER__V1__GET_INCLUSION_PROOF_RESPONSE__INIT;
	uint8_t (*proof)[MERKLE_HASH_LEN];
	ProtobufCBinaryData *hashes;
	uint64_t size;
	size_t count;

	/* Every node cached and the checkpoint known: answered here, on the
	 * loop, without a trip to a store worker and the database. */
	if (!tlog_inclusion_proof_cached(call->app->tlog, req->leaf_index, req->tree_size, &size, &proof, &count)) {
		rpc_run_read_job(call, inclusion_job, NULL);
		return;
	}
	proof_fill(proof, count, &hashes);
	out.leaf_index = req->leaf_index;
	out.tree_size = size;
	out.n_hashes = count;
	out.hashes = hashes;
	rpc_reply(call, &out.base);
	free(hashes);
	free(proof);
}

static bool
consistency_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetConsistencyProofRequest *req = (const void *)call->request;
	Vledger__V1__GetConsistencyProofResponse out = VLEDGER__V1__GET_CONSISTENCY_PROOF_RESPONSE__INIT;
	uint8_t (*proof)[MERKLE_HASH_LEN];
	ProtobufCBinaryData *hashes;
	uint64_t to = req->to_size;
	size_t count;

	if (to == 0 ? !tlog_consistency_proof_latest(conn, call->app->tlog, req->from_size, &to, &proof, &count, err) :
	    !tlog_consistency_proof(conn, call->app->tlog, req->from_size, to, &proof, &count, err))
		return false;
	proof_fill(proof, count, &hashes);
	out.from_size = req->from_size;
	out.to_size = to;
	out.n_hashes = count;
	out.hashes = hashes;
	codec_encode_binary(&out.base, response, response_len);
	free(hashes);
	free(proof);
	return true;
}

static void
get_consistency_proof(struct rpc_call *call)
{
	rpc_run_read_job(call, consistency_job, NULL);
}

struct entries_out {
	Vledger__V1__LogEntry *items;
	Vledger__V1__LogEntry **ptrs;
	uint8_t *storage;  /* copies of entries and hashes, since the result is freed */
	size_t count;
};

static void
entry_collect(void *arg, uint64_t index, const uint8_t *entry, size_t len, const uint8_t leaf_hash[MERKLE_HASH_LEN])
{
	struct entries_out *o = arg;
	Vledger__V1__LogEntry *e = &o->items[o->count];
	uint8_t *copy = xmalloc(len + MERKLE_HASH_LEN);

	memcpy(copy, leaf_hash, MERKLE_HASH_LEN);
	memcpy(copy + MERKLE_HASH_LEN, entry, len);
	vledger__v1__log_entry__init(e);
	e->leaf_index = index;
	e->leaf_hash.data = copy;
	e->leaf_hash.len = MERKLE_HASH_LEN;
	e->entry.data = copy + MERKLE_HASH_LEN;
	e->entry.len = len;
	o->ptrs[o->count] = e;
	o->count++;
}

static bool
entries_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetEntriesRequest *req = (const void *)call->request;
	Vledger__V1__GetEntriesResponse out = VLEDGER__V1__GET_ENTRIES_RESPONSE__INIT;
	struct entries_out o;
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t latest, n = req->end - req->start;
	size_t i;
	bool ok;

	if (!tlog_latest(conn, call->app->tlog, &latest, root, NULL, err))
		return false;
	if (req->end > latest)
		return vl_error_set(err, VL_OUT_OF_RANGE, "end: %" PRIu64 " is beyond the latest checkpoint (%" PRIu64 ")",
		    req->end, latest);
	memset(&o, 0, sizeof(o));
	o.items = xcalloc(n > 0 ? n : 1, sizeof(*o.items));
	o.ptrs = xcalloc(n > 0 ? n : 1, sizeof(*o.ptrs));
	ok = tlog_entries(conn, call->app->tlog, req->start, req->end, entry_collect, &o, err);
	if (ok) {
		out.n_entries = o.count;
		out.entries = o.ptrs;
		codec_encode_binary(&out.base, response, response_len);
	}
	for (i = 0; i < o.count; i++)
		free(o.items[i].leaf_hash.data);
	free(o.items);
	free(o.ptrs);
	return ok;
}

static void
get_entries(struct rpc_call *call)
{
	const Vledger__V1__GetEntriesRequest *req = (const void *)call->request;
	struct vl_error err;

	if (req->end <= req->start) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "end: must be larger than start");
		rpc_fail(call, &err);
		return;
	}
	if (req->end - req->start > ENTRIES_PER_CALL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "end: at most %d entries per call", ENTRIES_PER_CALL);
		rpc_fail(call, &err);
		return;
	}
	rpc_run_read_job(call, entries_job, NULL);
}

const struct rpc_method log_methods[] = {
	{"vledger.v1.LogService", "GetCheckpoint", &vledger__v1__get_checkpoint_request__descriptor,
	    &vledger__v1__get_checkpoint_response__descriptor, RPC_PUBLIC, get_checkpoint, false},
	{"vledger.v1.LogService", "GetInclusionProof", &vledger__v1__get_inclusion_proof_request__descriptor,
	    &vledger__v1__get_inclusion_proof_response__descriptor, RPC_PUBLIC, get_inclusion_proof, false},
	{"vledger.v1.LogService", "GetConsistencyProof", &vledger__v1__get_consistency_proof_request__descriptor,
	    &vledger__v1__get_consistency_proof_response__descriptor, RPC_PUBLIC, get_consistency_proof, false},
	{"vledger.v1.LogService", "GetEntries", &vledger__v1__get_entries_request__descriptor,
	    &vledger__v1__get_entries_response__descriptor, RPC_PUBLIC, get_entries, false},
};
const size_t log_methods_count = sizeof(log_methods) / sizeof(log_methods[0]);

/*
 * The /log/ HTTP resources. Each read runs as a store job; the reply is
 * sent from its done callback.
 */
struct log_http {
	struct app *app;
	struct http_request *req;
	enum { LOG_HTTP_CHECKPOINT, LOG_HTTP_TILE } what;
	struct tile_ref tile;
	bool ok;
	struct vl_error err;
	uint8_t *data;
	size_t len;
};

static void
log_http_job(PGconn *conn, void *arg)
{
	struct log_http *h = arg;
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t size;
	char *note;

	if (h->what == LOG_HTTP_CHECKPOINT) {
		h->ok = tlog_latest(conn, h->app->tlog, &size, root, &note, &h->err);
		if (h->ok) {
			h->data = (uint8_t *)note;
			h->len = strlen(note);
		}
	} else {
		h->ok = tlog_tile(conn, h->app->tlog, &h->tile, &h->data, &h->len, &h->err);
	}
}

static void
log_http_done(void *arg)
{
	struct log_http *h = arg;
	/* Full tiles never change: cache them forever. Partial tiles and the
	 * checkpoint change with every write. */
	static const char *const immutable[] = {"Cache-Control: public, max-age=31536000, immutable",
	    "Access-Control-Allow-Origin: *", NULL};
	static const char *const fresh[] = {"Cache-Control: no-cache", "Access-Control-Allow-Origin: *", NULL};
	char body[300];

	if (h->ok) {
		bool full = h->what == LOG_HTTP_TILE && h->tile.width == TILE_WIDTH;

		http_reply(h->req, 200, h->what == LOG_HTTP_CHECKPOINT ? "text/plain; charset=utf-8" :
		    "application/octet-stream", h->data, h->len, full ? immutable : fresh);
	} else {
		int status = h->err.code == VL_NOT_FOUND ? 404 : h->err.code == VL_UNAVAILABLE ? 503 : 500;

		snprintf(body, sizeof(body), "%s\n", h->err.message);
		if (status == 500)
			log_warnx("log http %s: %s", h->req->path, h->err.message);
		http_reply(h->req, status, "text/plain; charset=utf-8", body, strlen(body), fresh);
	}
	free(h->data);
	free(h);
}

void
log_serve_http(struct app *app, struct http_request *req)
{
	const char *path = req->path;
	struct log_http *h;

	if (strcmp(req->method, "GET") != 0) {
		static const char *const allow[] = {"Allow: GET", NULL};
		http_reply(req, 405, NULL, NULL, 0, allow);
		return;
	}
	if (strcmp(path, "/log/vkey") == 0) {
		char *vkey = xasprintf("%s\n", tlog_vkey(app->tlog));
		http_reply(req, 200, "text/plain; charset=utf-8", vkey, strlen(vkey), NULL);
		free(vkey);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->app = app;
	h->req = req;
	if (strcmp(path, "/log/checkpoint") == 0) {
		h->what = LOG_HTTP_CHECKPOINT;
	} else if (strncmp(path, "/log/tile/", 10) == 0 && tile_path_parse(path + 10, &h->tile)) {
		h->what = LOG_HTTP_TILE;
	} else {
		free(h);
		http_reply(req, 404, "text/plain; charset=utf-8", "no such log resource\n", 21, NULL);
		return;
	}
	/* Bounded like RPCs (--max-queued-jobs): refused at once when full. */
	if (!store_try_submit(app->store, log_http_job, log_http_done, h)) {
		static const char *const retry[] = {"Retry-After: 1", NULL};

		free(h);
		http_reply(req, 503, "text/plain; charset=utf-8", "server busy: try again in a moment\n", 35, retry);
	}
}
