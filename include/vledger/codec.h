/*
 * codec.h - one descriptor-driven codec for every message: proto3 JSON and
 * binary Protobuf, to and from protobuf-c's generated structs.
 *
 * There is no per-message code: the codec walks ProtobufCMessageDescriptor and
 * takes JSON names from the schema. JSON follows the proto3 JSON mapping:
 * lowerCamelCase names (the original field name is accepted too), 64-bit
 * integers as strings (numbers accepted on input), enums by name (numbers
 * accepted on input), bytes as base64 (standard or URL-safe, padding optional,
 * on input), google.protobuf.Timestamp as RFC 3339 in UTC, `null` as the
 * default value, unknown fields ignored. Output omits fields that hold their
 * default value.
 *
 * Every failure is VL_INVALID_ARGUMENT with a message that names the field by
 * its JSON path ("organization.parentId: expected a string").
 * Strings must be valid UTF-8 in both codecs (protobuf-c does not check this
 * on unpack; the codec does).
 *
 * The messages, after "<path>: " (path like "rMessage[2].label"):
 *   expected an integer | a number | a boolean | a string | a base64 string |
 *   an object | an array | an enum name or number |
 *   an RFC 3339 timestamp string
 *   value out of range for int32 | int64 | uint32 | uint64 | float | double | enum
 *   unknown enum value "FOO"
 *   invalid base64 | invalid UTF-8 | invalid RFC 3339 timestamp "..."
 *   oneof already set by <other member's JSON name>
 *   duplicate field (also given as "<proto name>")
 *   map fields are not supported
 *   timestamp out of range                     (encoding only)
 * and without a path:
 *   invalid JSON at line L column C: <jansson's text>
 *   expected a JSON object at the top level
 *   malformed protobuf message
 * Binary decoding has no schema, so its paths use the lowerCamelCase of the
 * proto names (the same as the JSON names unless a json_name overrides one).
 *
 * `schema` may be NULL: JSON names are then the lowerCamelCase of the proto
 * names. Only google.protobuf.Timestamp gets a special JSON form; other
 * well-known types are encoded as ordinary messages. Integer literals beyond
 * the int64 range are refused by jansson ("too big integer"), so uint64
 * values above INT64_MAX must be sent as strings (as the encoder writes
 * them). Numbers are formatted and parsed with printf/strtod, which assume
 * the "C" LC_NUMERIC locale.
 */
#ifndef VLEDGER_CODEC_H
#define VLEDGER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "vledger/error.h"
#include "vledger/schema.h"

/* Decodes into a new message of type `desc`. On success *out owns all its
 * memory; free it with protobuf_c_message_free_unpacked(*out, NULL). On
 * failure *out is NULL and nothing is leaked. An empty input is the default
 * message (for binary) and is invalid JSON (for JSON). */
VL_MUST_CHECK bool codec_decode_binary(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
    size_t len, ProtobufCMessage **out, struct vl_error *err);
VL_MUST_CHECK bool codec_decode_json(const struct schema *schema, const ProtobufCMessageDescriptor *desc,
    const char *data, size_t len, ProtobufCMessage **out, struct vl_error *err);

/* Encodes `msg`. *out is a new malloc'd buffer of *out_len bytes that the
 * caller frees with free(); the JSON form is NUL-terminated too. */
void codec_encode_binary(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len);
VL_MUST_CHECK bool codec_encode_json(const struct schema *schema, const ProtobufCMessage *msg, char **out,
    size_t *out_len, struct vl_error *err);

/* True when the bytes are well-formed UTF-8 (no overlongs, no surrogates). */
bool codec_utf8_valid(const char *s, size_t len);

/* Helpers for google.protobuf.Timestamp (shared with handlers). The string
 * form is RFC 3339 with a 'Z' offset and 0, 3, 6 or 9 fractional digits on
 * output; any offset on input. `buf` needs 40 bytes. Parsing accepts
 * 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z (after applying the
 * offset), 1 to 9 fraction digits, 'T'/'t' and 'Z'/'z', no leap seconds.
 * Formatting clamps values outside that range (and nanos outside
 * 0..999999999) to it. */
VL_MUST_CHECK bool codec_timestamp_parse(const char *s, int64_t *seconds, int32_t *nanos);
void codec_timestamp_format(int64_t seconds, int32_t nanos, char buf[40]);

#endif
