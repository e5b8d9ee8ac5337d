/*
 * encoding.c - base64, hex, percent-decoding and random identifiers.
 */
#include "vledger/encoding.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "vledger/log.h"

/* The value of a base64 symbol; `url` also allows '-' and '_' (and the
 * standard '+' and '/'), otherwise only the standard alphabet. */
static int
base64_value(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || (url && c == '-'))
		return 62;
	if (c == '/' || (url && c == '_'))
		return 63;
	return -1;
}

bool
base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf;
	uint32_t acc = 0;
	size_t i, n = 0, bits = 0;
	int v;

	/* Padding is optional, but when present it must be complete. */
	if (len > 0 && in[len - 1] == '=') {
		if (len % 4 != 0)
			return false;
		len--;
		if (len > 0 && in[len - 1] == '=')
			len--;
	}
	if (len % 4 == 1)
		return false;
	buf = xmalloc(len * 3 / 4 + 1);
	for (i = 0; i < len; i++) {
		v = base64_value((unsigned char)in[i], true);
		if (v < 0) {
			free(buf);
			return false;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
		}
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return true;
}

bool
base64_decode_strict(const char *in, size_t len, uint8_t *out, size_t max, size_t *out_len)
{
	size_t i, n = 0, pad = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	int v;

	if (len == 0 || len % 4 != 0)
		return false;
	if (in[len - 1] == '=')
		pad++;
	if (pad == 1 && in[len - 2] == '=')
		pad++;
	if (len / 4 * 3 - pad > max)
		return false;
	for (i = 0; i < len - pad; i++) {
		v = base64_value((unsigned char)in[i], false);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits (2 with one '=', 4 with two) must be zero. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return false;
	*out_len = n;
	return true;
}

char *
base64_encode(const uint8_t *in, size_t len, bool url)
{
	const char *alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	                           : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((len + 2) / 3 * 4 + 1);
	size_t i, n = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = alphabet[v >> 6 & 63];
		out[n++] = alphabet[v & 63];
	}
	if (i < len) {
		v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		if (i + 1 < len)
			out[n++] = alphabet[v >> 6 & 63];
		else if (!url)
			out[n++] = '=';
		if (!url)
			out[n++] = '=';
	}
	out[n] = '\0';
	return out;
}

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
percent_decode(const char *in, size_t len, size_t *out_len)
{
	char *out = xmalloc(len + 1);
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (in[i] == '%') {
			hi = i + 1 < len ? hex_value((unsigned char)in[i + 1]) : -1;
			lo = i + 2 < len ? hex_value((unsigned char)in[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (in[i] == '+') {
			out[n++] = ' ';
		} else {
			out[n++] = in[i];
		}
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

void
random_bytes(uint8_t *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		fatalx("RAND_bytes failed: no secure randomness available");
}

void
random_id(const char *prefix, char *out, size_t out_size)
{
	uint8_t raw[12];
	char hex[25];

	random_bytes(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), hex);
	snprintf(out, out_size, "%s%s", prefix, hex);
}

const char crockford32_alphabet[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int
crockford32_value(char c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == 'I' || c == 'L')
		c = '1';
	else if (c == 'O')
		c = '0';
	if (c == '\0' || (p = strchr(crockford32_alphabet, c)) == NULL)
		return -1;
	return (int)(p - crockford32_alphabet);
}
