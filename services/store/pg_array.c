/*
 * pg_array.c - array literals for batched statements. See pg_array.h.
 */
#include "vledger/pg_array.h"

#include <string.h>

#include "vledger/encoding.h"
#include "vledger/log.h"

char *
pg_text_array(const char *const *items, size_t count)
{
	size_t size = 3, i;
	const char *s;
	char *out, *p;

	/* Worst case: every byte escaped, two quotes and a comma per item. */
	for (i = 0; i < count; i++)
		size += items[i] != NULL ? 2 * strlen(items[i]) + 3 : 5;
	out = p = xmalloc(size);
	*p++ = '{';
	for (i = 0; i < count; i++) {
		if (i > 0)
			*p++ = ',';
		if (items[i] == NULL) {
			memcpy(p, "NULL", 4);
			p += 4;
			continue;
		}
		*p++ = '"';
		for (s = items[i]; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				*p++ = '\\';
			*p++ = *s;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

char *
pg_bytea_array(const uint8_t *const *data, const size_t *lens, size_t fixed_len, size_t count)
{
	size_t size = 3, i, len;
	char *out, *p;

	for (i = 0; i < count; i++)
		size += 2 * (lens != NULL ? lens[i] : fixed_len) + 6;
	out = p = xmalloc(size);
	*p++ = '{';
	for (i = 0; i < count; i++) {
		len = lens != NULL ? lens[i] : fixed_len;
		if (i > 0)
			*p++ = ',';
		/* "\\x..." in the array literal is the bytea text \x... */
		memcpy(p, "\"\\\\x", 4);
		p += 4;
		hex_encode(data[i], len, p);
		p += 2 * len;
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}
