/*
 * merkle_test.c - RFC 6962 tree hashes, proofs and their verification.
 *
 * The hash source here is an in-memory table of complete nodes, filled the
 * way the store fills its table: leaf by leaf through merkle_append(). It
 * refuses (and fails the test on) any request for a node that is not
 * complete inside the tree size of the current call, and counts fetches so
 * that the O(log n) promise is checked too. Proofs are compared with a
 * naive transcription of RFC 9162's recursive PATH and SUBPROOF, and
 * verified; mutated proofs must not verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vledger/merkle.h"

#include "check.h"

#define CHECKF(c, ...) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		exit(1); \
	} \
} while (0)

typedef uint8_t hash_t[MERKLE_HASH_LEN];

#define MAX_LEAVES 1024
#define MAX_LEVEL 10	/* 1 << MAX_LEVEL == MAX_LEAVES */

/* ---------------------------------------------------------------------
 * The in-memory hash source.
 */

struct mem_tree {
	hash_t nodes[MAX_LEVEL + 1][MAX_LEAVES];
	uint64_t stored[MAX_LEVEL + 1];	/* complete nodes stored per level */
	uint64_t size;			/* the tree size of the call under test */
	unsigned fetches;
	struct { unsigned level; uint64_t index; } seen[256];
	unsigned nseen;
	bool fail_next;			/* make the next fetch fail */
};

static struct mem_tree tree;

static bool
mem_fetch(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	struct mem_tree *t = ctx;
	unsigned i;

	if (t->fail_next) {
		t->fail_next = false;
		return vl_error_set(err, VL_UNAVAILABLE, "database went away");
	}
	CHECKF(level <= MAX_LEVEL, "level %u", level);
	CHECKF(((index + 1) << level) <= t->size, "node (%u, %llu) is not complete in a tree of %llu", level,
	    (unsigned long long)index, (unsigned long long)t->size);
	CHECKF(index < t->stored[level], "node (%u, %llu) not stored", level, (unsigned long long)index);
	for (i = 0; i < t->nseen; i++)
		CHECKF(t->seen[i].level != level || t->seen[i].index != index, "node (%u, %llu) fetched twice",
		    level, (unsigned long long)index);
	if (t->nseen < sizeof(t->seen) / sizeof(t->seen[0])) {
		t->seen[t->nseen].level = level;
		t->seen[t->nseen].index = index;
		t->nseen++;
	}
	t->fetches++;
	memcpy(out, t->nodes[level][index], MERKLE_HASH_LEN);
	return true;
}

/* Starts a call on the tree of `size` leaves. */
static void
mem_begin(uint64_t size)
{
	tree.size = size;
	tree.fetches = 0;
	tree.nseen = 0;
}

static unsigned
ceil_log2(uint64_t n)
{
	unsigned l = 0;

	while (l < 64 && ((uint64_t)1 << l) < n)
		l++;
	return l;
}

/* Appends one leaf the way the store does: merkle_append() on the tree of
 * `stored[0]` leaves, then store what it returned. */
static void
mem_append(const hash_t leaf)
{
	struct merkle_node nodes[MERKLE_MAX_LEVELS];
	struct vl_error err = { 0 };
	uint64_t i = tree.stored[0];
	unsigned n, k;

	mem_begin(i);
	CHECKF(merkle_append(i, leaf, mem_fetch, &tree, nodes, &n, &err), "append %llu: %s",
	    (unsigned long long)i, err.message);
	CHECK(n == merkle_completed_levels(i) + 1);
	CHECK(tree.fetches == n - 1);
	for (k = 0; k < n; k++) {
		CHECK(nodes[k].level == k);
		CHECK(nodes[k].index == i >> k);
		CHECK(nodes[k].index == tree.stored[k]);
		memcpy(tree.nodes[k][nodes[k].index], nodes[k].hash, MERKLE_HASH_LEN);
		tree.stored[k]++;
	}
}

static void
mem_reset(void)
{
	memset(&tree, 0, sizeof(tree));
}

/* ---------------------------------------------------------------------
 * RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 as written: recursive, over the
 * leaf hashes, O(n) per call.
 */

static hash_t leaves[MAX_LEAVES];

static uint64_t
largest_pow2_below(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void
naive_mth(const hash_t *d, uint64_t n, uint8_t out[MERKLE_HASH_LEN])
{
	hash_t l, r;
	uint64_t k;

	if (n == 0) {
		merkle_empty_root(out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], MERKLE_HASH_LEN);
		return;
	}
	k = largest_pow2_below(n);
	naive_mth(d, k, l);
	naive_mth(d + k, n - k, r);
	merkle_node_hash(l, r, out);
}

static size_t
naive_path(uint64_t m, const hash_t *d, uint64_t n, hash_t *out)
{
	size_t c;
	uint64_t k;

	if (n == 1)
		return 0;
	k = largest_pow2_below(n);
	if (m < k) {
		c = naive_path(m, d, k, out);
		naive_mth(d + k, n - k, out[c]);
	} else {
		c = naive_path(m - k, d + k, n - k, out);
		naive_mth(d, k, out[c]);
	}
	return c + 1;
}

static size_t
naive_subproof(uint64_t m, const hash_t *d, uint64_t n, bool b, hash_t *out)
{
	size_t c;
	uint64_t k;

	if (m == n) {
		if (b)
			return 0;
		naive_mth(d, n, out[0]);
		return 1;
	}
	k = largest_pow2_below(n);
	if (m <= k) {
		c = naive_subproof(m, d, k, b, out);
		naive_mth(d + k, n - k, out[c]);
	} else {
		c = naive_subproof(m - k, d + k, n - k, false, out);
		naive_mth(d, k, out[c]);
	}
	return c + 1;
}

/* ---------------------------------------------------------------------
 * Helpers.
 */

static void
hex_decode(const char *hex, uint8_t *out, size_t *len)
{
	size_t n = strlen(hex), i;
	unsigned v;

	CHECK(n % 2 == 0);
	for (i = 0; i < n / 2; i++) {
		CHECK(sscanf(hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
}

static void
hash_from_hex(const char *hex, uint8_t out[MERKLE_HASH_LEN])
{
	size_t len;

	hex_decode(hex, out, &len);
	CHECK(len == MERKLE_HASH_LEN);
}

static void
root_of(uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
	struct vl_error err = { 0 };

	mem_begin(size);
	CHECKF(merkle_root(size, mem_fetch, &tree, out, &err), "root %llu: %s", (unsigned long long)size,
	    err.message);
	CHECKF(tree.fetches == (unsigned)__builtin_popcountll(size), "root %llu: %u fetches",
	    (unsigned long long)size, tree.fetches);
}

static hash_t *
inclusion(uint64_t index, uint64_t size, size_t *count)
{
	struct vl_error err = { 0 };
	hash_t *p = NULL;

	mem_begin(size);
	CHECKF(merkle_inclusion_proof(index, size, mem_fetch, &tree, &p, count, &err), "inclusion %llu/%llu: %s",
	    (unsigned long long)index, (unsigned long long)size, err.message);
	CHECKF(tree.fetches <= 2 * ceil_log2(size), "inclusion %llu/%llu: %u fetches", (unsigned long long)index,
	    (unsigned long long)size, tree.fetches);
	CHECK(*count == merkle_inclusion_proof_len(index, size));
	CHECK((*count == 0) == (p == NULL));
	return p;
}

static hash_t *
consistency(uint64_t m, uint64_t n, size_t *count)
{
	struct vl_error err = { 0 };
	hash_t *p = NULL;

	mem_begin(n);
	CHECKF(merkle_consistency_proof(m, n, mem_fetch, &tree, &p, count, &err), "consistency %llu..%llu: %s",
	    (unsigned long long)m, (unsigned long long)n, err.message);
	CHECKF(tree.fetches <= 2 * ceil_log2(n) + 1, "consistency %llu..%llu: %u fetches", (unsigned long long)m,
	    (unsigned long long)n, tree.fetches);
	CHECK(*count == merkle_consistency_proof_len(m, n));
	CHECK((*count == 0) == (p == NULL));
	return p;
}

/* ---------------------------------------------------------------------
 * (a) The RFC 6962 test vectors (Certificate Transparency's and
 * transparency-dev/merkle's testdata): eight leaves, roots of every
 * prefix, and their published proofs.
 */

static const char *const vec_leaves[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
};

static const char *const vec_roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* Leaf indexes are 0-based here (the CT tests number leaves from 1). */
static const struct {
	uint64_t a, b;		/* leaf index and size, or old and new size */
	size_t n;
	const char *hashes[3];
} vec_inclusion[] = {
	{ 0, 1, 0, { NULL } },
	{ 0, 8, 3, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, {
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, {
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, {
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
}, vec_consistency[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, {
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

static void
test_vectors(void)
{
	uint8_t data[32];
	hash_t leaf, root, want, proof[3], *p;
	size_t len, count, i, k;

	mem_reset();
	for (i = 0; i < 8; i++) {
		hex_decode(vec_leaves[i], data, &len);
		merkle_leaf_hash(data, len, leaf);
		mem_append(leaf);
	}
	for (i = 0; i <= 8; i++) {
		root_of(i, root);
		hash_from_hex(vec_roots[i], want);
		CHECKF(memcmp(root, want, MERKLE_HASH_LEN) == 0, "root of size %zu", i);
	}
	merkle_empty_root(root);
	hash_from_hex(vec_roots[0], want);
	CHECK(memcmp(root, want, MERKLE_HASH_LEN) == 0);

	for (i = 0; i < sizeof(vec_inclusion) / sizeof(vec_inclusion[0]); i++) {
		for (k = 0; k < vec_inclusion[i].n; k++)
			hash_from_hex(vec_inclusion[i].hashes[k], proof[k]);
		p = inclusion(vec_inclusion[i].a, vec_inclusion[i].b, &count);
		CHECKF(count == vec_inclusion[i].n, "inclusion vector %zu: %zu hashes", i, count);
		CHECKF(count == 0 || memcmp(p, proof, count * MERKLE_HASH_LEN) == 0, "inclusion vector %zu", i);
		free(p);
		hash_from_hex(vec_roots[vec_inclusion[i].b], root);
		CHECK(merkle_verify_inclusion(vec_inclusion[i].a, vec_inclusion[i].b,
		    tree.nodes[0][vec_inclusion[i].a], (const hash_t *)proof, vec_inclusion[i].n, root));
	}
	for (i = 0; i < sizeof(vec_consistency) / sizeof(vec_consistency[0]); i++) {
		for (k = 0; k < vec_consistency[i].n; k++)
			hash_from_hex(vec_consistency[i].hashes[k], proof[k]);
		p = consistency(vec_consistency[i].a, vec_consistency[i].b, &count);
		CHECKF(count == vec_consistency[i].n, "consistency vector %zu: %zu hashes", i, count);
		CHECKF(count == 0 || memcmp(p, proof, count * MERKLE_HASH_LEN) == 0, "consistency vector %zu", i);
		free(p);
		hash_from_hex(vec_roots[vec_consistency[i].a], want);
		hash_from_hex(vec_roots[vec_consistency[i].b], root);
		CHECK(merkle_verify_consistency(vec_consistency[i].a, vec_consistency[i].b, want, root,
		    (const hash_t *)proof, vec_consistency[i].n));
	}
}

/* ---------------------------------------------------------------------
 * Arguments, errors and the degenerate cases.
 */

static void
test_errors(void)
{
	struct vl_error err = { 0 };
	hash_t *p = (hash_t *)1, root, empty, other, leaf;
	size_t count = 99;

	/* tree still holds the eight vector leaves. */
	mem_begin(8);
	CHECK(!merkle_inclusion_proof(8, 8, mem_fetch, &tree, &p, &count, &err));
	CHECK(p == NULL && count == 0);
	CHECK(err.code == VL_OUT_OF_RANGE);
	CHECK(strcmp(err.message, "leafIndex: 8 is not less than the tree size 8") == 0);
	CHECK(!merkle_inclusion_proof(0, 0, mem_fetch, &tree, &p, &count, &err));
	CHECK(err.code == VL_OUT_OF_RANGE);
	CHECK(strcmp(err.message, "leafIndex: 0 is not less than the tree size 0") == 0);

	CHECK(!merkle_consistency_proof(9, 8, mem_fetch, &tree, &p, &count, &err));
	CHECK(p == NULL && count == 0);
	CHECK(err.code == VL_INVALID_ARGUMENT);
	CHECK(strcmp(err.message, "fromSize: 9 is greater than the tree size 8") == 0);

	/* Empty proofs fetch nothing. */
	mem_begin(8);
	CHECK(merkle_consistency_proof(0, 8, mem_fetch, &tree, &p, &count, &err));
	CHECK(p == NULL && count == 0 && tree.fetches == 0);
	CHECK(merkle_consistency_proof(8, 8, mem_fetch, &tree, &p, &count, &err));
	CHECK(p == NULL && count == 0 && tree.fetches == 0);
	CHECK(merkle_consistency_proof(0, 0, mem_fetch, &tree, &p, &count, &err));
	CHECK(p == NULL && count == 0 && tree.fetches == 0);

	/* A failing hash source: its error comes through and nothing leaks. */
	mem_begin(7);
	tree.fail_next = true;
	CHECK(!merkle_inclusion_proof(6, 7, mem_fetch, &tree, &p, &count, &err));
	CHECK(p == NULL && count == 0);
	CHECK(err.code == VL_UNAVAILABLE && strcmp(err.message, "database went away") == 0);
	mem_begin(7);
	tree.fail_next = true;
	CHECK(!merkle_consistency_proof(3, 7, mem_fetch, &tree, &p, &count, &err));
	CHECK(p == NULL && count == 0 && err.code == VL_UNAVAILABLE);
	mem_begin(7);
	tree.fail_next = true;
	CHECK(!merkle_root(7, mem_fetch, &tree, root, &err));
	CHECK(err.code == VL_UNAVAILABLE);
	{
		struct merkle_node nodes[MERKLE_MAX_LEVELS];
		unsigned n = 99;

		mem_begin(7);
		tree.fail_next = true;
		CHECK(!merkle_append(7, root, mem_fetch, &tree, nodes, &n, &err));
		CHECK(n == 0 && err.code == VL_UNAVAILABLE);
		CHECK(!merkle_append(UINT64_MAX, root, mem_fetch, &tree, nodes, &n, &err));
		CHECK(n == 0 && err.code == VL_RESOURCE_EXHAUSTED);
	}
	tree.fail_next = false;

	/* Degenerate verifications. */
	merkle_empty_root(empty);
	root_of(8, root);
	root_of(7, other);
	memcpy(leaf, tree.nodes[0][0], MERKLE_HASH_LEN);
	CHECK(merkle_verify_consistency(8, 8, root, root, NULL, 0));
	CHECK(!merkle_verify_consistency(8, 8, root, other, NULL, 0));
	CHECK(!merkle_verify_consistency(8, 8, root, root, (const hash_t *)&root, 1));
	CHECK(merkle_verify_consistency(0, 8, empty, root, NULL, 0));
	CHECK(!merkle_verify_consistency(0, 8, other, root, NULL, 0));
	CHECK(!merkle_verify_consistency(0, 8, empty, root, (const hash_t *)&root, 1));
	CHECK(merkle_verify_consistency(0, 0, empty, empty, NULL, 0));
	CHECK(!merkle_verify_consistency(8, 7, root, other, NULL, 0));
	CHECK(!merkle_verify_consistency(7, 8, other, root, NULL, 0));
	CHECK(!merkle_verify_inclusion(0, 0, leaf, NULL, 0, empty));
	CHECK(!merkle_verify_inclusion(8, 8, leaf, NULL, 0, root));
	CHECK(!merkle_verify_inclusion(UINT64_MAX, 8, leaf, NULL, 0, root));
	root_of(1, root);
	CHECK(merkle_verify_inclusion(0, 1, leaf, NULL, 0, root));
	CHECK(!merkle_verify_inclusion(0, 1, leaf, (const hash_t *)&leaf, 1, root));
	CHECK(!merkle_verify_inclusion(0, 1, other, NULL, 0, root));
}

/* ---------------------------------------------------------------------
 * (b) Properties over every tree size up to 1000.
 */

static void
flip(uint8_t *h, size_t bit)
{
	h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

/* Mutations flip every bit of a hash for the smallest trees, and one bit
 * of every byte (a different one in each) for the rest, which keeps the
 * test fast under ASan without leaving a byte untouched. */
static bool flip_all_bits;

static size_t
flip_count(void)
{
	return flip_all_bits ? 8 * MERKLE_HASH_LEN : MERKLE_HASH_LEN;
}

static size_t
flip_bit(size_t k)
{
	return flip_all_bits ? k : 8 * k + k % 8;
}

/* Every single-bit change to the proof, the leaf and the root, a wrong
 * index, a wrong size and a proof one hash short or long must fail. */
static void
mutate_inclusion(uint64_t index, uint64_t size, hash_t *p, size_t count, const hash_t *roots)
{
	hash_t leaf, root, *longer;
	size_t i, k, bit;

	memcpy(leaf, leaves[index], MERKLE_HASH_LEN);
	memcpy(root, roots[size], MERKLE_HASH_LEN);
	for (i = 0; i < count; i++) {
		for (k = 0; k < flip_count(); k++) {
			bit = flip_bit(k);
			flip(p[i], bit);
			CHECKF(!merkle_verify_inclusion(index, size, leaf, (const hash_t *)p, count, root),
			    "inclusion %llu/%llu verified with bit %zu of hash %zu flipped",
			    (unsigned long long)index, (unsigned long long)size, bit, i);
			flip(p[i], bit);
		}
	}
	for (k = 0; k < flip_count(); k++) {
		bit = flip_bit(k);
		flip(leaf, bit);
		CHECK(!merkle_verify_inclusion(index, size, leaf, (const hash_t *)p, count, root));
		flip(leaf, bit);
		flip(root, bit);
		CHECK(!merkle_verify_inclusion(index, size, leaf, (const hash_t *)p, count, root));
		flip(root, bit);
	}
	CHECK(merkle_verify_inclusion(index, size, leaf, (const hash_t *)p, count, root));
	for (i = 0; i < size; i++)
		if (i != index)
			CHECKF(!merkle_verify_inclusion(i, size, leaf, (const hash_t *)p, count, root),
			    "inclusion %llu/%llu verified as index %zu", (unsigned long long)index,
			    (unsigned long long)size, i);
	if (size - 1 > index)
		CHECK(!merkle_verify_inclusion(index, size - 1, leaf, (const hash_t *)p, count, roots[size - 1]));
	if (size < MAX_LEAVES)
		CHECK(!merkle_verify_inclusion(index, size + 1, leaf, (const hash_t *)p, count, roots[size + 1]));
	if (count > 0)
		CHECK(!merkle_verify_inclusion(index, size, leaf, (const hash_t *)p, count - 1, root));
	longer = calloc(count + 1, sizeof(*longer));
	CHECK(longer != NULL);
	if (count > 0)
		memcpy(longer, p, count * sizeof(*p));
	memcpy(longer[count], leaf, MERKLE_HASH_LEN);
	CHECK(!merkle_verify_inclusion(index, size, leaf, (const hash_t *)longer, count + 1, root));
	free(longer);
}

static void
mutate_consistency(uint64_t m, uint64_t n, hash_t *p, size_t count, const hash_t *roots)
{
	hash_t oldr, newr, *longer;
	size_t i, k, bit;

	memcpy(oldr, roots[m], MERKLE_HASH_LEN);
	memcpy(newr, roots[n], MERKLE_HASH_LEN);
	for (i = 0; i < count; i++) {
		for (k = 0; k < flip_count(); k++) {
			bit = flip_bit(k);
			flip(p[i], bit);
			CHECKF(!merkle_verify_consistency(m, n, oldr, newr, (const hash_t *)p, count),
			    "consistency %llu..%llu verified with bit %zu of hash %zu flipped",
			    (unsigned long long)m, (unsigned long long)n, bit, i);
			flip(p[i], bit);
		}
	}
	for (k = 0; k < flip_count(); k++) {
		bit = flip_bit(k);
		flip(oldr, bit);
		CHECK(!merkle_verify_consistency(m, n, oldr, newr, (const hash_t *)p, count));
		flip(oldr, bit);
		flip(newr, bit);
		CHECK(!merkle_verify_consistency(m, n, oldr, newr, (const hash_t *)p, count));
		flip(newr, bit);
	}
	CHECK(merkle_verify_consistency(m, n, oldr, newr, (const hash_t *)p, count));
	/* Wrong sizes, each with the right root for the size claimed. */
	if (m > 1)
		CHECK(!merkle_verify_consistency(m - 1, n, roots[m - 1], newr, (const hash_t *)p, count));
	if (m + 1 < n)
		CHECK(!merkle_verify_consistency(m + 1, n, roots[m + 1], newr, (const hash_t *)p, count));
	if (n - 1 > m)
		CHECK(!merkle_verify_consistency(m, n - 1, oldr, roots[n - 1], (const hash_t *)p, count));
	if (n < MAX_LEAVES)
		CHECK(!merkle_verify_consistency(m, n + 1, oldr, roots[n + 1], (const hash_t *)p, count));
	/* Swapped roots. */
	CHECK(!merkle_verify_consistency(m, n, newr, oldr, (const hash_t *)p, count));
	if (count > 0)
		CHECK(!merkle_verify_consistency(m, n, oldr, newr, (const hash_t *)p, count - 1));
	longer = calloc(count + 1, sizeof(*longer));
	CHECK(longer != NULL);
	if (count > 0)
		memcpy(longer, p, count * sizeof(*p));
	memcpy(longer[count], newr, MERKLE_HASH_LEN);
	CHECK(!merkle_verify_consistency(m, n, oldr, newr, (const hash_t *)longer, count + 1));
	free(longer);
}

/* A small deterministic generator, so that failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
test_properties(void)
{
	static hash_t roots[MAX_LEAVES + 1];
	hash_t naive[MERKLE_MAX_LEVELS + 1], *p;
	uint8_t data[16];
	uint64_t n, i, m, l, k;
	size_t count, nc;
	unsigned long nincl = 0, ncons = 0, nmut = 0;

	mem_reset();
	for (i = 0; i < MAX_LEAVES; i++) {
		int len = snprintf((char *)data, sizeof(data), "leaf %llu", (unsigned long long)i);

		merkle_leaf_hash(data, (size_t)len, leaves[i]);
		mem_append(leaves[i]);
	}
	/* Every stored complete node is the MTH of its leaves. */
	for (l = 0; l <= MAX_LEVEL; l++) {
		CHECK(tree.stored[l] == (uint64_t)MAX_LEAVES >> l);
		for (k = 0; k < tree.stored[l]; k++) {
			naive_mth(leaves + (k << l), (uint64_t)1 << l, naive[0]);
			CHECK(memcmp(naive[0], tree.nodes[l][k], MERKLE_HASH_LEN) == 0);
		}
	}
	for (n = 0; n <= MAX_LEAVES; n++) {
		root_of(n, roots[n]);
		naive_mth(leaves, n, naive[0]);
		CHECKF(memcmp(roots[n], naive[0], MERKLE_HASH_LEN) == 0, "root of %llu", (unsigned long long)n);
	}

	for (n = 1; n <= 1000; n++) {
		flip_all_bits = n <= 8;
		/* Every inclusion proof; the naive PATH for small trees. */
		for (i = 0; i < n; i++) {
			p = inclusion(i, n, &count);
			if (n <= 64) {
				nc = naive_path(i, leaves, n, naive);
				CHECK(nc == count);
				CHECK(count == 0 || memcmp(naive, p, count * MERKLE_HASH_LEN) == 0);
			}
			CHECKF(merkle_verify_inclusion(i, n, leaves[i], (const hash_t *)p, count, roots[n]),
			    "inclusion %llu/%llu", (unsigned long long)i, (unsigned long long)n);
			if (n <= 24 || (n % 97 == 0 && rng() % 16 == 0)) {
				mutate_inclusion(i, n, p, count, roots);
				nmut++;
			}
			free(p);
			nincl++;
		}
		/* Consistency from every older size for n <= 200, from a
		 * sample (always 1, n - 1 and the powers of two) above. */
		for (m = 0; m <= n; m++) {
			if (n > 200 && m > 1 && m != n - 1 && (m & (m - 1)) != 0 && rng() % 32 != 0)
				continue;
			p = consistency(m, n, &count);
			if (m > 0 && n <= 64) {
				nc = naive_subproof(m, leaves, n, true, naive);
				CHECK(nc == count);
				CHECK(count == 0 || memcmp(naive, p, count * MERKLE_HASH_LEN) == 0);
			}
			CHECKF(merkle_verify_consistency(m, n, roots[m], roots[n], (const hash_t *)p, count),
			    "consistency %llu..%llu", (unsigned long long)m, (unsigned long long)n);
			if (m > 0 && m < n && (n <= 24 || (n % 89 == 0 && rng() % 8 == 0))) {
				mutate_consistency(m, n, p, count, roots);
				nmut++;
			}
			free(p);
			ncons++;
		}
	}
	printf("merkle: %lu inclusion and %lu consistency proofs verified, %lu mutated\n", nincl, ncons, nmut);
}

/* ---------------------------------------------------------------------
 * Huge trees. A tree whose leaves are all the same has one node hash per
 * level, so a hash source for any size is a table of 64 hashes; proofs in
 * it exercise the 64-bit arithmetic near 2^63 and 2^64.
 */

static hash_t uniform[MERKLE_MAX_LEVELS];
static uint64_t uniform_size;

static bool
uniform_fetch(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	CHECK(level < MERKLE_MAX_LEVELS);
	/* ((index + 1) << level) <= size, without the overflow. */
	CHECKF(index < (uniform_size >> level), "node (%u, %llu) past %llu", level, (unsigned long long)index,
	    (unsigned long long)uniform_size);
	memcpy(out, uniform[level], MERKLE_HASH_LEN);
	return true;
}

/* RFC 9162's proof lengths, worked out independently: an inclusion path
 * has one hash per level below the one where the leaf's path meets the
 * last leaf's path, plus one for each left sibling above it. */
static size_t
expected_inclusion_len(uint64_t index, uint64_t size)
{
	uint64_t x = index ^ (size - 1);
	unsigned inner = x == 0 ? 0 : 64 - (unsigned)__builtin_clzll(x);

	return inner + (inner == 64 ? 0 : (size_t)__builtin_popcountll(index >> inner));
}

static void
test_huge(void)
{
	static const uint64_t sizes[] = {
		(uint64_t)1 << 62, ((uint64_t)1 << 62) + 1, ((uint64_t)1 << 63) - 1, (uint64_t)1 << 63,
		((uint64_t)1 << 63) + 1, ((uint64_t)1 << 63) + 12345, UINT64_MAX - 1, UINT64_MAX,
	};
	struct vl_error err = { 0 };
	hash_t root, oldr, *p;
	size_t count, s, t, j;
	uint64_t n, idx[6], m;
	unsigned l;

	merkle_leaf_hash("x", 1, uniform[0]);
	for (l = 1; l < MERKLE_MAX_LEVELS; l++)
		merkle_node_hash(uniform[l - 1], uniform[l - 1], uniform[l]);

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		n = uniform_size = sizes[s];
		CHECK(merkle_root(n, uniform_fetch, NULL, root, &err));
		idx[0] = 0;
		idx[1] = 1;
		idx[2] = n / 2;
		idx[3] = n - 2;
		idx[4] = n - 1;
		idx[5] = (n / 3) | 1;
		for (j = 0; j < 6; j++) {
			CHECK(merkle_inclusion_proof(idx[j], n, uniform_fetch, NULL, &p, &count, &err));
			CHECK(count == expected_inclusion_len(idx[j], n));
			CHECK(count <= 64);
			CHECK(merkle_verify_inclusion(idx[j], n, uniform[0], (const hash_t *)p, count, root));
			if (count > 0)
				CHECK(!merkle_verify_inclusion(idx[j], n, uniform[0], (const hash_t *)p, count - 1, root));
			free(p);
		}
		for (t = 0; t <= s; t++) {
			m = uniform_size = sizes[t];
			CHECK(merkle_root(m, uniform_fetch, NULL, oldr, &err));
			uniform_size = n;
			CHECK(merkle_consistency_proof(m, n, uniform_fetch, NULL, &p, &count, &err));
			CHECK(count <= 65);
			CHECK(merkle_verify_consistency(m, n, oldr, root, (const hash_t *)p, count));
			if (count > 0)
				CHECK(!merkle_verify_consistency(m, n, oldr, root, (const hash_t *)p, count - 1));
			free(p);
		}
	}
	/* merkle_completed_levels at the edges. */
	CHECK(merkle_completed_levels(0) == 0);
	CHECK(merkle_completed_levels(1) == 1);
	CHECK(merkle_completed_levels(6) == 0);
	CHECK(merkle_completed_levels(7) == 3);
	CHECK(merkle_completed_levels(UINT64_MAX - 1) == 0);
	CHECK(merkle_completed_levels(UINT64_MAX >> 1) == 63);
	CHECK(merkle_completed_levels(UINT64_MAX) == 64u);
	/* The independent length formula agrees with the library for small
	 * trees too. */
	for (n = 1; n <= 300; n++)
		for (m = 0; m < n; m++)
			CHECK(merkle_inclusion_proof_len(m, n) == expected_inclusion_len(m, n));
}

static void
phase(const char *name, void (*fn)(void))
{
	clock_t t0 = clock();

	fn();
	printf("merkle_test: %s ok (%.1f s CPU)\n", name, (double)(clock() - t0) / CLOCKS_PER_SEC);
}

int
main(void)
{
	phase("vectors", test_vectors);
	phase("errors", test_errors);
	phase("properties", test_properties);
	phase("huge trees", test_huge);
	return 0;
}
