/*
 * idempotency.h - "a retried request with the same idempotency key is
 * recorded once".
 *
 * Inside the write's transaction, idempotency_claim() inserts (caller's
 * token, key, procedure, SHA-256 of the packed request). If the key is new,
 * the write goes ahead and idempotency_record() stores the packed response
 * in the same transaction. If the key exists with the same request hash,
 * the stored response is returned and nothing is written; with a different
 * request, VL_ALREADY_EXISTS. Two concurrent requests with one key serialise
 * on the primary key: the second waits for the first to commit.
 */
#ifndef VLEDGER_IDEMPOTENCY_H
#define VLEDGER_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vledger/rpc.h"

/* Validates the key's form: required, at most 200 bytes. */
VL_MUST_CHECK bool idempotency_key_valid(const char *key, struct vl_error *err);

/* On a replay, *replay is the stored packed response (malloc'd, caller
 * frees) and *replay_len its length; otherwise *replay is NULL. */
VL_MUST_CHECK bool idempotency_claim(PGconn *conn, const struct rpc_call *call, const char *key,
    uint8_t **replay, size_t *replay_len, struct vl_error *err);

/* The refusal of a key used before for another request. */
#define IDEMPOTENCY_KEY_REUSED "idempotencyKey: already used for a different request; use a new key for a new request"

/* SHA-256 over "service/method", a NUL and the packed request: what a key
 * is bound to (the same request sent as JSON or as Protobuf hashes alike).
 * *procedure gets "service/method". For batched writes that claim keys in
 * SQL (sql/015_record_shift_checks.sql). */
void idempotency_request_hash(const struct rpc_call *call, uint8_t hash[32], char procedure[256]);

VL_MUST_CHECK bool idempotency_record(PGconn *conn, const struct rpc_call *call, const char *key,
    const uint8_t *response, size_t response_len, struct vl_error *err);

#endif
