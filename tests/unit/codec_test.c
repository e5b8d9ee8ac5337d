/*
 * codec_test.c - the proto3 JSON and binary codec against vledger.test.AllKinds
 * (tests/unit/codec_test.proto), which has a field of every kind.
 *
 * Run under ASan/LSan: every error path must free what it built.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_test.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "vledger/codec.h"
#include "vledger/schema.h"

#include "check.h"

extern const unsigned char test_descriptor_set[];
extern const size_t test_descriptor_set_len;

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || strcmp(g_, w_) != 0) { \
		fprintf(stderr, "%s:%d: got\n  %s\nwant\n  %s\n", __FILE__, __LINE__, \
		    g_ != NULL ? g_ : "(null)", w_); \
		exit(1); \
	} \
} while (0)

static struct schema *schema;

#define ALL (&vledger__test__all_kinds__descriptor)

/* Decodes JSON that must be valid; the caller frees the result. */
static Vledger__Test__AllKinds *
decode_ok_at(const char *json, const char *file, int line)
{
	ProtobufCMessage *m = NULL;
	struct vl_error err = { 0 };

	if (!codec_decode_json(schema, ALL, json, strlen(json), &m, &err)) {
		fprintf(stderr, "%s:%d: decoding %s: %s\n", file, line, json, err.message);
		exit(1);
	}
	CHECK(m != NULL);
	return (Vledger__Test__AllKinds *)m;
}
#define decode_ok(json) decode_ok_at((json), __FILE__, __LINE__)

static void
decode_err_at(const ProtobufCMessageDescriptor *desc, const char *json, size_t len, const char *want,
    const char *file, int line)
{
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	struct vl_error err = { 0 };

	if (codec_decode_json(schema, desc, json, len, &m, &err)) {
		fprintf(stderr, "%s:%d: decoding %s succeeded, want error %s\n", file, line, json, want);
		exit(1);
	}
	if (m != NULL || err.code != VL_INVALID_ARGUMENT || strcmp(err.message, want) != 0) {
		fprintf(stderr, "%s:%d: decoding %s: got error (code %d)\n  %s\nwant\n  %s\n", file, line, json,
		    (int)err.code, err.message, want);
		exit(1);
	}
}
#define decode_err(json, want) decode_err_at(ALL, (json), strlen(json), (want), __FILE__, __LINE__)

/* Encodes to JSON and returns the text; the caller frees it. */
static char *
encode(const void *msg)
{
	struct vl_error err = { 0 };
	char *out = NULL;
	size_t len = 0;

	if (!codec_encode_json(schema, msg, &out, &len, &err)) {
		fprintf(stderr, "encode failed: %s\n", err.message);
		exit(1);
	}
	CHECK(out != NULL && strlen(out) == len);
	return out;
}

/* JSON in -> JSON out. */
static void
check_json_at(const char *in, const char *want, const char *file, int line)
{
	Vledger__Test__AllKinds *m = decode_ok_at(in, file, line);
	char *out = encode(m);

	if (strcmp(out, want) != 0) {
		fprintf(stderr, "%s:%d: %s\nencoded as\n  %s\nwant\n  %s\n", file, line, in, out, want);
		exit(1);
	}
	free(out);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}
#define check_json(in, want) check_json_at((in), (want), __FILE__, __LINE__)

static const char golden_in[] =
    "{\"f_int32\":-42,\"fInt64\":-9000000000,\"fUint32\":\"4000000000\",\"fUint64\":\"18000000000000000000\","
    "\"fSint32\":-7,\"fSint64\":\"-8\",\"fFixed32\":9,\"fFixed64\":10,\"fSfixed32\":-11,\"fSfixed64\":\"-12\","
    "\"fBool\":true,\"fFloat\":1.5,\"fDouble\":0.1,\"fString\":\"h\\u00e9llo \\\"q\\\"\\n\\u0001/\","
    "\"fBytes\":\"AAEC_w\",\"fEnum\":2,\"fMessage\":{\"label\":\"in\",\"n\":3},"
    "\"fTime\":\"2024-01-31T13:00:00.5+01:00\",\"rInt32\":[1,-2,0],\"r_string\":[\"a\",\"\",\"c\"],"
    "\"rMessage\":[{\"label\":\"x\"},{},{\"n\":-1}],\"rEnum\":[\"COLOUR_RED\",0],\"custom_name\":\"r\","
    "\"cText\":\"t\",\"rInt64\":[\"1\",-1],\"rUint64\":[0,\"18446744073709551615\"],\"rBool\":[true,false],"
    "\"rFloat\":[0.1,-2.5,\"NaN\"],\"rDouble\":[1e21,2.5,\"-Infinity\",1e-7],\"rBytes\":[\"\",\"aGk=\"],"
    "\"rTime\":[\"1970-01-01T00:00:00Z\",\"0001-01-01T00:00:00Z\",\"9999-12-31T23:59:59.999999999Z\"],"
    "\"rSint32\":[-3],\"rFixed64\":[\"7\"],\"unknownField\":{\"x\":[1,2]}}";

static const char golden_out[] =
    "{\"fInt32\":-42,\"fInt64\":\"-9000000000\",\"fUint32\":4000000000,\"fUint64\":\"18000000000000000000\","
    "\"fSint32\":-7,\"fSint64\":\"-8\",\"fFixed32\":9,\"fFixed64\":\"10\",\"fSfixed32\":-11,\"fSfixed64\":\"-12\","
    "\"fBool\":true,\"fFloat\":1.5,\"fDouble\":0.1,\"fString\":\"h\xc3\xa9llo \\\"q\\\"\\n\\u0001/\","
    "\"fBytes\":\"AAEC/w==\",\"fEnum\":\"COLOUR_GREEN\",\"fMessage\":{\"label\":\"in\",\"n\":3},"
    "\"fTime\":\"2024-01-31T12:00:00.500Z\",\"rInt32\":[1,-2,0],\"rString\":[\"a\",\"\",\"c\"],"
    "\"rMessage\":[{\"label\":\"x\"},{},{\"n\":-1}],\"rEnum\":[\"COLOUR_RED\",\"COLOUR_UNSPECIFIED\"],"
    "\"renamedField\":\"r\",\"cText\":\"t\",\"rInt64\":[\"1\",\"-1\"],\"rUint64\":[\"0\",\"18446744073709551615\"],"
    "\"rBool\":[true,false],\"rFloat\":[0.1,-2.5,\"NaN\"],\"rDouble\":[1e+21,2.5,\"-Infinity\",1e-07],"
    "\"rBytes\":[\"\",\"aGk=\"],"
    "\"rTime\":[\"1970-01-01T00:00:00Z\",\"0001-01-01T00:00:00Z\",\"9999-12-31T23:59:59.999999999Z\"],"
    "\"rSint32\":[-3],\"rFixed64\":[\"7\"]}";

static void
test_golden(void)
{
	Vledger__Test__AllKinds *m;
	ProtobufCMessage *b = NULL;
	struct vl_error err = { 0 };
	uint8_t *bin;
	size_t binlen;
	char *out;

	m = decode_ok(golden_in);
	CHECK(m->f_int32 == -42);
	CHECK(m->f_int64 == -9000000000LL);
	CHECK(m->f_uint32 == 4000000000U);
	CHECK(m->f_uint64 == 18000000000000000000ULL);
	CHECK(m->f_bool == 1);
	CHECK(m->f_float == 1.5f);
	CHECK(m->f_double == 0.1);
	CHECK(m->f_bytes.len == 4 && memcmp(m->f_bytes.data, "\x00\x01\x02\xff", 4) == 0);
	CHECK(m->f_enum == VLEDGER__TEST__COLOUR__COLOUR_GREEN);
	CHECK(m->f_message != NULL && strcmp(m->f_message->label, "in") == 0 && m->f_message->n == 3);
	CHECK(m->f_time != NULL && m->f_time->seconds == 1706702400 && m->f_time->nanos == 500000000);
	CHECK(m->n_r_int32 == 3 && m->r_int32[1] == -2);
	CHECK(m->n_r_message == 3 && m->r_message[2]->n == -1);
	CHECK(strcmp(m->custom_name, "r") == 0);
	CHECK(m->choice_case == VLEDGER__TEST__ALL_KINDS__CHOICE_C_TEXT && strcmp(m->c_text, "t") == 0);
	CHECK(m->n_r_float == 3 && isnan(m->r_float[2]));
	CHECK(m->n_r_double == 4 && m->r_double[1] == 2.5 && isinf(m->r_double[2]));
	CHECK(m->n_r_uint64 == 2 && m->r_uint64[1] == UINT64_MAX);
	CHECK(m->n_r_time == 3 && m->r_time[1]->seconds == -62135596800LL);
	CHECK(m->r_time[2]->seconds == 253402300799LL && m->r_time[2]->nanos == 999999999);

	out = encode(m);
	CHECK_STR(out, golden_out);
	free(out);

	/* Binary round trip: same message, same JSON. */
	codec_encode_binary(&m->base, &bin, &binlen);
	CHECK(binlen == protobuf_c_message_get_packed_size(&m->base));
	protobuf_c_message_free_unpacked(&m->base, NULL);
	CHECK(codec_decode_binary(ALL, bin, binlen, &b, &err));
	free(bin);
	out = encode(b);
	CHECK_STR(out, golden_out);
	free(out);
	protobuf_c_message_free_unpacked(b, NULL);

	/* The canonical form reads back to itself. */
	check_json(golden_out, golden_out);
}

static void
test_defaults(void)
{
	Vledger__Test__AllKinds m = VLEDGER__TEST__ALL_KINDS__INIT;
	char *out;

	out = encode(&m);
	CHECK_STR(out, "{}");
	free(out);
	check_json("{}", "{}");
	check_json(" { } ", "{}");
	/* Explicit defaults are omitted on output. */
	check_json("{\"fInt32\":0,\"fInt64\":\"0\",\"fBool\":false,\"fString\":\"\",\"fBytes\":\"\","
	    "\"fEnum\":\"COLOUR_UNSPECIFIED\",\"rInt32\":[],\"fDouble\":0}", "{}");
	/* An empty submessage is present. */
	check_json("{\"fMessage\":{}}", "{\"fMessage\":{}}");
	/* null is the default for every kind of field. */
	check_json("{\"fInt32\":null,\"fString\":null,\"fMessage\":null,\"fTime\":null,\"rInt32\":null,"
	    "\"fEnum\":null,\"fBytes\":null,\"cText\":null,\"cNumber\":\"5\"}", "{\"cNumber\":\"5\"}");
	/* A oneof member holding its default is still written. */
	check_json("{\"cNumber\":0}", "{\"cNumber\":\"0\"}");
	check_json("{\"cText\":\"\"}", "{\"cText\":\"\"}");
	check_json("{\"cInner\":{}}", "{\"cInner\":{}}");
	check_json("{\"c_inner\":{\"n\":1}}", "{\"cInner\":{\"n\":1}}");
}

static void
test_integers(void)
{
	Vledger__Test__AllKinds *m;

	check_json("{\"fInt64\":\"-9223372036854775808\"}", "{\"fInt64\":\"-9223372036854775808\"}");
	check_json("{\"fInt64\":9223372036854775807}", "{\"fInt64\":\"9223372036854775807\"}");
	check_json("{\"fInt32\":\"42\"}", "{\"fInt32\":42}");
	check_json("{\"fInt32\":1e2}", "{\"fInt32\":100}");
	check_json("{\"fInt32\":-3.0}", "{\"fInt32\":-3}");
	check_json("{\"fInt32\":-2147483648}", "{\"fInt32\":-2147483648}");
	check_json("{\"fUint32\":4294967295}", "{\"fUint32\":4294967295}");
	check_json("{\"fUint64\":\"18446744073709551615\"}", "{\"fUint64\":\"18446744073709551615\"}");
	check_json("{\"fUint64\":\"-0\"}", "{}");
	check_json("{\"fSint64\":\"007\"}", "{\"fSint64\":\"7\"}");
	check_json("{\"fSfixed32\":-1,\"fFixed32\":1}", "{\"fFixed32\":1,\"fSfixed32\":-1}");

	m = decode_ok("{\"fSint32\":-2147483648,\"fSfixed64\":\"-9223372036854775808\",\"fFixed64\":\"1\"}");
	CHECK(m->f_sint32 == INT32_MIN && m->f_sfixed64 == INT64_MIN && m->f_fixed64 == 1);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_err("{\"fInt32\":1.5}", "fInt32: expected an integer");
	decode_err("{\"fInt32\":\"1.0\"}", "fInt32: expected an integer");
	decode_err("{\"fInt32\":\"\"}", "fInt32: expected an integer");
	decode_err("{\"fInt32\":\" 1\"}", "fInt32: expected an integer");
	decode_err("{\"fInt32\":\"+1\"}", "fInt32: expected an integer");
	decode_err("{\"fInt32\":\"0x10\"}", "fInt32: expected an integer");
	decode_err("{\"fInt32\":true}", "fInt32: expected an integer");
	decode_err("{\"fInt32\":{}}", "fInt32: expected an integer");
	decode_err("{\"fInt32\":2147483648}", "fInt32: value out of range for int32");
	decode_err("{\"fInt32\":\"-2147483649\"}", "fInt32: value out of range for int32");
	decode_err("{\"fSint32\":1e10}", "fSint32: value out of range for int32");
	decode_err("{\"fInt64\":\"9223372036854775808\"}", "fInt64: value out of range for int64");
	decode_err("{\"fInt64\":1e19}", "fInt64: value out of range for int64");
	decode_err("{\"fInt64\":[1]}", "fInt64: expected an integer");
	decode_err("{\"fUint32\":-1}", "fUint32: value out of range for uint32");
	decode_err("{\"fUint32\":4294967296}", "fUint32: value out of range for uint32");
	decode_err("{\"fFixed32\":\"-5\"}", "fFixed32: value out of range for uint32");
	decode_err("{\"fUint64\":\"18446744073709551616\"}", "fUint64: value out of range for uint64");
	decode_err("{\"fUint64\":-1}", "fUint64: value out of range for uint64");
	decode_err("{\"fFixed64\":0.5}", "fFixed64: expected an integer");
	/* jansson cannot hold integer literals past INT64_MAX. */
	decode_err("{\"fUint64\":18446744073709551615}",
	    "invalid JSON at line 1 column 31: too big integer near '18446744073709551615'");
	decode_err("{\"rInt32\":[1,\"x\"]}", "rInt32[1]: expected an integer");
	decode_err("{\"rInt32\":[1,null]}", "rInt32[1]: expected an integer");
	decode_err("{\"rInt64\":[\"1\",\"2\",\"99999999999999999999\"]}",
	    "rInt64[2]: value out of range for int64");
	decode_err("{\"rInt32\":5}", "rInt32: expected an array");
}

static void
test_floats(void)
{
	Vledger__Test__AllKinds *m;

	check_json("{\"fFloat\":0.1,\"fDouble\":0.3}", "{\"fFloat\":0.1,\"fDouble\":0.3}");
	check_json("{\"fFloat\":3.4028234663852886e38}", "{\"fFloat\":3.4028235e+38}");
	check_json("{\"fFloat\":3.4028235e+38}", "{\"fFloat\":3.4028235e+38}");
	check_json("{\"fFloat\":-3.4028235677973362e38}", "{\"fFloat\":-3.4028235e+38}");
	decode_err("{\"fFloat\":3.4028235677973366e38}", "fFloat: value out of range for float");
	check_json("{\"fFloat\":1e-46}", "{}");
	check_json("{\"fFloat\":\"1.25\",\"fDouble\":\"-2e-3\"}", "{\"fFloat\":1.25,\"fDouble\":-0.002}");
	check_json("{\"fFloat\":7}", "{\"fFloat\":7}");
	check_json("{\"fDouble\":123456789012345680}", "{\"fDouble\":1.2345678901234568e+17}");
	check_json("{\"fDouble\":\"Infinity\",\"fFloat\":\"-Infinity\"}",
	    "{\"fFloat\":\"-Infinity\",\"fDouble\":\"Infinity\"}");
	check_json("{\"fDouble\":-0.0}", "{\"fDouble\":-0}");
	m = decode_ok("{\"fDouble\":\"NaN\"}");
	CHECK(isnan(m->f_double));
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_err("{\"fFloat\":1e39}", "fFloat: value out of range for float");
	decode_err("{\"fDouble\":\"1e999\"}", "fDouble: value out of range for double");
	decode_err("{\"fDouble\":\"nan\"}", "fDouble: expected a number");
	decode_err("{\"fDouble\":\"inf\"}", "fDouble: expected a number");
	decode_err("{\"fDouble\":\"0x1p3\"}", "fDouble: expected a number");
	decode_err("{\"fDouble\":\"1.5x\"}", "fDouble: expected a number");
	decode_err("{\"fDouble\":\"\"}", "fDouble: expected a number");
	decode_err("{\"fFloat\":false}", "fFloat: expected a number");
	decode_err("{\"rDouble\":[1,{}]}", "rDouble[1]: expected a number");
}

static void
test_bool_string(void)
{
	Vledger__Test__AllKinds m = VLEDGER__TEST__ALL_KINDS__INIT;
	struct vl_error err = { 0 };
	char *out = (char *)1, *bad[] = { "ok", "b\xc0\xaf" "d" };
	size_t len;

	check_json("{\"fBool\":true,\"rBool\":[false]}", "{\"fBool\":true,\"rBool\":[false]}");
	decode_err("{\"fBool\":\"true\"}", "fBool: expected a boolean");
	decode_err("{\"fBool\":1}", "fBool: expected a boolean");
	decode_err("{\"rBool\":[true,0]}", "rBool[1]: expected a boolean");

	check_json("{\"fString\":\"\\u2603 \\ud83d\\ude00 \\t\\b\\f\\r\\\\ \\u001f\"}",
	    "{\"fString\":\"\xe2\x98\x83 \xf0\x9f\x98\x80 \\t\\b\\f\\r\\\\ \\u001f\"}");
	decode_err("{\"fString\":5}", "fString: expected a string");
	decode_err("{\"rString\":[\"a\",[]]}", "rString[1]: expected a string");
	decode_err("{\"fMessage\":{\"label\":false}}", "fMessage.label: expected a string");
	decode_err("{\"rMessage\":[{},{},{\"label\":1}]}", "rMessage[2].label: expected a string");
	decode_err("{\"cInner\":{\"n\":\"z\"}}", "cInner.n: expected an integer");

	/* Invalid UTF-8 is refused on output as well. */
	m.f_string = "b\xed\xa0\x80";
	CHECK(!codec_encode_json(schema, &m.base, &out, &len, &err));
	CHECK(out == NULL && err.code == VL_INVALID_ARGUMENT);
	CHECK_STR(err.message, "fString: invalid UTF-8");
	m.f_string = "";
	m.n_r_string = 2;
	m.r_string = bad;
	CHECK(!codec_encode_json(schema, &m.base, &out, &len, &err));
	CHECK_STR(err.message, "rString[1]: invalid UTF-8");
}

static void
test_enums(void)
{
	check_json("{\"fEnum\":\"COLOUR_RED\"}", "{\"fEnum\":\"COLOUR_RED\"}");
	check_json("{\"fEnum\":2}", "{\"fEnum\":\"COLOUR_GREEN\"}");
	check_json("{\"fEnum\":2.0}", "{\"fEnum\":\"COLOUR_GREEN\"}");
	/* proto3 enums are open: unnamed numbers survive as numbers. */
	check_json("{\"fEnum\":7,\"rEnum\":[1,-3]}", "{\"fEnum\":7,\"rEnum\":[\"COLOUR_RED\",-3]}");
	decode_err("{\"fEnum\":\"FOO\"}", "fEnum: unknown enum value \"FOO\"");
	decode_err("{\"fEnum\":\"colour_red\"}", "fEnum: unknown enum value \"colour_red\"");
	decode_err("{\"fEnum\":true}", "fEnum: expected an enum name or number");
	decode_err("{\"fEnum\":1.5}", "fEnum: expected an integer");
	decode_err("{\"fEnum\":2147483648}", "fEnum: value out of range for enum");
	decode_err("{\"rEnum\":[\"COLOUR_RED\",\"COLOUR_BLUE\"]}", "rEnum[1]: unknown enum value \"COLOUR_BLUE\"");
}

static void
test_bytes(void)
{
	Vledger__Test__AllKinds *m;

	check_json("{\"fBytes\":\"aGVsbG8=\"}", "{\"fBytes\":\"aGVsbG8=\"}");
	check_json("{\"fBytes\":\"aGVsbG8\"}", "{\"fBytes\":\"aGVsbG8=\"}");
	check_json("{\"fBytes\":\"aGVsbA==\"}", "{\"fBytes\":\"aGVsbA==\"}");
	check_json("{\"fBytes\":\"aGVsbA\"}", "{\"fBytes\":\"aGVsbA==\"}");
	check_json("{\"fBytes\":\"aGVs\"}", "{\"fBytes\":\"aGVs\"}");
	check_json("{\"fBytes\":\"-_8=\"}", "{\"fBytes\":\"+/8=\"}");
	check_json("{\"fBytes\":\"+/8\"}", "{\"fBytes\":\"+/8=\"}");
	m = decode_ok("{\"fBytes\":\"-_8\",\"rBytes\":[\"AA==\",\"\"]}");
	CHECK(m->f_bytes.len == 2 && m->f_bytes.data[0] == 0xfb && m->f_bytes.data[1] == 0xff);
	CHECK(m->n_r_bytes == 2 && m->r_bytes[0].len == 1 && m->r_bytes[0].data[0] == 0 && m->r_bytes[1].len == 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_err("{\"fBytes\":\"a\"}", "fBytes: invalid base64");
	decode_err("{\"fBytes\":\"aGVsbG8==\"}", "fBytes: invalid base64");
	decode_err("{\"fBytes\":\"aGk=a\"}", "fBytes: invalid base64");
	decode_err("{\"fBytes\":\"aG=k\"}", "fBytes: invalid base64");
	decode_err("{\"fBytes\":\"a===\"}", "fBytes: invalid base64");
	decode_err("{\"fBytes\":\"aGk*\"}", "fBytes: invalid base64");
	decode_err("{\"fBytes\":\"aG k\"}", "fBytes: invalid base64");
	decode_err("{\"fBytes\":\"=\"}", "fBytes: invalid base64");
	decode_err("{\"fBytes\":12}", "fBytes: expected a base64 string");
	decode_err("{\"rBytes\":[\"AA\",\"!\"]}", "rBytes[1]: invalid base64");
}

static void
check_ts(const char *s, int64_t seconds, int32_t nanos)
{
	int64_t gs = 0;
	int32_t gn = 0;

	if (!codec_timestamp_parse(s, &gs, &gn) || gs != seconds || gn != nanos) {
		fprintf(stderr, "timestamp %s: got %lld.%09d, want %lld.%09d\n", s, (long long)gs, (int)gn,
		    (long long)seconds, (int)nanos);
		exit(1);
	}
}

static void
check_ts_format(int64_t seconds, int32_t nanos, const char *want)
{
	char buf[40];

	codec_timestamp_format(seconds, nanos, buf);
	CHECK_STR(buf, want);
}

static void
test_timestamps(void)
{
	static const char *bad[] = {
		"", "2024-01-31", "2024-01-31T12:00:00", "2024-01-31 12:00:00Z", "2024-01-31T12:00Z",
		"2024-1-31T12:00:00Z", "2024-01-31T12:00:00.Z", "2024-01-31T12:00:00.1234567890Z",
		"2024-01-31T12:00:00+0100", "2024-01-31T12:00:00+01", "2024-01-31T12:00:00Zjunk",
		"2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
		"2024-00-10T00:00:00Z", "2024-13-10T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-31T24:00:00Z",
		"2024-01-31T23:60:00Z", "2016-12-31T23:59:60Z", "2024-01-31T12:00:00+24:00",
		"2024-01-31T12:00:00+01:60", "0000-12-31T23:59:59Z", "0001-01-01T00:00:00+00:01",
		"9999-12-31T23:59:59-00:01", "10000-01-01T00:00:00Z", "-001-01-01T00:00:00Z",
		"2024-01-31T12:00:00.-1Z", "2024-01-31t12:00:00 Z",
	};
	Vledger__Test__AllKinds m = VLEDGER__TEST__ALL_KINDS__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct vl_error err = { 0 };
	int64_t s;
	int32_t n;
	size_t i, len;
	char *out;

	check_ts("1970-01-01T00:00:00Z", 0, 0);
	check_ts("2024-01-31T12:00:00Z", 1706702400, 0);
	check_ts("2024-01-31t12:00:00z", 1706702400, 0);
	check_ts("2024-01-31T13:30:00+01:30", 1706702400, 0);
	check_ts("2024-01-31T10:00:00.000000001-02:00", 1706702400, 1);
	check_ts("2000-02-29T00:00:00.1Z", 951782400, 100000000);
	check_ts("1969-12-31T23:59:59.999Z", -1, 999000000);
	check_ts("0001-01-01T00:00:00Z", -62135596800LL, 0);
	check_ts("0001-01-01T01:00:00+01:00", -62135596800LL, 0);
	check_ts("9999-12-31T23:59:59.999999999Z", 253402300799LL, 999999999);
	check_ts("9999-12-31T22:59:59-01:00", 253402300799LL, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (codec_timestamp_parse(bad[i], &s, &n)) {
			fprintf(stderr, "timestamp \"%s\" accepted\n", bad[i]);
			exit(1);
		}
	}

	check_ts_format(0, 0, "1970-01-01T00:00:00Z");
	check_ts_format(1706702400, 500000000, "2024-01-31T12:00:00.500Z");
	check_ts_format(1706702400, 120000, "2024-01-31T12:00:00.000120Z");
	check_ts_format(1706702400, 1, "2024-01-31T12:00:00.000000001Z");
	check_ts_format(-1, 0, "1969-12-31T23:59:59Z");
	check_ts_format(951782400, 0, "2000-02-29T00:00:00Z");
	check_ts_format(-62135596800LL, 0, "0001-01-01T00:00:00Z");
	check_ts_format(253402300799LL, 999999999, "9999-12-31T23:59:59.999999999Z");
	/* Out of range: clamped, never overflowing the buffer. */
	check_ts_format(INT64_MIN, -5, "0001-01-01T00:00:00Z");
	check_ts_format(INT64_MAX, 2000000000, "9999-12-31T23:59:59.999999999Z");

	check_json("{\"fTime\":\"2024-01-31T12:00:00.120Z\"}", "{\"fTime\":\"2024-01-31T12:00:00.120Z\"}");
	check_json("{\"fTime\":\"1970-01-01T00:00:00Z\"}", "{\"fTime\":\"1970-01-01T00:00:00Z\"}");
	check_json("{\"f_time\":\"2024-01-31T12:00:00.123456Z\"}", "{\"fTime\":\"2024-01-31T12:00:00.123456Z\"}");
	decode_err("{\"fTime\":\"2024-02-30T00:00:00Z\"}",
	    "fTime: invalid RFC 3339 timestamp \"2024-02-30T00:00:00Z\"");
	decode_err("{\"fTime\":1706702400}", "fTime: expected an RFC 3339 timestamp string");
	decode_err("{\"fTime\":{\"seconds\":\"1\"}}", "fTime: expected an RFC 3339 timestamp string");
	decode_err("{\"rTime\":[\"2024-01-31T12:00:00Z\",\"yesterday\"]}",
	    "rTime[1]: invalid RFC 3339 timestamp \"yesterday\"");

	m.f_time = &ts;
	ts.seconds = 253402300800LL;
	CHECK(!codec_encode_json(schema, &m.base, &out, &len, &err));
	CHECK_STR(err.message, "fTime: timestamp out of range");
	ts.seconds = 0;
	ts.nanos = -1;
	CHECK(!codec_encode_json(schema, &m.base, &out, &len, &err));
	CHECK_STR(err.message, "fTime: timestamp out of range");
}

static void
test_oneof(void)
{
	Vledger__Test__AllKinds *m;

	m = decode_ok("{\"cNumber\":\"-5\"}");
	CHECK(m->choice_case == VLEDGER__TEST__ALL_KINDS__CHOICE_C_NUMBER && m->c_number == -5);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	m = decode_ok("{\"c_text\":\"x\",\"cNumber\":null}");
	CHECK(m->choice_case == VLEDGER__TEST__ALL_KINDS__CHOICE_C_TEXT && strcmp(m->c_text, "x") == 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_err("{\"cText\":\"a\",\"cNumber\":\"1\"}", "cNumber: oneof already set by cText");
	decode_err("{\"cNumber\":1,\"cText\":\"a\"}", "cNumber: oneof already set by cText");
	decode_err("{\"cText\":\"a\",\"cInner\":{\"label\":\"leak?\"}}", "cInner: oneof already set by cText");
	decode_err("{\"cText\":5}", "cText: expected a string");
	decode_err("{\"cInner\":{\"label\":\"a\"},\"c_number\":\"1\"}", "cInner: oneof already set by cNumber");
}

static void
test_names(void)
{
	Vledger__Test__AllKinds *m;

	m = decode_ok("{\"renamedField\":\"a\"}");
	CHECK_STR(m->custom_name, "a");
	protobuf_c_message_free_unpacked(&m->base, NULL);
	check_json("{\"custom_name\":\"b\"}", "{\"renamedField\":\"b\"}");
	/* The lowerCamelCase of a renamed field is not one of its names. */
	check_json("{\"customName\":\"c\"}", "{}");
	check_json("{\"f_int32\":1,\"r_message\":[{\"label\":\"x\"}],\"r_time\":[\"1970-01-01T00:00:01Z\"]}",
	    "{\"fInt32\":1,\"rMessage\":[{\"label\":\"x\"}],\"rTime\":[\"1970-01-01T00:00:01Z\"]}");
	/* Unknown fields are ignored, whatever their value. */
	check_json("{\"nope\":1,\"fInt32\":2,\"FInt32\":3,\"more\":{\"a\":[null]},\"fMessage\":{\"zzz\":true}}",
	    "{\"fInt32\":2,\"fMessage\":{}}");
	decode_err("{\"renamedField\":\"a\",\"custom_name\":\"b\"}",
	    "renamedField: duplicate field (also given as \"custom_name\")");
	decode_err("{\"fInt32\":1,\"f_int32\":1}", "fInt32: duplicate field (also given as \"f_int32\")");
}

static void
test_malformed(void)
{
	static const char bad_utf8[] = "{\"fString\":\"a\xff\"}";
	static const char nul[] = "{\"fInt32\":1}\0";

	decode_err("", "invalid JSON at line 1 column 0: unexpected token near end of file");
	decode_err("{\"fInt32\":", "invalid JSON at line 1 column 10: unexpected token near end of file");
	decode_err("{\n\"fInt32\": 1,\n}", "invalid JSON at line 3 column 1: string or '}' expected near '}'");
	decode_err("{} {}", "invalid JSON at line 1 column 4: end of file expected near '{'");
	decode_err("{\"a\":1,\"a\":2}", "invalid JSON at line 1 column 10: duplicate object key near '\"a\"'");
	decode_err("{\"fString\":\"\\u0000\"}",
	    "invalid JSON at line 1 column 19: \\u0000 is not allowed without JSON_ALLOW_NUL near "
	    "'\"\\u0000\"'");
	decode_err(bad_utf8, "invalid JSON at line 1 column 13: unable to decode byte 0xff near '\"a'");
	decode_err_at(ALL, nul, sizeof(nul) - 1, "invalid JSON at line 1 column 13: end of file expected near end of file",
	    __FILE__, __LINE__);
	decode_err("[]", "expected a JSON object at the top level");
	decode_err("[{}]", "expected a JSON object at the top level");
	decode_err("\"x\"", "expected a JSON object at the top level");
	decode_err("null", "expected a JSON object at the top level");
	decode_err("{\"fMessage\":[]}", "fMessage: expected an object");
	decode_err("{\"fMessage\":\"x\"}", "fMessage: expected an object");
	decode_err("{\"rMessage\":[{},5]}", "rMessage[1]: expected an object");
	decode_err("{\"rMessage\":{}}", "rMessage: expected an array");
}

/* Partially built messages on every error path: LSan checks they are freed. */
static void
test_no_leaks_on_error(void)
{
	decode_err("{\"fString\":\"s\",\"fBytes\":\"AAAA\",\"fMessage\":{\"label\":\"l\"},"
	    "\"fTime\":\"2024-01-31T12:00:00Z\",\"rString\":[\"a\",\"b\"],\"rMessage\":[{\"label\":\"a\"},"
	    "{\"label\":\"b\",\"n\":\"bad\"}]}", "rMessage[1].n: expected an integer");
	decode_err("{\"cInner\":{\"label\":\"x\",\"n\":true}}", "cInner.n: expected an integer");
	decode_err("{\"rString\":[\"a\",\"b\",1]}", "rString[2]: expected a string");
	decode_err("{\"rBytes\":[\"AAAA\",\"*\"]}", "rBytes[1]: invalid base64");
	decode_err("{\"rTime\":[\"2024-01-31T12:00:00Z\",1]}", "rTime[1]: expected an RFC 3339 timestamp string");
	decode_err("{\"customName\":\"x\",\"renamedField\":\"y\",\"cText\":\"z\",\"rEnum\":[\"X\"]}",
	    "rEnum[0]: unknown enum value \"X\"");
}

static void
test_nested_and_map(void)
{
	Vledger__Test__Outer o = VLEDGER__TEST__OUTER__INIT;
	Vledger__Test__Outer__CountsEntry e = VLEDGER__TEST__OUTER__COUNTS_ENTRY__INIT, *ep = &e;
	ProtobufCMessage *m = NULL;
	struct vl_error err = { 0 };
	const char *in = "{\"nestedField\":{\"deepRenamed\":\"a\",\"child\":{\"deep_value\":\"b\"}},"
	    "\"nested_list\":[{},{\"deepRenamed\":\"c\"}]}";
	char *out;
	size_t len;

	CHECK(codec_decode_json(schema, &vledger__test__outer__descriptor, in, strlen(in), &m, &err));
	CHECK(codec_encode_json(schema, m, &out, &len, &err));
	CHECK_STR(out, "{\"nestedField\":{\"deepRenamed\":\"a\",\"child\":{\"deepRenamed\":\"b\"}},"
	    "\"nestedList\":[{},{\"deepRenamed\":\"c\"}]}");
	free(out);
	protobuf_c_message_free_unpacked(m, NULL);
	decode_err_at(&vledger__test__outer__descriptor, "{\"nestedList\":[{},{\"child\":{\"deepRenamed\":1}}]}",
	    strlen("{\"nestedList\":[{},{\"child\":{\"deepRenamed\":1}}]}"),
	    "nestedList[1].child.deepRenamed: expected a string", __FILE__, __LINE__);
	decode_err_at(&vledger__test__outer__descriptor, "{\"counts\":{\"a\":1}}", strlen("{\"counts\":{\"a\":1}}"),
	    "counts: map fields are not supported", __FILE__, __LINE__);
	/* Empty maps are simply absent; a set one cannot be written. */
	out = encode(&o);
	CHECK_STR(out, "{}");
	free(out);
	e.key = "k";
	o.n_counts = 1;
	o.counts = &ep;
	CHECK(!codec_encode_json(schema, &o.base, &out, &len, &err));
	CHECK_STR(err.message, "counts: map fields are not supported");

	/* Without a schema the names fall back to lowerCamelCase. */
	o.n_counts = 0;
	{
		Vledger__Test__AllKinds a = VLEDGER__TEST__ALL_KINDS__INIT;
		a.custom_name = "x";
		a.f_int32 = 1;
		CHECK(codec_encode_json(NULL, &a.base, &out, &len, &err));
		CHECK_STR(out, "{\"fInt32\":1,\"customName\":\"x\"}");
		free(out);
	}
}

static void
binary_err(const uint8_t *data, size_t len, const char *want, int line)
{
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	struct vl_error err = { 0 };

	if (codec_decode_binary(ALL, data, len, &m, &err)) {
		fprintf(stderr, "%s:%d: binary decode succeeded, want %s\n", __FILE__, line, want);
		exit(1);
	}
	CHECK(m == NULL && err.code == VL_INVALID_ARGUMENT);
	if (strcmp(err.message, want) != 0) {
		fprintf(stderr, "%s:%d: got %s, want %s\n", __FILE__, line, err.message, want);
		exit(1);
	}
}

static void
test_binary(void)
{
	Vledger__Test__AllKinds m = VLEDGER__TEST__ALL_KINDS__INIT;
	Vledger__Test__Inner in0 = VLEDGER__TEST__INNER__INIT, in1 = VLEDGER__TEST__INNER__INIT;
	Vledger__Test__Inner *ins[2] = { &in0, &in1 };
	char *strs[2] = { "ok", "ok" };
	ProtobufCMessage *out = NULL;
	struct vl_error err = { 0 };
	uint8_t *bin;
	size_t len;
	/* field 14 (string), length 2: valid then overlong '/' */
	static const uint8_t good[] = { 0x72, 0x02, 'h', 'i' };
	static const uint8_t overlong[] = { 0x72, 0x02, 0xc0, 0xaf };
	static const uint8_t truncated[] = { 0x72, 0x05, 'h', 'i' };
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t bad_varint[] = { 0x08 };
	static const uint8_t wrong_wire[] = { 0x8a, 0x01, 0x01, 0x00 }; /* field 17: length 1, bad body */

	/* Empty input is the default message. */
	CHECK(codec_decode_binary(ALL, NULL, 0, &out, &err));
	CHECK(((Vledger__Test__AllKinds *)out)->f_int32 == 0);
	protobuf_c_message_free_unpacked(out, NULL);
	CHECK(codec_decode_binary(ALL, good, sizeof(good), &out, &err));
	CHECK_STR(((Vledger__Test__AllKinds *)out)->f_string, "hi");
	protobuf_c_message_free_unpacked(out, NULL);

	binary_err(overlong, sizeof(overlong), "fString: invalid UTF-8", __LINE__);
	{
		/* protobuf-c would cut "hi\0xy" to "hi": refused instead, at
		 * the top and inside a nested message; bytes may hold NULs. */
		static const uint8_t nul[] = { 0x72, 0x05, 'h', 'i', 0, 'x', 'y' };
		static const uint8_t nested_nul[] = { 0xaa, 0x01, 0x04, 0x0a, 0x02, 'a', 0 };
		static const uint8_t bytes_nul[] = { 0x7a, 0x03, 'a', 0, 'b' };

		binary_err(nul, sizeof(nul), "fString: contains a NUL character", __LINE__);
		binary_err(nested_nul, sizeof(nested_nul), "rMessage.label: contains a NUL character", __LINE__);
		CHECK(codec_decode_binary(ALL, bytes_nul, sizeof(bytes_nul), &out, &err));
		CHECK(((Vledger__Test__AllKinds *)out)->f_bytes.len == 3);
		protobuf_c_message_free_unpacked(out, NULL);
	}
	binary_err(truncated, sizeof(truncated), "malformed protobuf message", __LINE__);
	binary_err(garbage, sizeof(garbage), "malformed protobuf message", __LINE__);
	binary_err(bad_varint, sizeof(bad_varint), "malformed protobuf message", __LINE__);
	binary_err(wrong_wire, sizeof(wrong_wire), "malformed protobuf message", __LINE__);

	/* Invalid UTF-8 at depth, built with protobuf-c (which does not check). */
	in1.label = "x\xed\xb0\x80";	/* a lone surrogate */
	m.n_r_message = 2;
	m.r_message = ins;
	codec_encode_binary(&m.base, &bin, &len);
	binary_err(bin, len, "rMessage[1].label: invalid UTF-8", __LINE__);
	free(bin);
	m.n_r_message = 0;

	strs[1] = "\xf4\x90\x80\x80";	/* past U+10FFFF */
	m.n_r_string = 2;
	m.r_string = strs;
	codec_encode_binary(&m.base, &bin, &len);
	binary_err(bin, len, "rString[1]: invalid UTF-8", __LINE__);
	free(bin);
	m.n_r_string = 0;

	m.choice_case = VLEDGER__TEST__ALL_KINDS__CHOICE_C_TEXT;
	m.c_text = "\x80";
	codec_encode_binary(&m.base, &bin, &len);
	binary_err(bin, len, "cText: invalid UTF-8", __LINE__);
	free(bin);

	m.choice_case = VLEDGER__TEST__ALL_KINDS__CHOICE_C_INNER;
	in0.label = "\xe0\x80\x80";
	m.c_inner = &in0;
	codec_encode_binary(&m.base, &bin, &len);
	binary_err(bin, len, "cInner.label: invalid UTF-8", __LINE__);
	free(bin);

	/* A good message with a oneof number (whose union bytes are not a
	 * string pointer) passes the UTF-8 walk. */
	m.choice_case = VLEDGER__TEST__ALL_KINDS__CHOICE_C_NUMBER;
	m.c_number = 0x4142434445;
	m.custom_name = "\xc3\xa9";
	codec_encode_binary(&m.base, &bin, &len);
	CHECK(codec_decode_binary(ALL, bin, len, &out, &err));
	CHECK(((Vledger__Test__AllKinds *)out)->c_number == 0x4142434445);
	CHECK_STR(((Vledger__Test__AllKinds *)out)->custom_name, "\xc3\xa9");
	protobuf_c_message_free_unpacked(out, NULL);
	free(bin);

	/* An empty message encodes to zero bytes. */
	{
		Vledger__Test__Inner e = VLEDGER__TEST__INNER__INIT;
		codec_encode_binary(&e.base, &bin, &len);
		CHECK(len == 0 && bin != NULL);
		free(bin);
	}
}

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
	} cases[] = {
		{ "", 0, true },
		{ "plain ascii", 11, true },
		{ "a\0b", 3, true },
		{ "\xc2\x80", 2, true },
		{ "\xdf\xbf", 2, true },
		{ "\xe0\xa0\x80", 3, true },
		{ "\xed\x9f\xbf", 3, true },	/* U+D7FF */
		{ "\xee\x80\x80", 3, true },	/* U+E000 */
		{ "\xef\xbf\xbf", 3, true },
		{ "\xf0\x90\x80\x80", 4, true },
		{ "\xf0\x9f\x98\x80", 4, true },
		{ "\xf4\x8f\xbf\xbf", 4, true },	/* U+10FFFF */
		{ "\x80", 1, false },
		{ "\xbf", 1, false },
		{ "\xc0\x80", 2, false },	/* overlong NUL */
		{ "\xc1\xbf", 2, false },
		{ "\xe0\x9f\xbf", 3, false },	/* overlong */
		{ "\xf0\x8f\xbf\xbf", 4, false },	/* overlong */
		{ "\xed\xa0\x80", 3, false },	/* U+D800 */
		{ "\xed\xbf\xbf", 3, false },	/* U+DFFF */
		{ "\xf4\x90\x80\x80", 4, false },	/* U+110000 */
		{ "\xf5\x80\x80\x80", 4, false },
		{ "\xff", 1, false },
		{ "\xc2", 1, false },	/* truncated */
		{ "\xe2\x82", 2, false },
		{ "\xf0\x9f\x98", 3, false },
		{ "\xc2\x41", 2, false },
		{ "\xe2\x28\xa1", 3, false },
		{ "ok\xf0\x9f\x98\x80\xe2", 7, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (codec_utf8_valid(cases[i].s, cases[i].len) != cases[i].ok) {
			fprintf(stderr, "%s:%d: utf8 case %zu: want %d\n", __FILE__, __LINE__, i, cases[i].ok);
			exit(1);
		}
	}
}

int
main(void)
{
	struct vl_error err = { 0 };

	if (!schema_load(test_descriptor_set, test_descriptor_set_len, &schema, &err)) {
		fprintf(stderr, "schema_load: %s\n", err.message);
		return 1;
	}
	test_utf8();
	test_golden();
	test_defaults();
	test_integers();
	test_floats();
	test_bool_string();
	test_enums();
	test_bytes();
	test_timestamps();
	test_oneof();
	test_names();
	test_malformed();
	test_no_leaks_on_error();
	test_nested_and_map();
	test_binary();
	schema_free(schema);
	printf("codec_test: ok\n");
	return 0;
}
