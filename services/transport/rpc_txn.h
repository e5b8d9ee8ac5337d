/*
 * rpc_txn.h - the transaction around a call's database work, shared by
 * single calls (rpc_job.c) and batches of calls (rpc_batch.c). Store
 * worker threads only. Not for handlers: they use rpc.h / rpc_batch.h.
 */
#ifndef VLEDGER_RPC_TXN_H
#define VLEDGER_RPC_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vledger/error.h"

/* BEGIN, with every statement and lock wait limited to timeout_ms (0: no
 * limit), so that work whose caller has given up rolls back instead of
 * committing. Also forgets what an earlier job left (tail, append mark). */
VL_MUST_CHECK bool rpc_txn_begin(PGconn *conn, int64_t timeout_ms, struct vl_error *err);

/* COMMIT, and the flush before anything is answered (see rpc_job.c): when
 * the transaction appended to the log, or when `flush` asks for it (an
 * answer stored by an earlier transaction is about to be sent again).
 * *committed tells whether COMMIT succeeded: a failure after it means the
 * write is in but not known to be on disk, and err says so. A failure
 * before it leaves the transaction for rpc_txn_rollback(). */
VL_MUST_CHECK bool rpc_txn_commit(PGconn *conn, bool flush, bool *committed, struct vl_error *err);

/* ROLLBACK, also of a pipelined tail still running. */
void rpc_txn_rollback(PGconn *conn);

#endif
