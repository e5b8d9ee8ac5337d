/*
 * schema.h - what protoc knows and protobuf-c's descriptors forget.
 *
 * The build embeds the `protoc --include_imports --descriptor_set_out`
 * FileDescriptorSet of proto/ (symbol vledger_descriptor_set). schema_load()
 * parses it once at startup; afterwards the codec asks it for each field's
 * json_name and the router asks it which methods are NO_SIDE_EFFECTS (and so
 * may be called with HTTP GET). A schema is immutable after loading and may be
 * read from any thread.
 */
#ifndef VLEDGER_SCHEMA_H
#define VLEDGER_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "vledger/error.h"

struct schema;

extern const unsigned char vledger_descriptor_set[];
extern const size_t vledger_descriptor_set_len;

/* Parses a serialized FileDescriptorSet. On success *out is a new schema that
 * the caller frees with schema_free(). */
VL_MUST_CHECK bool schema_load(const uint8_t *data, size_t len, struct schema **out, struct vl_error *err);
void schema_free(struct schema *schema);

/* The field's proto3 JSON name (json_name from protoc, which is the
 * lowerCamelCase of the field name unless the proto overrides it). When the
 * message is not in the schema, the lowerCamelCase computed from the field
 * name; `schema` may be NULL for that. The string lives as long as the schema
 * (or the descriptor: fallback names are cached process-wide, keyed by field
 * descriptor, under a mutex). */
const char *schema_json_name(const struct schema *schema, const ProtobufCMessageDescriptor *message,
    const ProtobufCFieldDescriptor *field);

/* True when `service_full_name`/`method` carries
 * `option idempotency_level = NO_SIDE_EFFECTS`. */
bool schema_method_no_side_effects(const struct schema *schema, const char *service_full_name,
    const char *method);

#endif
