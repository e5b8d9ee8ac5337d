/*
 * tlog_internal.h - what tlog.c (checkpoints, proofs, tiles, the storage
 * check) and tlog_append.c (the append path) share. Not for other modules.
 */
#ifndef VLEDGER_TLOG_INTERNAL_H
#define VLEDGER_TLOG_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "vledger/error.h"
#include "vledger/merkle.h"

/* A bigint column in binary format. */
static inline uint64_t
int8_value(const PGresult *res, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(res, row, col);
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads complete-subtree hashes from log_nodes, one query per node: the
 * fallback of every in-memory node source (a merkle_hash_fn; ctx is a
 * struct node_reader). */
struct node_reader {
	PGconn *conn;
	const char *log_id;
};

bool tlog_node_read(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err);

/* The right edge of the tree of `size` leaves: the complete subtree of
 * each set bit of size, (k, (size >> k) - 1), highest level first - the
 * order of log_heads.right_edge (sql/013_log_heads.sql). */
struct right_edge {
	unsigned count;
	unsigned levels[64];
	uint64_t indexes[64];
};

void right_edge_of(uint64_t size, struct right_edge *e);

/* Raises a size a log keeps for all workers (durable_size, seen_size) to
 * at least `size`. Those and durable_confirmed_us are the only fields of a
 * log that change after tlog_open: atomic, and written through a const
 * log. */
static inline void
size_raise(const _Atomic uint64_t *field, uint64_t size)
{
	_Atomic uint64_t *f = (_Atomic uint64_t *)field;
	uint64_t seen = atomic_load(f);

	while (seen < size && !atomic_compare_exchange_weak(f, &seen, size))
		;
}

/* CLOCK_MONOTONIC in microseconds. */
static inline int64_t
tlog_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* durable_size is the latest checkpoint's size as of now (log: a const
 * struct tlog *, whose confirmation fields are atomic). */
#define durable_confirm(log) do {						\
	atomic_store((_Atomic int64_t *)&(log)->durable_confirmed_us, tlog_now_us());	\
	atomic_store((_Atomic bool *)&(log)->latest_refreshing, false);		\
} while (0)

#endif
