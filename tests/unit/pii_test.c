/*
 * pii_test.c - personal data sealing, erasure, commitments, the identity
 * index, validation and the master key file.
 *
 * The fixed vectors (for the master key 00 01 02 ... 1f) were computed
 * outside vledger with Python's hmac and hashlib, from the formats in
 * pii.h: HKDF-SHA-256 with no salt, length-prefixed encodings. The sealed
 * formats are checked by decrypting pii_seal's output here with plain
 * OpenSSL calls under that independently derived wrap key.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vledger/encoding.h"
#include "vledger/pii.h"

#include "check.h"

#define ERR (&e_)

static char dir[] = "/tmp/pii_test.XXXXXX";

/* Master key 00 01 ... 1f and what it must give (see the top comment). */
static const char fixed_key_b64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char fixed_wrap_hex[] = "dce21894a828f163e170000172193767ae661569bc6fde2fc113cb44a49c4259";
static const char fixed_commitment[] = "e21fb77a428929476d56abbe0624f2ce367659813e439d9bf46c7b5c2f7af830";
static const char fixed_index[] = "15cc8b699a5c2b15018a4b924f71982aa59adf9562fc40d8a5db640c46fa4761";

/* 张三 and 欧阳娜娜 in UTF-8. */
#define ZHANG_SAN "\xe5\xbc\xa0\xe4\xb8\x89"
#define OUYANG "\xe6\xac\xa7\xe9\x98\xb3\xe5\xa8\x9c\xe5\xa8\x9c"

static char *
path_in_dir(const char *file)
{
	char *p = malloc(strlen(dir) + strlen(file) + 2);

	CHECK(p != NULL);
	sprintf(p, "%s/%s", dir, file);
	return p;
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	CHECK((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1);
	CHECK(write(fd, data, len) == (ssize_t)len);
	CHECK(close(fd) == 0);
	CHECK(chmod(path, mode) == 0);
}

static char *
read_text(const char *path)
{
	char *buf = calloc(1, 4096);
	FILE *f = fopen(path, "r");

	CHECK(buf != NULL && f != NULL);
	CHECK(fread(buf, 1, 4095, f) > 0);
	fclose(f);
	return buf;
}

static struct pii_keys *
load(const char *path)
{
	struct vl_error err = { 0 };
	struct pii_keys *k = NULL;

	if (!pii_keys_load(path, &k, &err)) {
		fprintf(stderr, "pii_keys_load %s: %s\n", path, err.message);
		exit(1);
	}
	CHECK(k != NULL);
	return k;
}

/* A fresh key file `file` in dir, loaded. */
static struct pii_keys *
new_keys(const char *file)
{
	struct vl_error err = { 0 };
	char *path = path_in_dir(file);
	struct pii_keys *k;

	CHECK(pii_key_generate(path, &err));
	k = load(path);
	free(path);
	return k;
}

static void
hex_decode32(const char *hex, uint8_t out[32])
{
	unsigned v;
	size_t i;

	for (i = 0; i < 32; i++) {
		CHECK(sscanf(hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
}

static bool
record_eq(const struct pii_record *a, const struct pii_record *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->phone != NULL ? a->phone : "", b->phone) == 0 &&
	    strcmp(a->id_number != NULL ? a->id_number : "", b->id_number) == 0;
}

struct sealed {
	uint8_t *wrapped;
	size_t wlen;
	uint8_t *ct;
	size_t ctlen;
};

static void
seal(const struct pii_keys *k, const char *vid, const struct pii_record *rec, struct sealed *s)
{
	struct vl_error err = { 0 };

	if (!pii_seal(k, vid, rec, &s->wrapped, &s->wlen, &s->ct, &s->ctlen, &err)) {
		fprintf(stderr, "pii_seal: %s\n", err.message);
		exit(1);
	}
	CHECK(s->wlen == PII_WRAPPED_DEK_LEN);
	CHECK(s->wrapped[0] == PII_FORMAT_V1 && s->ct[0] == PII_FORMAT_V1);
}

static void
sealed_free(struct sealed *s)
{
	free(s->wrapped);
	free(s->ct);
}

/* Opens s for vid and checks the result equals rec. */
static void
open_eq(const struct pii_keys *k, const char *vid, const struct sealed *s, const struct pii_record *rec)
{
	struct vl_error err = { 0 };
	struct pii_record got = { 0 };

	if (!pii_open(k, vid, s->wrapped, s->wlen, s->ct, s->ctlen, &got, &err)) {
		fprintf(stderr, "pii_open: %s\n", err.message);
		exit(1);
	}
	CHECK(record_eq(rec, &got));
	pii_record_wipe_free(&got);
	CHECK(got.name == NULL && got.phone == NULL && got.id_number == NULL);
}

/* Expects pii_open to fail with VL_DATA_LOSS and to leave out empty. */
static void
open_fails(const struct pii_keys *k, const char *vid, const uint8_t *w, size_t wlen, const uint8_t *ct,
    size_t ctlen, const char *want)
{
	struct pii_record got = { (char *)"x", (char *)"y", (char *)"z" };

	CHECK_ERR(pii_open(k, vid, w, wlen, ct, ctlen, &got, ERR), VL_DATA_LOSS, want);
	CHECK(got.name == NULL && got.phone == NULL && got.id_number == NULL);
}

/* AES-256-GCM open of "0x01 || nonce || ct || tag" with AD 0x01 || ad,
 * written here from the format in pii.h, not from pii.c. */
static bool
gcm_open_ref(const uint8_t key[32], const char *ad, const uint8_t *in, size_t inlen, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t tag[16];
	int n, f;
	bool ok;

	CHECK(ctx != NULL && inlen >= 29 && in[0] == 0x01);
	memcpy(tag, in + inlen - 16, 16);
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, in + 1) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, in, 1) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)ad, (int)strlen(ad)) == 1 &&
	    EVP_DecryptUpdate(ctx, out, &n, in + 13, (int)(inlen - 29)) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out + n, &f) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

static void
test_fixed_vectors(void)
{
	struct pii_record rec = { ZHANG_SAN, "+8613800138000", "11010519491231002X" };
	struct pii_record lower = { ZHANG_SAN, "+8613800138000", "11010519491231002x" };
	static const uint8_t want_pt[] = {
		0, 0, 0, 6, 0xe5, 0xbc, 0xa0, 0xe4, 0xb8, 0x89,
		0, 0, 0, 14, '+', '8', '6', '1', '3', '8', '0', '0', '1', '3', '8', '0', '0', '0',
		0, 0, 0, 18, '1', '1', '0', '1', '0', '5', '1', '9', '4', '9', '1', '2', '3', '1', '0', '0', '2', 'X',
	};
	uint8_t wrap[32], dek[32], pt[sizeof(want_pt)];
	char *path = path_in_dir("fixed.key"), hex[PII_HEX_LEN];
	struct pii_keys *k;
	struct sealed s;

	write_file(path, fixed_key_b64, strlen(fixed_key_b64), 0600);
	k = load(path);
	pii_commitment(k, "vol_0123", &rec, hex);
	CHECK(strcmp(hex, fixed_commitment) == 0);
	/* The commitment is over the bytes given: normalising is the
	 * caller's job (and pii_id_number_normalize's). */
	pii_commitment(k, "vol_0123", &lower, hex);
	CHECK(strcmp(hex, fixed_commitment) != 0);
	CHECK(pii_identity_index(k, "dst_1", "11010519491231002X", hex));
	CHECK(strcmp(hex, fixed_index) == 0);

	/* Unwrap and decrypt by hand under the independently derived key. */
	seal(k, "vol_0123", &rec, &s);
	CHECK(s.ctlen == sizeof(want_pt) + PII_CT_OVERHEAD);
	hex_decode32(fixed_wrap_hex, wrap);
	CHECK(gcm_open_ref(wrap, "vol_0123", s.wrapped, s.wlen, dek));
	CHECK(!gcm_open_ref(wrap, "vol_0124", s.wrapped, s.wlen, dek));
	CHECK(gcm_open_ref(wrap, "vol_0123", s.wrapped, s.wlen, dek));
	CHECK(gcm_open_ref(dek, "vol_0123", s.ct, s.ctlen, pt));
	CHECK(memcmp(pt, want_pt, sizeof(want_pt)) == 0);
	/* Two seals of the same record share nothing: new DEK, new nonces. */
	{
		struct sealed s2;

		seal(k, "vol_0123", &rec, &s2);
		CHECK(memcmp(s.wrapped, s2.wrapped, s.wlen) != 0);
		CHECK(s.ctlen == s2.ctlen && memcmp(s.ct, s2.ct, s.ctlen) != 0);
		sealed_free(&s2);
	}
	sealed_free(&s);

	/* A key file without the final newline, or with "\r\n", is the same key. */
	pii_keys_free(k);
	{
		char buf[64];

		snprintf(buf, sizeof(buf), "%s\r\n", fixed_key_b64);
		write_file(path, buf, strlen(buf), 0400);
		k = load(path);
		pii_commitment(k, "vol_0123", &rec, hex);
		CHECK(strcmp(hex, fixed_commitment) == 0);
		pii_keys_free(k);
	}
	CHECK(chmod(path, 0600) == 0);
	free(path);
}

static void
test_roundtrip(void)
{
	struct pii_record recs[] = {
		{ ZHANG_SAN, "+8613800138000", "11010519491231002X" },
		{ OUYANG, "", "" },
		{ "Ada Lovelace", "02012345678", "" },
		{ OUYANG " (" ZHANG_SAN ")", "", "110101198001010010" },
		{ "x", NULL, NULL },
	};
	struct pii_keys *k = new_keys("roundtrip.key");
	struct sealed s;
	size_t i;

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		seal(k, "vol_a", &recs[i], &s);
		open_eq(k, "vol_a", &s, &recs[i]);
		sealed_free(&s);
	}
	/* The longest name pii_name_valid accepts: 100 four-byte characters. */
	{
		char name[401];
		struct pii_record big = { name, "", "" };

		for (i = 0; i < 100; i++)
			memcpy(name + 4 * i, "\xf0\x9f\x98\x80", 4);
		name[400] = '\0';
		CHECK(pii_name_valid(name, NULL));
		seal(k, "vol_a", &big, &s);
		open_eq(k, "vol_a", &s, &big);
		sealed_free(&s);
	}
	/* Sealing refuses what cannot be a record. */
	{
		struct pii_record noname = { "", "1", "2" }, nullname = { NULL, "1", "2" };
		struct pii_record ok = { "a", "", "" }, big = { "a", NULL, "" };
		uint8_t *w = (uint8_t *)"junk", *c = (uint8_t *)"junk";
		size_t wl = 1, cl = 1;
		char *huge = malloc(PII_FIELD_MAX + 2);

		CHECK(huge != NULL);
		memset(huge, '7', PII_FIELD_MAX + 1);
		huge[PII_FIELD_MAX + 1] = '\0';
		big.phone = huge;
		CHECK_ERR(pii_seal(k, "vol_a", &noname, &w, &wl, &c, &cl, ERR), VL_INVALID_ARGUMENT,
		    "personalData.name: required");
		CHECK(w == NULL && c == NULL && wl == 0 && cl == 0);
		CHECK_ERR(pii_seal(k, "vol_a", &nullname, &w, &wl, &c, &cl, ERR), VL_INVALID_ARGUMENT,
		    "personalData.name: required");
		CHECK_ERR(pii_seal(k, "vol_a", &big, &w, &wl, &c, &cl, ERR), VL_INVALID_ARGUMENT,
		    "personalData.phone: longer than 4096 bytes");
		CHECK_ERR(pii_seal(k, "", &ok, &w, &wl, &c, &cl, ERR), VL_INVALID_ARGUMENT, "volunteerId: required");
		CHECK_ERR(pii_seal(k, NULL, &ok, &w, &wl, &c, &cl, ERR), VL_INVALID_ARGUMENT, "volunteerId: required");
		free(huge);
	}
	pii_keys_free(k);
}

static void
test_tampering(void)
{
	struct pii_record rec = { ZHANG_SAN, "13800138000", "11010519491231002X" };
	struct pii_keys *k = new_keys("tamper.key"), *other = new_keys("other.key");
	struct sealed s, s2;
	size_t i, bit;
	uint8_t *buf;

	seal(k, "vol_a", &rec, &s);

	/* The volunteer id is associated data of both layers. */
	open_fails(k, "vol_b", s.wrapped, s.wlen, s.ct, s.ctlen, "wrapped data key does not authenticate");
	open_fails(k, "vol_a ", s.wrapped, s.wlen, s.ct, s.ctlen, "wrapped data key does not authenticate");
	CHECK_ERR(pii_open(k, "", s.wrapped, s.wlen, s.ct, s.ctlen, &(struct pii_record){ 0 }, ERR),
	    VL_INVALID_ARGUMENT, "volunteerId: required");

	/* A wrapped DEK moved onto another volunteer's row does not open,
	 * and neither does a ciphertext moved there (nor both together). */
	seal(k, "vol_b", &rec, &s2);
	open_fails(k, "vol_b", s.wrapped, s.wlen, s2.ct, s2.ctlen, "wrapped data key does not authenticate");
	open_fails(k, "vol_a", s.wrapped, s.wlen, s2.ct, s2.ctlen, "ciphertext does not authenticate");
	open_fails(k, "vol_b", s2.wrapped, s2.wlen, s.ct, s.ctlen, "ciphertext does not authenticate");
	sealed_free(&s2);

	/* Every bit of both blobs matters. */
	buf = malloc(s.ctlen > s.wlen ? s.ctlen : s.wlen);
	CHECK(buf != NULL);
	for (i = 0; i < s.wlen; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(buf, s.wrapped, s.wlen);
			buf[i] ^= (uint8_t)(1u << bit);
			open_fails(k, "vol_a", buf, s.wlen, s.ct, s.ctlen, i == 0 ? "malformed" : "does not authenticate");
		}
	for (i = 0; i < s.ctlen; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(buf, s.ct, s.ctlen);
			buf[i] ^= (uint8_t)(1u << bit);
			open_fails(k, "vol_a", s.wrapped, s.wlen, buf, s.ctlen,
			    i == 0 ? "ciphertext is malformed" : "ciphertext does not authenticate");
		}
	free(buf);
	/* Truncated, extended, empty. */
	open_fails(k, "vol_a", s.wrapped, s.wlen - 1, s.ct, s.ctlen, "wrapped data key is malformed");
	open_fails(k, "vol_a", s.wrapped, 0, s.ct, s.ctlen, "wrapped data key is malformed");
	open_fails(k, "vol_a", NULL, 0, s.ct, s.ctlen, "wrapped data key is malformed");
	open_fails(k, "vol_a", s.wrapped, s.wlen, s.ct, s.ctlen - 1, "ciphertext does not authenticate");
	open_fails(k, "vol_a", s.wrapped, s.wlen, s.ct, PII_CT_OVERHEAD, "ciphertext is malformed");
	open_fails(k, "vol_a", s.wrapped, s.wlen, NULL, 0, "ciphertext is malformed");
	buf = malloc(s.ctlen + 1);
	CHECK(buf != NULL);
	memcpy(buf, s.ct, s.ctlen);
	buf[s.ctlen] = 0;
	open_fails(k, "vol_a", s.wrapped, s.wlen, buf, s.ctlen + 1, "ciphertext does not authenticate");
	free(buf);

	/* Another master key opens nothing. */
	open_fails(other, "vol_a", s.wrapped, s.wlen, s.ct, s.ctlen, "wrapped data key does not authenticate");

	/* Erasure: the wrapped DEK is the only way to the DEK, so once its row
	 * is deleted nothing decrypts the ciphertext, with the master key
	 * or without. Stated here; the nearest thing to checking it is that
	 * no other wrapped DEK (even one for the same volunteer and the same
	 * data) opens it. */
	seal(k, "vol_a", &rec, &s2);
	open_fails(k, "vol_a", s2.wrapped, s2.wlen, s.ct, s.ctlen, "ciphertext does not authenticate");
	open_eq(k, "vol_a", &s, &rec);
	sealed_free(&s2);

	sealed_free(&s);
	pii_keys_free(k);
	pii_keys_free(other);
}

static void
test_commitment(void)
{
	struct pii_record rec = { ZHANG_SAN, "13800138000", "11010519491231002X" };
	struct pii_record variants[] = {
		{ OUYANG, "13800138000", "11010519491231002X" },
		{ ZHANG_SAN, "13800138001", "11010519491231002X" },
		{ ZHANG_SAN, "13800138000", "110101198001010010" },
		{ ZHANG_SAN, "", "11010519491231002X" },
		{ ZHANG_SAN, "13800138000", "" },
		/* Moving bytes between fields changes it (the lengths count). */
		{ ZHANG_SAN "1", "3800138000", "11010519491231002X" },
	};
	struct pii_record nulls = { ZHANG_SAN, NULL, NULL }, empties = { ZHANG_SAN, "", "" };
	struct pii_keys *k = new_keys("commit.key"), *other = new_keys("commit2.key");
	char a[PII_HEX_LEN], b[PII_HEX_LEN];
	size_t i;

	pii_commitment(k, "vol_a", &rec, a);
	CHECK(strlen(a) == 64 && strspn(a, "0123456789abcdef") == 64);
	pii_commitment(k, "vol_a", &rec, b);
	CHECK(strcmp(a, b) == 0);
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		pii_commitment(k, "vol_a", &variants[i], b);
		CHECK(strcmp(a, b) != 0);
	}
	pii_commitment(k, "vol_b", &rec, b);
	CHECK(strcmp(a, b) != 0);
	pii_commitment(other, "vol_a", &rec, b);
	CHECK(strcmp(a, b) != 0);
	/* NULL is "". */
	pii_commitment(k, "vol_a", &nulls, a);
	pii_commitment(k, "vol_a", &empties, b);
	CHECK(strcmp(a, b) == 0);
	pii_keys_free(k);
	pii_keys_free(other);
}

static void
test_identity_index(void)
{
	struct pii_keys *k = new_keys("index.key"), *other = new_keys("index2.key");
	char a[PII_HEX_LEN], b[PII_HEX_LEN];
	char *n;

	CHECK(pii_identity_index(k, "dst_1", "11010519491231002x", a));
	CHECK(pii_identity_index(k, "dst_1", " 11010519491231002X ", b));
	CHECK(strcmp(a, b) == 0);
	CHECK(pii_identity_index(k, "dst_1", "110105 19491231 002X\t", b));
	CHECK(strcmp(a, b) == 0);
	CHECK(pii_identity_index(k, "dst_2", "11010519491231002X", b));
	CHECK(strcmp(a, b) != 0);
	CHECK(pii_identity_index(k, "dst_1", "110101198001010010", b));
	CHECK(strcmp(a, b) != 0);
	CHECK(pii_identity_index(other, "dst_1", "11010519491231002X", b));
	CHECK(strcmp(a, b) != 0);
	/* The district's length is encoded: "dst_1" + "1..." is not "dst_11" + "...". */
	CHECK(pii_identity_index(k, "dst_1", "1234", a));
	CHECK(pii_identity_index(k, "dst_11", "234", b));
	CHECK(strcmp(a, b) != 0);
	/* Nothing to index. */
	strcpy(a, "unchanged");
	CHECK(!pii_identity_index(k, "dst_1", "", a));
	CHECK(a[0] == '\0');
	CHECK(!pii_identity_index(k, "dst_1", " \t ", a));
	CHECK(!pii_identity_index(k, "dst_1", NULL, a));

	n = pii_id_number_normalize("  1101 0519491231002x\n");
	CHECK(strcmp(n, "11010519491231002X") == 0);
	free(n);
	/* Only the final x is upper-cased. */
	n = pii_id_number_normalize("x1x");
	CHECK(strcmp(n, "x1x") != 0 && strcmp(n, "x1X") == 0);
	free(n);
	pii_keys_free(k);
	pii_keys_free(other);
}

static void
test_validation(void)
{
	static const char *const valid_ids[] = {
		"11010519491231002X",	/* the GB 11643-1999 example */
		"11010519491231002x",
		" 110105 19491231002X ",
		"44030419900307123X",
		"110101198001010010",
		"510107199508234563",
	};
	size_t i;
	char mask[PII_MASK_LEN];
	char longname[102];

	for (i = 0; i < sizeof(valid_ids) / sizeof(valid_ids[0]); i++)
		if (!pii_id_number_valid(valid_ids[i], NULL)) {
			fprintf(stderr, "valid id %zu rejected\n", i);
			exit(1);
		}
	CHECK_ERR(pii_id_number_valid("110105194912310021", ERR), VL_INVALID_ARGUMENT,
	    "personalData.idNumber: check digit does not match");
	CHECK_ERR(pii_id_number_valid("110101198001010011", ERR), VL_INVALID_ARGUMENT,
	    "personalData.idNumber: check digit does not match");
	CHECK_ERR(pii_id_number_valid("51010719950823456X", ERR), VL_INVALID_ARGUMENT,
	    "personalData.idNumber: check digit does not match");
	/* Two digits swapped: the weights catch it. */
	CHECK_ERR(pii_id_number_valid("11010591491231002X", ERR), VL_INVALID_ARGUMENT, "check digit");
	CHECK_ERR(pii_id_number_valid("11010519491231002", ERR), VL_INVALID_ARGUMENT,
	    "personalData.idNumber: must be 18 characters: 17 digits and a digit or X");
	CHECK_ERR(pii_id_number_valid("11010519491231002X0", ERR), VL_INVALID_ARGUMENT, "must be 18 characters");
	CHECK_ERR(pii_id_number_valid("1101051949123100AX", ERR), VL_INVALID_ARGUMENT, "must be 18 characters");
	CHECK_ERR(pii_id_number_valid("X10105194912310021", ERR), VL_INVALID_ARGUMENT, "must be 18 characters");
	CHECK_ERR(pii_id_number_valid("11010519491231002Y", ERR), VL_INVALID_ARGUMENT, "must be 18 characters");
	CHECK_ERR(pii_id_number_valid("", ERR), VL_INVALID_ARGUMENT, "must be 18 characters");
	CHECK_ERR(pii_id_number_valid(NULL, ERR), VL_INVALID_ARGUMENT, "must be 18 characters");
	CHECK_ERR(pii_id_number_valid("1101051949123100２X", ERR), VL_INVALID_ARGUMENT, "must be 18 characters");

	CHECK(pii_phone_valid("13800138000", NULL));
	CHECK(pii_phone_valid("+8613800138000", NULL));
	CHECK(pii_phone_valid("12345", NULL));
	CHECK(pii_phone_valid("+1234", NULL));
	CHECK(pii_phone_valid("12345678901234567890", NULL));
	CHECK_ERR(pii_phone_valid("1234", ERR), VL_INVALID_ARGUMENT,
	    "personalData.phone: must be 5 to 20 characters: digits with an optional leading +");
	CHECK_ERR(pii_phone_valid("123456789012345678901", ERR), VL_INVALID_ARGUMENT, "personalData.phone");
	CHECK_ERR(pii_phone_valid("138 0013 8000", ERR), VL_INVALID_ARGUMENT, "personalData.phone");
	CHECK_ERR(pii_phone_valid("138-0013-8000", ERR), VL_INVALID_ARGUMENT, "personalData.phone");
	CHECK_ERR(pii_phone_valid("86+13800138000", ERR), VL_INVALID_ARGUMENT, "personalData.phone");
	CHECK_ERR(pii_phone_valid("++8613800138000", ERR), VL_INVALID_ARGUMENT, "personalData.phone");
	CHECK_ERR(pii_phone_valid("", ERR), VL_INVALID_ARGUMENT, "personalData.phone");

	CHECK(pii_name_valid(ZHANG_SAN, NULL));
	CHECK(pii_name_valid("Zoë O'Brien-Smith", NULL));
	CHECK(pii_name_valid("x", NULL));
	memset(longname, 'a', 100);
	longname[100] = '\0';
	CHECK(pii_name_valid(longname, NULL));
	longname[100] = 'a';
	longname[101] = '\0';
	CHECK_ERR(pii_name_valid(longname, ERR), VL_INVALID_ARGUMENT, "personalData.name: longer than 100 characters");
	CHECK_ERR(pii_name_valid("", ERR), VL_INVALID_ARGUMENT, "personalData.name: required");
	CHECK_ERR(pii_name_valid(NULL, ERR), VL_INVALID_ARGUMENT, "personalData.name: required");
	CHECK_ERR(pii_name_valid("a\nb", ERR), VL_INVALID_ARGUMENT,
	    "personalData.name: must be UTF-8 without control characters");
	CHECK_ERR(pii_name_valid("a\tb", ERR), VL_INVALID_ARGUMENT, "control characters");
	CHECK_ERR(pii_name_valid("a\x7f", ERR), VL_INVALID_ARGUMENT, "control characters");
	CHECK_ERR(pii_name_valid("a\xc2\x85", ERR), VL_INVALID_ARGUMENT, "control characters");	/* U+0085 */
	CHECK_ERR(pii_name_valid("\xe5\xbc", ERR), VL_INVALID_ARGUMENT, "UTF-8");		/* truncated */
	CHECK_ERR(pii_name_valid("\xc0\xaf", ERR), VL_INVALID_ARGUMENT, "UTF-8");		/* overlong */
	CHECK_ERR(pii_name_valid("\xed\xa0\x80", ERR), VL_INVALID_ARGUMENT, "UTF-8");	/* surrogate */
	CHECK_ERR(pii_name_valid("\xf4\x90\x80\x80", ERR), VL_INVALID_ARGUMENT, "UTF-8");	/* > U+10FFFF */
	CHECK_ERR(pii_name_valid("\xff", ERR), VL_INVALID_ARGUMENT, "UTF-8");

	{
		struct pii_record ok1 = { ZHANG_SAN, "", "" }, ok2 = { ZHANG_SAN, NULL, " 11010519491231002x" };
		struct pii_record bad1 = { ZHANG_SAN, "12", "" }, bad2 = { ZHANG_SAN, "", "123" };
		struct pii_record bad3 = { "", "13800138000", "" };

		CHECK(pii_record_valid(&ok1, NULL));
		CHECK(pii_record_valid(&ok2, NULL));
		CHECK_ERR(pii_record_valid(&bad1, ERR), VL_INVALID_ARGUMENT, "personalData.phone");
		CHECK_ERR(pii_record_valid(&bad2, ERR), VL_INVALID_ARGUMENT, "personalData.idNumber");
		CHECK_ERR(pii_record_valid(&bad3, ERR), VL_INVALID_ARGUMENT, "personalData.name");
	}

	pii_mask_id_number("11010519491231002X", mask);
	CHECK(strcmp(mask, "**************002X") == 0);
	pii_mask_id_number(" 11010519491231002x", mask);
	CHECK(strcmp(mask, "**************002X") == 0);
	pii_mask_id_number("12345", mask);
	CHECK(strcmp(mask, "*2345") == 0);
	pii_mask_id_number("1234", mask);
	CHECK(strcmp(mask, "****") == 0);
	pii_mask_id_number("", mask);
	CHECK(strcmp(mask, "") == 0);
	pii_mask_id_number(NULL, mask);
	CHECK(strcmp(mask, "") == 0);
	pii_mask_id_number("1234567890123456789012345678901234567890", mask);
	CHECK(strlen(mask) == PII_MASK_LEN - 1 && strcmp(mask + PII_MASK_LEN - 5, "7890") == 0 &&
	    strspn(mask, "*") == PII_MASK_LEN - 5);
	pii_mask_id_number("abc\xe5\xbc\xa0z", mask);
	/* Masking is by byte: the 3 bytes of 张 are 3 stars. */
	CHECK(strcmp(mask, "******z") == 0);
}

static void
test_key_file(void)
{
	struct pii_record rec = { ZHANG_SAN, "13800138000", "11010519491231002X" };
	char *path = path_in_dir("pii.key"), *path2 = path_in_dir("pii2.key"), *text, *text2;
	char a[PII_HEX_LEN], b[PII_HEX_LEN];
	struct pii_keys *k = NULL, *k2 = NULL;
	uint8_t raw[40];
	size_t rawlen;
	struct stat st;
	bool created = false;
	char *p;

	/* First start: created 0600, one line of base64 of 32 bytes. */
	umask(022);
	CHECK(pii_keys_load_or_create(path, &created, &k, NULL));
	CHECK(created && k != NULL);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	text = read_text(path);
	CHECK(strlen(text) == 45 && text[44] == '\n');
	CHECK(base64_decode_strict(text, 44, raw, sizeof(raw), &rawlen) && rawlen == 32);
	pii_commitment(k, "vol_a", &rec, a);

	/* Second start: the same key, nothing rewritten. */
	CHECK(pii_keys_load_or_create(path, &created, &k2, NULL));
	CHECK(!created);
	pii_commitment(k2, "vol_a", &rec, b);
	CHECK(strcmp(a, b) == 0);
	pii_keys_free(k2);
	k2 = load(path);
	pii_commitment(k2, "vol_a", &rec, b);
	CHECK(strcmp(a, b) == 0);
	pii_keys_free(k2);

	/* O_EXCL: generating over an existing file fails and leaves it alone. */
	CHECK_ERR(pii_key_generate(path, ERR), VL_ALREADY_EXISTS, "key file already exists");
	text2 = read_text(path);
	CHECK(strcmp(text, text2) == 0);
	free(text2);
	/* ... and a dangling symlink is not followed. */
	p = path_in_dir("link.key");
	CHECK(symlink(path2, p) == 0);
	CHECK_ERR(pii_key_generate(p, ERR), VL_ALREADY_EXISTS, "key file already exists");
	CHECK(access(path2, F_OK) == -1 && errno == ENOENT);
	created = true;
	CHECK_ERR(pii_keys_load_or_create(p, &created, &k2, ERR), VL_NOT_FOUND, "no such key file");
	CHECK(!created && k2 == NULL);
	CHECK(unlink(p) == 0);
	free(p);

	/* A different key file is a different key. */
	CHECK(pii_key_generate(path2, NULL));
	text2 = read_text(path2);
	CHECK(strcmp(text, text2) != 0);
	free(text2);
	k2 = load(path2);
	pii_commitment(k2, "vol_a", &rec, b);
	CHECK(strcmp(a, b) != 0);
	pii_keys_free(k2);

	/* Group or other bits are refused; 0400 is fine. */
	CHECK(chmod(path, 0644) == 0);
	CHECK_ERR(pii_keys_load(path, &k2, ERR), VL_FAILED_PRECONDITION, "key file must be mode 0600 (is 0644)");
	CHECK(k2 == NULL);
	CHECK_ERR(pii_keys_load_or_create(path, &created, &k2, ERR), VL_FAILED_PRECONDITION, "mode 0600");
	CHECK(chmod(path, 0640) == 0);
	CHECK_ERR(pii_keys_load(path, &k2, ERR), VL_FAILED_PRECONDITION, "(is 0640)");
	CHECK(chmod(path, 0604) == 0);
	CHECK_ERR(pii_keys_load(path, &k2, ERR), VL_FAILED_PRECONDITION, "(is 0604)");
	CHECK(chmod(path, 0400) == 0);
	k2 = load(path);
	pii_commitment(k2, "vol_a", &rec, b);
	CHECK(strcmp(a, b) == 0);
	pii_keys_free(k2);
	CHECK(chmod(path, 0600) == 0);

	/* Not a key file: wrong lengths, raw bytes, junk, two lines, a directory. */
	{
		static const char *const bad[] = {
			"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",	/* 31 bytes */
			"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n",	/* 33 bytes */
			"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==\n",	/* 34 bytes */
			"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",
			" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
			"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",	/* unpadded */
			"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n",	/* non-canonical */
			"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
			"",
			"\n",
		};
		char *bp = path_in_dir("bad.key");
		uint8_t raw32[32];
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			write_file(bp, bad[i], strlen(bad[i]), 0600);
			CHECK_ERR(pii_keys_load(bp, &k2, ERR), VL_FAILED_PRECONDITION,
			    "not a PII master key (want base64 of 32 bytes on one line)");
		}
		for (i = 0; i < 32; i++)
			raw32[i] = (uint8_t)(0xa0 + i);
		write_file(bp, raw32, sizeof(raw32), 0600);
		CHECK_ERR(pii_keys_load(bp, &k2, ERR), VL_FAILED_PRECONDITION, "not a PII master key");
		{
			char big[1024];

			memset(big, 'A', sizeof(big));
			write_file(bp, big, sizeof(big), 0600);
			CHECK_ERR(pii_keys_load(bp, &k2, ERR), VL_FAILED_PRECONDITION, "not a PII master key");
		}
		CHECK(unlink(bp) == 0);
		CHECK(mkdir(bp, 0700) == 0);
		CHECK_ERR(pii_keys_load(bp, &k2, ERR), VL_FAILED_PRECONDITION, "key file is not a regular file");
		CHECK(rmdir(bp) == 0);
		CHECK_ERR(pii_keys_load(bp, &k2, ERR), VL_NOT_FOUND, "no such key file");
		free(bp);
	}
	/* A directory that does not exist is an error, not a crash. */
	{
		char *np = path_in_dir("nodir/pii.key");

		CHECK_ERR(pii_keys_load_or_create(np, &created, &k2, ERR), VL_INTERNAL, "nodir/pii.key");
		CHECK(!created && k2 == NULL);
		free(np);
	}

	pii_keys_free(k);
	pii_keys_free(NULL);
	pii_record_wipe_free(NULL);
	free(text);
	free(path);
	free(path2);
}

int
main(void)
{
	char cmd[128];

	CHECK(mkdtemp(dir) != NULL);
	test_fixed_vectors();
	test_roundtrip();
	test_tampering();
	test_commitment();
	test_identity_index();
	test_validation();
	test_key_file();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	printf("pii_test: ok\n");
	return 0;
}
