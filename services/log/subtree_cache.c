/*
 * subtree_cache.c - the bounded memory of complete subtree hashes. See
 * subtree_cache.h for what may go in and why it is safe.
 *
 * Layout: one array of sets, each SUBTREE_CACHE_WAYS slots, allocated once.
 * A key's set is a hash of (level, index). Set i is guarded by the lock of
 * stripe i % STRIPES: a handful of store workers rarely meet on one lock,
 * and 64 locks cost nothing next to the sets. Each stripe has a clock
 * that stamps an entry when it is put or found, for least-recently-used
 * among entries of one level.
 */
#include "vledger/subtree_cache.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/log.h"

#define STRIPES 64

struct subtree_slot {
	uint64_t index;
	uint32_t used_at;  /* the stripe's clock when last put or found */
	uint8_t level;
	bool used;
	uint8_t hash[MERKLE_HASH_LEN];
};

struct subtree_set {
	struct subtree_slot slots[SUBTREE_CACHE_WAYS];
};

/* A cache line of its own, so that workers on different stripes do not
 * slow each other down. */
struct subtree_stripe {
	alignas(64) pthread_mutex_t mu;
	uint32_t clock;
	uint64_t hits, misses, evictions, refused;
};

struct subtree_cache {
	struct subtree_stripe stripes[STRIPES];
	struct subtree_set *sets;  /* owned, nsets of them */
	size_t nsets;
	size_t bytes;
};

/* splitmix64's finaliser: neighbouring indexes land in unrelated sets. */
static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t
set_of(const struct subtree_cache *cache, unsigned level, uint64_t index)
{
	return (size_t)(mix(index ^ mix((uint64_t)level + 1)) % cache->nsets);
}

struct subtree_cache *
subtree_cache_new(size_t budget_bytes)
{
	struct subtree_cache *cache;
	size_t nsets;
	int i;

	if (budget_bytes < sizeof(*cache) + sizeof(struct subtree_set))
		return NULL;
	nsets = (budget_bytes - sizeof(*cache)) / sizeof(struct subtree_set);
	cache = xcalloc(1, sizeof(*cache));
	/* calloc'd: the pages are only touched (and count towards RSS) as
	 * sets fill. */
	cache->sets = xcalloc(nsets, sizeof(*cache->sets));
	cache->nsets = nsets;
	cache->bytes = sizeof(*cache) + nsets * sizeof(*cache->sets);
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&cache->stripes[i].mu, NULL);
	return cache;
}

void
subtree_cache_free(struct subtree_cache *cache)
{
	int i;

	if (cache == NULL)
		return;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&cache->stripes[i].mu);
	free(cache->sets);
	free(cache);
}

bool
subtree_cache_get(struct subtree_cache *cache, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	struct subtree_stripe *stripe;
	struct subtree_set *set;
	size_t s;
	bool found = false;
	int i;

	if (cache == NULL || level >= MERKLE_MAX_LEVELS)
		return false;
	s = set_of(cache, level, index);
	set = &cache->sets[s];
	stripe = &cache->stripes[s % STRIPES];
	pthread_mutex_lock(&stripe->mu);
	for (i = 0; i < SUBTREE_CACHE_WAYS; i++) {
		struct subtree_slot *slot = &set->slots[i];

		if (slot->used && slot->level == level && slot->index == index) {
			memcpy(out, slot->hash, MERKLE_HASH_LEN);
			slot->used_at = ++stripe->clock;
			found = true;
			break;
		}
	}
	if (found)
		stripe->hits++;
	else
		stripe->misses++;
	pthread_mutex_unlock(&stripe->mu);
	return found;
}

void
subtree_cache_put(struct subtree_cache *cache, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	struct subtree_stripe *stripe;
	struct subtree_set *set;
	struct subtree_slot *victim = NULL;
	size_t s;
	int i;

	if (cache == NULL || level >= MERKLE_MAX_LEVELS)
		return;
	s = set_of(cache, level, index);
	set = &cache->sets[s];
	stripe = &cache->stripes[s % STRIPES];
	pthread_mutex_lock(&stripe->mu);
	for (i = 0; i < SUBTREE_CACHE_WAYS; i++) {
		struct subtree_slot *slot = &set->slots[i];

		if (!slot->used) {
			if (victim == NULL || victim->used)
				victim = slot;
			continue;
		}
		if (slot->level == level && slot->index == index) {
			/* Already here (another worker read it too): the hash is
			 * the same, as the node is immutable. */
			slot->used_at = ++stripe->clock;
			goto out;
		}
		/* Lowest level first; among one level, the one unused longest
		 * (the clock wraps, so compare ages, not stamps). */
		if (victim == NULL || (victim->used && (slot->level < victim->level ||
		    (slot->level == victim->level &&
		    stripe->clock - slot->used_at > stripe->clock - victim->used_at))))
			victim = slot;
	}
	if (victim->used) {
		if (victim->level > level) {
			stripe->refused++;
			goto out;
		}
		stripe->evictions++;
	}
	victim->used = true;
	victim->level = (uint8_t)level;
	victim->index = index;
	memcpy(victim->hash, hash, MERKLE_HASH_LEN);
	victim->used_at = ++stripe->clock;
out:
	pthread_mutex_unlock(&stripe->mu);
}

void
subtree_cache_stats(struct subtree_cache *cache, struct subtree_cache_stats *out)
{
	size_t s;
	int i;

	memset(out, 0, sizeof(*out));
	if (cache == NULL)
		return;
	out->capacity = cache->nsets * SUBTREE_CACHE_WAYS;
	out->bytes = cache->bytes;
	for (i = 0; i < STRIPES; i++) {
		struct subtree_stripe *stripe = &cache->stripes[i];

		pthread_mutex_lock(&stripe->mu);
		out->hits += stripe->hits;
		out->misses += stripe->misses;
		out->evictions += stripe->evictions;
		out->refused += stripe->refused;
		for (s = (size_t)i; s < cache->nsets; s += STRIPES) {
			int w;

			for (w = 0; w < SUBTREE_CACHE_WAYS; w++)
				if (cache->sets[s].slots[w].used) {
					out->entries++;
					out->per_level[cache->sets[s].slots[w].level]++;
				}
		}
		pthread_mutex_unlock(&stripe->mu);
	}
}
