/*
 * log_tools.c - `vledger keygen`, `vledger verify-receipt`, `vledger audit`:
 * checking the transparent log with nothing but its verifier key.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cli.h"
#include "vledger/encoding.h"
#include "vledger/jcs.h"
#include "vledger/log.h"
#include "vledger/merkle.h"
#include "vledger/note.h"
#include "vledger/pii.h"
#include "vledger/tile_path.h"
#include "vledger/vc.h"

int
cli_keygen(int argc, char **argv)
{
	struct vl_error err;

	if (argc != 1) {
		fprintf(stderr, "usage: vledger keygen FILE\n");
		return 2;
	}
	if (!note_key_generate(argv[0], &err)) {
		fprintf(stderr, "vledger keygen: %s\n", err.message);
		return 1;
	}
	printf("wrote %s (Ed25519, PKCS#8 PEM, mode 0600); start vledgerd with --log-key %s\n", argv[0], argv[0]);
	return 0;
}

int
cli_pii_keygen(int argc, char **argv)
{
	struct vl_error err;

	if (argc != 1) {
		fprintf(stderr, "usage: vledger pii-keygen FILE\n");
		return 2;
	}
	if (!pii_key_generate(argv[0], &err)) {
		fprintf(stderr, "vledger pii-keygen: %s\n", err.message);
		return 1;
	}
	printf("wrote %s (personal data master key, mode 0600); start every vledgerd of this database with"
	    " --pii-key %s\n", argv[0], argv[0]);
	return 0;
}

/* A verifier key given inline or as a file holding one. Caller frees. */
static char *
load_vkey(const char *arg)
{
	char *text, *end;

	if (access(arg, R_OK) != 0)
		return xstrdup(arg);
	text = read_file(arg, NULL);
	if (text == NULL)
		return xstrdup(arg);
	end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	return text;
}

static bool
json_u64(const json_t *v, uint64_t *out)
{
	char *end;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_string(v) && json_string_value(v)[0] != '\0') {
		errno = 0;
		*out = strtoull(json_string_value(v), &end, 10);
		return *end == '\0' && errno == 0;
	}
	if (v == NULL) {
		*out = 0;  /* proto3 JSON omits zero */
		return true;
	}
	return false;
}

/* Decodes a base64 JSON string of exactly `len` bytes (or any length when
 * len is 0; then *out is malloc'd). */
static bool
json_b64(const json_t *v, uint8_t *fixed, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *raw;
	size_t n;

	if (!json_is_string(v) || !base64_decode(json_string_value(v), strlen(json_string_value(v)), &raw, &n))
		return false;
	if (len != 0) {
		bool ok = n == len;
		if (ok)
			memcpy(fixed, raw, len);
		free(raw);
		return ok;
	}
	*out = raw;
	*out_len = n;
	return true;
}

/* Verifies a signed checkpoint note; fills size and root. */
static bool
checkpoint_check(const char *vkey, const char *note, char **origin, uint64_t *size, uint8_t root[MERKLE_HASH_LEN],
    struct vl_error *err)
{
	char *text = NULL;
	bool ok;

	if (!note_verify(vkey, note, strlen(note), &text, err))
		return false;
	ok = checkpoint_parse(text, strlen(text), origin, size, root, err);
	free(text);
	return ok;
}

/* Checks a receipt (a JSON object with leafIndex, leafHash, checkpoint,
 * treeSize, inclusionProof and usually entry) against the log's verifier
 * key, offline. The entry is `entry` when given, else the receipt's own.
 * Prints what failed on stderr. On success *entry_out (unless NULL) gets a
 * malloc'd copy of the entry checked, or NULL when there was none; the
 * caller frees it. */
static bool
receipt_check(const char *vkey, const json_t *receipt, const uint8_t *entry, size_t entry_len, uint8_t **entry_out,
    size_t *entry_out_len)
{
	uint8_t leaf[MERKLE_HASH_LEN], computed[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN];
	uint8_t (*proof)[MERKLE_HASH_LEN] = NULL, *own = NULL;
	char *origin = NULL;
	uint64_t index, tree_size, size;
	size_t count = 0, own_len = 0, i;
	json_t *hashes;
	struct vl_error err;
	bool ok = false;

	if (!json_is_object(receipt)) {
		fprintf(stderr, "FAIL: not a receipt (JSON object with leafIndex, leafHash, checkpoint, ...)\n");
		return false;
	}
	hashes = json_object_get(receipt, "inclusionProof");
	if (!json_u64(json_object_get(receipt, "leafIndex"), &index) ||
	    !json_u64(json_object_get(receipt, "treeSize"), &tree_size) ||
	    !json_b64(json_object_get(receipt, "leafHash"), leaf, MERKLE_HASH_LEN, NULL, NULL) ||
	    !json_is_string(json_object_get(receipt, "checkpoint")) || (hashes != NULL && !json_is_array(hashes))) {
		fprintf(stderr, "FAIL: the receipt is malformed (leafIndex, treeSize, leafHash, checkpoint, inclusionProof)\n");
		return false;
	}
	count = json_array_size(hashes);
	proof = xcalloc(count + 1, MERKLE_HASH_LEN);
	for (i = 0; i < count; i++)
		if (!json_b64(json_array_get(hashes, i), proof[i], MERKLE_HASH_LEN, NULL, NULL)) {
			fprintf(stderr, "FAIL: inclusionProof[%zu] is not a base64 SHA-256 hash\n", i);
			goto out;
		}
	if (!checkpoint_check(vkey, json_string_value(json_object_get(receipt, "checkpoint")), &origin, &size, root,
	    &err)) {
		fprintf(stderr, "FAIL: checkpoint: %s\n", err.message);
		goto out;
	}
	if (size != tree_size) {
		fprintf(stderr, "FAIL: treeSize %" PRIu64 " differs from the signed checkpoint's %" PRIu64 "\n", tree_size, size);
		goto out;
	}
	if (entry == NULL && json_object_get(receipt, "entry") != NULL) {
		if (!json_b64(json_object_get(receipt, "entry"), NULL, 0, &own, &own_len)) {
			fprintf(stderr, "FAIL: the receipt's entry is not base64\n");
			goto out;
		}
		entry = own;
		entry_len = own_len;
	}
	if (entry != NULL) {
		merkle_leaf_hash(entry, entry_len, computed);
		if (memcmp(computed, leaf, MERKLE_HASH_LEN) != 0) {
			fprintf(stderr, "FAIL: the entry does not hash to leafHash\n");
			goto out;
		}
	}
	if (!merkle_verify_inclusion(index, size, leaf, (const uint8_t (*)[MERKLE_HASH_LEN])proof, count, root)) {
		fprintf(stderr, "FAIL: the inclusion proof does not lead from leaf %" PRIu64 " to the checkpoint's root\n",
		    index);
		goto out;
	}
	printf("ok: %s is leaf %" PRIu64 " of log %s, tree size %" PRIu64 ", signed by %s\n",
	    entry != NULL ? "the entry" : "leafHash", index, origin, size, vkey);
	if (entry_out != NULL) {
		*entry_out = NULL;
		*entry_out_len = 0;
		if (entry != NULL) {
			*entry_out = xmalloc(entry_len + 1);
			memcpy(*entry_out, entry, entry_len);
			(*entry_out)[entry_len] = '\0';
			*entry_out_len = entry_len;
		}
	}
	ok = true;
out:
	free(origin);
	free(proof);
	free(own);
	return ok;
}

int
cli_verify_receipt(int argc, char **argv)
{
	const char *vkey_arg = NULL, *receipt_path = NULL, *entry_path = NULL;
	uint8_t *entry = NULL;
	char *vkey = NULL, *text = NULL;
	size_t entry_len = 0;
	json_t *doc = NULL, *receipt;
	json_error_t jerr;
	int a, rc = 1;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--vkey") == 0 && a + 1 < argc)
			vkey_arg = argv[++a];
		else if (receipt_path == NULL)
			receipt_path = argv[a];
		else if (entry_path == NULL)
			entry_path = argv[a];
		else
			vkey_arg = NULL, receipt_path = NULL;
	}
	if (vkey_arg == NULL || receipt_path == NULL) {
		fprintf(stderr, "usage: vledger verify-receipt --vkey VKEY RECEIPT.json [ENTRY]\n");
		return 2;
	}
	vkey = load_vkey(vkey_arg);
	text = read_file(receipt_path, NULL);
	if (text == NULL) {
		fprintf(stderr, "vledger verify-receipt: %s: %s\n", receipt_path, strerror(errno));
		rc = 2;
		goto out;
	}
	if (entry_path != NULL) {
		entry = (uint8_t *)read_file(entry_path, &entry_len);
		if (entry == NULL) {
			fprintf(stderr, "vledger verify-receipt: %s: %s\n", entry_path, strerror(errno));
			rc = 2;
			goto out;
		}
	}
	doc = json_loads(text, 0, &jerr);
	receipt = json_object_get(doc, "receipt") != NULL ? json_object_get(doc, "receipt") : doc;
	if (receipt_check(vkey, receipt, entry, entry_len, NULL, NULL))
		rc = 0;
out:
	json_decref(doc);
	free(vkey);
	free(text);
	free(entry);
	return rc;
}

/*
 * verify-certificate
 */

/* The credential in a file: the credential itself, or a response that
 * holds it as text ({"certificate": {"credential": "..."}}, as
 * IssueCertificate and GetCertificate answer). New reference or NULL. */
static json_t *
credential_from_file(json_t *doc)
{
	const char *text = json_string_value(json_object_get(json_object_get(doc, "certificate"), "credential"));

	if (text != NULL)
		return json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_string(json_object_get(doc, "credential")))
		return json_loads(json_string_value(json_object_get(doc, "credential")), JSON_REJECT_DUPLICATES, NULL);
	return json_incref(doc);
}

/* The receipt's entry must be the certificate_issued entry of this
 * credential: its number and the SHA-256 of its JCS form. */
static bool
issued_entry_check(const char *entry, const json_t *credential)
{
	json_t *e = json_loads(entry, 0, NULL), *cert = json_object_get(e, "certificate");
	const char *number = json_string_value(json_object_get(credential, "certificateNumber"));
	unsigned char md[32];
	char hex[65], *jcs = NULL;
	size_t len;
	struct vl_error err;
	bool ok = false;

	if (json_string_value(json_object_get(e, "kind")) == NULL ||
	    strcmp(json_string_value(json_object_get(e, "kind")), "certificate_issued") != 0) {
		fprintf(stderr, "FAIL: the receipt's entry is not a certificate_issued entry\n");
		goto out;
	}
	if (number == NULL || json_string_value(json_object_get(cert, "number")) == NULL ||
	    strcmp(json_string_value(json_object_get(cert, "number")), number) != 0) {
		fprintf(stderr, "FAIL: the receipt is for certificate %s, not %s\n",
		    json_string_value(json_object_get(cert, "number")) != NULL ?
		    json_string_value(json_object_get(cert, "number")) : "(none)", number != NULL ? number : "(no number)");
		goto out;
	}
	if (!jcs_serialize(credential, &jcs, &len, &err)) {
		fprintf(stderr, "FAIL: credential: %s\n", err.message);
		goto out;
	}
	EVP_Digest(jcs, len, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), hex);
	if (json_string_value(json_object_get(cert, "credentialSha256")) == NULL ||
	    strcmp(json_string_value(json_object_get(cert, "credentialSha256")), hex) != 0) {
		fprintf(stderr, "FAIL: the credential's SHA-256 %s is not the one logged for %s: it was altered\n", hex,
		    number);
		goto out;
	}
	printf("ok: the log's certificate_issued entry names %s with this credential's SHA-256\n", number);
	ok = true;
out:
	free(jcs);
	json_decref(e);
	return ok;
}

int
cli_verify_certificate(int argc, char **argv)
{
	const char *key_arg = NULL, *cert_path = NULL, *receipt_path = NULL, *vkey_arg = NULL;
	uint8_t want[VC_PUBLIC_KEY_LEN], got[VC_PUBLIC_KEY_LEN], *entry = NULL;
	char *key = NULL, *vkey = NULL, *text = NULL, *rtext = NULL;
	json_t *doc = NULL, *credential = NULL, *rdoc = NULL, *receipt;
	json_error_t jerr;
	struct vl_error err;
	size_t entry_len;
	bool help = false;
	int a, rc = 1;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--key") == 0 && a + 1 < argc)
			key_arg = argv[++a];
		else if (strcmp(argv[a], "--receipt") == 0 && a + 1 < argc)
			receipt_path = argv[++a];
		else if (strcmp(argv[a], "--vkey") == 0 && a + 1 < argc)
			vkey_arg = argv[++a];
		else if (strcmp(argv[a], "--help") == 0)
			help = true, a = argc;
		else if (cert_path == NULL && argv[a][0] != '-')
			cert_path = argv[a];
		else
			key_arg = NULL, cert_path = NULL, a = argc;
	}
	if (help || key_arg == NULL || cert_path == NULL || (receipt_path != NULL) != (vkey_arg != NULL)) {
		fprintf(help ? stdout : stderr, "usage: vledger verify-certificate --key KEY CERT.json [--receipt RECEIPT.json --vkey VKEY]\n"
		    "  KEY   the credential key's did:key (var/credential.did, GET /credentials/did) or a file holding it\n"
		    "  CERT  the credential (as downloaded), or an IssueCertificate/GetCertificate JSON response\n"
		    "  --receipt, --vkey  also check that the certificate_issued entry is in the log: the receipt\n"
		    "        (IssueCertificate/GetCertificate response or its receipt) and the log's verifier key\n");
		return help ? 0 : 2;
	}
	key = load_vkey(key_arg);
	if (!vc_did_key_parse(key, want, &err)) {
		fprintf(stderr, "vledger verify-certificate: --key: %s\n", err.message);
		rc = 2;
		goto out;
	}
	text = read_file(cert_path, NULL);
	if (text == NULL) {
		fprintf(stderr, "vledger verify-certificate: %s: %s\n", cert_path, strerror(errno));
		rc = 2;
		goto out;
	}
	doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	credential = doc != NULL ? credential_from_file(doc) : NULL;
	if (credential == NULL) {
		fprintf(stderr, "FAIL: %s is not a JSON credential%s%s\n", cert_path, doc == NULL ? ": " : "",
		    doc == NULL ? jerr.text : "");
		goto out;
	}
	if (!vc_verify(credential, got, &err)) {
		fprintf(stderr, "FAIL: %s\n", err.message);
		goto out;
	}
	if (memcmp(got, want, sizeof(want)) != 0) {
		fprintf(stderr, "FAIL: proof.verificationMethod: signed by another key, not %s\n", key);
		goto out;
	}
	printf("ok: the proof (eddsa-jcs-2022) verifies under %s\n", key);
	if (receipt_path != NULL) {
		vkey = load_vkey(vkey_arg);
		rtext = read_file(receipt_path, NULL);
		if (rtext == NULL) {
			fprintf(stderr, "vledger verify-certificate: %s: %s\n", receipt_path, strerror(errno));
			rc = 2;
			goto out;
		}
		rdoc = json_loads(rtext, 0, &jerr);
		receipt = json_object_get(rdoc, "receipt") != NULL ? json_object_get(rdoc, "receipt") : rdoc;
		if (!receipt_check(vkey, receipt, NULL, 0, &entry, &entry_len))
			goto out;
		if (entry == NULL) {
			fprintf(stderr, "FAIL: the receipt carries no entry to compare with the credential\n");
			goto out;
		}
		if (!issued_entry_check((const char *)entry, credential))
			goto out;
	}
	printf("VALID: certificate %s (signature%s); revocation is only known online: vledger VerifyCertificate or"
	    " /verify\n", json_string_value(json_object_get(credential, "certificateNumber")) != NULL ?
	    json_string_value(json_object_get(credential, "certificateNumber")) : "(no number)",
	    receipt_path != NULL ? " and log inclusion" : "");
	rc = 0;
out:
	json_decref(doc);
	json_decref(credential);
	json_decref(rdoc);
	free(key);
	free(vkey);
	free(text);
	free(rtext);
	free(entry);
	return rc;
}

/*
 * audit
 */

struct tree_levels {
	uint8_t (*levels[MERKLE_MAX_LEVELS])[MERKLE_HASH_LEN];
	uint64_t counts[MERKLE_MAX_LEVELS];
};

static bool
levels_node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN], struct vl_error *err)
{
	struct tree_levels *t = ctx;

	if (level >= MERKLE_MAX_LEVELS || index >= t->counts[level])
		return vl_error_set(err, VL_INTERNAL, "node (%u, %" PRIu64 ") missing", level, index);
	memcpy(out, t->levels[level][index], MERKLE_HASH_LEN);
	return true;
}

static char *
fetch_tile(const struct http_url *url, const struct tile_ref *ref, size_t *len, char *path, size_t path_len)
{
	char rel[128], *body;
	int status;

	if (!tile_path_format(ref, rel, sizeof(rel)))
		return NULL;
	snprintf(path, path_len, "/log/%s", rel);
	status = http_fetch(url, "GET", path, NULL, NULL, NULL, 0, &body, len);
	if (status != 200) {
		free(body);
		return NULL;
	}
	return body;
}

/* Fetches every entry bundle and hash tile of the tree of `size` leaves,
 * checks them against each other, and recomputes the root. */
static bool
audit_full(const struct http_url *url, uint64_t size, const uint8_t root[MERKLE_HASH_LEN])
{
	struct tree_levels t;
	struct tile_ref ref;
	uint8_t computed[MERKLE_HASH_LEN];
	char path[160], *body;
	size_t len, off;
	uint64_t n, i, j;
	unsigned level, w;
	struct vl_error err;
	bool ok = false;

	memset(&t, 0, sizeof(t));
	t.counts[0] = size;
	t.levels[0] = xcalloc(size + 1, MERKLE_HASH_LEN);
	for (n = 0; n * TILE_WIDTH < size; n++) {
		memset(&ref, 0, sizeof(ref));
		ref.entries = true;
		ref.index = n;
		ref.width = (unsigned)(size - n * TILE_WIDTH >= TILE_WIDTH ? TILE_WIDTH : size - n * TILE_WIDTH);
		body = fetch_tile(url, &ref, &len, path, sizeof(path));
		if (body == NULL) {
			fprintf(stderr, "FAIL: cannot fetch %s\n", path);
			goto out;
		}
		for (off = 0, w = 0; w < ref.width; w++) {
			size_t item;

			if (off + 2 > len || off + 2 + (item = (size_t)((uint8_t)body[off] << 8 | (uint8_t)body[off + 1])) > len) {
				fprintf(stderr, "FAIL: %s is truncated at entry %u\n", path, w);
				free(body);
				goto out;
			}
			merkle_leaf_hash(body + off + 2, item, t.levels[0][n * TILE_WIDTH + w]);
			off += 2 + item;
		}
		free(body);
		if (off != len) {
			fprintf(stderr, "FAIL: %s has bytes after its %u entries\n", path, ref.width);
			goto out;
		}
	}
	for (level = 1; level < MERKLE_MAX_LEVELS && t.counts[level - 1] >= 2; level++) {
		t.counts[level] = t.counts[level - 1] / 2;
		t.levels[level] = xcalloc(t.counts[level], MERKLE_HASH_LEN);
		for (i = 0; i < t.counts[level]; i++)
			merkle_node_hash(t.levels[level - 1][2 * i], t.levels[level - 1][2 * i + 1], t.levels[level][i]);
	}
	/* Every hash tile must hold exactly the hashes the entries imply. */
	for (level = 0; level * TILE_HEIGHT < MERKLE_MAX_LEVELS && t.counts[level * TILE_HEIGHT] > 0; level++) {
		uint64_t nodes = t.counts[level * TILE_HEIGHT];

		for (n = 0; n * TILE_WIDTH < nodes; n++) {
			memset(&ref, 0, sizeof(ref));
			ref.level = level;
			ref.index = n;
			ref.width = (unsigned)(nodes - n * TILE_WIDTH >= TILE_WIDTH ? TILE_WIDTH : nodes - n * TILE_WIDTH);
			body = fetch_tile(url, &ref, &len, path, sizeof(path));
			if (body == NULL || len != (size_t)ref.width * MERKLE_HASH_LEN) {
				fprintf(stderr, "FAIL: cannot fetch %s (or it has the wrong length)\n", path);
				free(body);
				goto out;
			}
			for (j = 0; j < ref.width; j++)
				if (memcmp(body + j * MERKLE_HASH_LEN, t.levels[level * TILE_HEIGHT][n * TILE_WIDTH + j],
				    MERKLE_HASH_LEN) != 0) {
					fprintf(stderr, "FAIL: %s hash %" PRIu64 " does not match the entries\n", path, j);
					free(body);
					goto out;
				}
			free(body);
		}
	}
	if (!merkle_root(size, levels_node, &t, computed, &err) || memcmp(computed, root, MERKLE_HASH_LEN) != 0) {
		fprintf(stderr, "FAIL: the root recomputed from all %" PRIu64 " entries differs from the checkpoint's\n", size);
		goto out;
	}
	ok = true;
out:
	for (level = 0; level < MERKLE_MAX_LEVELS; level++)
		free(t.levels[level]);
	return ok;
}

/* Asks the server for the consistency proof between two sizes and checks it. */
static bool
audit_consistency(const struct http_url *url, uint64_t old_size, const uint8_t old_root[MERKLE_HASH_LEN],
    uint64_t new_size, const uint8_t new_root[MERKLE_HASH_LEN])
{
	char body[96], *response = NULL;
	uint8_t (*proof)[MERKLE_HASH_LEN] = NULL;
	json_t *doc = NULL, *hashes;
	json_error_t jerr;
	size_t count, i;
	bool ok = false;
	int status;

	snprintf(body, sizeof(body), "{\"fromSize\":\"%" PRIu64 "\",\"toSize\":\"%" PRIu64 "\"}", old_size, new_size);
	status = cli_call_json(url, "vledger.v1.LogService/GetConsistencyProof", NULL, body, &response);
	if (status != 200 || (doc = json_loads(response, 0, &jerr)) == NULL) {
		fprintf(stderr, "FAIL: no consistency proof from %" PRIu64 " to %" PRIu64 " (HTTP %d): %s\n", old_size,
		    new_size, status, response != NULL ? response : "");
		goto out;
	}
	hashes = json_object_get(doc, "hashes");
	count = json_array_size(hashes);
	proof = xcalloc(count + 1, MERKLE_HASH_LEN);
	for (i = 0; i < count; i++)
		if (!json_b64(json_array_get(hashes, i), proof[i], MERKLE_HASH_LEN, NULL, NULL))
			goto bad;
	if (merkle_verify_consistency(old_size, new_size, old_root, new_root, (const uint8_t (*)[MERKLE_HASH_LEN])proof,
	    count)) {
		ok = true;
		goto out;
	}
bad:
	fprintf(stderr, "FAIL: the log at size %" PRIu64 " is not an extension of the one seen at size %" PRIu64
	    " (consistency proof does not verify): a fork or a rewrite\n", new_size, old_size);
out:
	json_decref(doc);
	free(proof);
	free(response);
	return ok;
}

static bool
save_state(const char *path, const char *note)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	bool ok = f != NULL && fputs(note, f) >= 0 && fclose(f) == 0 && rename(tmp, path) == 0;

	if (!ok)
		fprintf(stderr, "vledger audit: cannot write %s: %s\n", path, strerror(errno));
	free(tmp);
	return ok;
}

int
cli_audit(const struct http_url *url, int argc, char **argv)
{
	const char *vkey_arg = NULL, *state_path = NULL;
	uint8_t root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN];
	char *vkey = NULL, *note = NULL, *old_note = NULL, *origin = NULL, *old_origin = NULL;
	uint64_t size, old_size;
	struct vl_error err;
	bool full = false, have_old = false;
	size_t len;
	int a, status, rc = 1;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--vkey") == 0 && a + 1 < argc)
			vkey_arg = argv[++a];
		else if (strcmp(argv[a], "--state") == 0 && a + 1 < argc)
			state_path = argv[++a];
		else if (strcmp(argv[a], "--full") == 0)
			full = true;
		else
			vkey_arg = NULL, a = argc;
	}
	if (vkey_arg == NULL || state_path == NULL) {
		fprintf(stderr, "usage: vledger [--url URL] audit --vkey VKEY --state FILE [--full]\n");
		return 2;
	}
	vkey = load_vkey(vkey_arg);
	status = http_fetch(url, "GET", "/log/checkpoint", NULL, NULL, NULL, 0, &note, &len);
	if (status != 200) {
		fprintf(stderr, "vledger audit: GET /log/checkpoint: HTTP %d\n", status);
		rc = 2;
		goto out;
	}
	if (!checkpoint_check(vkey, note, &origin, &size, root, &err)) {
		fprintf(stderr, "FAIL: the served checkpoint: %s\n", err.message);
		goto out;
	}
	old_note = read_file(state_path, NULL);
	if (old_note != NULL) {
		if (!checkpoint_check(vkey, old_note, &old_origin, &old_size, old_root, &err)) {
			fprintf(stderr, "FAIL: the checkpoint kept in %s: %s\n", state_path, err.message);
			goto out;
		}
		have_old = true;
		if (strcmp(old_origin, origin) != 0) {
			fprintf(stderr, "FAIL: origin changed from %s to %s\n", old_origin, origin);
			goto out;
		}
		if (size < old_size) {
			fprintf(stderr, "FAIL: the log shrank from %" PRIu64 " to %" PRIu64 " entries\n", old_size, size);
			goto out;
		}
		if (!audit_consistency(url, old_size, old_root, size, root))
			goto out;
	} else if (errno != ENOENT) {
		fprintf(stderr, "vledger audit: %s: %s\n", state_path, strerror(errno));
		rc = 2;
		goto out;
	}
	if (full && !audit_full(url, size, root))
		goto out;
	if (!save_state(state_path, note)) {
		rc = 2;
		goto out;
	}
	if (have_old)
		printf("ok: log %s grew from %" PRIu64 " to %" PRIu64 " entries consistently%s\n", origin, old_size, size,
		    full ? "; every tile and entry matches the root" : "");
	else
		printf("ok: log %s at %" PRIu64 " entries, checkpoint signature valid%s; kept in %s\n", origin, size,
		    full ? "; every tile and entry matches the root" : "", state_path);
	rc = 0;
out:
	free(vkey);
	free(note);
	free(old_note);
	free(origin);
	free(old_origin);
	return rc;
}
