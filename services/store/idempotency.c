/*
 * idempotency.c - idempotency keys for write RPCs. See idempotency.h.
 */
#include "vledger/idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "vledger/codec.h"
#include "vledger/log.h"
#include "vledger/store.h"

bool
idempotency_key_valid(const char *key, struct vl_error *err)
{
	if (key == NULL || key[0] == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "idempotencyKey: required");
	if (strlen(key) > 200)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "idempotencyKey: at most 200 bytes");
	return true;
}

void
idempotency_request_hash(const struct rpc_call *call, uint8_t hash[32], char procedure[256])
{
	uint8_t *packed, *buf;
	size_t len, prefix_len;

	codec_encode_binary(call->request, &packed, &len);
	snprintf(procedure, 256, "%s/%s", call->method->service, call->method->name);
	prefix_len = strlen(procedure) + 1;
	buf = xmalloc(prefix_len + len);
	memcpy(buf, procedure, prefix_len);
	memcpy(buf + prefix_len, packed, len);
	SHA256(buf, prefix_len + len, hash);
	free(buf);
	free(packed);
}

static const struct store_statement idempotency_replay_statement = {
	"idempotency_replay",
	"SELECT procedure = $3 AND request_hash = $4, response FROM idempotency_keys"
	" WHERE token_id = $1 AND key = $2",
	4
};

static const struct store_statement idempotency_claim_statement = {
	"idempotency_claim",
	"INSERT INTO idempotency_keys (token_id, key, procedure, request_hash) VALUES ($1, $2, $3, $4)"
	" ON CONFLICT (token_id, key) DO NOTHING",
	4
};

/* Runs after the write's append, maybe in its pipelined tail (store.h):
 * idempotency_claim, which comes before, prepares it. */
static const struct store_statement response_update = {
	"idempotency_response", "UPDATE idempotency_keys SET response = $3 WHERE token_id = $1 AND key = $2", 3
};

bool
idempotency_claim(PGconn *conn, const struct rpc_call *call, const char *key, uint8_t **replay, size_t *replay_len,
    struct vl_error *err)
{
	uint8_t hash[32];
	char procedure[256];
	const char *params[4];
	int lengths[4] = {0, 0, 0, 32};
	int formats[4] = {0, 0, 0, 1};
	PGresult *res;
	bool ok = false;

	*replay = NULL;
	*replay_len = 0;
	if (!store_prepare(conn, &response_update, err))
		return false;
	idempotency_request_hash(call, hash, procedure);
	params[0] = call->principal.token_id;
	params[1] = key;
	params[2] = procedure;
	params[3] = (const char *)hash;
	res = store_exec_prepared(conn, &idempotency_claim_statement, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res, "idempotencyKey", err);
		PQclear(res);
		return false;
	}
	if (strcmp(PQcmdTuples(res), "1") == 0) {
		PQclear(res);
		return true;
	}
	PQclear(res);
	res = store_exec_prepared(conn, &idempotency_replay_statement, params, lengths, formats, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "idempotencyKey", err);
		goto out;
	}
	if (PQgetvalue(res, 0, 0)[0] != 1 || PQgetisnull(res, 0, 1)) {
		vl_error_set(err, VL_ALREADY_EXISTS, IDEMPOTENCY_KEY_REUSED);
		goto out;
	}
	/* The stored answer may be that of a write that committed a moment
	 * ago and whose flush to disk is not confirmed yet (rpc_job.c): this
	 * transaction waits for it before the answer is sent again. */
	if (!store_wal_barrier(conn, err))
		goto out;
	*replay_len = (size_t)PQgetlength(res, 0, 1);
	*replay = xmalloc(*replay_len);
	memcpy(*replay, PQgetvalue(res, 0, 1), *replay_len);
	ok = true;
out:
	PQclear(res);
	return ok;
}

bool
idempotency_record(PGconn *conn, const struct rpc_call *call, const char *key, const uint8_t *response,
    size_t response_len, struct vl_error *err)
{
	const char *params[3] = {call->principal.token_id, key, (const char *)response};
	int lengths[3] = {0, 0, (int)response_len};
	int formats[3] = {0, 0, 1};

	return store_tail_exec_prepared(conn, &response_update, params, lengths, formats, "idempotencyKey", err);
}
