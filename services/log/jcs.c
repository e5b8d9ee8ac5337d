/*
 * jcs.c - RFC 8785 canonical JSON, written directly from jansson values.
 *
 * jansson's own json_dumps() cannot be used: with JSON_SORT_KEYS it sorts
 * by strcmp() (UTF-8 byte order, which differs from RFC 8785's UTF-16
 * order for characters above U+FFFF against those in U+E000..U+FFFF), and
 * it escapes '/' and, with JSON_ENSURE_ASCII, non-ASCII.
 *
 * Error messages are built from the inside out as in the codec: the
 * failing value sets ": what went wrong" and each enclosing member or
 * element puts its name or "[i]" in front.
 */
#include "vledger/jcs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/codec.h"
#include "vledger/log.h"

/* The output under construction; p is owned and freed on failure. */
struct jcs_buf {
	char *p;
	size_t len;
	size_t cap;
};

static void
jcs_put(struct jcs_buf *b, const char *s, size_t n)
{
	size_t cap;

	if (b->cap - b->len <= n) {	/* keep room for the final NUL */
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 2)
				fatalx("jcs: output too large");
			cap *= 2;
		}
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
jcs_putc(struct jcs_buf *b, char c)
{
	jcs_put(b, &c, 1);
}

/* Puts "<seg>" in front of the error's path: "a" + ".b: x" style joins
 * use '.', a following "[i]" or ": x" is joined as is. */
static void
jcs_error_prefix(struct vl_error *err, const char *seg, size_t seglen)
{
	char buf[sizeof(err->message)];
	size_t n, room, len;

	if (err == NULL)
		return;
	n = seglen < sizeof(buf) - 2 ? seglen : sizeof(buf) - 2;
	memcpy(buf, seg, n);
	if (err->message[0] != ':' && err->message[0] != '[')
		buf[n++] = '.';
	room = sizeof(buf) - n - 1;
	len = strnlen(err->message, sizeof(err->message));
	if (len > room)
		len = room;
	memcpy(buf + n, err->message, len);
	buf[n + len] = '\0';
	memcpy(err->message, buf, sizeof(buf));
}

/* The next code point of a string already known to be valid UTF-8. */
static uint32_t
jcs_utf8_next(const unsigned char *s, size_t *i)
{
	uint32_t c = s[*i];

	if (c < 0x80) {
		*i += 1;
		return c;
	}
	if (c < 0xe0) {
		c = (c & 0x1f) << 6 | (s[*i + 1] & 0x3f);
		*i += 2;
		return c;
	}
	if (c < 0xf0) {
		c = (c & 0x0f) << 12 | (uint32_t)(s[*i + 1] & 0x3f) << 6 | (s[*i + 2] & 0x3f);
		*i += 3;
		return c;
	}
	c = (c & 0x07) << 18 | (uint32_t)(s[*i + 1] & 0x3f) << 12 | (uint32_t)(s[*i + 2] & 0x3f) << 6 |
	    (s[*i + 3] & 0x3f);
	*i += 4;
	return c;
}

/* The first UTF-16 code unit of a code point: itself, or the high
 * surrogate of the pair that encodes it. */
static uint32_t
jcs_utf16_lead(uint32_t c)
{
	return c < 0x10000 ? c : 0xd800 + ((c - 0x10000) >> 10);
}

/* RFC 8785 §3.2.3: compares two valid UTF-8 names as arrays of UTF-16
 * code units. Where the code points differ, their first units decide; if
 * those are equal both are supplementary characters with the same high
 * surrogate (a BMP character never equals a surrogate), and then the low
 * surrogates order as the code points do. */
static int
jcs_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *sa = (const unsigned char *)a, *sb = (const unsigned char *)b;
	size_t i = 0, j = 0;
	uint32_t ca, cb, ua, ub;

	while (i < alen && j < blen) {
		ca = jcs_utf8_next(sa, &i);
		cb = jcs_utf8_next(sb, &j);
		if (ca == cb)
			continue;
		ua = jcs_utf16_lead(ca);
		ub = jcs_utf16_lead(cb);
		if (ua != ub)
			return ua < ub ? -1 : 1;
		return ca < cb ? -1 : 1;
	}
	if (i < alen)
		return 1;
	if (j < blen)
		return -1;
	return 0;
}

struct jcs_member {
	const char *name;
	size_t len;
	json_t *value;
};

static int
jcs_member_cmp(const void *a, const void *b)
{
	const struct jcs_member *ma = a, *mb = b;

	return jcs_name_cmp(ma->name, ma->len, mb->name, mb->len);
}

/* RFC 8785 §3.2.2.2: escape '"', '\\' and the C0 controls (the five with
 * short forms as such, the rest as \u00xx in lower case); everything else,
 * including DEL and U+2028/U+2029, goes out as the UTF-8 it is. */
static bool
jcs_string(struct jcs_buf *b, const char *s, size_t len, const char *what, struct vl_error *err)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	char esc[6];
	unsigned char c;

	if (!codec_utf8_valid(s, len))
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": invalid UTF-8 in %s", what);
	jcs_putc(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jcs_put(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			jcs_put(b, "\\\"", 2);
			break;
		case '\\':
			jcs_put(b, "\\\\", 2);
			break;
		case '\b':
			jcs_put(b, "\\b", 2);
			break;
		case '\f':
			jcs_put(b, "\\f", 2);
			break;
		case '\n':
			jcs_put(b, "\\n", 2);
			break;
		case '\r':
			jcs_put(b, "\\r", 2);
			break;
		case '\t':
			jcs_put(b, "\\t", 2);
			break;
		default:
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			jcs_put(b, esc, sizeof(esc));
			break;
		}
	}
	jcs_put(b, s + run, len - run);
	jcs_putc(b, '"');
	return true;
}

static bool jcs_value(struct jcs_buf *b, const json_t *v, unsigned depth, struct vl_error *err);

static bool
jcs_object(struct jcs_buf *b, const json_t *obj, unsigned depth, struct vl_error *err)
{
	struct jcs_member *m;
	size_t n, i = 0;
	void *it;
	bool ok = true;

	n = json_object_size(obj);
	if (n == 0) {
		jcs_put(b, "{}", 2);
		return true;
	}
	m = xcalloc(n, sizeof(*m));
	/* Iterating does not modify the object; jansson just has no const
	 * iterator. */
	for (it = json_object_iter((json_t *)obj); it != NULL && i < n;
	    it = json_object_iter_next((json_t *)obj, it), i++) {
		m[i].name = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
		m[i].len = json_object_iter_key_len(it);
#else
		m[i].len = strlen(m[i].name);
#endif
		m[i].value = json_object_iter_value(it);
		if (!codec_utf8_valid(m[i].name, m[i].len)) {
			free(m);
			return vl_error_set(err, VL_INVALID_ARGUMENT, ": invalid UTF-8 in a member name");
		}
	}
	n = i;
	qsort(m, n, sizeof(*m), jcs_member_cmp);
	jcs_putc(b, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			jcs_putc(b, ',');
		/* Names are valid UTF-8 (checked above). */
		if (!jcs_string(b, m[i].name, m[i].len, "a member name", err) ||
		    (jcs_putc(b, ':'), !jcs_value(b, m[i].value, depth + 1, err))) {
			jcs_error_prefix(err, m[i].name, strnlen(m[i].name, m[i].len));
			ok = false;
			break;
		}
	}
	free(m);
	if (ok)
		jcs_putc(b, '}');
	return ok;
}

static bool
jcs_array(struct jcs_buf *b, const json_t *arr, unsigned depth, struct vl_error *err)
{
	size_t n = json_array_size(arr), i;
	char seg[32];
	int len;

	jcs_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			jcs_putc(b, ',');
		if (!jcs_value(b, json_array_get(arr, i), depth + 1, err)) {
			len = snprintf(seg, sizeof(seg), "[%zu]", i);
			jcs_error_prefix(err, seg, len > 0 ? (size_t)len : 0);
			return false;
		}
	}
	jcs_putc(b, ']');
	return true;
}

static bool
jcs_value(struct jcs_buf *b, const json_t *v, unsigned depth, struct vl_error *err)
{
	char num[24];
	json_int_t i;
	int len;

	/* depth counts the arrays and objects around v: the same limit as
	 * jansson's parser, which accepts JCS_MAX_DEPTH of them nested. */
	if (depth >= JCS_MAX_DEPTH && (json_is_object(v) || json_is_array(v)))
		return vl_error_set(err, VL_INVALID_ARGUMENT, ": nesting deeper than %d levels", JCS_MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return jcs_object(b, v, depth, err);
	case JSON_ARRAY:
		return jcs_array(b, v, depth, err);
	case JSON_STRING:
		return jcs_string(b, json_string_value(v), json_string_length(v), "a string", err);
	case JSON_INTEGER:
		/* Within ±(2^53 - 1) ECMAScript's Number-to-String is the
		 * plain decimal integer. */
		i = json_integer_value(v);
		if (i < -JCS_MAX_SAFE_INTEGER || i > JCS_MAX_SAFE_INTEGER)
			return vl_error_set(err, VL_INVALID_ARGUMENT,
			    ": integer out of the safe range -%lld..%lld", JCS_MAX_SAFE_INTEGER,
			    JCS_MAX_SAFE_INTEGER);
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, i);
		if (len < 0 || (size_t)len >= sizeof(num))
			return vl_error_set(err, VL_INTERNAL, ": cannot format an integer");
		jcs_put(b, num, (size_t)len);
		return true;
	case JSON_REAL:
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    ": floating-point numbers are not allowed in ledger entries");
	case JSON_TRUE:
		jcs_put(b, "true", 4);
		return true;
	case JSON_FALSE:
		jcs_put(b, "false", 5);
		return true;
	case JSON_NULL:
		jcs_put(b, "null", 4);
		return true;
	}
	return vl_error_set(err, VL_INTERNAL, ": unknown JSON value type");
}

bool
jcs_serialize(const json_t *value, char **out, size_t *out_len, struct vl_error *err)
{
	struct jcs_buf b = { NULL, 0, 0 };

	*out = NULL;
	*out_len = 0;
	if (value == NULL)
		return vl_error_set(err, VL_INTERNAL, ": no JSON value");
	if (!jcs_value(&b, value, 0, err)) {
		free(b.p);
		return false;
	}
	/* jcs_put always leaves room for the NUL, and every value writes at
	 * least one byte, so b.p is allocated. */
	b.p[b.len] = '\0';
	*out = b.p;
	*out_len = b.len;
	return true;
}
