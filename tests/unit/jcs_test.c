/*
 * jcs_test.c - RFC 8785 canonical JSON: the RFC's own examples (with the
 * floating-point numbers that ledger entries refuse taken out), escaping,
 * member order by UTF-16 code units, the integer range, refusals and their
 * messages, and canonical output being a fixed point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vledger/jcs.h"

#include "check.h"

static json_t *
parse_at(const char *text, const char *file, int line)
{
	json_error_t jerr;
	json_t *v;

	v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (v == NULL) {
		fprintf(stderr, "%s:%d: parsing %s: %s\n", file, line, text, jerr.text);
		exit(1);
	}
	return v;
}

/* Canonicalises `v` (taking its reference), compares with want (want_len
 * bytes), and checks that parsing the output and canonicalising again
 * gives the same bytes. */
static void
canon_value_at(json_t *v, const char *want, size_t want_len, const char *file, int line)
{
	struct vl_error err = { 0 };
	json_error_t jerr;
	json_t *again;
	char *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;

	if (!jcs_serialize(v, &out, &len, &err)) {
		fprintf(stderr, "%s:%d: jcs_serialize: %s\n", file, line, err.message);
		exit(1);
	}
	if (len != want_len || memcmp(out, want, len) != 0 || out[len] != '\0') {
		fprintf(stderr, "%s:%d: got\n  %.*s\nwant\n  %.*s\n", file, line, (int)len, out, (int)want_len,
		    want);
		exit(1);
	}
	again = json_loadb(out, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (again == NULL) {
		fprintf(stderr, "%s:%d: output does not parse: %s\n", file, line, jerr.text);
		exit(1);
	}
	CHECK(json_equal(v, again));
	CHECK(jcs_serialize(again, &out2, &len2, &err));
	CHECK(len2 == len && memcmp(out, out2, len) == 0);
	json_decref(again);
	json_decref(v);
	free(out);
	free(out2);
}
#define canon_value(v, want) canon_value_at((v), (want), strlen(want), __FILE__, __LINE__)
#define canon(text, want) canon_value_at(parse_at((text), __FILE__, __LINE__), (want), strlen(want), \
    __FILE__, __LINE__)

/* jcs_serialize must fail with VL_INVALID_ARGUMENT and exactly `want`. */
static void
refuse_value_at(json_t *v, const char *want, const char *file, int line)
{
	struct vl_error err = { 0 };
	char *out = (char *)1;
	size_t len = 99;

	if (jcs_serialize(v, &out, &len, &err)) {
		fprintf(stderr, "%s:%d: got %s, want error %s\n", file, line, out, want);
		exit(1);
	}
	if (out != NULL || len != 0 || err.code != VL_INVALID_ARGUMENT || strcmp(err.message, want) != 0) {
		fprintf(stderr, "%s:%d: got error (code %d)\n  %s\nwant\n  %s\n", file, line, (int)err.code,
		    err.message, want);
		exit(1);
	}
	json_decref(v);
}
#define refuse_value(v, want) refuse_value_at((v), (want), __FILE__, __LINE__)
#define refuse(text, want) refuse_value_at(parse_at((text), __FILE__, __LINE__), (want), __FILE__, __LINE__)

/* RFC 8785 §3.2.3: names sort as UTF-16 code unit arrays, so U+1F600
 * (surrogates D83D DE00) comes before U+FB33, although its UTF-8 (F0 ...)
 * is greater than U+FB33's (EF ...). */
static void
test_rfc8785_sorting(void)
{
	canon("{\n"
	    "  \"\\u20ac\": \"Euro Sign\",\n"
	    "  \"\\r\": \"Carriage Return\",\n"
	    "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
	    "  \"1\": \"One\",\n"
	    "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
	    "  \"\\u0080\": \"Control\",\n"
	    "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"\n"
	    "}",
	    "{\"\\r\":\"Carriage Return\","
	    "\"1\":\"One\","
	    "\"\xc2\x80\":\"Control\","
	    "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
	    "\"\xe2\x82\xac\":\"Euro Sign\","
	    "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
	    "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");

	/* Prefixes first; then the same around the U+E000..U+FFFF against
	 * supplementary boundary, and two supplementary characters. */
	canon("{\"ab\":1,\"a\":2,\"\":3,\"b\":4}", "{\"\":3,\"a\":2,\"ab\":1,\"b\":4}");
	canon("{\"\\uffff\":1,\"\\ud800\\udc00\":2,\"\\ue000\":3,\"\\ud7ff\":4}",
	    "{\"\xed\x9f\xbf\":4,\"\xf0\x90\x80\x80\":2,\"\xee\x80\x80\":3,\"\xef\xbf\xbf\":1}");
	canon("{\"\\udbff\\udfff\":1,\"\\ud83d\\ude01\":2,\"\\ud83d\\ude00\":3}",
	    "{\"\xf0\x9f\x98\x80\":3,\"\xf0\x9f\x98\x81\":2,\"\xf4\x8f\xbf\xbf\":1}");
}

/* RFC 8785 §3.2.2's example without its "numbers" member, which holds
 * floating-point numbers; the member with them is refused. */
static void
test_rfc8785_example(void)
{
	canon("{\n"
	    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
	    "  \"literals\": [null, true, false]\n"
	    "}",
	    "{\"literals\":[null,true,false],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
	refuse("{\n"
	    "  \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n"
	    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
	    "  \"literals\": [null, true, false]\n"
	    "}",
	    "numbers[0]: floating-point numbers are not allowed in ledger entries");
}

static void
test_strings(void)
{
	char in[0x20 + 1], want[256], *w;
	size_t i;
	json_t *v;

	/* Every C0 control: the five short escapes, the rest \u00xx in
	 * lower case. */
	for (i = 0; i < 0x20; i++)
		in[i] = (char)i;
	w = want;
	*w++ = '"';
	for (i = 0; i < 0x20; i++) {
		switch (i) {
		case '\b': w += sprintf(w, "\\b"); break;
		case '\t': w += sprintf(w, "\\t"); break;
		case '\n': w += sprintf(w, "\\n"); break;
		case '\f': w += sprintf(w, "\\f"); break;
		case '\r': w += sprintf(w, "\\r"); break;
		default: w += sprintf(w, "\\u%04zx", i); break;
		}
	}
	*w++ = '"';
	*w = '\0';
	v = json_stringn(in, 0x20);
	CHECK(v != NULL);
	canon_value(v, want);
	CHECK(strstr(want, "\\u001f") != NULL && strstr(want, "\\u000b") != NULL);

	/* Nothing else is escaped: '/', DEL, U+2028, U+2029, non-ASCII. */
	canon("\"a/b\\u007f\\u2028\\u2029\\u00e9\\ud834\\udd1e\"",
	    "\"a/b\x7f\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9\xf0\x9d\x84\x9e\"");
	canon("\"\\\"\\\\\"", "\"\\\"\\\\\"");
	canon("\"\"", "\"\"");
	/* Embedded NUL in a string, and (jansson 2.14 objects can hold
	 * them, though its parser refuses them) in a member name. */
	canon("{\"key\":\"a\\u0000b\"}", "{\"key\":\"a\\u0000b\"}");
#if JANSSON_VERSION_HEX >= 0x020e00
	{
		struct vl_error err = { 0 };
		char *out = NULL;
		size_t len = 0;

		v = json_object();
		CHECK(json_object_setn_new(v, "k\0ey", 4, json_integer(1)) == 0);
		CHECK(json_object_setn_new(v, "k", 1, json_integer(2)) == 0);
		CHECK(jcs_serialize(v, &out, &len, &err));
		CHECK(len == strlen("{\"k\":2,\"k\\u0000ey\":1}"));
		CHECK(memcmp(out, "{\"k\":2,\"k\\u0000ey\":1}", len) == 0);
		free(out);
		json_decref(v);
	}
#endif
}

static void
test_structure(void)
{
	canon("{}", "{}");
	canon("[]", "[]");
	canon("  { \"b\" : [ ] , \"a\" : { } , \"c\" : [ { \"z\" : 1 , \"y\" : [ true , false , null ] } ] }  ",
	    "{\"a\":{},\"b\":[],\"c\":[{\"y\":[true,false,null],\"z\":1}]}");
	canon("[[[[]]],{\"x\":{\"y\":{\"z\":[1,[2,[3]]]}}}]", "[[[[]]],{\"x\":{\"y\":{\"z\":[1,[2,[3]]]}}}]");
	canon("true", "true");
	canon("false", "false");
	canon("null", "null");
	canon("\"top\"", "\"top\"");
	canon("{\"entry\":{\"volunteer\":\"Zo\\u00eb\",\"minutes\":90,\"tags\":[\"garden\",\"kids\"],"
	    "\"approved\":true,\"note\":null}}",
	    "{\"entry\":{\"approved\":true,\"minutes\":90,\"note\":null,\"tags\":[\"garden\",\"kids\"],"
	    "\"volunteer\":\"Zo\xc3\xab\"}}");
}

static void
test_numbers(void)
{
	canon("[0,-0,1,-1,10,-10,123456789]", "[0,0,1,-1,10,-10,123456789]");
	canon("[9007199254740991,-9007199254740991]", "[9007199254740991,-9007199254740991]");
	canon_value(json_integer(9007199254740991LL), "9007199254740991");
	refuse("9007199254740992", ": integer out of the safe range -9007199254740991..9007199254740991");
	refuse("[-9007199254740992]",
	    "[0]: integer out of the safe range -9007199254740991..9007199254740991");
	refuse("{\"a\":{\"b\":9223372036854775807}}",
	    "a.b: integer out of the safe range -9007199254740991..9007199254740991");
	refuse_value(json_integer(-9223372036854775807LL - 1),
	    ": integer out of the safe range -9007199254740991..9007199254740991");

	/* Every real is refused, integral or not; the path names it. */
	refuse("1.0", ": floating-point numbers are not allowed in ledger entries");
	refuse("1e2", ": floating-point numbers are not allowed in ledger entries");
	refuse("{\"a\":{\"b\":[1,0.5]}}", "a.b[1]: floating-point numbers are not allowed in ledger entries");
	refuse("[[0],[1,{\"x\":[true,-0.0]}]]",
	    "[1][1].x[1]: floating-point numbers are not allowed in ledger entries");
	/* The path follows canonical order: "a" is reached before "z". */
	refuse("{\"z\":1.5,\"a\":2.5}", "a: floating-point numbers are not allowed in ledger entries");
}

static void
test_refusals(void)
{
	struct vl_error err = { 0 };
	json_t *v, *inner, *outer;
	char *out = NULL;
	size_t len = 0;
	int i;

	/* Invalid UTF-8 that jansson was told not to check. */
	refuse_value(json_stringn_nocheck("a\xff", 2), ": invalid UTF-8 in a string");
	refuse_value(json_stringn_nocheck("\xed\xa0\x80", 3), ": invalid UTF-8 in a string");	/* surrogate */
	refuse_value(json_stringn_nocheck("\xc0\xaf", 2), ": invalid UTF-8 in a string");	/* overlong */
	v = json_object();
	CHECK(json_object_set_new(v, "ok", json_array()) == 0);
	CHECK(json_array_append_new(json_object_get(v, "ok"), json_stringn_nocheck("\xf4\x90\x80\x80", 4)) == 0);
	refuse_value(v, "ok[0]: invalid UTF-8 in a string");
	v = json_object();
	inner = json_object();
	CHECK(json_object_set_new_nocheck(inner, "bad\xe2\x82", json_true()) == 0);
	CHECK(json_object_set_new(v, "outer", inner) == 0);
	refuse_value(v, "outer: invalid UTF-8 in a member name");

	/* Nesting: as deep as jansson parses, and no deeper. */
	inner = json_array();
	for (i = 1; i < JCS_MAX_DEPTH; i++) {
		outer = json_array();
		CHECK(json_array_append_new(outer, inner) == 0);
		inner = outer;
	}
	CHECK(jcs_serialize(inner, &out, &len, &err));
	CHECK(len == 2 * JCS_MAX_DEPTH && out[0] == '[' && out[len - 1] == ']');
	free(out);
	outer = json_object();
	CHECK(json_object_set_new(outer, "deep", inner) == 0);
	CHECK(!jcs_serialize(outer, &out, &len, &err));
	CHECK(out == NULL && len == 0 && err.code == VL_INVALID_ARGUMENT);
	CHECK(strncmp(err.message, "deep[0][0]", 10) == 0);
	json_decref(outer);

	CHECK(!jcs_serialize(NULL, &out, &len, &err));
	CHECK(err.code == VL_INTERNAL);
	/* err may be NULL. */
	v = json_real(1.5);
	CHECK(!jcs_serialize(v, &out, &len, NULL));
	CHECK(out == NULL);
	json_decref(v);
}

/* Canonical output is a fixed point: parsing it and serialising again
 * gives the same bytes (canon() checks that for every case above). Here
 * also for a larger document with many members, built in memory in an
 * order unrelated to the canonical one. */
static void
test_round_trip(void)
{
	struct vl_error err = { 0 };
	json_t *v, *arr;
	char key[32], *out = NULL, *prev = NULL;
	size_t len = 0, prevlen = 0;
	int i, pass;

	v = json_object();
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "k%d\xc3\xa9%c", (i * 7919) % 500, "a\x01 ~"[i % 4]);
		arr = json_pack("[i,s,b,n,{s:i}]", i - 250, key, i % 2, "nested", i);
		CHECK(arr != NULL);
		CHECK(json_object_set_new(v, key, arr) == 0);
	}
	for (pass = 0; pass < 3; pass++) {
		json_error_t jerr;

		CHECK(jcs_serialize(v, &out, &len, &err));
		CHECK(strlen(out) == len);
		if (prev != NULL) {
			CHECK(len == prevlen && memcmp(out, prev, len) == 0);
			free(prev);
		}
		prev = out;
		prevlen = len;
		json_decref(v);
		v = json_loadb(out, len, 0, &jerr);
		CHECK(v != NULL);
	}
	free(prev);
	json_decref(v);
}

int
main(void)
{
	test_rfc8785_sorting();
	test_rfc8785_example();
	test_strings();
	test_structure();
	test_numbers();
	test_refusals();
	test_round_trip();
	printf("jcs_test: ok\n");
	return 0;
}
