/*
 * subtree_cache_test.c - the bounded memory of complete subtree hashes:
 * what goes in comes out unchanged, the budget is a hard bound, the lower
 * levels make room for the upper ones and never the other way round, and
 * several threads hammering one cache agree with a reference.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/subtree_cache.h"

#include "check.h"

/* A hash that a (level, index) pair determines, so that a wrong answer
 * (another key's hash, a torn copy) is caught. */
static void
hash_of(unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	uint64_t x = index * 0x9e3779b97f4a7c15ULL + level;
	int i;

	for (i = 0; i < MERKLE_HASH_LEN; i++) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ULL;
		out[i] = (uint8_t)(x >> 56);
	}
}

static void
test_disabled(void)
{
	uint8_t h[MERKLE_HASH_LEN];
	struct subtree_cache_stats st;

	CHECK(subtree_cache_new(0) == NULL);
	CHECK(subtree_cache_new(100) == NULL);
	hash_of(3, 4, h);
	subtree_cache_put(NULL, 3, 4, h);
	CHECK(!subtree_cache_get(NULL, 3, 4, h));
	subtree_cache_stats(NULL, &st);
	CHECK(st.capacity == 0 && st.entries == 0 && st.bytes == 0);
	subtree_cache_free(NULL);
}

static void
test_get_put(void)
{
	struct subtree_cache *c = subtree_cache_new(1 << 20);
	struct subtree_cache_stats st;
	uint8_t h[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];
	uint64_t i;

	CHECK(c != NULL);
	subtree_cache_stats(c, &st);
	CHECK(st.bytes <= 1 << 20 && st.bytes > (1 << 20) - 1024);
	CHECK(st.capacity > 10000);
	CHECK(!subtree_cache_get(c, 0, 0, h));
	for (i = 0; i < 1000; i++) {
		hash_of(0, i, h);
		subtree_cache_put(c, 0, i, h);
		hash_of(5, i, h);
		subtree_cache_put(c, 5, i, h);
	}
	for (i = 0; i < 1000; i++) {
		hash_of(0, i, want);
		CHECK(subtree_cache_get(c, 0, i, h));
		CHECK(memcmp(h, want, MERKLE_HASH_LEN) == 0);
		hash_of(5, i, want);
		CHECK(subtree_cache_get(c, 5, i, h));
		CHECK(memcmp(h, want, MERKLE_HASH_LEN) == 0);
	}
	/* Same index, other level; other index, same level: misses. */
	CHECK(!subtree_cache_get(c, 1, 7, h));
	CHECK(!subtree_cache_get(c, 0, 5000, h));
	CHECK(!subtree_cache_get(c, 64, 0, h));  /* no such level */
	/* Putting a key twice keeps one entry. */
	hash_of(5, 3, h);
	subtree_cache_put(c, 5, 3, h);
	subtree_cache_stats(c, &st);
	CHECK(st.entries == 2000);
	CHECK(st.per_level[0] == 1000 && st.per_level[5] == 1000);
	CHECK(st.hits == 2000 && st.misses == 3);
	CHECK(st.evictions == 0 && st.refused == 0);
	subtree_cache_free(c);
}

/* Far more puts than slots: the memory stays what it was given, the cache
 * is full, and what it answers is still right. */
static void
test_bounded(void)
{
	const size_t budget = 64 * 1024;
	struct subtree_cache *c = subtree_cache_new(budget);
	struct subtree_cache_stats st;
	uint8_t h[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];
	uint64_t i, found = 0;

	CHECK(c != NULL);
	for (i = 0; i < 100000; i++) {
		hash_of(0, i, h);
		subtree_cache_put(c, 0, i, h);
	}
	subtree_cache_stats(c, &st);
	CHECK(st.bytes <= budget);
	CHECK(st.entries == st.capacity);
	CHECK(st.capacity < 2000);
	CHECK(st.evictions == 100000 - st.capacity);
	for (i = 0; i < 100000; i++)
		if (subtree_cache_get(c, 0, i, h)) {
			hash_of(0, i, want);
			CHECK(memcmp(h, want, MERKLE_HASH_LEN) == 0);
			found++;
		}
	CHECK(found == st.capacity);
	/* The most recent puts evicted the older ones (LRU within a level):
	 * the last few are all there. */
	for (i = 100000 - 8; i < 100000; i++)
		CHECK(subtree_cache_get(c, 0, i, h));
	subtree_cache_free(c);
}

/* Upper levels first: a full cache of level-3 nodes refuses leaves, and
 * level-3 nodes evict the leaves of a full cache until none is left. */
static void
test_levels(void)
{
	struct subtree_cache *c = subtree_cache_new(64 * 1024);
	struct subtree_cache_stats st;
	uint8_t h[MERKLE_HASH_LEN];
	uint64_t i, upper_found = 0, n;

	CHECK(c != NULL);
	subtree_cache_stats(c, &st);
	n = 4 * st.capacity;
	for (i = 0; i < n; i++) {
		hash_of(0, i, h);
		subtree_cache_put(c, 0, i, h);
	}
	subtree_cache_stats(c, &st);
	CHECK(st.per_level[0] == st.capacity);
	for (i = 0; i < n; i++) {
		hash_of(3, i, h);
		subtree_cache_put(c, 3, i, h);
	}
	subtree_cache_stats(c, &st);
	CHECK(st.per_level[0] == 0);
	CHECK(st.per_level[3] == st.capacity);
	CHECK(st.refused == 0);
	/* Now leaves cannot get in... */
	for (i = 0; i < n; i++) {
		hash_of(0, n + i, h);
		subtree_cache_put(c, 0, n + i, h);
	}
	subtree_cache_stats(c, &st);
	CHECK(st.per_level[0] == 0 && st.refused == n);
	for (i = 0; i < n; i++)
		if (subtree_cache_get(c, 3, i, h))
			upper_found++;
	CHECK(upper_found == st.capacity);
	/* ...but a still higher level can, and a node that is in every proof
	 * (the top) stays once in. */
	hash_of(20, 0, h);
	subtree_cache_put(c, 20, 0, h);
	for (i = 0; i < n; i++) {
		hash_of(3, n + i, h);
		subtree_cache_put(c, 3, n + i, h);
	}
	CHECK(subtree_cache_get(c, 20, 0, h));
	subtree_cache_stats(c, &st);
	CHECK(st.per_level[20] == 1);
	CHECK(st.entries == st.capacity);
	subtree_cache_free(c);
}

/* Threads putting and getting overlapping keys at once (run under the
 * sanitizers by ctest; ThreadSanitizer builds catch races too): every hit
 * must be the right hash, and the bound holds. */
#define THREADS 6
#define KEYS 50000

struct worker {
	struct subtree_cache *cache;
	unsigned seed;
	uint64_t hits, wrong;
};

static void *
worker_main(void *p)
{
	struct worker *w = p;
	uint8_t h[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];
	uint64_t x = w->seed;
	int round;

	for (round = 0; round < 200000; round++) {
		unsigned level;
		uint64_t index;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		level = (unsigned)(x >> 59) % 24;
		index = (x >> 20) % KEYS;
		if (subtree_cache_get(w->cache, level, index, h)) {
			hash_of(level, index, want);
			if (memcmp(h, want, MERKLE_HASH_LEN) != 0)
				w->wrong++;
			w->hits++;
		} else {
			hash_of(level, index, h);
			subtree_cache_put(w->cache, level, index, h);
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	const size_t budget = 256 * 1024;
	struct subtree_cache *c = subtree_cache_new(budget);
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	struct subtree_cache_stats st;
	uint64_t hits = 0;
	int i;

	CHECK(c != NULL);
	for (i = 0; i < THREADS; i++) {
		workers[i].cache = c;
		workers[i].seed = (unsigned)i * 7919u + 1u;
		workers[i].hits = workers[i].wrong = 0;
		CHECK(pthread_create(&threads[i], NULL, worker_main, &workers[i]) == 0);
	}
	for (i = 0; i < THREADS; i++) {
		CHECK(pthread_join(threads[i], NULL) == 0);
		CHECK(workers[i].wrong == 0);
		hits += workers[i].hits;
	}
	subtree_cache_stats(c, &st);
	CHECK(st.bytes <= budget);
	CHECK(st.entries <= st.capacity);
	CHECK(st.hits == hits);
	CHECK(st.hits + st.misses == (uint64_t)THREADS * 200000);
	CHECK(hits > 0);
	printf("threads: %d x 200000 operations, %llu hits, %zu of %zu slots used\n", THREADS,
	    (unsigned long long)hits, st.entries, st.capacity);
	subtree_cache_free(c);
}

int
main(void)
{
	test_disabled();
	test_get_put();
	test_bounded();
	test_levels();
	test_threads();
	printf("subtree_cache: ok\n");
	return 0;
}
