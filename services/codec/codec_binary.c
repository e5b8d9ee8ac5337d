/*
 * codec_binary.c - binary Protobuf via protobuf-c, plus the UTF-8 check that
 * protobuf-c leaves out.
 */
#include "vledger/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/log.h"

static bool codec_binary_check(const ProtobufCMessage *msg, struct vl_error *err);

/* Checks one string; `index` is the repeated index or -1. The path uses JSON
 * names (the lowerCamelCase fallback: binary decoding has no schema). */
static bool
codec_binary_check_string(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *f,
    const char *s, long index, struct vl_error *err)
{
	if (s == NULL || codec_utf8_valid(s, strlen(s)))
		return true;
	if (index >= 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "%s[%ld]: invalid UTF-8",
		    schema_json_name(NULL, desc, f), index);
	return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: invalid UTF-8", schema_json_name(NULL, desc, f));
}

static bool
codec_binary_check_message(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *f,
    const ProtobufCMessage *sub, long index, struct vl_error *err)
{
	char prefix[128];

	if (sub == NULL || codec_binary_check(sub, err))
		return true;
	if (index >= 0)
		snprintf(prefix, sizeof(prefix), "%s[%ld]", schema_json_name(NULL, desc, f), index);
	else
		snprintf(prefix, sizeof(prefix), "%s", schema_json_name(NULL, desc, f));
	vl_error_prefix(err, prefix);
	return false;
}

/* Walks every string reachable from `msg`. */
static bool
codec_binary_check(const ProtobufCMessage *msg, struct vl_error *err)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	const char *base = (const char *)msg;
	unsigned i;
	size_t j, n;

	for (i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		/* The union member of an unselected oneof is some other type. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			for (j = 0; j < n; j++) {
				const void *elt = (*(void *const *)(base + f->offset));

				if (f->type == PROTOBUF_C_TYPE_STRING) {
					if (!codec_binary_check_string(desc, f, ((char *const *)elt)[j], (long)j, err))
						return false;
				} else if (!codec_binary_check_message(desc, f,
				    ((ProtobufCMessage *const *)elt)[j], (long)j, err))
					return false;
			}
		} else if (f->type == PROTOBUF_C_TYPE_STRING) {
			if (!codec_binary_check_string(desc, f, *(char *const *)(base + f->offset), -1, err))
				return false;
		} else if (!codec_binary_check_message(desc, f, *(ProtobufCMessage *const *)(base + f->offset),
		    -1, err))
			return false;
	}
	return true;
}

bool
codec_decode_binary(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
    ProtobufCMessage **out, struct vl_error *err)
{
	static const uint8_t empty[1];
	ProtobufCMessage *msg;

	*out = NULL;
	/* The NULL allocator is malloc/free, which is what the contract tells
	 * callers to free with. */
	msg = protobuf_c_message_unpack(desc, NULL, len, data != NULL ? data : empty);
	if (msg == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "malformed protobuf message");
	if (!codec_binary_check(msg, err)) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return false;
	}
	*out = msg;
	return true;
}

void
codec_encode_binary(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len)
{
	size_t size, packed;

	size = protobuf_c_message_get_packed_size(msg);
	*out = xmalloc(size);
	packed = protobuf_c_message_pack(msg, *out);
	if (packed != size)
		fatalx("protobuf-c packed %zu bytes of %zu for %s", packed, size, msg->descriptor->name);
	*out_len = size;
}
