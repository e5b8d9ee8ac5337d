/*
 * codec_util.c - UTF-8 validation and google.protobuf.Timestamp text form,
 * shared by both codecs and by handlers.
 */
#include "vledger/codec.h"

#include <stdio.h>
#include <string.h>

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range the proto3 JSON
 * mapping allows. */
#define TS_MIN_SECONDS (-62135596800LL)
#define TS_MAX_SECONDS 253402300799LL

bool
codec_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	unsigned char lo, hi;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		/* The second byte's range carries the rules against overlongs
		 * (E0, F0), surrogates (ED) and values past U+10FFFF (F4). */
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return false;
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic: 400
 * years are exactly 146097 days). */
static int64_t
ts_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
ts_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool
ts_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads exactly `n` decimal digits. */
static bool
ts_digits(const char **sp, int n, int *out)
{
	const char *s = *sp;
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return true;
}

static bool
ts_expect(const char **sp, char c)
{
	if (**sp != c)
		return false;
	(*sp)++;
	return true;
}

bool
codec_timestamp_parse(const char *s, int64_t *seconds, int32_t *nanos)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int year, mon, day, hour, min, sec, oh, om, ndig = 0;
	int32_t frac = 0;
	int64_t t, offset = 0;

	if (s == NULL)
		return false;
	if (!ts_digits(&s, 4, &year) || !ts_expect(&s, '-') || !ts_digits(&s, 2, &mon) ||
	    !ts_expect(&s, '-') || !ts_digits(&s, 2, &day))
		return false;
	if (*s != 'T' && *s != 't')
		return false;
	s++;
	if (!ts_digits(&s, 2, &hour) || !ts_expect(&s, ':') || !ts_digits(&s, 2, &min) ||
	    !ts_expect(&s, ':') || !ts_digits(&s, 2, &sec))
		return false;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			if (++ndig > 9)
				return false;
			frac = frac * 10 + (*s++ - '0');
		}
		if (ndig == 0)
			return false;
		for (; ndig < 9; ndig++)
			frac *= 10;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;

		if (!ts_digits(&s, 2, &oh) || !ts_expect(&s, ':') || !ts_digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return false;
		offset = sign * (oh * 3600 + om * 60);
	} else
		return false;
	if (*s != '\0')
		return false;

	/* No leap seconds: protobuf timestamps have none. */
	if (mon < 1 || mon > 12 || day < 1 || hour > 23 || min > 59 || sec > 59)
		return false;
	if (day > mdays[mon - 1] + (mon == 2 && ts_leap(year)))
		return false;
	t = ts_days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
	if (t < TS_MIN_SECONDS || t > TS_MAX_SECONDS)
		return false;
	*seconds = t;
	*nanos = frac;
	return true;
}

/* Values outside the valid range are clamped to it, so that the output is
 * always a timestamp that codec_timestamp_parse() accepts; callers that must
 * not lose information check the range first (the JSON codec does). */
void
codec_timestamp_format(int64_t seconds, int32_t nanos, char buf[40])
{
	int64_t days, rem, y;
	int m, d;
	char tmp[96];

	if (seconds < TS_MIN_SECONDS)
		seconds = TS_MIN_SECONDS;
	if (seconds > TS_MAX_SECONDS)
		seconds = TS_MAX_SECONDS;
	if (nanos < 0)
		nanos = 0;
	if (nanos > 999999999)
		nanos = 999999999;
	days = seconds / 86400;
	rem = seconds % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	ts_civil_from_days(days, &y, &m, &d);
	if (nanos == 0)
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, (int)(rem / 3600),
		    (int)(rem / 60 % 60), (int)(rem % 60));
	else if (nanos % 1000000 == 0)
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m, d, (int)(rem / 3600),
		    (int)(rem / 60 % 60), (int)(rem % 60), (int)(nanos / 1000000));
	else if (nanos % 1000 == 0)
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)y, m, d, (int)(rem / 3600),
		    (int)(rem / 60 % 60), (int)(rem % 60), (int)(nanos / 1000));
	else
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", (int)y, m, d, (int)(rem / 3600),
		    (int)(rem / 60 % 60), (int)(rem % 60), (int)nanos);
	/* The clamping above keeps the text within 30 bytes; the compiler
	 * cannot see that, so format into a roomier buffer and copy. */
	memcpy(buf, tmp, 39);
	buf[39] = '\0';
}
