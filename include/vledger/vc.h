/*
 * vc.h - W3C Verifiable Credential proofs: Data Integrity with the
 * eddsa-jcs-2022 cryptosuite, keys named by did:key.
 *
 * Written from "Verifiable Credential Data Integrity 1.0", "Data Integrity
 * EdDSA Cryptosuites v1.0" (eddsa-jcs-2022), the did:key method and the
 * multibase draft (base58btc, prefix 'z').
 *
 * Formats:
 *
 *   base58btc      the Bitcoin alphabet
 *                  123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz;
 *                  each leading zero byte is one leading '1'
 *   did:key        "did:key:z" base58btc(0xed 0x01 || 32-byte Ed25519 public key)
 *                  (0xed 0x01 is the varint of multicodec ed25519-pub), so
 *                  every Ed25519 did:key starts "did:key:z6Mk"
 *   verification   "<did>#<the multibase part of the did>"
 *   method
 *   proof          {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
 *                   "created": <RFC 3339>, "verificationMethod": <vm>,
 *                   "proofPurpose": "assertionMethod",
 *                   ["@context": <the document's @context>,]
 *                   "proofValue": "z" base58btc(64-byte signature)}
 *   signed bytes   SHA-256(JCS(proof without proofValue)) ||
 *                  SHA-256(JCS(document without proof))
 *                  vc_sign always writes the document's @context into
 *                  the proof. A proof without @context verifies as it is
 *                  (the Recommendation) or, failing that, with the
 *                  document's @context in the proof configuration (what
 *                  signers of the 2023 drafts hashed).
 *
 * JCS is jcs_serialize(): documents may hold integers in the I-JSON safe
 * range but no floating-point numbers (see jcs.h).
 *
 * Errors of vc_verify / vc_verify_with_key:
 *   VL_INVALID_ARGUMENT   the document carries no usable proof:
 *       "document: must be a JSON object"
 *       "proof: missing: the document is not signed"
 *       "proof: must be one object (proof sets and chains are not supported)"
 *       "proof.type: must be \"DataIntegrityProof\""
 *       "proof.cryptosuite: unsupported suite \"<s>\" (want eddsa-jcs-2022)"
 *       "proof.proofPurpose: must be \"assertionMethod\""
 *       "proof.created: must be an RFC 3339 date-time"
 *       "proof.verificationMethod: unknown key: not a did:key (only did:key is resolved offline)"
 *       "proof.verificationMethod: did:key: ..."  (a malformed did:key)
 *       "proof.proofValue: malformed: ..."
 *       "proof.@context: ..."                      (not a prefix of the document's)
 *       "document: ..." / "proof: ..."              (jcs_serialize refused the JSON)
 *   VL_PERMISSION_DENIED  a well-formed proof that is not authentic:
 *       "proof: signature does not verify: the document or its proof was altered"
 * Messages never contain key material other than public keys.
 */
#ifndef VLEDGER_VC_H
#define VLEDGER_VC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vledger/error.h"

#define VC_PUBLIC_KEY_LEN 32
#define VC_SIGNATURE_LEN 64

#define VC_PROOF_TYPE "DataIntegrityProof"
#define VC_CRYPTOSUITE "eddsa-jcs-2022"
#define VC_PROOF_PURPOSE "assertionMethod"

/*
 * base58btc (no multibase prefix).
 */

/* Encodes `len` bytes; returns a malloc'd NUL-terminated string the caller
 * frees ("" for len 0). */
char *vc_base58_encode(const uint8_t *in, size_t len);

/* Decodes `len` characters into out (room for `max` bytes) and sets
 * *out_len. False for a character outside the alphabet or a value longer
 * than max bytes. "" decodes to zero bytes. */
VL_MUST_CHECK bool vc_base58_decode(const char *in, size_t len, uint8_t *out, size_t max, size_t *out_len);

/*
 * did:key.
 */

/* "did:key:z6Mk...", malloc'd for the caller to free. */
char *vc_did_key(const uint8_t pub[VC_PUBLIC_KEY_LEN]);

/* Parses "did:key:z..." or a verification method "did:key:z...#z...",
 * whose fragment must repeat the multibase key (the only form did:key
 * defines for Ed25519), into the 32-byte Ed25519 public key. Errors are
 * VL_INVALID_ARGUMENT "did:key: ...". On failure pub is untouched. */
VL_MUST_CHECK bool vc_did_key_parse(const char *did_or_vm, uint8_t pub[VC_PUBLIC_KEY_LEN], struct vl_error *err);

/*
 * Signing.
 */

/* An Ed25519 private key with its did:key and verification method.
 * Opaque; immutable after loading, so several threads may sign with one
 * signer at once. */
struct vc_signer;

/* Loads the PKCS#8 PEM Ed25519 key in `path` (the key file format of
 * note.h, with the same checks: a regular file, no group or other
 * permission, unencrypted "PRIVATE KEY", Ed25519). Errors as
 * note_signer_load's. On success *out is a new signer for
 * vc_signer_free(); on failure NULL. */
VL_MUST_CHECK bool vc_signer_load(const char *path, struct vc_signer **out, struct vl_error *err);

/* vc_signer_load(), but first creates the key with note_key_generate()
 * (O_EXCL, 0600) if `path` does not exist; *created says whether it did. */
VL_MUST_CHECK bool vc_signer_load_or_create(const char *path, bool *created, struct vc_signer **out,
    struct vl_error *err);

/* Wipes the private key and frees the signer. NULL is a no-op. */
void vc_signer_free(struct vc_signer *signer);

/* "did:key:z6Mk...", owned by the signer. Public. */
const char *vc_signer_did(const struct vc_signer *signer);

/* "did:key:z6Mk...#z6Mk...", owned by the signer. Public. */
const char *vc_signer_verification_method(const struct vc_signer *signer);

/* Copies the signer's public key into pub. */
void vc_signer_public_key(const struct vc_signer *signer, uint8_t pub[VC_PUBLIC_KEY_LEN]);

/* Signs `document` (a JSON object without a "proof" member) and adds the
 * proof described above, with `created` (an RFC 3339 date-time, e.g.
 * "2024-05-01T12:00:00Z") and the signer's did:key verification method.
 * The proof is a new object owned by the document; on failure the
 * document is unchanged. Errors: VL_INVALID_ARGUMENT "document: ..." /
 * "created: ...", VL_FAILED_PRECONDITION "document: already has a proof",
 * VL_INTERNAL when OpenSSL fails. */
VL_MUST_CHECK bool vc_sign(const struct vc_signer *signer, json_t *document, const char *created_rfc3339,
    struct vl_error *err);

/* vc_sign() naming another verification method (e.g. a did:web or https
 * URL that the verifier resolves to this signer's key). vc_verify() only
 * resolves did:key: such proofs need vc_verify_with_key(). */
VL_MUST_CHECK bool vc_sign_with_method(const struct vc_signer *signer, json_t *document, const char *created_rfc3339,
    const char *verification_method, struct vl_error *err);

/*
 * Verifying.
 */

/* Verifies the document's proof, resolving its verificationMethod as a
 * did:key (offline: nothing is fetched). On success *pub_out (unless
 * pub_out is NULL) is the public key that signed; the caller decides
 * whether that key is one it trusts. */
VL_MUST_CHECK bool vc_verify(const json_t *document, uint8_t pub_out[VC_PUBLIC_KEY_LEN], struct vl_error *err);

/* Verifies the proof under `pub`, whatever verificationMethod names (which
 * must still be a string): for a caller that resolved the method itself. */
VL_MUST_CHECK bool vc_verify_with_key(const json_t *document, const uint8_t pub[VC_PUBLIC_KEY_LEN],
    struct vl_error *err);

#endif
