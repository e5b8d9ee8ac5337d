/*
 * tile_path.c - parsing and formatting C2SP tlog-tiles paths.
 */
#include "vledger/tile_path.h"

#include <stdio.h>
#include <string.h>

/* Parses "x001/x234/067" (the index) up to the end or a ".p/" suffix. */
static bool
parse_index(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int i, groups = 0;

	for (;;) {
		bool more = s[0] == 'x';

		if (more)
			s++;
		for (i = 0; i < 3; i++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
		}
		if (groups == 6)  /* 7 groups would overflow 2^63 checks below anyway */
			return false;
		if (v > (UINT64_MAX - 999) / 1000)
			return false;
		v = v * 1000 + (uint64_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
		s += 3;
		groups++;
		if (more) {
			if (*s != '/')
				return false;
			s++;
			continue;
		}
		break;
	}
	/* Leading groups of zeros are not allowed: "x000/005" is "005". */
	if (groups > 1 && (*p)[0] == 'x' && strncmp(*p, "x000", 4) == 0)
		return false;
	*p = s;
	*out = v;
	return true;
}

bool
tile_path_parse(const char *path, struct tile_ref *out)
{
	const char *p = path;
	unsigned level = 0, width;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, "entries/", 8) == 0) {
		out->entries = true;
		p += 8;
	} else {
		if (p[0] < '0' || p[0] > '9')
			return false;
		if (p[0] == '0' && p[1] != '/')
			return false;  /* no leading zeros */
		while (*p >= '0' && *p <= '9') {
			level = level * 10 + (unsigned)(*p - '0');
			if (level > 63)
				return false;
			p++;
		}
		if (*p++ != '/')
			return false;
		out->level = level;
	}
	if (!parse_index(&p, &out->index))
		return false;
	out->width = TILE_WIDTH;
	if (*p == '\0')
		return true;
	if (strncmp(p, ".p/", 3) != 0)
		return false;
	p += 3;
	if (p[0] < '1' || p[0] > '9')
		return false;
	width = 0;
	while (*p >= '0' && *p <= '9') {
		width = width * 10 + (unsigned)(*p - '0');
		if (width >= TILE_WIDTH)
			return false;
		p++;
	}
	if (*p != '\0')
		return false;
	out->width = width;
	return true;
}

bool
tile_path_format(const struct tile_ref *ref, char *buf, size_t len)
{
	char groups[7][4];
	uint64_t n = ref->index;
	int count = 0, i, r;
	size_t used;

	do {
		snprintf(groups[count++], sizeof(groups[0]), "%03u", (unsigned)(n % 1000));
		n /= 1000;
	} while (n > 0 && count < 7);
	if (ref->entries)
		r = snprintf(buf, len, "tile/entries/");
	else
		r = snprintf(buf, len, "tile/%u/", ref->level);
	if (r < 0 || (size_t)r >= len)
		return false;
	used = (size_t)r;
	for (i = count - 1; i >= 0; i--) {
		r = snprintf(buf + used, len - used, "%s%s%s", i > 0 ? "x" : "", groups[i], i > 0 ? "/" : "");
		if (r < 0 || (size_t)r >= len - used)
			return false;
		used += (size_t)r;
	}
	if (ref->width < TILE_WIDTH) {
		r = snprintf(buf + used, len - used, ".p/%u", ref->width);
		if (r < 0 || (size_t)r >= len - used)
			return false;
	}
	return true;
}
