/*
 * vc.c - Data Integrity proofs (eddsa-jcs-2022) over JSON documents, with
 * Ed25519 keys named by did:key. See vc.h for the formats and the errors.
 *
 * Written from the W3C "Verifiable Credential Data Integrity 1.0" and
 * "Data Integrity EdDSA Cryptosuites v1.0" recommendations, the did:key
 * method specification and the multibase draft. Only what vledger needs
 * is implemented: one proof per document, assertionMethod, did:key
 * resolution offline; anything else is refused with its own message
 * rather than half-supported.
 */
#include "vledger/vc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "vledger/jcs.h"
#include "vledger/log.h"
#include "vledger/note.h"

#define SHA256_LEN 32


/* Multicodec ed25519-pub (0xed) as an unsigned varint. */
static const uint8_t ed25519_pub_codec[2] = { 0xed, 0x01 };

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static const char did_key_prefix[] = "did:key:";
#define DID_KEY_PREFIX_LEN (sizeof(did_key_prefix) - 1)

struct vc_signer {
	EVP_PKEY *pkey;		/* the private key; freeing it wipes it */
	uint8_t pub[VC_PUBLIC_KEY_LEN];
	char *did;		/* "did:key:z6Mk..." */
	char *vm;		/* did "#" multibase key */
};

/*
 * base58btc.
 */

char *
vc_base58_encode(const uint8_t *in, size_t len)
{
	size_t zeros = 0, size, high, i, j, n;
	unsigned carry;
	uint8_t *digits;
	char *out;

	while (zeros < len && in[zeros] == 0)
		zeros++;
	/* log(256) / log(58) < 1.38: room for every base-58 digit. */
	size = (len - zeros) * 138 / 100 + 1;
	digits = xcalloc(size, 1);
	/* digits[high..size-1] holds the number so far, most significant
	 * digit first; each input byte multiplies it by 256 and adds. */
	high = size;
	for (i = zeros; i < len; i++) {
		carry = in[i];
		for (j = size; j > 0 && (carry != 0 || j > high); j--) {
			carry += 256u * digits[j - 1];
			digits[j - 1] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		high = j;
	}
	for (i = 0; i < size && digits[i] == 0; i++)
		;
	n = zeros + (size - i);
	out = xmalloc(n + 1);
	memset(out, '1', zeros);
	for (j = zeros; i < size; i++, j++)
		out[j] = b58_alphabet[digits[i]];
	out[n] = '\0';
	free(digits);
	return out;
}

static int
vc_base58_value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b58_alphabet, c)) == NULL)
		return -1;
	return (int)(p - b58_alphabet);
}

bool
vc_base58_decode(const char *in, size_t len, uint8_t *out, size_t max, size_t *out_len)
{
	size_t zeros = 0, size, high, i, j, n;
	unsigned carry;
	uint8_t *bytes;
	int v;

	*out_len = 0;
	while (zeros < len && in[zeros] == '1')
		zeros++;
	/* Every byte takes more than 1.36 digits, so a longer string cannot
	 * fit in max bytes: refuse it before doing quadratic work on it. */
	if (zeros > max || len - zeros > max * 2 + 2)
		return false;
	/* log(58) / log(256) < 0.733. */
	size = (len - zeros) * 733 / 1000 + 1;
	bytes = xcalloc(size, 1);
	high = size;
	for (i = zeros; i < len; i++) {
		if ((v = vc_base58_value(in[i])) < 0) {
			free(bytes);
			return false;
		}
		carry = (unsigned)v;
		for (j = size; j > 0 && (carry != 0 || j > high); j--) {
			carry += 58u * bytes[j - 1];
			bytes[j - 1] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		high = j;
	}
	for (i = 0; i < size && bytes[i] == 0; i++)
		;
	n = zeros + (size - i);
	if (n > max) {
		free(bytes);
		return false;
	}
	memset(out, 0, zeros);
	memcpy(out + zeros, bytes + i, size - i);
	*out_len = n;
	free(bytes);
	return true;
}

/*
 * did:key.
 */

/* "z" base58btc(0xed 0x01 || pub): the multibase key of did:key and of
 * the verification method's fragment. malloc'd. */
static char *
vc_multibase_key(const uint8_t pub[VC_PUBLIC_KEY_LEN])
{
	uint8_t raw[sizeof(ed25519_pub_codec) + VC_PUBLIC_KEY_LEN];
	char *b58, *mb;

	memcpy(raw, ed25519_pub_codec, sizeof(ed25519_pub_codec));
	memcpy(raw + sizeof(ed25519_pub_codec), pub, VC_PUBLIC_KEY_LEN);
	b58 = vc_base58_encode(raw, sizeof(raw));
	mb = xasprintf("z%s", b58);
	free(b58);
	return mb;
}

char *
vc_did_key(const uint8_t pub[VC_PUBLIC_KEY_LEN])
{
	char *mb, *did;

	mb = vc_multibase_key(pub);
	did = xasprintf("%s%s", did_key_prefix, mb);
	free(mb);
	return did;
}

bool
vc_did_key_parse(const char *s, uint8_t pub[VC_PUBLIC_KEY_LEN], struct vl_error *err)
{
	/* Room for the other key types did:key names (P-256, P-384, ...), so
	 * that they are reported as not Ed25519 rather than as garbage. */
	uint8_t raw[128];
	const char *mb, *hash;
	size_t mblen, rawlen;

	if (s == NULL || strncmp(s, did_key_prefix, DID_KEY_PREFIX_LEN) != 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "did:key: must start with \"did:key:\"");
	mb = s + DID_KEY_PREFIX_LEN;
	hash = strchr(mb, '#');
	mblen = hash != NULL ? (size_t)(hash - mb) : strlen(mb);
	if (mblen == 0 || mb[0] != 'z')
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "did:key: the key must be multibase base58btc (start with 'z')");
	/* did:key defines one verification method per Ed25519 key, whose
	 * fragment is the multibase key again: any other fragment names
	 * nothing. */
	if (hash != NULL && (strlen(hash + 1) != mblen || memcmp(hash + 1, mb, mblen) != 0))
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "did:key: the fragment must repeat the key (did:key:z...#z...)");
	if (!vc_base58_decode(mb + 1, mblen - 1, raw, sizeof(raw), &rawlen))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "did:key: invalid base58btc key");
	if (rawlen != sizeof(ed25519_pub_codec) + VC_PUBLIC_KEY_LEN ||
	    memcmp(raw, ed25519_pub_codec, sizeof(ed25519_pub_codec)) != 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "did:key: not an Ed25519 public key (want multicodec 0xed01 and 32 bytes)");
	memcpy(pub, raw + sizeof(ed25519_pub_codec), VC_PUBLIC_KEY_LEN);
	return true;
}

/* Key files are note.c's: note_key_load() reads them with its checks and
 * note_key_generate() makes them. */

bool
vc_signer_load(const char *path, struct vc_signer **out, struct vl_error *err)
{
	struct vc_signer *s;
	EVP_PKEY *pkey;
	uint8_t pub[VC_PUBLIC_KEY_LEN];
	size_t publen = sizeof(pub);
	char *mb;

	*out = NULL;
	if (!note_key_load(path, &pkey, err))
		return false;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 || publen != sizeof(pub)) {
		EVP_PKEY_free(pkey);
		return vl_error_set(err, VL_INTERNAL, "%s: cannot derive the public key", path);
	}
	s = xcalloc(1, sizeof(*s));
	s->pkey = pkey;
	memcpy(s->pub, pub, sizeof(pub));
	mb = vc_multibase_key(pub);
	s->did = xasprintf("%s%s", did_key_prefix, mb);
	s->vm = xasprintf("%s#%s", s->did, mb);
	free(mb);
	*out = s;
	return true;
}

bool
vc_signer_load_or_create(const char *path, bool *created, struct vc_signer **out, struct vl_error *err)
{
	struct vl_error gerr;

	*created = false;
	*out = NULL;
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		if (note_key_generate(path, &gerr))
			*created = true;
		else if (gerr.code != VL_ALREADY_EXISTS) {
			if (err != NULL)
				*err = gerr;
			return false;
		}
		/* VL_ALREADY_EXISTS: another process won the race; use its key. */
	}
	return vc_signer_load(path, out, err);
}

void
vc_signer_free(struct vc_signer *s)
{
	if (s == NULL)
		return;
	/* EVP_PKEY_free wipes the Ed25519 private key. */
	EVP_PKEY_free(s->pkey);
	free(s->did);
	free(s->vm);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

const char *
vc_signer_did(const struct vc_signer *s)
{
	return s->did;
}

const char *
vc_signer_verification_method(const struct vc_signer *s)
{
	return s->vm;
}

void
vc_signer_public_key(const struct vc_signer *s, uint8_t pub[VC_PUBLIC_KEY_LEN])
{
	memcpy(pub, s->pub, VC_PUBLIC_KEY_LEN);
}

/*
 * The proof.
 */

static bool
vc_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* RFC 3339 date-time (which is also an XML Schema dateTime with a time
 * zone, what Data Integrity asks of "created"):
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). Field ranges are
 * checked loosely (day 01-31, second up to 60 for leap seconds). */
static bool
vc_datetime_valid(const char *s)
{
	size_t n = strlen(s), i;
	int mo, d, h, mi, sec;

	if (n < 20 || !vc_digits(s, 4) || s[4] != '-' || !vc_digits(s + 5, 2) || s[7] != '-' ||
	    !vc_digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !vc_digits(s + 11, 2) || s[13] != ':' ||
	    !vc_digits(s + 14, 2) || s[16] != ':' || !vc_digits(s + 17, 2))
		return false;
	mo = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	h = (s[11] - '0') * 10 + (s[12] - '0');
	mi = (s[14] - '0') * 10 + (s[15] - '0');
	sec = (s[17] - '0') * 10 + (s[18] - '0');
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	i = 19;
	if (s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z'))
		return i + 1 == n;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		return n - i == 6 && vc_digits(s + i + 1, 2) && s[i + 3] == ':' && vc_digits(s + i + 4, 2) &&
		    (s[i + 1] - '0') * 10 + (s[i + 2] - '0') <= 23 && (s[i + 4] - '0') * 10 + (s[i + 5] - '0') <= 59;
	return false;
}

/* SHA-256(JCS(value)) into md. `what` names the value in errors. */
static bool
vc_hash_jcs(const json_t *value, const char *what, uint8_t md[SHA256_LEN], struct vl_error *err)
{
	char *text;
	size_t len;
	unsigned int mdlen = 0;
	bool ok;

	if (!jcs_serialize(value, &text, &len, err)) {
		vl_error_prefix(err, what);
		return false;
	}
	ok = EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == SHA256_LEN;
	free(text);
	if (!ok)
		return vl_error_set(err, VL_INTERNAL, "%s: SHA-256 failed", what);
	return true;
}

/* hashData of the spec: SHA-256(JCS(config)) || SHA-256(JCS(unsecured)). */
static bool
vc_hash_data(const json_t *config, const json_t *unsecured, uint8_t out[2 * SHA256_LEN], struct vl_error *err)
{
	return vc_hash_jcs(config, "proof", out, err) && vc_hash_jcs(unsecured, "document", out + SHA256_LEN, err);
}

bool
vc_sign_with_method(const struct vc_signer *s, json_t *document, const char *created, const char *vm,
    struct vl_error *err)
{
	uint8_t hash[2 * SHA256_LEN], sig[VC_SIGNATURE_LEN];
	size_t siglen = sizeof(sig);
	json_t *proof, *context;
	EVP_MD_CTX *ctx;
	char *b58;
	bool ok;

	if (!json_is_object(document))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "document: must be a JSON object");
	if (json_object_get(document, "proof") != NULL)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "document: already has a proof (proof sets are not supported)");
	if (created == NULL || !vc_datetime_valid(created))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "created: must be an RFC 3339 date-time");
	if (vm == NULL || *vm == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "verificationMethod: required");

	/* The proof options become the proof configuration: the
	 * document's @context is copied in so that the signature covers the
	 * vocabulary the proof's terms are defined in (eddsa-jcs-2022,
	 * "Create Proof" and "Proof Configuration"). */
	proof = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", VC_PROOF_TYPE, "cryptosuite", VC_CRYPTOSUITE,
	    "created", created, "verificationMethod", vm, "proofPurpose", VC_PROOF_PURPOSE);
	if (proof == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "created, verificationMethod: must be UTF-8");
	if ((context = json_object_get(document, "@context")) != NULL)
		json_object_set_new(proof, "@context", json_deep_copy(context));

	/* The document has no proof yet, so it is the unsecured document. */
	if (!vc_hash_data(proof, document, hash, err)) {
		json_decref(proof);
		return false;
	}
	/* Ed25519 (pure, no prehash) over the 64 bytes of hashData. */
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		json_decref(proof);
		return vl_error_set(err, VL_INTERNAL, "proof: out of memory");
	}
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, hash, sizeof(hash)) == 1 && siglen == sizeof(sig);
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		json_decref(proof);
		return vl_error_set(err, VL_INTERNAL, "proof: Ed25519 signing failed");
	}
	b58 = vc_base58_encode(sig, sizeof(sig));
	json_object_set_new(proof, "proofValue", json_sprintf("z%s", b58));
	free(b58);
	json_object_set_new(document, "proof", proof);
	return true;
}

bool
vc_sign(const struct vc_signer *s, json_t *document, const char *created, struct vl_error *err)
{
	return vc_sign_with_method(s, document, created, s->vm, err);
}

/* Whether the document's @context begins with every entry of the
 * proof's, in order (a single value counts as a list of one): the
 * eddsa-jcs-2022 "Verify Proof" check. */
static bool
vc_context_is_prefix(const json_t *proof_ctx, const json_t *doc_ctx)
{
	size_t np, nd, i;

	if (doc_ctx == NULL)
		return false;
	np = json_is_array(proof_ctx) ? json_array_size(proof_ctx) : 1;
	nd = json_is_array(doc_ctx) ? json_array_size(doc_ctx) : 1;
	if (np > nd)
		return false;
	for (i = 0; i < np; i++) {
		const json_t *p = json_is_array(proof_ctx) ? json_array_get(proof_ctx, i) : proof_ctx;
		const json_t *d = json_is_array(doc_ctx) ? json_array_get(doc_ctx, i) : doc_ctx;

		if (!json_equal(p, d))
			return false;
	}
	return true;
}

static bool
vc_proof_string(const json_t *proof, const char *key, const char **out, struct vl_error *err)
{
	const json_t *v = json_object_get(proof, key);

	/* An embedded NUL would let strcmp() see less than was signed. */
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "proof.%s: required string", key);
	*out = json_string_value(v);
	return true;
}

/* Checks the proof's shape and the suite; sets *proof and, if resolve,
 * resolves the verification method into pub. */
static bool
vc_proof_check(const json_t *document, const json_t **proofp, bool resolve, uint8_t pub[VC_PUBLIC_KEY_LEN],
    struct vl_error *err)
{
	const json_t *proof;
	const char *type = NULL, *suite = NULL, *purpose = NULL, *vm = NULL, *created = NULL;
	struct vl_error perr;

	if (!json_is_object(document))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "document: must be a JSON object");
	if ((proof = json_object_get(document, "proof")) == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "proof: missing: the document is not signed");
	if (!json_is_object(proof))
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "proof: must be one object (proof sets and chains are not supported)");
	if (!vc_proof_string(proof, "type", &type, err) || !vc_proof_string(proof, "cryptosuite", &suite, err) ||
	    !vc_proof_string(proof, "proofPurpose", &purpose, err) ||
	    !vc_proof_string(proof, "verificationMethod", &vm, err))
		return false;
	if (strcmp(type, VC_PROOF_TYPE) != 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "proof.type: must be \"%s\"", VC_PROOF_TYPE);
	if (strcmp(suite, VC_CRYPTOSUITE) != 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "proof.cryptosuite: unsupported suite \"%.64s\" (want %s)",
		    suite, VC_CRYPTOSUITE);
	if (strcmp(purpose, VC_PROOF_PURPOSE) != 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "proof.proofPurpose: must be \"%s\"", VC_PROOF_PURPOSE);
	if (json_object_get(proof, "created") != NULL &&
	    (!vc_proof_string(proof, "created", &created, err) || !vc_datetime_valid(created)))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "proof.created: must be an RFC 3339 date-time");
	if (resolve) {
		if (strncmp(vm, did_key_prefix, DID_KEY_PREFIX_LEN) != 0)
			return vl_error_set(err, VL_INVALID_ARGUMENT,
			    "proof.verificationMethod: unknown key: not a did:key (only did:key is resolved offline)");
		if (!vc_did_key_parse(vm, pub, &perr))
			return vl_error_set(err, perr.code, "proof.verificationMethod: %s", perr.message);
	}
	*proofp = proof;
	return true;
}

static bool
vc_verify_proof(const json_t *document, const json_t *proof, const uint8_t pub[VC_PUBLIC_KEY_LEN],
    struct vl_error *err)
{
	uint8_t hash[2 * SHA256_LEN], sig[VC_SIGNATURE_LEN];
	const json_t *value, *proof_ctx;
	const char *pv;
	json_t *unsecured = NULL, *config = NULL, *doc_ctx;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t siglen;
	bool ok = false;
	int rc;

	value = json_object_get(proof, "proofValue");
	if (!json_is_string(value))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "proof.proofValue: malformed: missing or not a string");
	pv = json_string_value(value);
	if (pv[0] != 'z')
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "proof.proofValue: malformed: must be multibase base58btc (start with 'z')");
	if (!vc_base58_decode(pv + 1, json_string_length(value) - 1, sig, sizeof(sig), &siglen) ||
	    siglen != sizeof(sig))
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "proof.proofValue: malformed: not base58btc of a 64-byte Ed25519 signature");

	/* Shallow copies: members are shared with the caller's document and
	 * never modified, only the copies' own member lists. */
	unsecured = json_copy((json_t *)document);
	config = json_copy((json_t *)proof);
	if (unsecured == NULL || config == NULL) {
		vl_error_set(err, VL_INTERNAL, "proof: out of memory");
		goto out;
	}
	json_object_del(unsecured, "proof");
	json_object_del(config, "proofValue");
	doc_ctx = json_object_get(unsecured, "@context");
	if ((proof_ctx = json_object_get(config, "@context")) != NULL) {
		if (!vc_context_is_prefix(proof_ctx, doc_ctx)) {
			vl_error_set(err, VL_INVALID_ARGUMENT,
			    "proof.@context: must be the beginning of the document's @context");
			goto out;
		}
		/* What was signed is the document with the proof's context. */
		json_object_set(unsecured, "@context", (json_t *)proof_ctx);
	}
	if (!vc_hash_data(config, unsecured, hash, err))
		goto out;

	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, VC_PUBLIC_KEY_LEN)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
		vl_error_set(err, VL_INTERNAL, "proof: cannot set up Ed25519 verification");
		goto out;
	}
	rc = EVP_DigestVerify(ctx, sig, sizeof(sig), hash, sizeof(hash));
	/* The Recommendation verifies a proof without @context as it is;
	 * signers that followed its 2023 drafts put the document's @context
	 * into the proof configuration without writing it into the proof.
	 * Both sign the whole document, so accepting either form adds no
	 * forgery: it only lets those older proofs verify. */
	if (rc != 1 && proof_ctx == NULL && doc_ctx != NULL) {
		json_object_set(config, "@context", doc_ctx);
		if (!vc_hash_data(config, unsecured, hash, err))
			goto out;
		EVP_MD_CTX_free(ctx);
		if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
			vl_error_set(err, VL_INTERNAL, "proof: cannot set up Ed25519 verification");
			goto out;
		}
		rc = EVP_DigestVerify(ctx, sig, sizeof(sig), hash, sizeof(hash));
	}
	if (rc != 1) {
		vl_error_set(err, VL_PERMISSION_DENIED,
		    "proof: signature does not verify: the document or its proof was altered");
		goto out;
	}
	ok = true;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	json_decref(unsecured);
	json_decref(config);
	return ok;
}

bool
vc_verify(const json_t *document, uint8_t pub_out[VC_PUBLIC_KEY_LEN], struct vl_error *err)
{
	uint8_t pub[VC_PUBLIC_KEY_LEN];
	const json_t *proof;

	if (!vc_proof_check(document, &proof, true, pub, err) || !vc_verify_proof(document, proof, pub, err))
		return false;
	if (pub_out != NULL)
		memcpy(pub_out, pub, sizeof(pub));
	return true;
}

bool
vc_verify_with_key(const json_t *document, const uint8_t pub[VC_PUBLIC_KEY_LEN], struct vl_error *err)
{
	const json_t *proof;

	return vc_proof_check(document, &proof, false, NULL, err) && vc_verify_proof(document, proof, pub, err);
}
