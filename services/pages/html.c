/*
 * html.c - the page buffer, the one escaping function every shown value
 * goes through, and the display formats (hours, labels, dates) of the
 * public pages.
 */
#include "vledger/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vledger/log.h"

/* China Standard Time has had no daylight saving since 1991. */
#define CST_OFFSET (8 * 3600)

void
html_buf_init(struct html_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

static void
reserve(struct html_buf *b, size_t more)
{
	size_t want = b->len + more + 1;

	if (want <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 4096;
	while (b->cap < want)
		b->cap *= 2;
	b->data = xrealloc(b->data, b->cap);
}

static void
append(struct html_buf *b, const char *s, size_t n)
{
	reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
html_buf_raw(struct html_buf *b, const char *s)
{
	append(b, s, strlen(s));
}

void
html_buf_rawf(struct html_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("html_buf_rawf: bad format \"%s\"", fmt);
	reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at s (Unicode Table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0. */
static size_t
utf8_sequence(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

void
html_buf_textn(struct html_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, n;

	if (s == NULL)
		return;
	/* Copies runs of harmless bytes at once; stops at anything to replace. */
	while (i < len) {
		const char *rep = NULL;
		unsigned char c = p[i];

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		/* Backquotes delimited attributes in old browsers. */
		case '`': rep = "&#96;"; break;
		default:
			break;
		}
		if (rep == NULL && ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f))
			rep = "\xef\xbf\xbd";
		n = 1;
		if (rep == NULL && c >= 0x80) {
			n = utf8_sequence(p + i, len - i);
			if (n == 0) {
				rep = "\xef\xbf\xbd";
				n = 1;
			}
		}
		if (rep == NULL) {
			i += n;
			continue;
		}
		append(b, s + run, i - run);
		html_buf_raw(b, rep);
		i += n;
		run = i;
	}
	append(b, s + run, i - run);
}

void
html_buf_text(struct html_buf *b, const char *s)
{
	if (s != NULL)
		html_buf_textn(b, s, strlen(s));
}

void
html_buf_url_segment(struct html_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct html_buf enc;
	const unsigned char *p;
	char pct[4];

	html_buf_init(&enc);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			append(&enc, (const char *)p, 1);
			continue;
		}
		pct[0] = '%';
		pct[1] = hex[*p >> 4];
		pct[2] = hex[*p & 15];
		append(&enc, pct, 3);
	}
	/* Percent-encoded output is plain ASCII without specials, but keeping
	 * every value on the one escaping path costs nothing. */
	html_buf_textn(b, enc.data, enc.len);
	html_buf_free(&enc);
}

char *
html_buf_take(struct html_buf *b, size_t *len)
{
	char *out;

	if (b->data == NULL)
		out = xstrdup("");
	else
		out = b->data;
	if (len != NULL)
		*len = b->len;
	html_buf_init(b);
	return out;
}

void
html_buf_free(struct html_buf *b)
{
	free(b->data);
	html_buf_init(b);
}

char *
html_escape(const char *s)
{
	struct html_buf b;

	html_buf_init(&b);
	html_buf_text(&b, s);
	return html_buf_take(&b, NULL);
}

void
pages_format_hours(int64_t minutes, char *out, size_t size)
{
	uint64_t m = minutes < 0 ? (uint64_t)0 - (uint64_t)minutes : (uint64_t)minutes;
	/* Tenths of an hour, rounded half up, in integers: no float surprises. */
	uint64_t tenths = (m * 10 + 30) / 60;

	snprintf(out, size, "%s%llu.%llu", minutes < 0 && tenths > 0 ? "-" : "", (unsigned long long)(tenths / 10),
	    (unsigned long long)(tenths % 10));
}

static const struct label {
	const char *name;
	const char *zh;
	const char *en;
} categories[] = {
	/* The same Chinese labels the spreadsheet import accepts (cli/import.c). */
	{"building_sweep", "楼栋清扫", "Building sweep"},
	{"testing_site", "核酸检测点", "Testing site"},
	{"supply_delivery", "物资配送", "Supply delivery"},
	{"elderly_care", "关爱老人", "Elderly care"},
	{"disinfection", "消杀", "Disinfection"},
	{"publicity", "宣传", "Publicity"},
	{"mediation", "调解", "Mediation"},
	{"psychological_support", "心理疏导", "Psychological support"},
	{"other", "其他", "Other"},
}, levels[] = {
	{"team", "团队级", "Team"},
	{"community", "社区级", "Community"},
	{"subdistrict", "街道级", "Subdistrict"},
	{"district", "区级", "District"},
	{"city", "市级", "City"},
};

static bool
label_find(const struct label *table, size_t count, const char *prefix, const char *name, const char **zh,
    const char **en)
{
	size_t i, plen = strlen(prefix);

	*zh = NULL;
	*en = NULL;
	if (name == NULL)
		return false;
	if (strncasecmp(name, prefix, plen) == 0)
		name += plen;
	for (i = 0; i < count; i++)
		if (strcasecmp(name, table[i].name) == 0) {
			*zh = table[i].zh;
			*en = table[i].en;
			return true;
		}
	return false;
}

bool
pages_category_label(const char *category, const char **zh, const char **en)
{
	return label_find(categories, sizeof(categories) / sizeof(categories[0]), "SHIFT_CATEGORY_", category, zh, en);
}

bool
pages_commendation_level_label(const char *level, const char **zh, const char **en)
{
	return label_find(levels, sizeof(levels) / sizeof(levels[0]), "COMMENDATION_LEVEL_", level, zh, en);
}

/* Reads exactly n digits. */
static bool
digits(const char **s, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (**s < '0' || **s > '9')
			return false;
		v = v * 10 + (**s - '0');
		(*s)++;
	}
	*out = v;
	return true;
}

bool
pages_parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm;
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	time_t t;

	if (s == NULL)
		return false;
	if (!digits(&s, 4, &year) || *s++ != '-' || !digits(&s, 2, &mon) || *s++ != '-' || !digits(&s, 2, &day))
		return false;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return false;
	s++;
	if (!digits(&s, 2, &hour) || *s++ != ':' || !digits(&s, 2, &min) || *s++ != ':' || !digits(&s, 2, &sec))
		return false;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) || oh > 23 || om > 59)
			return false;
	} else
		return false;
	if (*s != '\0' || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*out = (int64_t)t - sign * (oh * 3600 + om * 60);
	return true;
}

void
pages_format_cst(int64_t seconds, bool with_time, char *out, size_t size)
{
	time_t t = (time_t)(seconds + CST_OFFSET);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, size, "?");
		return;
	}
	strftime(out, size, with_time ? "%Y-%m-%d %H:%M" : "%Y-%m-%d", &tm);
}
