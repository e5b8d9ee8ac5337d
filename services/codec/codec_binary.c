/*
 * codec_binary.c - binary Protobuf via protobuf-c, plus the checks that
 * protobuf-c leaves out: strings must be UTF-8 without NUL characters.
 *
 * Why NUL needs its own pass: protobuf-c hands strings over as C strings,
 * so "abc\0xyz" on the wire arrives as "abc" and the rest is silently
 * dropped: a certificate with junk after a NUL would verify, a name would
 * be cut short. The JSON form cannot carry a NUL at all (jansson refuses
 * \u0000), so refusing it here keeps both forms saying the same thing.
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

/* Reads a base-128 varint at *p (below end); false when truncated or
 * longer than 10 bytes. */
static bool
wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Walks the wire form of a message that protobuf-c already accepted and
 * refuses a NUL byte inside any known string field, at any depth. Unknown
 * fields and other types are skipped. Malformed input cannot get here, but
 * the walk still stops safely at anything it cannot parse. */
static bool
codec_binary_check_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end, int depth,
    struct vl_error *err)
{
	uint64_t key, len, skip;

	if (depth > 100)
		return true;
	while (p < end) {
		const ProtobufCFieldDescriptor *f;

		if (!wire_varint(&p, end, &key))
			return true;
		switch (key & 7) {
		case 0:
			if (!wire_varint(&p, end, &skip))
				return true;
			continue;
		case 1:
			p += (size_t)(end - p) < 8 ? (size_t)(end - p) : 8;
			continue;
		case 5:
			p += (size_t)(end - p) < 4 ? (size_t)(end - p) : 4;
			continue;
		case 2:
			break;
		default:
			return true;
		}
		if (!wire_varint(&p, end, &len) || len > (uint64_t)(end - p))
			return true;
		f = key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3)) : NULL;
		if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, '\0', (size_t)len) != NULL)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: contains a NUL character",
			    schema_json_name(NULL, desc, f));
		if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !codec_binary_check_nul(f->descriptor, p, p + len, depth + 1, err)) {
			vl_error_prefix(err, schema_json_name(NULL, desc, f));
			return false;
		}
		p += len;
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
	if (!codec_binary_check(msg, err) || !codec_binary_check_nul(desc, data != NULL ? data : empty,
	    (data != NULL ? data : empty) + (data != NULL ? len : 0), 0, err)) {
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
