/*
 * digest_set.h - a bounded, thread-safe set of 32-byte digests: a memory
 * of facts that, once true, stay true (the digest names the fact and
 * everything it depends on), so that a check need not be repeated.
 *
 * Bounded: every slot is allocated by digest_set_new(); when a digest's
 * set of DIGEST_SET_WAYS slots is full, the one found or added longest ago
 * makes room. Forgetting is always safe: the caller then checks again.
 *
 * Thread safety: any number of threads may call every function but
 * digest_set_free() at once (one mutex; each call holds it for a few
 * comparisons).
 */
#ifndef VLEDGER_DIGEST_SET_H
#define VLEDGER_DIGEST_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_SET_LEN 32
#define DIGEST_SET_WAYS 4

struct digest_set;

/* Room for about `capacity` digests (rounded down to whole sets), or NULL
 * for fewer than DIGEST_SET_WAYS (no memory: every function accepts NULL,
 * contains is false, add does nothing). Free with digest_set_free(). */
struct digest_set *digest_set_new(size_t capacity);
void digest_set_free(struct digest_set *set);

bool digest_set_contains(struct digest_set *set, const uint8_t digest[DIGEST_SET_LEN]);
void digest_set_add(struct digest_set *set, const uint8_t digest[DIGEST_SET_LEN]);

/* Slots and slots in use; 0 for NULL. */
size_t digest_set_capacity(const struct digest_set *set);
size_t digest_set_count(struct digest_set *set);

#endif
