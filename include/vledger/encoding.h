/*
 * encoding.h - base64, hex, Crockford base32, percent-decoding and random
 * identifiers.
 */
#ifndef VLEDGER_ENCODING_H
#define VLEDGER_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes standard or URL-safe base64, padding optional (both alphabets are
 * accepted, as the proto3 JSON mapping and Connect GET require). On success
 * *out is a malloc'd buffer (NUL-terminated, *out_len excludes the NUL) that
 * the caller frees. Returns false on any invalid character or length. */
bool base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len);

/* Strict base64 for signed data: the standard alphabet, padded, and
 * canonical (the unused low bits of the last symbol zero), so every value
 * has exactly one spelling. Decodes into out (room for `max` bytes); false
 * for anything else or anything longer. */
bool base64_decode_strict(const char *in, size_t len, uint8_t *out, size_t max, size_t *out_len);

/* Encodes; returns a malloc'd NUL-terminated string the caller frees.
 * `url`: URL-safe alphabet without padding; else standard with padding. */
char *base64_encode(const uint8_t *in, size_t len, bool url);

/* Lower-case hex of `len` bytes into out (2*len+1 bytes). */
void hex_encode(const uint8_t *in, size_t len, char *out);

/* Crockford's base32 alphabet, "0123456789ABCDEFGHJKMNPQRSTVWXYZ": no I, L,
 * O or U, so codes read off paper or aloud have no look-alikes. Used by
 * certificate numbers and share codes. */
extern const char crockford32_alphabet[33];

/* A symbol's value as Crockford's decoding reads what people type (either
 * case; I and L are 1, O is 0), or -1 for anything else. */
int crockford32_value(char c);

/* Decodes %XX and '+' (as space) of an application/x-www-form-urlencoded
 * value. Returns a malloc'd string (caller frees) and its length, or NULL on a
 * malformed escape. */
char *percent_decode(const char *in, size_t len, size_t *out_len);

/* Fills buf with cryptographically secure random bytes; aborts if the
 * system's generator fails (nothing safe can be done without it). */
void random_bytes(uint8_t *buf, size_t len);

/* "<prefix><24 hex digits>" from 96 random bits into out (size >= strlen(prefix)+25). */
void random_id(const char *prefix, char *out, size_t out_size);

#endif
