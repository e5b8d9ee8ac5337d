/*
 * pii.h - volunteers' personal data: encrypted at rest, erasable by
 * crypto-shredding, committed to in the public log without being in it.
 *
 * Personal data (name, phone number, identity number) never enters the
 * public ledger. Each volunteer gets a random 32-byte data key (DEK); the
 * data is stored (in PostgreSQL, by the caller) encrypted under the DEK, and
 * the DEK is stored wrapped under a key derived from the master key.
 * Deleting the wrapped DEK erases the data for good: the ciphertext can then
 * no longer be decrypted by anyone, master key or not, while the log and
 * its commitments stay intact. The log entry holds only a keyed commitment.
 *
 * Master key file (STATE_DIR/pii.key by default)
 *   32 random bytes as standard padded base64 (44 characters) on one line,
 *   optionally ending in "\n" or "\r\n"; nothing else. Mode 0600 (0400 is
 *   fine: any group or other bit is refused). `openssl rand -base64 32`
 *   writes such a file. Losing it loses every volunteer's personal data;
 *   it must be backed up separately from the database.
 *
 * Derived keys (HKDF-SHA-256, RFC 5869, no salt, 32 bytes each; the master
 * key itself is not kept after loading):
 *   wrap key    info "vledger pii wrap v1"     wraps DEKs
 *   commit key  info "vledger pii commit v1"   commitments
 *   index key   info "vledger pii index v1"    duplicate-detection index
 * Keeping them apart means the commit key can be handed to a court or an
 * auditor to check commitments without giving them any data.
 *
 * Wrapped DEK (PII_WRAPPED_DEK_LEN = 61 bytes)
 *   0x01 || 12-byte random nonce || AES-256-GCM(wrap key, DEK) (32 bytes)
 *   || 16-byte tag; associated data 0x01 || volunteer id (UTF-8 bytes), so
 *   a wrapped DEK copied to another volunteer's row does not open.
 *
 * Ciphertext of a record (PII_CT_OVERHEAD = 29 bytes more than the plaintext)
 *   0x01 || 12-byte random nonce || AES-256-GCM(DEK, plaintext) || 16-byte tag;
 *   associated data 0x01 || volunteer id. The plaintext is
 *     u32be(len name) || name || u32be(len phone) || phone
 *     || u32be(len id_number) || id_number
 *   (the strings' bytes, no NUL terminators).
 *
 * Commitment (64 lower-case hex digits)
 *   HMAC-SHA-256(commit key,
 *     u32be(len volunteer id) || volunteer id || u32be(len name) || name
 *     || u32be(len phone) || phone || u32be(len id_number) || id_number)
 *   The lengths make the encoding unambiguous. It commits to the bytes as
 *   given: store and commit the normalised identity number
 *   (pii_id_number_normalize), so that a number re-typed from an ID card
 *   with a lower-case x or spaces still reproduces the commitment.
 *
 * Identity index (64 lower-case hex digits)
 *   HMAC-SHA-256(index key, u32be(len district id) || district id
 *     || normalised identity number)
 *   The same number in the same district always gives the same index (a
 *   unique index finds duplicates); without the key the index cannot be
 *   brute-forced over the small space of identity numbers.
 *
 * Identity numbers are normalised by removing all ASCII white space (so
 * leading, trailing and inner spaces, tabs and newlines) and upper-casing a
 * final 'x'. A valid one (GB 11643-1999) is then 17 digits and a check
 * character, a digit or X, from ISO 7064 MOD 11-2.
 *
 * Errors (messages never contain personal data or key material):
 *   pii_key_generate       VL_ALREADY_EXISTS "<path>: key file already exists"
 *                          VL_INTERNAL "<path>: <strerror>"
 *   pii_keys_load          VL_NOT_FOUND "<path>: no such key file"
 *                          VL_FAILED_PRECONDITION
 *                              "<path>: key file must be mode 0600 (is 0644)"
 *                              "<path>: key file is not a regular file"
 *                              "<path>: not a PII master key (want base64 of 32 bytes on one line)"
 *                          VL_INTERNAL other I/O, HKDF failures
 *   pii_seal               VL_INVALID_ARGUMENT "volunteerId: required" /
 *                              "volunteerId: longer than 4096 bytes"
 *                              "personalData.name: required"
 *                              "personalData.<field>: longer than 4096 bytes"
 *                          VL_INTERNAL "personal data: encryption failed"
 *   pii_open               VL_INVALID_ARGUMENT "volunteerId: ..." (as pii_seal)
 *                          VL_DATA_LOSS
 *                              "personal data: wrapped data key is malformed"
 *                              "personal data: wrapped data key does not authenticate
 *                                  (another master key or another volunteer's key)"
 *                              "personal data: ciphertext is malformed"
 *                              "personal data: ciphertext does not authenticate"
 *                          VL_INTERNAL "personal data: decryption failed to run"
 *   pii_name_valid         VL_INVALID_ARGUMENT "personalData.name: required" /
 *                              "...: longer than 100 characters" /
 *                              "...: must be UTF-8 without control characters"
 *   pii_phone_valid        VL_INVALID_ARGUMENT "personalData.phone: must be 5 to 20
 *                              characters: digits with an optional leading +"
 *   pii_id_number_valid    VL_INVALID_ARGUMENT "personalData.idNumber: must be 18
 *                              characters: 17 digits and a digit or X"
 *                          VL_INVALID_ARGUMENT "personalData.idNumber: check digit
 *                              does not match"
 */
#ifndef VLEDGER_PII_H
#define VLEDGER_PII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vledger/error.h"

#define PII_KEY_LEN 32
#define PII_FORMAT_V1 0x01
#define PII_NONCE_LEN 12
#define PII_TAG_LEN 16
#define PII_WRAPPED_DEK_LEN (1 + PII_NONCE_LEN + PII_KEY_LEN + PII_TAG_LEN)
#define PII_CT_OVERHEAD (1 + PII_NONCE_LEN + PII_TAG_LEN)
/* The most bytes pii_seal takes in one field (a 100-character name is at
 * most 400 bytes of UTF-8). */
#define PII_FIELD_MAX 4096
#define PII_NAME_MAX_CHARS 100
#define PII_PHONE_MIN 5
#define PII_PHONE_MAX 20
#define PII_ID_NUMBER_LEN 18
/* Hex of an HMAC-SHA-256, with the NUL. */
#define PII_HEX_LEN 65
#define PII_MASK_LEN 32

/* The derived wrap, commit and index keys. Opaque; immutable after
 * loading, so one may be shared by several threads. */
struct pii_keys;

/* One volunteer's personal data: plain NUL-terminated UTF-8 strings. The
 * caller owns them. name is required; phone and id_number may be empty,
 * and NULL is taken as empty wherever a record is read. */
struct pii_record {
	char *name;
	char *phone;
	char *id_number;
};

/* Writes a new random master key to `path` (format above), created with
 * O_EXCL and mode 0600: an existing file or a dangling symlink is never
 * overwritten. The file and its directory are fsync'd; a partly written
 * file is removed. */
VL_MUST_CHECK bool pii_key_generate(const char *path, struct vl_error *err);

/* Loads the master key in `path` (for an explicit --pii-key flag: the file
 * must exist) and derives the keys. On success *out is for
 * pii_keys_free(); on failure it is NULL. */
VL_MUST_CHECK bool pii_keys_load(const char *path, struct pii_keys **out, struct vl_error *err);

/* pii_keys_load(), but first generates the key file if `path` does not
 * exist (the daemon's first start); *created says whether it did. Losing a
 * race with another process creating the file is not an error: its key is
 * loaded. */
VL_MUST_CHECK bool pii_keys_load_or_create(const char *path, bool *created, struct pii_keys **out,
    struct vl_error *err);

/* Wipes the keys and frees them. NULL is a no-op. */
void pii_keys_free(struct pii_keys *keys);

/* Encrypts rec for volunteer_id under a new random DEK and wraps the DEK.
 * On success *wrapped_dek (*wrapped_len == PII_WRAPPED_DEK_LEN) and
 * *ciphertext (*ct_len) are malloc'd for the caller to free; neither is
 * secret. On failure both are NULL. rec is not validated beyond the name
 * being present and each field being at most PII_FIELD_MAX bytes: run the
 * pii_*_valid checks first. */
VL_MUST_CHECK bool pii_seal(const struct pii_keys *keys, const char *volunteer_id, const struct pii_record *rec,
    uint8_t **wrapped_dek, size_t *wrapped_len, uint8_t **ciphertext, size_t *ct_len, struct vl_error *err);

/* Unwraps the DEK and decrypts the record that pii_seal made for the same
 * volunteer_id. Either everything authenticates or nothing is returned:
 * on success out's three strings are malloc'd (never NULL; release them
 * with pii_record_wipe_free()), on failure they are NULL. */
VL_MUST_CHECK bool pii_open(const struct pii_keys *keys, const char *volunteer_id, const uint8_t *wrapped_dek,
    size_t wrapped_len, const uint8_t *ciphertext, size_t ct_len, struct pii_record *out, struct vl_error *err);

/* Wipes and frees the three strings of a record that pii_open filled (or
 * any record whose strings are malloc'd), and sets them to NULL. The
 * struct itself is the caller's and is not freed. NULL is a no-op. */
void pii_record_wipe_free(struct pii_record *rec);

/* The commitment to (volunteer_id, rec) as 64 lower-case hex digits and a
 * NUL. Deterministic for a given master key. */
void pii_commitment(const struct pii_keys *keys, const char *volunteer_id, const struct pii_record *rec,
    char out_hex[PII_HEX_LEN]);

/* The duplicate-detection index of an identity number in a district, as 64
 * lower-case hex digits and a NUL. id_number is normalised first; false
 * (out_hex is then "") if nothing is left, for there is nothing to index. */
VL_MUST_CHECK bool pii_identity_index(const struct pii_keys *keys, const char *district_id, const char *id_number,
    char out_hex[PII_HEX_LEN]);

/* The normalised identity number (see above), malloc'd for the caller to
 * free (and wipe: it is personal data). NULL is taken as "". */
char *pii_id_number_normalize(const char *s);

/* Checks a name: 1 to 100 characters (code points) of valid UTF-8 with no
 * control character (C0, DEL or C1). */
VL_MUST_CHECK bool pii_name_valid(const char *s, struct vl_error *err);

/* Checks a phone number: 5 to 20 characters in all, digits with an
 * optional leading '+'. No spaces or punctuation; an absent phone is the
 * caller's to allow (this rejects ""). */
VL_MUST_CHECK bool pii_phone_valid(const char *s, struct vl_error *err);

/* Checks an identity number after normalisation: 17 digits and a digit or
 * X, with the GB 11643 (ISO 7064 MOD 11-2) check character. An absent
 * number is the caller's to allow (this rejects ""). */
VL_MUST_CHECK bool pii_id_number_valid(const char *s, struct vl_error *err);

/* Feedback tickets: PII_TICKET_LEN base32 characters (50 bits) derived with
 * HMAC-SHA-256 under a key derived from the master key ("vledger feedback
 * ticket v1") from `scope` and `index`. Deriving instead of drawing them
 * lets a retried request get the same tickets back while only their hashes
 * are stored. */
#define PII_TICKET_LEN 10
void pii_ticket_code(const struct pii_keys *keys, const char *scope, uint32_t index, char out[PII_TICKET_LEN + 1]);

/* pii_name_valid, and pii_phone_valid / pii_id_number_valid for the fields
 * that are not empty (or NULL). */
VL_MUST_CHECK bool pii_record_valid(const struct pii_record *rec, struct vl_error *err);

/* The normalised identity number with all but its last 4 characters
 * replaced by '*', e.g. "**************123X", for certificates. Numbers of
 * 4 characters or fewer are masked completely; very long input is cut to
 * the last PII_MASK_LEN - 1 characters; bytes other than printable ASCII
 * are always masked. NULL gives "". */
void pii_mask_id_number(const char *id, char out[PII_MASK_LEN]);

#endif
