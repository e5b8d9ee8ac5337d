/*
 * subtree_cache.h - a bounded, thread-safe memory of complete Merkle subtree
 * hashes, so that proofs need not read the same nodes from log_nodes again.
 *
 * Why caching is safe: the hash of a complete node (level, index) never
 * changes as the log grows (merkle.h), and the store never rewrites one
 * (log_nodes is append-only). A hash read from the database once is right
 * for every later tree size. Put only hashes that were read from log_nodes,
 * committed and flushed to disk (appends commit before their WAL flush, and
 * a node a PostgreSQL crash took back would be stored again with another
 * hash: tlog.c caches only nodes inside a checkpoint seen flushed), never
 * one computed from or given by a client. One cache belongs to one log
 * (struct tlog).
 *
 * Bounded: all memory is allocated by subtree_cache_new(), within the
 * budget it is given; nothing is allocated afterwards. The cache is
 * set-associative: (level, index) maps to one set of SUBTREE_CACHE_WAYS
 * slots. When that set is full, the entry of the lowest level makes room
 * (the least recently used among equals), and never for an entry of a lower
 * level than every one in the set: the upper levels are in every proof and
 * few, the leaves are in one proof each and many.
 *
 * Thread safety: any number of threads may call every function but
 * subtree_cache_free() at once; the sets are locked in stripes.
 */
#ifndef VLEDGER_SUBTREE_CACHE_H
#define VLEDGER_SUBTREE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vledger/merkle.h"

#define SUBTREE_CACHE_WAYS 8

struct subtree_cache;

/* A cache that uses at most budget_bytes of memory, or NULL when that is
 * too little for its smallest form (then there is no cache: every function
 * accepts NULL, gets miss and puts do nothing). Free with
 * subtree_cache_free(). */
struct subtree_cache *subtree_cache_new(size_t budget_bytes);
void subtree_cache_free(struct subtree_cache *cache);

/* True, with the hash in out, when (level, index) is cached. */
bool subtree_cache_get(struct subtree_cache *cache, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN]);

/* Remembers the hash of the complete node (level, index), as read from
 * log_nodes. May evict a lower-level entry, or keep nothing (see above). */
void subtree_cache_put(struct subtree_cache *cache, unsigned level, uint64_t index,
    const uint8_t hash[MERKLE_HASH_LEN]);

struct subtree_cache_stats {
	size_t capacity;     /* slots */
	size_t entries;      /* slots in use */
	size_t bytes;        /* memory the cache holds */
	uint64_t hits, misses;
	uint64_t evictions;  /* entries replaced by another */
	uint64_t refused;    /* puts kept out because every entry of the set was of a higher level */
	size_t per_level[MERKLE_MAX_LEVELS];  /* entries of each level */
};

/* A snapshot (not atomic across sets). All zeros for NULL. */
void subtree_cache_stats(struct subtree_cache *cache, struct subtree_cache_stats *out);

#endif
