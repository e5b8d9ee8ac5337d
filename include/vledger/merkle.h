/*
 * merkle.h - RFC 6962 / RFC 9162 Merkle tree math for the transparency log,
 * independent of where the hashes are stored.
 *
 * Terms. The tree over n leaves is the one RFC 6962 §2.1 defines (split at
 * the largest power of two below n). Seen from the leaves up, its nodes sit
 * on a grid: node (level, index) covers the leaves
 * [index << level, (index + 1) << level). A node is COMPLETE in a tree of
 * size n when all of those leaves exist, i.e. ((index + 1) << level) <= n.
 * A complete node's hash never changes as the log grows, which is why it is
 * the unit of storage: the store keeps the hash of every complete node
 * (level 0 is the leaf hashes) and never rewrites one. The nodes on the
 * right edge of a tree whose size is not a power of two are incomplete; the
 * functions here compute them from complete ones.
 *
 * Every function that reads the tree asks a merkle_hash_fn for O(log n)
 * complete nodes, all inside the tree size it was given, and never for the
 * same node twice in one call. It never checks that the tree size is the
 * log's current size: the caller does (a size past the end makes the hash
 * source fail, which is reported as is).
 *
 * Errors:
 *   merkle_inclusion_proof   VL_OUT_OF_RANGE
 *       "leafIndex: 7 is not less than the tree size 7"
 *   merkle_consistency_proof VL_INVALID_ARGUMENT
 *       "fromSize: 9 is greater than the tree size 8"
 *   merkle_append            VL_RESOURCE_EXHAUSTED "the log is full"
 *       (leaf_index UINT64_MAX: the tree would need 2^64 leaves)
 *   any reader: whatever the hash source set.
 * The verification functions do not report why a proof is wrong: a proof
 * either verifies or it does not.
 */
#ifndef VLEDGER_MERKLE_H
#define VLEDGER_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vledger/error.h"

#define MERKLE_HASH_LEN 32

/* The most levels a tree of up to UINT64_MAX leaves has above its leaves,
 * and so the longest inclusion proof and the most nodes one append
 * completes (levels 0..63). A consistency proof has at most one more. */
#define MERKLE_MAX_LEVELS 64

/* Writes the hash of the complete node (level, index) to out. The caller
 * guarantees ((index + 1) << level) does not exceed the tree size it is
 * working on. On failure it sets err (VL_UNAVAILABLE for a broken
 * connection, VL_DATA_LOSS for a missing node, ...) and returns false; the
 * error is passed up unchanged. */
typedef bool (*merkle_hash_fn)(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN],
    struct vl_error *err);

/* SHA-256(0x00 || data): the hash of a leaf (RFC 6962 §2.1). */
void merkle_leaf_hash(const void *data, size_t len, uint8_t out[MERKLE_HASH_LEN]);

/* SHA-256(0x01 || left || right): the hash of an interior node. out may
 * alias left or right. */
void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
    uint8_t out[MERKLE_HASH_LEN]);

/* SHA-256 of the empty string: the root of the empty tree. */
void merkle_empty_root(uint8_t out[MERKLE_HASH_LEN]);

/* The root hash of the tree of `size` leaves: MTH(D[size]). It fetches one
 * complete node per one bit of size (the tree's right edge). */
VL_MUST_CHECK bool merkle_root(uint64_t size, merkle_hash_fn fn, void *ctx, uint8_t out[MERKLE_HASH_LEN],
    struct vl_error *err);

/* The audit path of leaf `index` in the tree of `size` leaves: RFC 9162
 * §2.1.3.1 PATH(index, D[size]), ordered from the leaf's sibling up to the
 * child of the root. *proof is a new malloc'd array of *count hashes that
 * the caller frees (NULL when *count is 0: a tree of one leaf). On failure
 * *proof is NULL and *count 0. */
VL_MUST_CHECK bool merkle_inclusion_proof(uint64_t index, uint64_t size, merkle_hash_fn fn, void *ctx,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err);

/* The consistency proof between the trees of old_size and new_size leaves:
 * RFC 9162 §2.1.4.1 PROOF(old_size, D[new_size]). Empty (NULL, 0) when
 * old_size is 0 or equals new_size. Ownership as for inclusion proofs. */
VL_MUST_CHECK bool merkle_consistency_proof(uint64_t old_size, uint64_t new_size, merkle_hash_fn fn, void *ctx,
    uint8_t (**proof)[MERKLE_HASH_LEN], size_t *count, struct vl_error *err);

/* How many hashes a correct proof has; 0 for the degenerate cases (and for
 * invalid arguments, which the verifiers reject anyway). */
size_t merkle_inclusion_proof_len(uint64_t index, uint64_t size);
size_t merkle_consistency_proof_len(uint64_t old_size, uint64_t new_size);

/*
 * Appending. When leaf number `leaf_index` (0-based: the tree had
 * leaf_index leaves) is added, the nodes that become complete are the leaf
 * itself, (0, leaf_index), and its ancestors (l, leaf_index >> l) for
 * l = 1 .. merkle_completed_levels(leaf_index): the new leaf closes a node
 * exactly while it is the right child, i.e. for as many levels as
 * leaf_index has trailing one bits. The hash of ancestor l is
 * merkle_node_hash(left, <hash at level l - 1>) where left is the complete
 * node (l - 1, (leaf_index >> (l - 1)) ^ 1), its left sibling, which
 * already exists.
 *
 * merkle_append() does that walk: it fills `nodes` with the new complete
 * nodes, leaf first, and returns how many (1 + merkle_completed_levels()).
 * It fetches one existing node per level above the leaf, all inside the
 * tree of leaf_index leaves; when several leaves are appended in one
 * transaction the hash source must see the nodes stored for the earlier
 * ones. After storing the nodes, merkle_root(leaf_index + 1, ...) is the new
 * root.
 */
struct merkle_node {
	unsigned level;
	uint64_t index;
	uint8_t hash[MERKLE_HASH_LEN];
};

unsigned merkle_completed_levels(uint64_t leaf_index);

VL_MUST_CHECK bool merkle_append(uint64_t leaf_index, const uint8_t leaf_hash[MERKLE_HASH_LEN], merkle_hash_fn fn,
    void *ctx, struct merkle_node nodes[MERKLE_MAX_LEVELS], unsigned *count, struct vl_error *err);

/*
 * Verification, for clients: pure functions, strict per RFC 9162.
 */

/* Computes the root that the audit path implies for leaf `index` of a tree
 * of `size` leaves (RFC 9162 §2.1.3.2 steps 1-4). False when index >= size
 * or the proof has the wrong number of hashes for (index, size). */
VL_MUST_CHECK bool merkle_root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_LEN],
    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t count, uint8_t out[MERKLE_HASH_LEN]);

/* True when `proof` proves leaf_hash is leaf `index` of the tree of `size`
 * leaves whose root is `root`. */
VL_MUST_CHECK bool merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_LEN],
    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t count, const uint8_t root[MERKLE_HASH_LEN]);

/* True when `proof` proves the tree of old_size leaves with root old_root is
 * a prefix of the tree of new_size leaves with root new_root (RFC 9162
 * §2.1.4.2). The degenerate cases follow RFC 9162 §2.1.4: old_size ==
 * new_size needs an empty proof and equal roots; old_size == 0 needs an
 * empty proof and old_root equal to the empty-tree root. old_size >
 * new_size never verifies. */
VL_MUST_CHECK bool merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
    const uint8_t old_root[MERKLE_HASH_LEN], const uint8_t new_root[MERKLE_HASH_LEN],
    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t count);

#endif
