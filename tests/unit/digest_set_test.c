/*
 * digest_set_test.c - the bounded set of digests: members are found,
 * others are not, the capacity is a hard bound with the stalest making
 * room, and threads adding and asking at once never see a wrong member.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "vledger/digest_set.h"

#include "check.h"

static void
digest_of(uint64_t n, uint8_t out[DIGEST_SET_LEN])
{
	SHA256((const uint8_t *)&n, sizeof(n), out);
}

static void
test_basics(void)
{
	struct digest_set *s = digest_set_new(1000);
	uint8_t d[DIGEST_SET_LEN];
	uint64_t i;

	CHECK(digest_set_new(3) == NULL);
	CHECK(!digest_set_contains(NULL, d));
	digest_set_add(NULL, d);
	CHECK(digest_set_capacity(NULL) == 0 && digest_set_count(NULL) == 0);
	digest_set_free(NULL);

	CHECK(s != NULL && digest_set_capacity(s) == 1000);
	for (i = 0; i < 100; i++) {
		digest_of(i, d);
		CHECK(!digest_set_contains(s, d));
		digest_set_add(s, d);
		CHECK(digest_set_contains(s, d));
	}
	digest_of(5, d);
	digest_set_add(s, d);  /* again: still one member */
	CHECK(digest_set_count(s) == 100);
	for (i = 100; i < 200; i++) {
		digest_of(i, d);
		CHECK(!digest_set_contains(s, d));
	}
	/* One bit off is another digest. */
	digest_of(7, d);
	d[31] ^= 1;
	CHECK(!digest_set_contains(s, d));
	digest_set_free(s);
}

static void
test_bounded(void)
{
	struct digest_set *s = digest_set_new(64);
	uint8_t d[DIGEST_SET_LEN];
	uint64_t i, members = 0;

	for (i = 0; i < 10000; i++) {
		digest_of(i, d);
		digest_set_add(s, d);
	}
	CHECK(digest_set_count(s) == 64);
	for (i = 0; i < 10000; i++) {
		digest_of(i, d);
		if (digest_set_contains(s, d))
			members++;
	}
	CHECK(members == 64);
	/* The latest additions are there: the stalest made room. */
	for (i = 10000 - DIGEST_SET_WAYS; i < 10000; i++) {
		digest_of(i, d);
		CHECK(digest_set_contains(s, d));
	}
	digest_set_free(s);
}

/* A member that is asked for often survives a stream of new ones into its
 * set. */
static void
test_recently_used_stays(void)
{
	struct digest_set *s = digest_set_new(DIGEST_SET_WAYS);  /* one set */
	uint8_t hot[DIGEST_SET_LEN], d[DIGEST_SET_LEN];
	uint64_t i;

	digest_of(424242, hot);
	digest_set_add(s, hot);
	for (i = 0; i < 1000; i++) {
		digest_of(i, d);
		digest_set_add(s, d);
		CHECK(digest_set_contains(s, hot));
	}
	CHECK(digest_set_count(s) == DIGEST_SET_WAYS);
	digest_set_free(s);
}

#define THREADS 6
#define ROUNDS 100000

static struct digest_set *shared;

static void *
worker_main(void *p)
{
	uintptr_t seed = (uintptr_t)p;
	uint8_t d[DIGEST_SET_LEN];
	uint64_t x = seed, i;
	int wrong = 0;

	for (i = 0; i < ROUNDS; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		/* Even numbers are added; odd ones never are, so a hit on one is wrong. */
		digest_of((x >> 33) % 4000, d);
		if ((x >> 33) % 4000 % 2 == 0)
			digest_set_add(shared, d);
		else if (digest_set_contains(shared, d))
			wrong++;
	}
	return (void *)(uintptr_t)wrong;
}

static void
test_threads(void)
{
	pthread_t threads[THREADS];
	void *wrong;
	int i;

	shared = digest_set_new(512);
	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, worker_main, (void *)(uintptr_t)(i + 1)) == 0);
	for (i = 0; i < THREADS; i++) {
		CHECK(pthread_join(threads[i], &wrong) == 0);
		CHECK(wrong == NULL);
	}
	CHECK(digest_set_count(shared) == 512);
	digest_set_free(shared);
}

int
main(void)
{
	test_basics();
	test_bounded();
	test_recently_used_stays();
	test_threads();
	printf("digest_set: ok\n");
	return 0;
}
