/*
 * digest_set.c - the bounded set of digests. See digest_set.h.
 *
 * The digests are already uniformly random (SHA-256), so their first eight
 * bytes pick the set. A clock stamps a slot when it is added or found; the
 * stalest slot of a full set makes room.
 */
#include "vledger/digest_set.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/log.h"

struct digest_slot {
	uint8_t digest[DIGEST_SET_LEN];
	uint32_t used_at;  /* the clock when last added or found; 0: empty */
};

struct digest_set {
	pthread_mutex_t mu;
	uint32_t clock;
	size_t nsets;
	struct digest_slot (*slots)[DIGEST_SET_WAYS];  /* owned, nsets rows */
};

static size_t
set_of(const struct digest_set *set, const uint8_t digest[DIGEST_SET_LEN])
{
	uint64_t x;

	memcpy(&x, digest, sizeof(x));
	return (size_t)(x % set->nsets);
}

/* Never 0, which marks an empty slot. Called with the mutex held. */
static uint32_t
tick(struct digest_set *set)
{
	if (++set->clock == 0)
		set->clock = 1;
	return set->clock;
}

struct digest_set *
digest_set_new(size_t capacity)
{
	struct digest_set *set;

	if (capacity < DIGEST_SET_WAYS)
		return NULL;
	set = xcalloc(1, sizeof(*set));
	pthread_mutex_init(&set->mu, NULL);
	set->nsets = capacity / DIGEST_SET_WAYS;
	set->slots = xcalloc(set->nsets, sizeof(*set->slots));
	return set;
}

void
digest_set_free(struct digest_set *set)
{
	if (set == NULL)
		return;
	pthread_mutex_destroy(&set->mu);
	free(set->slots);
	free(set);
}

bool
digest_set_contains(struct digest_set *set, const uint8_t digest[DIGEST_SET_LEN])
{
	struct digest_slot *row;
	bool found = false;
	int i;

	if (set == NULL)
		return false;
	row = set->slots[set_of(set, digest)];
	pthread_mutex_lock(&set->mu);
	for (i = 0; i < DIGEST_SET_WAYS; i++)
		if (row[i].used_at != 0 && memcmp(row[i].digest, digest, DIGEST_SET_LEN) == 0) {
			row[i].used_at = tick(set);
			found = true;
			break;
		}
	pthread_mutex_unlock(&set->mu);
	return found;
}

void
digest_set_add(struct digest_set *set, const uint8_t digest[DIGEST_SET_LEN])
{
	struct digest_slot *row, *victim = NULL;
	int i;

	if (set == NULL)
		return;
	row = set->slots[set_of(set, digest)];
	pthread_mutex_lock(&set->mu);
	for (i = 0; i < DIGEST_SET_WAYS; i++) {
		if (row[i].used_at != 0 && memcmp(row[i].digest, digest, DIGEST_SET_LEN) == 0) {
			victim = &row[i];
			break;
		}
		/* Empty first, then the one unused longest (ages, as the clock wraps). */
		if (victim == NULL || (victim->used_at != 0 &&
		    (row[i].used_at == 0 || set->clock - row[i].used_at > set->clock - victim->used_at)))
			victim = &row[i];
	}
	memcpy(victim->digest, digest, DIGEST_SET_LEN);
	victim->used_at = tick(set);
	pthread_mutex_unlock(&set->mu);
}

size_t
digest_set_capacity(const struct digest_set *set)
{
	return set != NULL ? set->nsets * DIGEST_SET_WAYS : 0;
}

size_t
digest_set_count(struct digest_set *set)
{
	size_t s, n = 0;
	int i;

	if (set == NULL)
		return 0;
	pthread_mutex_lock(&set->mu);
	for (s = 0; s < set->nsets; s++)
		for (i = 0; i < DIGEST_SET_WAYS; i++)
			if (set->slots[s][i].used_at != 0)
				n++;
	pthread_mutex_unlock(&set->mu);
	return n;
}
