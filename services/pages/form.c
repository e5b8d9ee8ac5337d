/*
 * form.c - reading the verification form's submissions: the fields of a
 * multipart/form-data body (RFC 7578: what a browser sends for a file
 * input, and `curl -F`) and of application/x-www-form-urlencoded text.
 *
 * The multipart parser only finds one part by name and points into the
 * body: nothing is copied, nothing is decoded (browsers send files as
 * raw bytes; Content-Transfer-Encoding is deprecated by RFC 7578 and
 * ignored here). Every scan is bounded by the body's length.
 */
#include "vledger/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vledger/encoding.h"
#include "vledger/log.h"

/* RFC 2046 §5.1.1: a boundary is 1 to 70 characters. */
#define BOUNDARY_MAX 70

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Finds parameter `param` in a header value of `len` bytes such as
 * `form-data; name="credential"; filename="a.json"` or
 * `multipart/form-data; boundary=----x`, skipping the first item. Copies its
 * value (unquoted, backslash escapes resolved) into out, NUL-terminated.
 * False when absent or longer than size-1 bytes.
 */
static bool
header_param(const char *v, size_t len, const char *param, char *out, size_t size)
{
	size_t i = 0, name_start, name_len, n;
	bool quoted;

	/* Skips the type, which contains no quotes. */
	while (i < len && v[i] != ';')
		i++;
	while (i < len) {
		i++;  /* the ';' */
		while (i < len && is_blank(v[i]))
			i++;
		name_start = i;
		while (i < len && v[i] != '=' && v[i] != ';' && !is_blank(v[i]))
			i++;
		name_len = i - name_start;
		while (i < len && is_blank(v[i]))
			i++;
		if (i >= len || v[i] != '=') {
			while (i < len && v[i] != ';')
				i++;
			continue;
		}
		i++;
		while (i < len && is_blank(v[i]))
			i++;
		quoted = i < len && v[i] == '"';
		if (quoted)
			i++;
		n = 0;
		while (i < len) {
			char c = v[i];

			if (quoted && c == '"')
				break;
			if (!quoted && (c == ';' || is_blank(c)))
				break;
			if (quoted && c == '\\' && i + 1 < len)
				c = v[++i];
			if (n + 1 < size)
				out[n] = c;
			n++;
			i++;
		}
		if (quoted) {
			if (i >= len)
				return false;  /* an unterminated quoted string */
			i++;
		}
		while (i < len && v[i] != ';')
			i++;
		if (name_len == strlen(param) && strncasecmp(v + name_start, param, name_len) == 0) {
			if (n + 1 > size)
				return false;
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

/* Whether the part headers (CRLF-separated, `len` bytes) name the part
 * `name` in a form-data Content-Disposition. */
static bool
part_is_named(const char *h, size_t len, const char *name)
{
	static const char cd[] = "content-disposition:";
	size_t line_len, cd_len = sizeof(cd) - 1;
	const char *end = h + len, *eol;
	/* Field names the form uses are short; a longer one is not ours. */
	char value[64];

	while (h < end) {
		eol = memmem(h, (size_t)(end - h), "\r\n", 2);
		line_len = eol != NULL ? (size_t)(eol - h) : (size_t)(end - h);
		if (line_len > cd_len && strncasecmp(h, cd, cd_len) == 0) {
			const char *v = h + cd_len;
			size_t vlen = line_len - cd_len;

			while (vlen > 0 && is_blank(*v)) {
				v++;
				vlen--;
			}
			if (vlen >= 9 && strncasecmp(v, "form-data", 9) == 0 && (vlen == 9 || v[9] == ';' || is_blank(v[9])))
				return header_param(v, vlen, "name", value, sizeof(value)) && strcmp(value, name) == 0;
			return false;
		}
		h += line_len + 2;
	}
	return false;
}

bool
form_multipart_field(const char *content_type, const uint8_t *body, size_t len, const char *name,
    const uint8_t **value, size_t *value_len)
{
	char boundary[BOUNDARY_MAX + 1], delim[BOUNDARY_MAX + 5];
	const char *p = (const char *)body, *end = p + len, *next, *headers_end;
	size_t delim_len, type_len = strlen("multipart/form-data");

	if (content_type == NULL || strncasecmp(content_type, "multipart/form-data", type_len) != 0 ||
	    (content_type[type_len] != '\0' && content_type[type_len] != ';' && !is_blank(content_type[type_len])))
		return false;
	if (!header_param(content_type, strlen(content_type), "boundary", boundary, sizeof(boundary)) ||
	    boundary[0] == '\0')
		return false;
	/* "\r\n--boundary": the CRLF before a delimiter belongs to it, not to
	 * the preceding part's content. */
	delim_len = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (len >= delim_len - 2 && memcmp(p, delim + 2, delim_len - 2) == 0) {
		p += delim_len - 2;
	} else {
		next = memmem(p, len, delim, delim_len);
		if (next == NULL)
			return false;
		p = next + delim_len;
	}
	for (;;) {
		/* After a delimiter: "--" closes the body; else optional blanks, CRLF. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return false;
		while (p < end && is_blank(*p))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return false;
		p += 2;
		/* Headers end at an empty line; a part without headers starts with it. */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			headers_end = p;
		} else {
			headers_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
			if (headers_end == NULL)
				return false;
			headers_end += 2;
		}
		next = memmem(headers_end + 2, (size_t)(end - (headers_end + 2)), delim, delim_len);
		if (next == NULL)
			return false;
		if (part_is_named(p, (size_t)(headers_end - p), name)) {
			*value = (const uint8_t *)(headers_end + 2);
			*value_len = (size_t)(next - (headers_end + 2));
			return true;
		}
		p = next + delim_len;
	}
}

char *
form_urlencoded_field(const char *s, size_t len, const char *name, size_t *value_len)
{
	const char *end = s + len, *amp, *eq;
	char *key, *value;
	size_t klen, vlen;
	bool match;

	while (s < end) {
		amp = memchr(s, '&', (size_t)(end - s));
		if (amp == NULL)
			amp = end;
		eq = memchr(s, '=', (size_t)(amp - s));
		if (eq == NULL)
			eq = amp;
		key = percent_decode(s, (size_t)(eq - s), &klen);
		match = key != NULL && klen == strlen(name) && memcmp(key, name, klen) == 0;
		free(key);
		if (match) {
			value = percent_decode(eq < amp ? eq + 1 : eq, eq < amp ? (size_t)(amp - eq - 1) : 0, &vlen);
			if (value != NULL && value_len != NULL)
				*value_len = vlen;
			return value;
		}
		s = amp < end ? amp + 1 : end;
	}
	return NULL;
}
