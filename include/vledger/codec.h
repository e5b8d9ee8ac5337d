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
 * output; any offset on input. `buf` needs 40 bytes. */
VL_MUST_CHECK bool codec_timestamp_parse(const char *s, int64_t *seconds, int32_t *nanos);
void codec_timestamp_format(int64_t seconds, int32_t nanos, char buf[40]);

#endif
