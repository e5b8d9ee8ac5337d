/*
 * codec_json.c - the proto3 JSON mapping, driven by protobuf-c descriptors.
 *
 * Decoding parses with jansson and then walks the message descriptor, looking
 * each field up in the JSON object by its JSON name and its proto name, so
 * unknown keys are ignored without a second pass. Every value is built
 * completely before it is stored in the message, and everything is allocated
 * with malloc, so a failure at any depth is cleaned up by a single
 * protobuf_c_message_free_unpacked(msg, NULL) on the top-level message.
 *
 * Encoding writes the text directly rather than through jansson, because
 * jansson prints every real with 17 significant digits; proto3 JSON wants
 * the shortest text that reads back as the same float or double.
 *
 * Error messages are built from the inside out: the innermost failure sets
 * ": what went wrong" and each enclosing field prefixes its JSON name with
 * vl_error_prefix(), giving "rMessage[2].label: expected a string".
 */
#include "vledger/codec.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vledger/encoding.h"

#include "vledger/log.h"

#define TS_MIN_SECONDS (-62135596800LL)
#define TS_MAX_SECONDS 253402300799LL

/* The generic walk reaches into generated structs by offset. */
#define FIELD_PTR(msg, off) ((void *)((char *)(msg) + (off)))
#define FIELD_CPTR(msg, off) ((const void *)((const char *)(msg) + (off)))

static bool
codec_is_timestamp(const ProtobufCMessageDescriptor *desc)
{
	return strcmp(desc->name, "google.protobuf.Timestamp") == 0;
}

/* protobuf-c keeps no map_entry option, so a map field is recognised by its
 * shape: a repeated message field whose type is a nested "...Entry" with
 * exactly key = 1 and value = 2, as protoc generates for map<K, V>. */
static bool
codec_is_map(const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *m = f->descriptor;
	size_t n;

	if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE || m == NULL)
		return false;
	n = strlen(m->short_name);
	return m->n_fields == 2 && n > 5 && strcmp(m->short_name + n - 5, "Entry") == 0 &&
	    m->fields[0].id == 1 && strcmp(m->fields[0].name, "key") == 0 &&
	    m->fields[1].id == 2 && strcmp(m->fields[1].name, "value") == 0;
}

/* The size of one element of a repeated field's array in protobuf-c. */
static size_t
codec_elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int32_t);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	fatalx("codec: unknown protobuf-c type %d", (int)type);
}

/* ---- output buffer ----------------------------------------------------- */

struct jbuf {
	char *p;
	size_t len;
	size_t cap;
};

static void
jbuf_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
jbuf_puts(struct jbuf *b, const char *s)
{
	jbuf_put(b, s, strlen(s));
}

static void
jbuf_putc(struct jbuf *b, char c)
{
	jbuf_put(b, &c, 1);
}

static void VL_PRINTF(2, 3)
jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		fatalx("codec: number too long to format");
	jbuf_put(b, tmp, (size_t)n);
}

/* A JSON string literal; `s` must already be valid UTF-8, which is written
 * as is (only '"', '\\' and control characters are escaped). */
static void
jbuf_put_string(struct jbuf *b, const char *s, size_t len)
{
	size_t i, start = 0;

	jbuf_putc(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char tmp[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			esc = tmp;
		}
		jbuf_put(b, s + start, i - start);
		jbuf_puts(b, esc);
		start = i + 1;
	}
	jbuf_put(b, s + start, len - start);
	jbuf_putc(b, '"');
}

/* The shortest %g text that reads back as the same value. Fewer than 6
 * (float) or 15 (double) digits always read back, and %g drops trailing
 * zeros, so starting there loses nothing. */
static void
jbuf_put_real(struct jbuf *b, double d, bool is_float)
{
	char tmp[40];
	int p;

	if (isnan(d)) {
		jbuf_puts(b, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		jbuf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	for (p = is_float ? 6 : 15; p < 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*g", p, d);
		if (is_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d)
			break;
	}
	if (p == 17)
		snprintf(tmp, sizeof(tmp), "%.17g", d);
	jbuf_puts(b, tmp);
}

static void
jbuf_put_base64(struct jbuf *b, const uint8_t *data, size_t len)
{
	char *text = base64_encode(data, len, false);

	jbuf_putc(b, '"');
	jbuf_puts(b, text);
	jbuf_putc(b, '"');
	free(text);
}

/* ---- decoding ---------------------------------------------------------- */

static bool codec_json_decode_message(const struct schema *schema, ProtobufCMessage *msg, json_t *obj,
    struct vl_error *err);

/* Strict decimal integer text: an optional '-' and at least one digit. */
static bool
codec_decimal_syntax(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A signed integer in [min, max] from a JSON integer, an integral real or a
 * decimal string. */
static bool
codec_json_int(json_t *v, int64_t min, int64_t max, const char *type, int64_t *out, struct vl_error *err)
{
	int64_t x;

	if (json_is_integer(v))
		x = json_integer_value(v);
	else if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d != trunc(d))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an integer");
		if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s", type);
		x = (int64_t)d;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		if (!codec_decimal_syntax(s))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an integer");
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno == ERANGE)
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s", type);
	} else
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an integer");
	if (x < min || x > max)
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s", type);
	*out = x;
	return true;
}

/* Unsigned counterpart. jansson itself rejects integer literals above
 * INT64_MAX ("too big integer"), so larger uint64 values must come as
 * strings, which is how the encoder writes them. */
static bool
codec_json_uint(json_t *v, uint64_t max, const char *type, uint64_t *out, struct vl_error *err)
{
	uint64_t x;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0)
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s", type);
		x = (uint64_t)i;
	} else if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d != trunc(d))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an integer");
		if (d < 0 || d >= 18446744073709551616.0)
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s", type);
		x = (uint64_t)d;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		if (!codec_decimal_syntax(s))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an integer");
		if (s[0] == '-') {
			/* "-0" is zero; any other negative is out of range. */
			if (strspn(s + 1, "0") != strlen(s + 1))
				return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s", type);
			s++;
		}
		errno = 0;
		x = strtoull(s, &end, 10);
		if (errno == ERANGE)
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s", type);
	} else
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an integer");
	if (x > max)
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s", type);
	*out = x;
	return true;
}

/* Decimal real text as JSON writes it (no hex, no "inf", no spaces), so that
 * strtod accepts nothing the JSON number grammar would not. */
static bool
codec_real_syntax(const char *s)
{
	size_t n = strspn(s, "0123456789+-.eE");

	return n > 0 && s[n] == '\0' && strpbrk(s, "0123456789") != NULL;
}

static bool
codec_json_real(json_t *v, bool is_float, double *out, struct vl_error *err)
{
	double d;

	if (json_is_number(v))
		d = json_number_value(v);
	else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		if (strcmp(s, "NaN") == 0)
			d = NAN;
		else if (strcmp(s, "Infinity") == 0)
			d = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			d = -INFINITY;
		else {
			if (!codec_real_syntax(s))
				return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected a number");
			errno = 0;
			d = strtod(s, &end);
			if (*end != '\0')
				return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected a number");
			if (errno == ERANGE && isinf(d))
				return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for %s",
				    is_float ? "float" : "double");
		}
	} else
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected a number");
	/* Up to half an ulp past FLT_MAX still rounds to FLT_MAX (the encoder
	 * writes FLT_MAX as 3.4028235e+38, which is above it); from there on
	 * the conversion would overflow. */
	if (is_float && isfinite(d) && fabs(d) >= (double)FLT_MAX + 0x1p103)
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": value out of range for float");
	*out = d;
	return true;
}

static bool
codec_json_enum(const ProtobufCEnumDescriptor *ed, json_t *v, int32_t *out, struct vl_error *err)
{
	const ProtobufCEnumValue *ev;
	int64_t x;

	if (json_is_string(v)) {
		ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
		if (ev == NULL)
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": unknown enum value \"%s\"",
			    json_string_value(v));
		*out = ev->value;
		return true;
	}
	if (!json_is_number(v))
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an enum name or number");
	/* proto3 enums are open: any int32 is a valid value. */
	if (!codec_json_int(v, INT32_MIN, INT32_MAX, "enum", &x, err))
		return false;
	*out = (int32_t)x;
	return true;
}

static ProtobufCMessage *
codec_new_message(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = xmalloc(desc->sizeof_message);

	desc->message_init(m);
	return m;
}

static bool
codec_json_timestamp(const ProtobufCMessageDescriptor *desc, json_t *v, ProtobufCMessage **out,
    struct vl_error *err)
{
	int64_t seconds;
	int32_t nanos;
	ProtobufCMessage *m;
	const ProtobufCFieldDescriptor *fs, *fn;

	if (!json_is_string(v))
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an RFC 3339 timestamp string");
	if (!codec_timestamp_parse(json_string_value(v), &seconds, &nanos))
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": invalid RFC 3339 timestamp \"%s\"",
		    json_string_value(v));
	fs = protobuf_c_message_descriptor_get_field(desc, 1);
	fn = protobuf_c_message_descriptor_get_field(desc, 2);
	if (fs == NULL || fn == NULL)
		fatalx("codec: google.protobuf.Timestamp without seconds and nanos");
	m = codec_new_message(desc);
	*(int64_t *)FIELD_PTR(m, fs->offset) = seconds;
	*(int32_t *)FIELD_PTR(m, fn->offset) = nanos;
	*out = m;
	return true;
}

/* Decodes one (non-repeated) value of field `f` into `dst`, which is the
 * field's storage or one element of its array. `dst` is written only on
 * success, and then owns whatever was allocated. */
static bool
codec_json_value(const struct schema *schema, const ProtobufCFieldDescriptor *f, json_t *v, void *dst,
    struct vl_error *err)
{
	int64_t i;
	uint64_t u;
	double d;
	int32_t e = 0;  /* set by the enum parser; 0 keeps -O2 flow analysis quiet */

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (!codec_json_int(v, INT32_MIN, INT32_MAX, "int32", &i, err))
			return false;
		*(int32_t *)dst = (int32_t)i;
		return true;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!codec_json_int(v, INT64_MIN, INT64_MAX, "int64", &i, err))
			return false;
		*(int64_t *)dst = i;
		return true;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!codec_json_uint(v, UINT32_MAX, "uint32", &u, err))
			return false;
		*(uint32_t *)dst = (uint32_t)u;
		return true;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (!codec_json_uint(v, UINT64_MAX, "uint64", &u, err))
			return false;
		*(uint64_t *)dst = u;
		return true;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected a boolean");
		*(protobuf_c_boolean *)dst = json_is_true(v);
		return true;
	case PROTOBUF_C_TYPE_FLOAT:
		if (!codec_json_real(v, true, &d, err))
			return false;
		*(float *)dst = (float)d;
		return true;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!codec_json_real(v, false, &d, err))
			return false;
		*(double *)dst = d;
		return true;
	case PROTOBUF_C_TYPE_ENUM:
		if (!codec_json_enum(f->descriptor, v, &e, err))
			return false;
		*(int32_t *)dst = e;
		return true;
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(v))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected a string");
		/* jansson validates UTF-8 on load; this guards against a
		 * future JSON_ALLOW_NUL or a json_t built elsewhere. */
		if (!codec_utf8_valid(json_string_value(v), json_string_length(v)) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": invalid UTF-8");
		*(char **)dst = xstrndup(json_string_value(v), json_string_length(v));
		return true;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *bd = dst;
		uint8_t *data;
		size_t len;

		if (!json_is_string(v))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected a base64 string");
		if (!base64_decode(json_string_value(v), json_string_length(v), &data, &len))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": invalid base64");
		bd->data = data;
		bd->len = len;
		return true;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sub = f->descriptor;
		ProtobufCMessage *m;

		if (codec_is_timestamp(sub))
			return codec_json_timestamp(sub, v, dst, err);
		if (!json_is_object(v))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an object");
		m = codec_new_message(sub);
		if (!codec_json_decode_message(schema, m, v, err)) {
			protobuf_c_message_free_unpacked(m, NULL);
			return false;
		}
		*(ProtobufCMessage **)dst = m;
		return true;
	}
	}
	fatalx("codec: unknown protobuf-c type %d", (int)f->type);
}

/* Decodes a JSON array into repeated field `f`. On an element's failure
 * *bad is its index (SIZE_MAX when `v` is not an array at all). */
static bool
codec_json_repeated(const struct schema *schema, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
    json_t *v, size_t *bad, struct vl_error *err)
{
	size_t *count = FIELD_PTR(msg, f->quantifier_offset);
	void **array = FIELD_PTR(msg, f->offset);
	size_t size = codec_elem_size(f->type), n, i;

	*bad = SIZE_MAX;
	if (!json_is_array(v))
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": expected an array");
	n = json_array_size(v);
	if (n == 0)
		return true;
	/* The array is attached first and the count grows per finished
	 * element, so a failure leaves a message free_unpacked can free. */
	*array = xcalloc(n, size);
	for (i = 0; i < n; i++) {
		if (!codec_json_value(schema, f, json_array_get(v, i), (char *)*array + i * size, err)) {
			*bad = i;
			return false;
		}
		(*count)++;
	}
	return true;
}

static bool
codec_json_decode_message(const struct schema *schema, ProtobufCMessage *msg, json_t *obj,
    struct vl_error *err)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	char prefix[160];
	unsigned i;
	size_t bad;

	for (i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *name = schema_json_name(schema, desc, f);
		json_t *v, *v2 = NULL;

		v = json_object_get(obj, name);
		if (strcmp(name, f->name) != 0)
			v2 = json_object_get(obj, f->name);
		if (v != NULL && v2 != NULL)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: duplicate field (also given as \"%s\")",
			    name, f->name);
		if (v == NULL)
			v = v2;
		if (v == NULL || json_is_null(v))
			continue;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t *kase = FIELD_PTR(msg, f->quantifier_offset);

			if (*kase != 0) {
				const ProtobufCFieldDescriptor *other =
				    protobuf_c_message_descriptor_get_field(desc, *kase);

				return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: oneof already set by %s", name,
				    other != NULL ? schema_json_name(schema, desc, other) : "another field");
			}
			if (!codec_json_value(schema, f, v, FIELD_PTR(msg, f->offset), err))
				goto fail;
			*kase = f->id;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (codec_is_map(f))
				return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: map fields are not supported", name);
			if (!codec_json_repeated(schema, msg, f, v, &bad, err)) {
				if (bad == SIZE_MAX)
					goto fail;
				snprintf(prefix, sizeof(prefix), "%s[%zu]", name, bad);
				vl_error_prefix(err, prefix);
				return false;
			}
			continue;
		}
		if (!codec_json_value(schema, f, v, FIELD_PTR(msg, f->offset), err))
			goto fail;
		/* Scalars with explicit presence (proto2 optional, proto3
		 * `optional`) have a has_ flag; strings and messages do not. */
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			*(protobuf_c_boolean *)FIELD_PTR(msg, f->quantifier_offset) = 1;
		continue;
fail:
		vl_error_prefix(err, name);
		return false;
	}
	return true;
}

bool
codec_decode_json(const struct schema *schema, const ProtobufCMessageDescriptor *desc, const char *data,
    size_t len, ProtobufCMessage **out, struct vl_error *err)
{
	json_error_t jerr;
	json_t *root;
	ProtobufCMessage *msg;
	bool ok;

	*out = NULL;
	/* JSON_DECODE_ANY so that a top-level scalar gets our own message
	 * rather than jansson's "'[' or '{' expected". */
	root = json_loadb(data != NULL ? data : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "invalid JSON at line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return vl_error_set(err, VL_INVALID_ARGUMENT, "expected a JSON object at the top level");
	}
	msg = codec_new_message(desc);
	ok = codec_json_decode_message(schema, msg, root, err);
	json_decref(root);
	if (!ok) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return false;
	}
	*out = msg;
	return true;
}

/* ---- encoding ---------------------------------------------------------- */

static bool codec_json_encode_message(const struct schema *schema, const ProtobufCMessage *msg,
    struct jbuf *b, struct vl_error *err);

/* Writes one (non-repeated) value stored at `src`. */
static bool
codec_json_encode_value(const struct schema *schema, const ProtobufCFieldDescriptor *f, const void *src,
    struct jbuf *b, struct vl_error *err)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		jbuf_printf(b, "%" PRId32, *(const int32_t *)src);
		return true;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		jbuf_printf(b, "%" PRIu32, *(const uint32_t *)src);
		return true;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		jbuf_printf(b, "\"%" PRId64 "\"", *(const int64_t *)src);
		return true;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		jbuf_printf(b, "\"%" PRIu64 "\"", *(const uint64_t *)src);
		return true;
	case PROTOBUF_C_TYPE_BOOL:
		jbuf_puts(b, *(const protobuf_c_boolean *)src ? "true" : "false");
		return true;
	case PROTOBUF_C_TYPE_FLOAT:
		jbuf_put_real(b, *(const float *)src, true);
		return true;
	case PROTOBUF_C_TYPE_DOUBLE:
		jbuf_put_real(b, *(const double *)src, false);
		return true;
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t e = *(const int32_t *)src;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);

		/* A number the enum does not name (open enum) stays a number. */
		if (ev != NULL)
			jbuf_put_string(b, ev->name, strlen(ev->name));
		else
			jbuf_printf(b, "%" PRId32, e);
		return true;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;
		size_t len = s != NULL ? strlen(s) : 0;

		if (len > 0 && !codec_utf8_valid(s, len))
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": invalid UTF-8");
		jbuf_put_string(b, s != NULL ? s : "", len);
		return true;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *bd = src;

		jbuf_put_base64(b, bd->data, bd->data != NULL ? bd->len : 0);
		return true;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)src;
		const ProtobufCMessageDescriptor *sub = f->descriptor;

		if (codec_is_timestamp(sub)) {
			const ProtobufCFieldDescriptor *fs = protobuf_c_message_descriptor_get_field(sub, 1);
			const ProtobufCFieldDescriptor *fn = protobuf_c_message_descriptor_get_field(sub, 2);
			int64_t seconds = 0;
			int32_t nanos = 0;
			char buf[40];

			if (m != NULL) {
				seconds = *(const int64_t *)FIELD_CPTR(m, fs->offset);
				nanos = *(const int32_t *)FIELD_CPTR(m, fn->offset);
			}
			if (seconds < TS_MIN_SECONDS || seconds > TS_MAX_SECONDS || nanos < 0 ||
			    nanos > 999999999)
				return vl_error_set(err, VL_INVALID_ARGUMENT, ": timestamp out of range");
			codec_timestamp_format(seconds, nanos, buf);
			jbuf_put_string(b, buf, strlen(buf));
			return true;
		}
		/* A NULL element of a repeated field is the empty message. */
		if (m == NULL) {
			jbuf_puts(b, "{}");
			return true;
		}
		return codec_json_encode_message(schema, m, b, err);
	}
	}
	fatalx("codec: unknown protobuf-c type %d", (int)f->type);
}

/* Whether proto3 JSON writes the field: set oneof members and fields with
 * explicit presence always, other fields only when not at their default. */
static bool
codec_json_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const void *p = FIELD_CPTR(msg, f->offset);

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)FIELD_CPTR(msg, f->quantifier_offset) == f->id;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)FIELD_CPTR(msg, f->quantifier_offset) > 0;
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(ProtobufCMessage *const *)p != NULL;
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(char *const *)p;

		if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
			return s != NULL && s != f->default_value;
		return s != NULL && s[0] != '\0';
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)FIELD_CPTR(msg, f->quantifier_offset);
	switch (f->type) {
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len > 0;
	case PROTOBUF_C_TYPE_FLOAT: {
		/* -0.0 is not the default (proto3 compares bits). */
		float z = 0;
		return memcmp(p, &z, sizeof(z)) != 0;
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		double z = 0;
		return memcmp(p, &z, sizeof(z)) != 0;
	}
	default: {
		size_t size = codec_elem_size(f->type);
		static const char zero[sizeof(int64_t)];

		return memcmp(p, zero, size) != 0;
	}
	}
}

static bool
codec_json_encode_message(const struct schema *schema, const ProtobufCMessage *msg, struct jbuf *b,
    struct vl_error *err)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	bool first = true;
	unsigned i;
	size_t j, n, size;
	char prefix[160];

	jbuf_putc(b, '{');
	for (i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *name;

		if (!codec_json_present(msg, f))
			continue;
		name = schema_json_name(schema, desc, f);
		if (!first)
			jbuf_putc(b, ',');
		first = false;
		jbuf_put_string(b, name, strlen(name));
		jbuf_putc(b, ':');
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			if (!codec_json_encode_value(schema, f, FIELD_CPTR(msg, f->offset), b, err)) {
				vl_error_prefix(err, name);
				return false;
			}
			continue;
		}
		if (codec_is_map(f))
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: map fields are not supported", name);
		n = *(const size_t *)FIELD_CPTR(msg, f->quantifier_offset);
		size = codec_elem_size(f->type);
		jbuf_putc(b, '[');
		for (j = 0; j < n; j++) {
			const char *array = *(char *const *)FIELD_CPTR(msg, f->offset);

			if (j > 0)
				jbuf_putc(b, ',');
			if (!codec_json_encode_value(schema, f, array + j * size, b, err)) {
				snprintf(prefix, sizeof(prefix), "%s[%zu]", name, j);
				vl_error_prefix(err, prefix);
				return false;
			}
		}
		jbuf_putc(b, ']');
	}
	jbuf_putc(b, '}');
	return true;
}

bool
codec_encode_json(const struct schema *schema, const ProtobufCMessage *msg, char **out, size_t *out_len,
    struct vl_error *err)
{
	struct jbuf b = { NULL, 0, 0 };

	*out = NULL;
	*out_len = 0;
	if (!codec_json_encode_message(schema, msg, &b, err)) {
		free(b.p);
		return false;
	}
	*out = b.p;
	*out_len = b.len;
	return true;
}
