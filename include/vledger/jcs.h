/*
 * jcs.h - RFC 8785 JSON Canonicalization Scheme for ledger entries.
 *
 * The canonical text of an entry is what the transparency log hashes, so it
 * must be the same bytes whoever computes it: object members sorted by
 * their names compared as UTF-16 code units, no whitespace, strings with
 * the minimal escaping of RFC 8785 §3.2.2.2, and numbers as ECMAScript
 * prints them. Ledger entries carry integers only, inside the I-JSON safe
 * range, so "as ECMAScript prints them" is plain decimal; floating-point
 * numbers are refused rather than canonicalised, which keeps every
 * verifier's number formatting out of the hash.
 *
 * Errors are VL_INVALID_ARGUMENT, built like the codec's: the message is
 * "<path>: <what>" where path names the offending value from the top, keys
 * joined with '.' and array positions in brackets ("hours[2].minutes"),
 * and is empty for the top-level value itself (": ..."), so a caller
 * prefixes its own field name with vl_error_prefix(err, "details"). The
 * <what>s:
 *   floating-point numbers are not allowed in ledger entries
 *   integer out of the safe range -9007199254740991..9007199254740991
 *   invalid UTF-8 in a string | invalid UTF-8 in a member name
 *   nesting deeper than 2048 levels
 */
#ifndef VLEDGER_JCS_H
#define VLEDGER_JCS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "vledger/error.h"

/* The largest magnitude of an integer that an IEEE 754 double holds
 * exactly (I-JSON, RFC 7493 §2.2): 2^53 - 1. */
#define JCS_MAX_SAFE_INTEGER 9007199254740991LL

/* Nesting limit (the same as jansson's parser's), so that a value built in
 * memory cannot exhaust the stack. */
#define JCS_MAX_DEPTH 2048

/* Writes the canonical form of `value`. *out is a new malloc'd,
 * NUL-terminated string of *out_len bytes (not counting the NUL) that the
 * caller frees. On failure *out is NULL and *out_len 0. */
VL_MUST_CHECK bool jcs_serialize(const json_t *value, char **out, size_t *out_len, struct vl_error *err);

#endif
