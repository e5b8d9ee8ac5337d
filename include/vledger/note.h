/*
 * note.h - C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and
 * the body of a C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint).
 *
 * This is the only module of vledger that signs: the private key lives in a
 * struct note_signer and nowhere else, and is wiped when the signer is freed.
 * Key files are PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), mode 0600, the
 * format `openssl genpkey -algorithm ed25519` writes.
 *
 * Formats (all text is UTF-8; "\n" is the only control character allowed):
 *
 *   verifier key (vkey)  <name>+<key id, 8 lower-case hex digits>+<base64(0x01 || 32-byte public key)>
 *   key id               the first 4 bytes, big-endian, of
 *                        SHA-256(name || 0x0A || 0x01 || 32-byte public key)
 *   signed note          <text, ending in "\n">
 *                        "\n"
 *                        one or more lines "— <name> <base64(4-byte key id || signature)>\n"
 *                        (U+2014 EM DASH, then a space)
 *   checkpoint body      "<origin>\n<tree size, decimal>\n<base64(32-byte root hash)>\n"
 *                        [extension lines, each non-empty and ending in "\n"]
 *
 * base64 is always the standard alphabet with padding (RFC 4648 §4), and
 * what is parsed must be canonical (zero padding bits; Go's decoder would
 * also take non-canonical spellings, which no signer produces). The
 * vkey is the string golang.org/x/mod/sumdb/note's NewVerifier accepts, so
 * that Go's note.Open (and any C2SP client) can check our checkpoints.
 *
 * Key names (and so checkpoint origins, since the log signs with its
 * origin as the key name) must be non-empty, valid UTF-8, without Unicode
 * white space (U+0009-000D, U+0020, U+0085, U+00A0, U+1680, U+2000-200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000), '+' or control characters.
 *
 * Errors:
 *   note_key_generate         VL_ALREADY_EXISTS "<path>: key file already exists"
 *                             VL_INTERNAL       "<path>: <strerror>" / OpenSSL failure
 *   note_signer_load          VL_INVALID_ARGUMENT "key name: ..." (bad name)
 *                             VL_NOT_FOUND        "<path>: no such key file"
 *                             VL_FAILED_PRECONDITION
 *                                 "<path>: key file must be mode 0600 (is 0644)"
 *                                     (any group or other bit; 0400 is fine)
 *                                 "<path>: key file is not a regular file"
 *                                 "<path>: not a PKCS#8 PEM private key (...)"
 *                                     (no PEM block, another label such as
 *                                     "EC PRIVATE KEY" or "ENCRYPTED PRIVATE KEY",
 *                                     bad DER, larger than 16 KiB)
 *                                 "<path>: holds a key of type RSA; note signing needs Ed25519"
 *                                 "<path>: unsupported or corrupt private key"
 *                             VL_INTERNAL         other I/O and OpenSSL failures
 *   note_sign                 VL_INVALID_ARGUMENT "note text: ..." (empty, no final
 *                                 newline, control character, invalid UTF-8, too large)
 *   note_verify               VL_INVALID_ARGUMENT "vkey: ..." / "note: ..." for anything
 *                                 malformed (the note is not a signed note at all)
 *                             VL_PERMISSION_DENIED for a well-formed note that is not
 *                                 authentic under the key:
 *                                 "note: signature by <name>+<id> does not verify"
 *                                 "note: no signature by <name>+<id>"
 *   checkpoint_parse          VL_INVALID_ARGUMENT "checkpoint: ..."
 * Messages name key files and key names (public), never key material.
 */
#ifndef VLEDGER_NOTE_H
#define VLEDGER_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vledger/error.h"

/* The largest note note_sign and note_verify handle, and the most signature
 * lines note_verify reads (the spec requires at least 16). A checkpoint
 * with a handful of cosignatures is well under 1 KiB. */
#define NOTE_MAX_LEN (64 * 1024)
#define NOTE_MAX_SIGNATURES 100

#define CHECKPOINT_HASH_LEN 32

/* An Ed25519 private key with its key name, key id and vkey. Opaque;
 * immutable after loading, so one signer may be used by several threads at
 * once. */
struct note_signer;

/* Writes a new Ed25519 private key to `path` as PKCS#8 PEM, creating the
 * file with O_EXCL and mode 0600: an existing file (or a dangling symlink)
 * is never overwritten. A partly written file is removed. */
VL_MUST_CHECK bool note_key_generate(const char *path, struct vl_error *err);

/* Loads the Ed25519 key in `path` for signing under the key name `name`.
 * Refuses a key file that grants any permission to group or other, and
 * any key that is not a PKCS#8 PEM Ed25519 private key (encrypted keys
 * included: the daemon has no one to ask for a passphrase). On success
 * *out is a new signer for note_signer_free(); on failure it is NULL. */
/* Reads an Ed25519 private key file with the checks above (a regular file
 * of mode 0600 or stricter, one unencrypted PKCS#8 "PRIVATE KEY" block,
 * type Ed25519). On success *out is the key; the caller frees it with
 * EVP_PKEY_free(). Shared by the note signer and the credential signer
 * (vc.c), which use the same key files. */
struct evp_pkey_st;
VL_MUST_CHECK bool note_key_load(const char *path, struct evp_pkey_st **out, struct vl_error *err);

VL_MUST_CHECK bool note_signer_load(const char *path, const char *name, struct note_signer **out,
    struct vl_error *err);

/* note_signer_load(), but first generates the key if `path` does not exist
 * (the daemon's first start); *created says whether it did. Losing a race
 * with another process creating the same file is not an error: its key is
 * loaded. */
VL_MUST_CHECK bool note_signer_load_or_create(const char *path, const char *name, bool *created,
    struct note_signer **out, struct vl_error *err);

/* Wipes the private key and frees the signer. NULL is a no-op. */
void note_signer_free(struct note_signer *signer);

/* The signer's verifier key, e.g. "vledger.local/log+1a2b3c4d+AbCd...".
 * Owned by the signer. Public: safe to log and to publish. */
const char *note_signer_vkey(const struct note_signer *signer);

/* The key name given at load time; owned by the signer. */
const char *note_signer_name(const struct note_signer *signer);

uint32_t note_signer_key_id(const struct note_signer *signer);

/* Whether `name` (len bytes) is a valid key name (see above). */
bool note_name_valid(const char *name, size_t len);

/* Signs `text` (len bytes: non-empty, ending in "\n", valid UTF-8, no
 * control character but "\n", at most NOTE_MAX_LEN) and sets *note_out to
 * the signed note with one signature line, a malloc'd NUL-terminated
 * string the caller frees. On failure *note_out is NULL. */
VL_MUST_CHECK bool note_sign(const struct note_signer *signer, const char *text, size_t len, char **note_out,
    struct vl_error *err);

/* Checks the signed note `note` (len bytes) against the verifier key
 * `vkey`. The text is everything before the LAST blank line. Signature
 * lines by other keys (a different name or key id) are ignored, as the
 * spec requires; every line by this key must verify, and there must be at
 * least one. On success *text_out (unless text_out is NULL) is the note
 * text including its final "\n", malloc'd, NUL-terminated, for the caller
 * to free; on failure it is NULL. */
VL_MUST_CHECK bool note_verify(const char *vkey, const char *note, size_t len, char **text_out,
    struct vl_error *err);

/* "<origin>\n<size>\n<base64(root)>\n", malloc'd for the caller to free.
 * NULL if origin is not a valid key name (see above), which a signer's
 * name always is: pass note_signer_name(). */
VL_MUST_CHECK char *checkpoint_body(const char *origin, uint64_t size, const uint8_t root[CHECKPOINT_HASH_LEN]);

/* Parses a checkpoint body (a verified note's text). Strict: at least
 * three non-empty lines, the last one ending in "\n"; the size in decimal
 * without sign or leading zeros ("0" alone for the empty tree) and within
 * uint64; the root hash standard padded base64 of exactly 32 bytes.
 * Extension lines after the third must be non-empty and are ignored. The
 * origin is checked only for being non-empty UTF-8 without control
 * characters: clients must not assume more (tlog-checkpoint). On success
 * *origin is malloc'd for the caller to free; on failure it is NULL. */
VL_MUST_CHECK bool checkpoint_parse(const char *text, size_t len, char **origin, uint64_t *size,
    uint8_t root[CHECKPOINT_HASH_LEN], struct vl_error *err);

#endif
