/*
 * merkle.c - RFC 6962 / RFC 9162 Merkle tree hashes, proofs and their
 * verification, over complete nodes fetched from a merkle_hash_fn.
 *
 * Everything here reduces to one operation, range_hash(start, len): the
 * RFC 6962 hash MTH of the leaves [start, start + len) where start is a
 * multiple of the smallest power of two >= len (every subtree that a proof
 * or root names is such a range). Splitting at the largest power of two
 * below len, again and again, cuts the range into one complete node per one
 * bit of len, largest first; MTH is those nodes folded from the right. So
 * any hash costs at most 64 fetches, and a proof, whose ranges are all
 * complete but one, O(log n).
 */
#include "vledger/merkle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vledger/log.h"

/*
 * SHA-256 through EVP. The digest is fetched once for the process (an
 * implicit fetch per hash would go through the provider store's lock every
 * time) and never freed. Each thread keeps one EVP_MD_CTX for all its
 * hashes, freed when the thread exits: a proof check does a few dozen
 * hashes and a tree rebuild millions, and allocating a context for each
 * one would cost more than the hashing.
 */
static EVP_MD *merkle_sha256_md;
static pthread_key_t merkle_md_key;
static pthread_once_t merkle_sha256_once = PTHREAD_ONCE_INIT;

static void
merkle_md_free(void *md)
{
	EVP_MD_CTX_free(md);
}

static void
merkle_sha256_init(void)
{
	merkle_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (merkle_sha256_md == NULL)
		fatalx("merkle: OpenSSL has no SHA-256");
	if (pthread_key_create(&merkle_md_key, merkle_md_free) != 0)
		fatalx("merkle: pthread_key_create failed");
}

/* This thread's context, ready for EVP_DigestInit_ex2(). */
static EVP_MD_CTX *
merkle_md(void)
{
	EVP_MD_CTX *md;

	if (pthread_once(&merkle_sha256_once, merkle_sha256_init) != 0)
		fatalx("merkle: pthread_once failed");
	if ((md = pthread_getspecific(merkle_md_key)) != NULL)
		return md;
	if ((md = EVP_MD_CTX_new()) == NULL)
		fatalx("merkle: out of memory");
	if (pthread_setspecific(merkle_md_key, md) != 0)
		fatalx("merkle: pthread_setspecific failed");
	return md;
}

/* SHA-256(prefix || a || b), or of nothing at all when prefix is < 0.
 * Failure here means no memory or a broken OpenSSL, neither of which a
 * caller could handle. */
static void
merkle_sha256(int prefix, const void *a, size_t alen, const void *b, size_t blen, uint8_t out[MERKLE_HASH_LEN])
{
	EVP_MD_CTX *md = merkle_md();
	unsigned char p = (unsigned char)prefix;
	unsigned int outlen = 0;

	if (EVP_DigestInit_ex2(md, merkle_sha256_md, NULL) != 1 ||
	    (prefix >= 0 && EVP_DigestUpdate(md, &p, 1) != 1) ||
	    (alen > 0 && EVP_DigestUpdate(md, a, alen) != 1) ||
	    (blen > 0 && EVP_DigestUpdate(md, b, blen) != 1) ||
	    EVP_DigestFinal_ex(md, out, &outlen) != 1 || outlen != MERKLE_HASH_LEN)
		fatalx("merkle: SHA-256 failed");
}

void
merkle_leaf_hash(const void *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	merkle_sha256(0x00, data, len, NULL, 0, out);
}

void
merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
    uint8_t out[MERKLE_HASH_LEN])
{
	merkle_sha256(0x01, left, MERKLE_HASH_LEN, right, MERKLE_HASH_LEN, out);
}

void
merkle_empty_root(uint8_t out[MERKLE_HASH_LEN])
{
	merkle_sha256(-1, NULL, 0, NULL, 0, out);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t
merkle_split(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* MTH(D[start : start + len]), len >= 1, start aligned as described at the
 * top of the file. */
static bool
merkle_range_hash(uint64_t start, uint64_t len, merkle_hash_fn fn, void *ctx, uint8_t out[MERKLE_HASH_LEN],
    struct vl_error *err)
{
	uint8_t pieces[MERKLE_MAX_LEVELS][MERKLE_HASH_LEN];
	unsigned n = 0, level;
	uint64_t pos = start;

	for (level = 64 - (unsigned)__builtin_clzll(len); level-- > 0;) {
		if ((len & ((uint64_t)1 << level)) == 0)
			continue;
		if (!fn(ctx, level, pos >> level, pieces[n], err))
			return false;
		n++;
		pos += (uint64_t)1 << level;
	}
	/* len >= 1 (so clz is defined above), so n >= 1. */
	memcpy(out, pieces[n - 1], MERKLE_HASH_LEN);
	while (n-- > 1)
		merkle_node_hash(pieces[n - 1], out, out);
	return true;
}

bool
merkle_root(uint64_t size, merkle_hash_fn fn, void *ctx, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	if (size == 0) {
		merkle_empty_root(out);
		return true;
	}
	return merkle_range_hash(0, size, fn, ctx, out, err);
}

/*
 * Inclusion proofs. Going up from the leaf, the node holding it at level l
 * is index >> l; its sibling (index >> l) ^ 1 is on the path if it has any
 * leaf, i.e. if its index is at most that of the node holding the last
 * leaf, (size - 1) >> l. When it has none, RFC 6962's tree has no node at
 * this level (the node is its own parent) and the path skips it. The walk
 * ends at the first level with a single node, the root.
 */

/* Fills in the leaf range of each sibling on the path, leaf end first, and
 * returns how many there are (at most 64: a level-63 node is the child of
 * the root of any tree with more than 2^63 leaves). */
static size_t
merkle_path_walk(uint64_t index, uint64_t size, uint64_t starts[MERKLE_MAX_LEVELS], uint64_t lens[MERKLE_MAX_LEVELS])
{
	uint64_t last = size - 1, sib, start, room;
	unsigned level;
	size_t n = 0;

	for (level = 0; level < MERKLE_MAX_LEVELS && (last >> level) != 0; level++) {
		sib = (index >> level) ^ 1;
		if (sib > (last >> level))
			continue;
		start = sib << level;
		room = size - start;
		starts[n] = start;
		lens[n] = room < ((uint64_t)1 << level) ? room : (uint64_t)1 << level;
		n++;
	}
	return n;
}

size_t
merkle_inclusion_proof_len(uint64_t index, uint64_t size)
{
	uint64_t starts[MERKLE_MAX_LEVELS], lens[MERKLE_MAX_LEVELS];

	if (index >= size)
		return 0;
	return merkle_path_walk(index, size, starts, lens);
}

bool
merkle_inclusion_proof(uint64_t index, uint64_t size, merkle_hash_fn fn, void *ctx,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err)
{
	uint64_t starts[MERKLE_MAX_LEVELS], lens[MERKLE_MAX_LEVELS];
	uint8_t (*p)[MERKLE_HASH_LEN];
	size_t n, i;

	*proof = NULL;
	*count = 0;
	if (index >= size)
		return vl_error_set(err, VL_OUT_OF_RANGE, "leafIndex: %llu is not less than the tree size %llu",
		    (unsigned long long)index, (unsigned long long)size);
	n = merkle_path_walk(index, size, starts, lens);
	if (n == 0)
		return true;
	p = xcalloc(n, sizeof(*p));
	for (i = 0; i < n; i++) {
		if (!merkle_range_hash(starts[i], lens[i], fn, ctx, p[i], err)) {
			free(p);
			return false;
		}
	}
	*proof = p;
	*count = n;
	return true;
}

/*
 * Consistency proofs: RFC 9162 §2.1.4.1 SUBPROOF(m, D[start : start + len], b)
 * unrolled. Each step either recurses into the left half (and afterwards
 * emits the right half) or into the right half (and afterwards emits the
 * left half), so the proof is the base case's hash, if any, followed by the
 * halves emitted in the reverse of the order the descent met them.
 */
struct merkle_subproof {
	uint64_t starts[MERKLE_MAX_LEVELS + 1];
	uint64_t lens[MERKLE_MAX_LEVELS + 1];
	size_t n;
};

static void
merkle_subproof_plan(uint64_t old_size, uint64_t new_size, struct merkle_subproof *plan)
{
	uint64_t start = 0, len = new_size, m = old_size, k;
	uint64_t halves_start[MERKLE_MAX_LEVELS], halves_len[MERKLE_MAX_LEVELS];
	size_t nhalves = 0, i;
	bool b = true;

	/* 0 < m <= len throughout. */
	while (m != len) {
		k = merkle_split(len);
		if (m <= k) {
			halves_start[nhalves] = start + k;
			halves_len[nhalves] = len - k;
			len = k;
		} else {
			halves_start[nhalves] = start;
			halves_len[nhalves] = k;
			start += k;
			len -= k;
			m -= k;
			b = false;
		}
		nhalves++;
	}
	plan->n = 0;
	if (!b) {
		plan->starts[plan->n] = start;
		plan->lens[plan->n] = len;
		plan->n++;
	}
	for (i = nhalves; i-- > 0;) {
		plan->starts[plan->n] = halves_start[i];
		plan->lens[plan->n] = halves_len[i];
		plan->n++;
	}
}

size_t
merkle_consistency_proof_len(uint64_t old_size, uint64_t new_size)
{
	struct merkle_subproof plan;

	if (old_size == 0 || old_size >= new_size)
		return 0;
	merkle_subproof_plan(old_size, new_size, &plan);
	return plan.n;
}

bool
merkle_consistency_proof(uint64_t old_size, uint64_t new_size, merkle_hash_fn fn, void *ctx,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err)
{
	struct merkle_subproof plan;
	uint8_t (*p)[MERKLE_HASH_LEN];
	size_t i;

	*proof = NULL;
	*count = 0;
	if (old_size > new_size)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "fromSize: %llu is greater than the tree size %llu",
		    (unsigned long long)old_size, (unsigned long long)new_size);
	if (old_size == 0 || old_size == new_size)
		return true;
	merkle_subproof_plan(old_size, new_size, &plan);
	p = xcalloc(plan.n, sizeof(*p));
	for (i = 0; i < plan.n; i++) {
		if (!merkle_range_hash(plan.starts[i], plan.lens[i], fn, ctx, p[i], err)) {
			free(p);
			return false;
		}
	}
	*proof = p;
	*count = plan.n;
	return true;
}

/*
 * Appending.
 */

unsigned
merkle_completed_levels(uint64_t leaf_index)
{
	return leaf_index == UINT64_MAX ? 64 : (unsigned)__builtin_ctzll(~leaf_index);
}

bool
merkle_append(uint64_t leaf_index, const uint8_t leaf_hash[MERKLE_HASH_LEN], merkle_hash_fn fn, void *ctx,
    struct merkle_node nodes[MERKLE_MAX_LEVELS], unsigned *count, struct vl_error *err)
{
	uint8_t left[MERKLE_HASH_LEN];
	unsigned levels, l;

	*count = 0;
	/* The tree would need 2^64 leaves, and node (64, 0). */
	if (leaf_index == UINT64_MAX)
		return vl_error_set(err, VL_RESOURCE_EXHAUSTED, "the log is full");
	levels = merkle_completed_levels(leaf_index);
	nodes[0].level = 0;
	nodes[0].index = leaf_index;
	memcpy(nodes[0].hash, leaf_hash, MERKLE_HASH_LEN);
	for (l = 1; l <= levels; l++) {
		if (!fn(ctx, l - 1, (leaf_index >> (l - 1)) ^ 1, left, err))
			return false;
		nodes[l].level = l;
		nodes[l].index = leaf_index >> l;
		merkle_node_hash(left, nodes[l - 1].hash, nodes[l].hash);
	}
	*count = levels + 1;
	return true;
}

/*
 * Verification: RFC 9162 §2.1.3.2 and §2.1.4.2 step by step. The proof
 * length is checked against the length a correct proof has before
 * anything is hashed; the algorithms would reject a wrong length anyway
 * (through their `sn` checks), so this is a second, independent guard.
 */

bool
merkle_root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_LEN],
    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t count, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i;

	if (index >= size || count != merkle_inclusion_proof_len(index, size))
		return false;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, MERKLE_HASH_LEN);
	for (i = 0; i < count; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) != 0 || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else
			merkle_node_hash(r, proof[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return false;
	memcpy(out, r, MERKLE_HASH_LEN);
	return true;
}

bool
merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_LEN],
    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t count, const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];

	if (!merkle_root_from_inclusion(index, size, leaf_hash, proof, count, r))
		return false;
	return memcmp(r, root, MERKLE_HASH_LEN) == 0;
}

bool
merkle_verify_consistency(uint64_t old_size, uint64_t new_size, const uint8_t old_root[MERKLE_HASH_LEN],
    const uint8_t new_root[MERKLE_HASH_LEN], const uint8_t (*proof)[MERKLE_HASH_LEN], size_t count)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN], empty[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i;

	if (old_size > new_size)
		return false;
	if (old_size == new_size)
		return count == 0 && memcmp(old_root, new_root, MERKLE_HASH_LEN) == 0;
	if (old_size == 0) {
		merkle_empty_root(empty);
		return count == 0 && memcmp(old_root, empty, MERKLE_HASH_LEN) == 0;
	}
	/* Step 1 (an empty path fails) is implied: a correct proof for
	 * 0 < old_size < new_size is never empty. */
	if (count == 0 || count != merkle_consistency_proof_len(old_size, new_size))
		return false;
	/* Step 2: when old_size is a power of two the old root is itself a
	 * node of the new tree and the proof leaves it out; start from it
	 * instead of from the first proof hash. */
	i = 0;
	if ((old_size & (old_size - 1)) == 0) {
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	} else {
		memcpy(fr, proof[0], MERKLE_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH_LEN);
	fn = old_size - 1;
	sn = new_size - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < count; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) != 0 || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else
			merkle_node_hash(sr, proof[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(fr, old_root, MERKLE_HASH_LEN) == 0 &&
	    memcmp(sr, new_root, MERKLE_HASH_LEN) == 0;
}
