/*
 * vc_test.c - base58btc, did:key and eddsa-jcs-2022 Data Integrity proofs.
 *
 * The fixed vector is the eddsa-jcs-2022 example of the W3C "Data
 * Integrity EdDSA Cryptosuites v1.0" (its TestVectors/eddsa-jcs-2022 files
 * and keyPair.json): the secret key is given there as multibase, which
 * this test decodes and wraps in a PKCS#8 file, so that OpenSSL's own
 * derivation of the public key is checked against the published
 * publicKeyMultibase. The intermediate canonical texts and hashes are
 * recomputed here with jcs_serialize and SHA-256, independently of vc.c.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "vledger/encoding.h"
#include "vledger/jcs.h"
#include "vledger/vc.h"

#include "check.h"

#define ERR (&e_)

static char dir[] = "/tmp/vc_test.XXXXXX";

/* The W3C example key pair (TestVectors/keyPair.json). */
static const char w3c_public_mb[] = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
static const char w3c_secret_mb[] = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";
static const char w3c_vm[] = "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
static const char w3c_created[] = "2023-02-24T23:36:38Z";
static const char w3c_unsigned[] = "{"
    "\"@context\": [\"https://www.w3.org/ns/credentials/v2\", \"https://www.w3.org/ns/credentials/examples/v2\"],"
    "\"id\": \"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33\","
    "\"type\": [\"VerifiableCredential\", \"AlumniCredential\"],"
    "\"name\": \"Alumni Credential\","
    "\"description\": \"A minimum viable example of an Alumni Credential.\","
    "\"issuer\": \"https://vc.example/issuers/5678\","
    "\"validFrom\": \"2023-01-01T00:00:00Z\","
    "\"credentialSubject\": {\"id\": \"did:example:abcdefgh\", \"alumniOf\": \"The School of Examples\"}}";
/* canonDocJCS.txt */
static const char w3c_canon_doc[] = "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\","
    "\"https://www.w3.org/ns/credentials/examples/v2\"],\"credentialSubject\":{\"alumniOf\":\"The School of Examples\","
    "\"id\":\"did:example:abcdefgh\"},\"description\":\"A minimum viable example of an Alumni Credential.\","
    "\"id\":\"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33\",\"issuer\":\"https://vc.example/issuers/5678\","
    "\"name\":\"Alumni Credential\",\"type\":[\"VerifiableCredential\",\"AlumniCredential\"],"
    "\"validFrom\":\"2023-01-01T00:00:00Z\"}";
/* The canonical proof configuration of proofConfigJCS.json. */
static const char w3c_canon_proof[] = "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\","
    "\"https://www.w3.org/ns/credentials/examples/v2\"],\"created\":\"2023-02-24T23:36:38Z\","
    "\"cryptosuite\":\"eddsa-jcs-2022\",\"proofPurpose\":\"assertionMethod\",\"type\":\"DataIntegrityProof\","
    "\"verificationMethod\":\"https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\"}";
/* docHashJCS.txt, sigHexJCS.txt, sigBTC58JCS.txt. The repository's
 * proofHashJCS.txt and combinedHashJCS.txt were left at earlier revisions
 * of the example, so the proof hash of the current one is SHA-256 of the
 * published canonical text above, and the published signature over it is
 * what checks it. */
static const char w3c_doc_hash[] = "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19";
static const char w3c_proof_hash[] = "ac75a9fbdb9b5606c064a88bb59ab355900074f6def99d16a82dd071a7a67066";
/* One revision of the example named the key by did:key: its canonical
 * proof configuration (proofCanonJCS.txt) and hashData
 * (combinedHashJCS.txt, proof hash || document hash). */
static const char w3c_didkey_canon_proof[] = "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\","
    "\"https://www.w3.org/ns/credentials/examples/v2\"],\"created\":\"2023-02-24T23:36:38Z\","
    "\"cryptosuite\":\"eddsa-jcs-2022\",\"proofPurpose\":\"assertionMethod\",\"type\":\"DataIntegrityProof\","
    "\"verificationMethod\":\"did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    "#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\"}";
static const char w3c_didkey_combined_hash[] = "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db"
    "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19";
static const char w3c_sig_hex[] = "fc91dec6565f35fbe185a77352e7fc512f95d1904da305cfef32ab8135469301"
    "f5a72d4e7a58368fc6ffc497b44633993bac054e3bc1436e3c846db8f1544503";
static const char w3c_proof_value[] =
    "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4";

static char *
path_in_dir(const char *file)
{
	char *p = malloc(strlen(dir) + strlen(file) + 2);

	CHECK(p != NULL);
	sprintf(p, "%s/%s", dir, file);
	return p;
}

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_ALLOW_NUL, &jerr);

	if (v == NULL)
		fprintf(stderr, "json: %s\n", jerr.text);
	CHECK(v != NULL);
	return v;
}

static void
sha256_hex(const char *s, size_t len, char out[65])
{
	uint8_t md[32];
	unsigned int mdlen = 0;

	CHECK(EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32);
	hex_encode(md, 32, out);
}

static void
check_b58(const uint8_t *in, size_t len, const char *want)
{
	uint8_t back[128];
	size_t n = 0;
	char *got = vc_base58_encode(in, len);

	if (strcmp(got, want) != 0) {
		fprintf(stderr, "base58(%zu bytes) = \"%s\"; want \"%s\"\n", len, got, want);
		exit(1);
	}
	CHECK(vc_base58_decode(want, strlen(want), back, sizeof(back), &n));
	CHECK(n == len && (len == 0 || memcmp(back, in, len) == 0));
	free(got);
}

static void
test_base58(void)
{
	static const uint8_t z1[] = { 0 }, z3[] = { 0, 0, 0 }, lead[] = { 0, 0, 0x28, 0x7f, 0xb4, 0xcd };
	static const uint8_t ff[] = { 0xff }, one[] = { 0x3a }, hex[] = { 0x00, 0x01, 0x02, 0x03, 0x04 };
	const char *fox = "The quick brown fox jumps over the lazy dog.";
	uint8_t buf[300], back[300];
	size_t n, len, i;
	char *s;

	check_b58(NULL, 0, "");
	check_b58(z1, sizeof(z1), "1");
	check_b58(z3, sizeof(z3), "111");
	check_b58((const uint8_t *)"Hello World!", 12, "2NEpo7TZRRrLZSi2U");
	check_b58((const uint8_t *)fox, strlen(fox), "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z");
	check_b58(lead, sizeof(lead), "11233QC4");
	check_b58(ff, sizeof(ff), "5Q");
	check_b58(one, sizeof(one), "21");	/* 58 = "10" in base 58 */
	check_b58(hex, sizeof(hex), "12VfUX");	/* checked with Python int arithmetic */

	/* Round trips over lengths and leading zeros. */
	for (len = 0; len < 200; len += 7) {
		random_bytes(buf, len);
		for (i = 0; i < len && i < len % 4; i++)
			buf[i] = 0;
		s = vc_base58_encode(buf, len);
		CHECK(vc_base58_decode(s, strlen(s), back, sizeof(back), &n));
		CHECK(n == len && memcmp(buf, back, len) == 0);
		/* No room: refused, whatever the shape. */
		if (len > 0)
			CHECK(!vc_base58_decode(s, strlen(s), back, len - 1, &n));
		free(s);
	}
	/* Characters outside the alphabet: 0 O I l and anything else. */
	CHECK(!vc_base58_decode("2NEpo0", 6, back, sizeof(back), &n));
	CHECK(!vc_base58_decode("2NEpoO", 6, back, sizeof(back), &n));
	CHECK(!vc_base58_decode("2NEpoI", 6, back, sizeof(back), &n));
	CHECK(!vc_base58_decode("2NEpol", 6, back, sizeof(back), &n));
	CHECK(!vc_base58_decode("2NE+o", 5, back, sizeof(back), &n));
	CHECK(!vc_base58_decode("2N\0o", 4, back, sizeof(back), &n));
	CHECK(!vc_base58_decode("111", 3, back, 2, &n));
	CHECK(vc_base58_decode("", 0, back, 0, &n) && n == 0);
}

static void
test_did_key(void)
{
	static const char spec_did[] = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
	static const char spec_vm[] = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	    "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
	uint8_t pub[32], pub2[32], raw[40];
	size_t n;
	char *did;

	/* The did:key spec's first Ed25519 example parses and re-encodes to
	 * itself; its key bytes are the base58 payload after 0xed 0x01. */
	CHECK(vc_did_key_parse(spec_did, pub, NULL));
	did = vc_did_key(pub);
	CHECK(strcmp(did, spec_did) == 0);
	free(did);
	CHECK(vc_base58_decode(spec_did + 9, strlen(spec_did + 9), raw, sizeof(raw), &n));
	CHECK(n == 34 && raw[0] == 0xed && raw[1] == 0x01 && memcmp(raw + 2, pub, 32) == 0);
	CHECK(vc_did_key_parse(spec_vm, pub2, NULL));
	CHECK(memcmp(pub, pub2, 32) == 0);

	/* Every Ed25519 did:key starts z6Mk. */
	memset(pub2, 0, sizeof(pub2));
	did = vc_did_key(pub2);
	CHECK(strncmp(did, "did:key:z6Mk", 12) == 0);
	free(did);

	CHECK_ERR(vc_did_key_parse("did:web:example.com", pub, ERR), VL_INVALID_ARGUMENT, "must start with");
	CHECK_ERR(vc_did_key_parse(NULL, pub, ERR), VL_INVALID_ARGUMENT, "must start with");
	CHECK_ERR(vc_did_key_parse("did:key:", pub, ERR), VL_INVALID_ARGUMENT, "base58btc");
	CHECK_ERR(vc_did_key_parse("did:key:u6MkhaX", pub, ERR), VL_INVALID_ARGUMENT, "base58btc");
	CHECK_ERR(vc_did_key_parse("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#key-1", pub, ERR),
	    VL_INVALID_ARGUMENT, "fragment must repeat");
	CHECK_ERR(vc_did_key_parse("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#", pub, ERR),
	    VL_INVALID_ARGUMENT, "fragment must repeat");
	CHECK_ERR(vc_did_key_parse("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do0", pub, ERR),
	    VL_INVALID_ARGUMENT, "invalid base58btc");
	CHECK_ERR(vc_did_key_parse("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do", pub, ERR),
	    VL_INVALID_ARGUMENT, "not an Ed25519");
	/* A P-256 did:key (multicodec 0x1200) is not an Ed25519 key. */
	CHECK_ERR(vc_did_key_parse("did:key:zDnaeTHfhmSaQKBc7CmdL3K7oYg3D6SC7yowe2eBeVd2DH32r", pub, ERR),
	    VL_INVALID_ARGUMENT, "not an Ed25519");
}

/* Writes the 32-byte Ed25519 seed as a PKCS#8 PEM key file, mode 0600. */
static void
write_seed_key(const char *path, const uint8_t seed[32])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	FILE *f;

	CHECK(pkey != NULL);
	CHECK((f = fopen(path, "w")) != NULL);
	CHECK(chmod(path, 0600) == 0);
	CHECK(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1);
	CHECK(fclose(f) == 0);
	EVP_PKEY_free(pkey);
}

static struct vc_signer *
w3c_signer(void)
{
	uint8_t raw[40];
	struct vc_signer *s;
	size_t n;
	char *path = path_in_dir("w3c.pem");

	/* Multibase secret: 0x80 0x26 (varint of multicodec ed25519-priv
	 * 0x1300) || the 32-byte seed. */
	CHECK(vc_base58_decode(w3c_secret_mb + 1, strlen(w3c_secret_mb) - 1, raw, sizeof(raw), &n));
	CHECK(n == 34 && raw[0] == 0x80 && raw[1] == 0x26);
	write_seed_key(path, raw + 2);
	CHECK(vc_signer_load(path, &s, NULL));
	unlink(path);
	free(path);
	return s;
}

static void
test_w3c_vector(void)
{
	struct vc_signer *s = w3c_signer();
	uint8_t pub[32], sig[64], got_pub[32];
	char hex[129], h1[65], h2[65], *text, *want_did, *signed_text;
	const char *pv;
	json_t *doc, *config, *signed_doc;
	size_t len, n;

	/* OpenSSL's public key from the published seed is the published one. */
	want_did = NULL;
	CHECK(asprintf(&want_did, "did:key:%s", w3c_public_mb) > 0);
	CHECK(strcmp(vc_signer_did(s), want_did) == 0);
	CHECK(strncmp(vc_signer_verification_method(s), want_did, strlen(want_did)) == 0);
	CHECK(strcmp(vc_signer_verification_method(s) + strlen(want_did), "#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2") == 0);
	CHECK(vc_did_key_parse(want_did, pub, NULL));
	vc_signer_public_key(s, got_pub);
	CHECK(memcmp(pub, got_pub, 32) == 0);
	free(want_did);

	/* The intermediate values, recomputed independently of vc.c. */
	doc = parse(w3c_unsigned);
	CHECK(jcs_serialize(doc, &text, &len, NULL));
	CHECK(strcmp(text, w3c_canon_doc) == 0);
	sha256_hex(text, len, h2);
	CHECK(strcmp(h2, w3c_doc_hash) == 0);
	free(text);
	config = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "type", "DataIntegrityProof", "cryptosuite",
	    "eddsa-jcs-2022", "created", w3c_created, "verificationMethod", w3c_vm, "proofPurpose", "assertionMethod",
	    "@context", json_object_get(doc, "@context"));
	CHECK(config != NULL);
	CHECK(jcs_serialize(config, &text, &len, NULL));
	CHECK(strcmp(text, w3c_canon_proof) == 0);
	sha256_hex(text, len, h1);
	CHECK(strcmp(h1, w3c_proof_hash) == 0);
	free(text);
	/* The did:key revision. */
	json_object_set_new(config, "verificationMethod", json_string(vc_signer_verification_method(s)));
	CHECK(jcs_serialize(config, &text, &len, NULL));
	CHECK(strcmp(text, w3c_didkey_canon_proof) == 0);
	sha256_hex(text, len, h1);
	CHECK(strncmp(h1, w3c_didkey_combined_hash, 64) == 0 && strcmp(w3c_didkey_combined_hash + 64, h2) == 0);
	free(text);
	json_decref(config);

	/* vc.c reproduces the published proof. */
	CHECK(vc_sign_with_method(s, doc, w3c_created, w3c_vm, NULL));
	pv = json_string_value(json_object_get(json_object_get(doc, "proof"), "proofValue"));
	CHECK(pv != NULL);
	if (strcmp(pv, w3c_proof_value) != 0) {
		fprintf(stderr, "proofValue %s\n    want %s\n", pv, w3c_proof_value);
		exit(1);
	}
	CHECK(vc_base58_decode(pv + 1, strlen(pv) - 1, sig, sizeof(sig), &n) && n == 64);
	hex_encode(sig, 64, hex);
	CHECK(strcmp(hex, w3c_sig_hex) == 0);
	CHECK(vc_verify_with_key(doc, pub, NULL));

	/* The published signed document (signedJCS.json, key order as
	 * published) verifies under the key; vc_verify cannot resolve its
	 * https verification method. */
	CHECK(asprintf(&signed_text, "{\"@context\": [\"https://www.w3.org/ns/credentials/v2\","
	    " \"https://www.w3.org/ns/credentials/examples/v2\"], \"id\": \"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33\","
	    " \"type\": [\"VerifiableCredential\", \"AlumniCredential\"], \"name\": \"Alumni Credential\","
	    " \"description\": \"A minimum viable example of an Alumni Credential.\","
	    " \"issuer\": \"https://vc.example/issuers/5678\", \"validFrom\": \"2023-01-01T00:00:00Z\","
	    " \"credentialSubject\": {\"id\": \"did:example:abcdefgh\", \"alumniOf\": \"The School of Examples\"},"
	    " \"proof\": {\"type\": \"DataIntegrityProof\", \"cryptosuite\": \"eddsa-jcs-2022\","
	    " \"created\": \"2023-02-24T23:36:38Z\", \"verificationMethod\": \"%s\", \"proofPurpose\": \"assertionMethod\","
	    " \"@context\": [\"https://www.w3.org/ns/credentials/v2\", \"https://www.w3.org/ns/credentials/examples/v2\"],"
	    " \"proofValue\": \"%s\"}}", w3c_vm, w3c_proof_value) > 0);
	signed_doc = parse(signed_text);
	free(signed_text);
	CHECK(vc_verify_with_key(signed_doc, pub, NULL));
	CHECK_ERR(vc_verify(signed_doc, NULL, ERR), VL_INVALID_ARGUMENT, "unknown key: not a did:key");
	json_decref(signed_doc);
	json_decref(doc);

	/* The same document signed under the did:key method verifies
	 * offline and names the key. */
	doc = parse(w3c_unsigned);
	CHECK(vc_sign(s, doc, w3c_created, NULL));
	memset(got_pub, 0, sizeof(got_pub));
	CHECK(vc_verify(doc, got_pub, NULL));
	CHECK(memcmp(got_pub, pub, 32) == 0);
	json_decref(doc);
	vc_signer_free(s);
}

static const char credential[] = "{"
    "\"@context\": [\"https://www.w3.org/ns/credentials/v2\", \"https://vledger.example/ns/v1\"],"
    "\"type\": [\"VerifiableCredential\", \"VolunteerHoursCredential\"],"
    "\"id\": \"urn:uuid:0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\","
    "\"issuer\": \"did:key:placeholder\","
    "\"validFrom\": \"2024-05-01T12:00:00Z\","
    "\"credentialSubject\": {"
    "  \"id\": \"urn:vledger:volunteer:v_0123456789abcdef01234567\","
    "  \"name\": \"张伟\","
    "  \"organization\": {\"name\": \"上海市志愿者协会\", \"id\": \"o_42\"},"
    "  \"totalMinutes\": 12345,"
    "  \"negative\": -7,"
    "  \"big\": 9007199254740991,"
    "  \"verified\": true,"
    "  \"revoked\": false,"
    "  \"note\": null,"
    "  \"activities\": [{\"title\": \"社区清洁 🌱\", \"minutes\": 90}, {\"title\": \"敬老院探访\", \"minutes\": 120}],"
    "  \"tags\": [\"环保\", \"\\u0000nul\", \"a\\\"b\\\\c\"]"
    "}}";

/* Mutates one leaf in place: strings get a character changed (or one
 * added), numbers move by one, booleans flip, null becomes 0. */
static void
mutate_leaf(json_t *parent, const char *key, size_t index)
{
	json_t *v = key != NULL ? json_object_get(parent, key) : json_array_get(parent, index);
	json_t *nv;
	char *s;
	size_t len;

	switch (json_typeof(v)) {
	case JSON_STRING:
		len = json_string_length(v);
		s = malloc(len + 2);
		CHECK(s != NULL);
		memcpy(s, json_string_value(v), len);
		if (len > 0 && s[len / 2] >= 'A' && s[len / 2] <= 'z' && s[len / 2] != 'Z' && s[len / 2] != 'z')
			s[len / 2]++;
		else
			s[len++] = 'Z';
		nv = json_stringn(s, len);
		free(s);
		break;
	case JSON_INTEGER:
		nv = json_integer(json_integer_value(v) + (json_integer_value(v) > 0 ? -1 : 1));
		break;
	case JSON_TRUE:
		nv = json_false();
		break;
	case JSON_FALSE:
		nv = json_true();
		break;
	case JSON_NULL:
		nv = json_integer(0);
		break;
	default:
		CHECK(!"not a leaf");
		return;
	}
	CHECK(nv != NULL);
	if (key != NULL)
		CHECK(json_object_set_new(parent, key, nv) == 0);
	else
		CHECK(json_array_set_new(parent, index, nv) == 0);
}

/* Walks every node of *at (a path of object keys and array indexes from
 * the signed document's root is rebuilt on a fresh copy for each change),
 * and checks that each change stops the proof from verifying. */
struct walk {
	const json_t *signed_doc;
	int changes;
};

static void
expect_broken(struct walk *w, json_t *copy, const char *what)
{
	struct vl_error e = { 0 };

	if (vc_verify(copy, NULL, &e)) {
		fprintf(stderr, "still verifies after %s\n", what);
		exit(1);
	}
	CHECK(e.code == VL_PERMISSION_DENIED || e.code == VL_INVALID_ARGUMENT);
	w->changes++;
	json_decref(copy);
}

/* Resolves a path (keys[i] == NULL means array index idx[i]) on a deep
 * copy of the signed document. */
static json_t *
resolve(json_t *root, const char **keys, const size_t *idx, size_t depth)
{
	size_t i;

	for (i = 0; i < depth; i++)
		root = keys[i] != NULL ? json_object_get(root, keys[i]) : json_array_get(root, idx[i]);
	CHECK(root != NULL);
	return root;
}

#define MAX_DEPTH 16

static void
walk(struct walk *w, const json_t *node, const char **keys, size_t *idx, size_t depth)
{
	json_t *copy, *parent;
	const char *key;
	const json_t *child;
	size_t i;
	char what[512];

	CHECK(depth < MAX_DEPTH);
	if (json_is_object(node)) {
		json_object_foreach((json_t *)node, key, child) {
			snprintf(what, sizeof(what), "depth %zu key \"%s\"", depth, key);
			/* Delete the member. Without proof.@context the verifier
			 * uses the document's, which is the same value: the
			 * spec's algorithm makes that member redundant. */
			if (!(depth == 1 && strcmp(keys[0], "proof") == 0 && strcmp(key, "@context") == 0)) {
				copy = json_deep_copy(w->signed_doc);
				parent = resolve(copy, keys, idx, depth);
				CHECK(json_object_del(parent, key) == 0);
				expect_broken(w, copy, what);
			}
			/* Rename the member. */
			copy = json_deep_copy(w->signed_doc);
			parent = resolve(copy, keys, idx, depth);
			{
				char *nk;

				CHECK(asprintf(&nk, "%sX", key) > 0);
				CHECK(json_object_set(parent, nk, json_object_get(parent, key)) == 0);
				CHECK(json_object_del(parent, key) == 0);
				free(nk);
			}
			expect_broken(w, copy, what);
			if (json_is_object(child) || json_is_array(child)) {
				keys[depth] = key;
				walk(w, child, keys, idx, depth + 1);
			} else {
				copy = json_deep_copy(w->signed_doc);
				mutate_leaf(resolve(copy, keys, idx, depth), key, 0);
				expect_broken(w, copy, what);
			}
		}
		/* Add a member. */
		copy = json_deep_copy(w->signed_doc);
		CHECK(json_object_set_new(resolve(copy, keys, idx, depth), "extra", json_integer(1)) == 0);
		expect_broken(w, copy, "an added member");
	} else if (json_is_array(node)) {
		for (i = 0; i < json_array_size(node); i++) {
			child = json_array_get(node, i);
			snprintf(what, sizeof(what), "depth %zu index %zu", depth, i);
			copy = json_deep_copy(w->signed_doc);
			CHECK(json_array_remove(resolve(copy, keys, idx, depth), i) == 0);
			expect_broken(w, copy, what);
			if (json_is_object(child) || json_is_array(child)) {
				keys[depth] = NULL;
				idx[depth] = i;
				walk(w, child, keys, idx, depth + 1);
			} else {
				copy = json_deep_copy(w->signed_doc);
				mutate_leaf(resolve(copy, keys, idx, depth), NULL, i);
				expect_broken(w, copy, what);
			}
		}
		/* Appending to the document's @context is what the spec
		 * tolerates (test_round_trip checks it); anywhere else it
		 * breaks the proof. */
		if (!(depth == 1 && keys[0] != NULL && strcmp(keys[0], "@context") == 0)) {
			copy = json_deep_copy(w->signed_doc);
			CHECK(json_array_append_new(resolve(copy, keys, idx, depth), json_integer(1)) == 0);
			expect_broken(w, copy, "an appended element");
		}
	}
}

static void
test_round_trip(void)
{
	struct vc_signer *s, *s2, *other;
	char *path = path_in_dir("issuer.pem"), *path2 = path_in_dir("other.pem");
	const char *keys[MAX_DEPTH];
	size_t idx[MAX_DEPTH];
	struct walk w = { 0 };
	uint8_t pub[32], got[32], other_pub[32];
	struct stat st;
	json_t *doc, *copy, *proof;
	bool created;

	CHECK(vc_signer_load_or_create(path, &created, &s, NULL) && created);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(vc_signer_load_or_create(path, &created, &s2, NULL) && !created);
	CHECK(strcmp(vc_signer_did(s), vc_signer_did(s2)) == 0);
	CHECK(strncmp(vc_signer_did(s), "did:key:z6Mk", 12) == 0);
	vc_signer_free(s2);
	CHECK(vc_signer_load_or_create(path2, &created, &other, NULL) && created);
	vc_signer_public_key(s, pub);
	vc_signer_public_key(other, other_pub);

	doc = parse(credential);
	CHECK(json_object_set_new(doc, "issuer", json_string(vc_signer_did(s))) == 0);
	CHECK(vc_sign(s, doc, "2024-05-01T12:00:00.123+08:00", NULL));
	proof = json_object_get(doc, "proof");
	CHECK(strcmp(json_string_value(json_object_get(proof, "verificationMethod")),
	    vc_signer_verification_method(s)) == 0);
	CHECK(json_equal(json_object_get(proof, "@context"), json_object_get(doc, "@context")));
	CHECK(vc_verify(doc, got, NULL));
	CHECK(memcmp(got, pub, 32) == 0);
	CHECK(vc_verify(doc, NULL, NULL));
	CHECK(vc_verify_with_key(doc, pub, NULL));
	/* Member order does not matter (JCS): a re-parsed copy verifies. */
	{
		char *text = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(2));

		copy = parse(text);
		free(text);
		CHECK(vc_verify(copy, NULL, NULL));
		json_decref(copy);
	}

	/* Every change anywhere breaks the proof. */
	w.signed_doc = doc;
	walk(&w, doc, keys, idx, 0);
	CHECK(w.changes > 80);
	fprintf(stderr, "vc_test: %d single changes, none verifies\n", w.changes);

	/* Wrong key. */
	CHECK_ERR(vc_verify_with_key(doc, other_pub, ERR), VL_PERMISSION_DENIED,
	    "proof: signature does not verify: the document or its proof was altered");
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "verificationMethod",
	    json_string(vc_signer_verification_method(other)));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_PERMISSION_DENIED, "signature does not verify");
	json_decref(copy);

	/* Missing proof, wrong suite, unknown key, malformed proofValue. */
	copy = json_deep_copy(doc);
	json_object_del(copy, "proof");
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof: missing");
	/* An unsigned document cannot be signed twice ... */
	CHECK_ERR(vc_sign(s, doc, "2024-05-01T12:00:00Z", ERR), VL_FAILED_PRECONDITION, "already has a proof");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "cryptosuite", json_string("eddsa-rdfc-2022"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "unsupported suite \"eddsa-rdfc-2022\"");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "type", json_string("Ed25519Signature2020"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.type");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "proofPurpose", json_string("authentication"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.proofPurpose");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "verificationMethod",
	    json_string("did:web:vledger.example#key-1"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "unknown key");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "verificationMethod", json_string("did:key:z6Mk#z6Mk"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.verificationMethod: did:key:");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "proofValue", json_string("u3q2e"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.proofValue: malformed");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "proofValue", json_string("z0OIl"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.proofValue: malformed");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "proofValue", json_string("z2NEpo7TZRRrLZSi2U"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "64-byte");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_del(json_object_get(copy, "proof"), "proofValue");
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.proofValue: malformed");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(copy, "proof", json_array());
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof sets");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "created", json_string("yesterday"));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.created");
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_set_new(json_object_get(copy, "proof"), "verificationMethod",
	    json_stringn("did:key:z\0x", 11));
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.verificationMethod");
	json_decref(copy);
	copy = json_array();
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "document: must be a JSON object");
	json_decref(copy);

	/* The spec's @context rule: the proof's context must begin the
	 * document's; contexts appended after signing are tolerated. */
	copy = json_deep_copy(doc);
	json_array_append_new(json_object_get(copy, "@context"), json_string("https://extra.example/v1"));
	CHECK(vc_verify(copy, NULL, NULL));
	json_decref(copy);
	copy = json_deep_copy(doc);
	json_object_del(copy, "@context");
	CHECK_ERR(vc_verify(copy, NULL, ERR), VL_INVALID_ARGUMENT, "proof.@context");
	json_decref(copy);
	json_decref(doc);

	/* Signing errors leave the document unchanged. */
	doc = parse("{\"hours\": 1.5}");
	CHECK_ERR(vc_sign(s, doc, "2024-05-01T12:00:00Z", ERR), VL_INVALID_ARGUMENT, "document.hours: floating-point");
	CHECK(json_object_get(doc, "proof") == NULL);
	json_decref(doc);
	doc = parse("{\"a\": 1}");
	CHECK_ERR(vc_sign(s, doc, "2024-05-01 12:00:00", ERR), VL_INVALID_ARGUMENT, "created");
	CHECK_ERR(vc_sign(s, doc, "2024-05-01T12:00:00", ERR), VL_INVALID_ARGUMENT, "created");
	CHECK_ERR(vc_sign(s, doc, "2024-13-01T12:00:00Z", ERR), VL_INVALID_ARGUMENT, "created");
	CHECK(json_object_get(doc, "proof") == NULL);
	/* A document without @context: the proof has none either. */
	CHECK(vc_sign(s, doc, "2024-05-01T12:00:00Z", NULL));
	CHECK(json_object_get(json_object_get(doc, "proof"), "@context") == NULL);
	CHECK(vc_verify(doc, NULL, NULL));
	json_decref(doc);
	doc = json_array();
	CHECK_ERR(vc_sign(s, doc, "2024-05-01T12:00:00Z", ERR), VL_INVALID_ARGUMENT, "must be a JSON object");
	json_decref(doc);

	vc_signer_free(s);
	vc_signer_free(other);
	unlink(path);
	unlink(path2);
	free(path);
	free(path2);
}

static void
test_key_files(void)
{
	struct vc_signer *s;
	char *path = path_in_dir("bad.pem");
	FILE *f;

	CHECK_ERR(vc_signer_load(path, &s, ERR), VL_NOT_FOUND, "no such key file");
	CHECK(s == NULL);
	CHECK((f = fopen(path, "w")) != NULL);
	fputs("not a key\n", f);
	CHECK(fclose(f) == 0);
	CHECK(chmod(path, 0644) == 0);
	CHECK_ERR(vc_signer_load(path, &s, ERR), VL_FAILED_PRECONDITION, "must be mode 0600 (is 0644)");
	CHECK(chmod(path, 0600) == 0);
	CHECK_ERR(vc_signer_load(path, &s, ERR), VL_FAILED_PRECONDITION, "no PEM block");
	unlink(path);
	CHECK_ERR(vc_signer_load(dir, &s, ERR), VL_FAILED_PRECONDITION, "not a regular file");
	vc_signer_free(NULL);
	free(path);
}

int
main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	test_base58();
	test_did_key();
	test_w3c_vector();
	test_round_trip();
	test_key_files();
	CHECK(rmdir(dir) == 0);
	printf("vc_test: ok\n");
	return 0;
}
