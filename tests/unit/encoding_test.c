/*
 * encoding_test.c - base64 (lenient for proto3 JSON and Connect GET, strict
 * for signed notes), hex and percent-decoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/encoding.h"

#include "check.h"

static void
lenient(const char *in, const char *want)
{
	uint8_t *out;
	size_t len;

	if (!base64_decode(in, strlen(in), &out, &len)) {
		fprintf(stderr, "base64_decode rejected \"%s\"\n", in);
		exit(1);
	}
	CHECK(len == strlen(want) && memcmp(out, want, len) == 0);
	free(out);
}

static void
lenient_bad(const char *in)
{
	uint8_t *out;
	size_t len;

	if (base64_decode(in, strlen(in), &out, &len)) {
		fprintf(stderr, "base64_decode accepted \"%s\"\n", in);
		exit(1);
	}
}

static bool
strict(const char *in, char *out, size_t max)
{
	size_t len;
	bool ok = base64_decode_strict(in, strlen(in), (uint8_t *)out, max, &len);

	if (ok)
		out[len] = '\0';
	return ok;
}

int
main(void)
{
	const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
	char buf[64], *s;
	size_t len;

	/* RFC 4648 §10 vectors, both directions. */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		s = base64_encode((const uint8_t *)plain[i], strlen(plain[i]), false);
		CHECK(strcmp(s, coded[i]) == 0);
		free(s);
		lenient(coded[i], plain[i]);
		if (i > 0) {
			CHECK(strict(coded[i], buf, sizeof(buf) - 1));
			CHECK(strcmp(buf, plain[i]) == 0);
		}
	}
	/* URL-safe alphabet without padding, accepted leniently only. */
	s = base64_encode(bytes, sizeof(bytes), true);
	CHECK(strcmp(s, "-_-_") == 0);
	free(s);
	s = base64_encode((const uint8_t *)"fo", 2, true);
	CHECK(strcmp(s, "Zm8") == 0);
	free(s);
	lenient("Zm8", "fo");
	lenient("Zg", "f");
	CHECK(!strict("Zm8", buf, sizeof(buf)));
	CHECK(!strict("-_-_", buf, sizeof(buf)));
	/* Broken padding and characters. */
	lenient_bad("Zm8==");
	lenient_bad("Z===");
	lenient_bad("Zm9v!");
	lenient_bad("Z");
	/* Strict: non-canonical last symbol and too long for the buffer. */
	CHECK(!strict("Zh==", buf, sizeof(buf)));
	CHECK(strict("Zg==", buf, sizeof(buf)));
	CHECK(!strict("Zm9vYmFy", buf, 5));
	CHECK(!strict("", buf, sizeof(buf)));

	hex_encode(bytes, sizeof(bytes), buf);
	CHECK(strcmp(buf, "fbffbf") == 0);

	s = percent_decode("a%20b+c%7B%7d", 13, &len);
	CHECK(s != NULL && strcmp(s, "a b c{}") == 0 && len == 7);
	free(s);
	CHECK(percent_decode("%2", 2, &len) == NULL);
	CHECK(percent_decode("%zz", 3, &len) == NULL);

	/* Crockford base32: every symbol decodes to its index; lower case
	 * and the look-alikes I, L (1) and O (0) read as people mean them;
	 * U and anything else are not symbols. */
	{
		int v;

		for (v = 0; v < 32; v++)
			CHECK(crockford32_value(crockford32_alphabet[v]) == v);
		CHECK(crockford32_value('z') == 31 && crockford32_value('a') == 10);
		CHECK(crockford32_value('I') == 1 && crockford32_value('l') == 1 && crockford32_value('O') == 0);
		CHECK(crockford32_value('U') == -1 && crockford32_value('-') == -1 && crockford32_value('\0') == -1);
	}

	random_id("org_", buf, sizeof(buf));
	CHECK(strncmp(buf, "org_", 4) == 0 && strlen(buf) == 28);
	printf("encoding_test: ok\n");
	return 0;
}
