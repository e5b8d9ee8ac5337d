/*
 * log_service.h - vledger.v1.LogService (public proofs and entries), the
 * log's plain HTTP resources (C2SP tlog-tiles under /log/), and receipts for
 * the write RPCs of every other service.
 */
#ifndef VLEDGER_LOG_SERVICE_H
#define VLEDGER_LOG_SERVICE_H

#include <stddef.h>

#include "vledger/app.h"
#include "vledger/http_server.h"
#include "vledger/rpc.h"
#include "vledger/tlog.h"
#include "vledger/v1/log.pb-c.h"

extern const struct rpc_method log_methods[];
extern const size_t log_methods_count;

/* Serves GET /log/checkpoint, /log/vkey, /log/tile/... Always answers. */
void log_serve_http(struct app *app, struct http_request *req);

/* A write's log entry and the Receipt message for its response. */
struct log_record {
	struct tlog_receipt receipt;
	Vledger__V1__Receipt message;  /* points into receipt and hashes */
	ProtobufCBinaryData *hashes;
};

/* For a write RPC's store job, inside its transaction: appends the entry
 * `kind` with `facts` (a JSON object; this function takes the reference),
 * acted by the caller's token, and fills `record` for the response. Free
 * with log_record_release() whether or not it succeeded. */
VL_MUST_CHECK bool log_record_append(PGconn *conn, const struct rpc_call *call, const char *kind, json_t *facts,
    struct log_record *record, struct vl_error *err);

/* The same, and indexes the entry under the volunteer and/or organisation
 * it concerns (either may be NULL) for ListEntries (entry_subjects). Every
 * entry about a volunteer or an organisation's records should use this. */
VL_MUST_CHECK bool log_record_append_about(PGconn *conn, const struct rpc_call *call, const char *kind, json_t *facts,
    const char *volunteer_id, const char *organization_id, struct log_record *record, struct vl_error *err);

/* One entry of a batch for log_records_append_about(). */
struct log_append {
	const struct rpc_call *call;        /* whose token is the actor */
	const char *kind;
	json_t *facts;                      /* the function takes the reference */
	const char *volunteer_id, *organization_id;  /* either may be NULL */
	struct log_record *record;          /* filled; release it either way */
};

/* log_record_append_about() for a batch, in order, as ONE append
 * (tlog_append_many: one checkpoint for all) and one index statement. */
VL_MUST_CHECK bool log_records_append_about(PGconn *conn, struct log_append *items, size_t count,
    struct vl_error *err);
void log_record_release(struct log_record *record);

/* A Receipt message that points into `receipt`; `hashes` must have room for
 * receipt->proof_count items and outlive the message. */
void log_receipt_message(const struct tlog_receipt *receipt, Vledger__V1__Receipt *msg, ProtobufCBinaryData *hashes);

#endif
