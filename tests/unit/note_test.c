/*
 * note_test.c - signed notes, key files and checkpoint bodies.
 *
 * The fixed vectors are the PeterNeumann and EnochRoot examples from the
 * documentation of golang.org/x/mod/sumdb/note (example_test.go): the key
 * there is given as a raw seed, which this test wraps in a PKCS#8 file.
 * Key ids and vkeys are also recomputed here from the documented byte
 * layout, independently of note.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "vledger/encoding.h"
#include "vledger/note.h"

#include "check.h"

#define ERR (&e_)

static char dir[] = "/tmp/note_test.XXXXXX";

static const char peter_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char peter_skey64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char peter_text[] = "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char peter_note[] = "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
/* The EnochRoot key is the one Go derives from an all-zero seed. */
static const char enoch_line[] =
    "\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

static char *
path_in_dir(const char *file)
{
	char *p = malloc(strlen(dir) + strlen(file) + 2);

	CHECK(p != NULL);
	sprintf(p, "%s/%s", dir, file);
	return p;
}

/* Writes pkey to a new file as PEM with `mode`. */
static void
write_key(const char *path, EVP_PKEY *pkey, mode_t mode, bool traditional)
{
	BIO *b = BIO_new_file(path, "w");

	CHECK(b != NULL);
	if (traditional)
		CHECK(PEM_write_bio_PrivateKey_traditional(b, pkey, NULL, NULL, 0, NULL, NULL) == 1);
	else
		CHECK(PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL) == 1);
	CHECK(BIO_free(b) == 1);
	CHECK(chmod(path, mode) == 0);
}

/* A signer for the Ed25519 key with this 32-byte seed. */
static struct note_signer *
signer_from_seed(const uint8_t seed[32], const char *name, const char *file)
{
	struct note_signer *s;
	struct vl_error err;
	EVP_PKEY *pkey;
	char *path = path_in_dir(file);

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	CHECK(pkey != NULL);
	write_key(path, pkey, 0600, false);
	EVP_PKEY_free(pkey);
	if (!note_signer_load(path, name, &s, &err)) {
		fprintf(stderr, "load %s: %s\n", path, err.message);
		exit(1);
	}
	free(path);
	return s;
}

/* The vkey computed here from the raw public key, the way the spec says. */
static void
expected_vkey(const char *name, const uint8_t pub[32], char *out, size_t outsz)
{
	uint8_t buf[256], md[32], raw[33];
	unsigned char b64[64];
	unsigned int mdlen;
	size_t n = strlen(name);
	uint32_t id;

	CHECK(n + 34 <= sizeof(buf));
	memcpy(buf, name, n);
	buf[n] = 0x0a;
	buf[n + 1] = 0x01;
	memcpy(buf + n + 2, pub, 32);
	CHECK(EVP_Digest(buf, n + 34, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32);
	id = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
	raw[0] = 0x01;
	memcpy(raw + 1, pub, 32);
	CHECK(EVP_EncodeBlock(b64, raw, 33) == 44);
	snprintf(out, outsz, "%s+%08" PRIx32 "+%s", name, id, (char *)b64);
}

static bool
verifies(const char *vkey, const char *note, size_t len)
{
	struct vl_error err;
	char *text = NULL;
	bool ok = note_verify(vkey, note, len, &text, &err);

	CHECK(ok == (text != NULL));
	free(text);
	return ok;
}

static char *
sign(const struct note_signer *s, const char *text)
{
	struct vl_error err;
	char *note;

	if (!note_sign(s, text, strlen(text), &note, &err)) {
		fprintf(stderr, "note_sign: %s\n", err.message);
		exit(1);
	}
	return note;
}

static char *
concat(const char *a, const char *b)
{
	char *r = malloc(strlen(a) + strlen(b) + 1);

	CHECK(r != NULL);
	strcpy(r, a);
	strcat(r, b);
	return r;
}

static void
test_fixed_vectors(void)
{
	static const uint8_t zero[32];
	struct note_signer *peter, *enoch;
	uint8_t *raw;
	size_t rawlen;
	char *note, *two, *text, vk[128];
	struct vl_error err;

	/* Go's skey is base64(0x01 || seed). */
	CHECK(base64_decode(peter_skey64, strlen(peter_skey64), &raw, &rawlen));
	CHECK(rawlen == 33 && raw[0] == 0x01);
	peter = signer_from_seed(raw + 1, "PeterNeumann", "peter.pem");
	free(raw);
	CHECK(strcmp(note_signer_vkey(peter), peter_vkey) == 0);
	CHECK(note_signer_key_id(peter) == 0xc74f20a3);
	CHECK(strcmp(note_signer_name(peter), "PeterNeumann") == 0);

	/* Ed25519 is deterministic: our signature is byte for byte Go's. */
	note = sign(peter, peter_text);
	CHECK(strcmp(note, peter_note) == 0);
	free(note);

	CHECK(note_verify(peter_vkey, peter_note, strlen(peter_note), &text, &err));
	CHECK(strcmp(text, peter_text) == 0);
	free(text);

	/* The two-signature note of ExampleSign_add_signatures. */
	enoch = signer_from_seed(zero, "EnochRoot", "enoch.pem");
	note = sign(enoch, peter_text);
	CHECK(strstr(note, enoch_line) != NULL);
	two = concat(peter_note, enoch_line);
	CHECK(verifies(peter_vkey, two, strlen(two)));
	CHECK(verifies(note_signer_vkey(enoch), two, strlen(two)));
	/* Independent derivation of Enoch's vkey. */
	{
		EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, zero, 32);
		uint8_t pub[32];
		size_t publen = 32;

		CHECK(pk != NULL && EVP_PKEY_get_raw_public_key(pk, pub, &publen) == 1 && publen == 32);
		EVP_PKEY_free(pk);
		expected_vkey("EnochRoot", pub, vk, sizeof(vk));
		CHECK(strcmp(vk, note_signer_vkey(enoch)) == 0);
	}
	free(two);
	free(note);
	note_signer_free(peter);
	note_signer_free(enoch);
}

static void
test_keys_and_roundtrip(void)
{
	struct note_signer *s, *s2, *other;
	struct stat st;
	char *path = path_in_dir("log.pem"), *path2 = path_in_dir("other.pem"), *note, *text, vk[256];
	const char *body = "vledger.local/log\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
	uint8_t pub[32];
	size_t publen = sizeof(pub);
	struct vl_error err;
	EVP_PKEY *pk;
	FILE *f;

	CHECK(note_key_generate(path, &err));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK_ERR(note_key_generate(path, ERR), VL_ALREADY_EXISTS, path);
	CHECK(note_signer_load(path, "vledger.local/log", &s, &err));

	/* The file is standard PKCS#8 that OpenSSL reads back; the vkey is
	 * recomputed from its public key. */
	f = fopen(path, "r");
	CHECK(f != NULL);
	{
		char line[64];

		CHECK(fgets(line, sizeof(line), f) != NULL && strcmp(line, "-----BEGIN PRIVATE KEY-----\n") == 0);
		rewind(f);
	}
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	CHECK(pk != NULL && EVP_PKEY_is_a(pk, "ED25519"));
	CHECK(EVP_PKEY_get_raw_public_key(pk, pub, &publen) == 1 && publen == 32);
	EVP_PKEY_free(pk);
	expected_vkey("vledger.local/log", pub, vk, sizeof(vk));
	CHECK(strcmp(vk, note_signer_vkey(s)) == 0);

	/* Round trip, and the exact layout of the signature line. */
	note = sign(s, body);
	CHECK(strncmp(note, body, strlen(body)) == 0);
	CHECK(strncmp(note + strlen(body), "\n\xe2\x80\x94 vledger.local/log ", 23) == 0);
	CHECK(strlen(note) == strlen(body) + 23 + 92 + 1 && note[strlen(note) - 1] == '\n');
	CHECK(note_verify(note_signer_vkey(s), note, strlen(note), &text, &err));
	CHECK(strcmp(text, body) == 0);
	free(text);
	CHECK(note_verify(note_signer_vkey(s), note, strlen(note), NULL, &err));

	/* Every single-bit change anywhere (text, separator, name, key id,
	 * signature) is refused. */
	{
		size_t len = strlen(note), i;
		unsigned bit;

		for (i = 0; i < len; i++) {
			for (bit = 0; bit < 8; bit++) {
				note[i] ^= (char)(1u << bit);
				if (verifies(note_signer_vkey(s), note, len)) {
					fprintf(stderr, "verified with byte %zu bit %u flipped\n", i, bit);
					exit(1);
				}
				note[i] ^= (char)(1u << bit);
			}
		}
		CHECK(verifies(note_signer_vkey(s), note, len));
		/* Truncations too. */
		for (i = 0; i < len; i++)
			CHECK(!verifies(note_signer_vkey(s), note, i));
	}

	/* A wrong key: same name, another key (so another id). */
	CHECK(note_key_generate(path2, &err));
	CHECK(note_signer_load(path2, "vledger.local/log", &other, &err));
	CHECK(strcmp(note_signer_vkey(other), note_signer_vkey(s)) != 0);
	CHECK_ERR(note_verify(note_signer_vkey(other), note, strlen(note), NULL, ERR), VL_PERMISSION_DENIED,
	    "no signature by vledger.local/log+");

	/* Signed by both: verifies with either key, in either order. */
	{
		char *n2 = sign(other, body), *both, *both2;

		both = concat(note, n2 + strlen(body) + 1);
		both2 = concat(n2, note + strlen(body) + 1);
		CHECK(verifies(note_signer_vkey(s), both, strlen(both)));
		CHECK(verifies(note_signer_vkey(other), both, strlen(both)));
		CHECK(verifies(note_signer_vkey(s), both2, strlen(both2)));
		CHECK(verifies(note_signer_vkey(other), both2, strlen(both2)));
		free(both);
		free(both2);

		/* A second line claiming our name and id that does not
		 * verify sinks the note even though the first one does. */
		{
			char *bad = strdup(note + strlen(body) + 1), *p;

			p = strrchr(bad, ' ') + 10;	/* inside the signature */
			*p = *p == 'A' ? 'B' : 'A';
			both = concat(note, bad);
			CHECK_ERR(note_verify(note_signer_vkey(s), both, strlen(both), NULL, ERR),
			    VL_PERMISSION_DENIED, "does not verify");
			free(both);
			free(bad);
		}
		free(n2);
	}

	/* Unknown keys' lines are skipped, whatever their length (a 76-byte
	 * witness cosignature here) or name/id overlap with ours. */
	{
		uint8_t junk[76];
		char *b64, *line, *n3;

		memset(junk, 0x5a, sizeof(junk));
		b64 = base64_encode(junk, sizeof(junk), false);
		line = malloc(strlen(b64) + 64);
		CHECK(line != NULL);
		sprintf(line, "\xe2\x80\x94 witness.example/w %s\n", b64);
		n3 = concat(note, line);
		CHECK(verifies(note_signer_vkey(s), n3, strlen(n3)));
		free(n3);
		/* Our name, another id. */
		sprintf(line, "\xe2\x80\x94 vledger.local/log %s\n", b64);
		n3 = concat(note, line);
		CHECK(verifies(note_signer_vkey(s), n3, strlen(n3)));
		free(n3);
		free(line);
		free(b64);
	}

	/* load_or_create. */
	{
		char *p3 = path_in_dir("fresh.pem");
		struct note_signer *a, *b;
		bool created;

		CHECK(note_signer_load_or_create(p3, "vledger.local/log", &created, &a, &err));
		CHECK(created);
		CHECK(stat(p3, &st) == 0 && (st.st_mode & 07777) == 0600);
		CHECK(note_signer_load_or_create(p3, "vledger.local/log", &created, &b, &err));
		CHECK(!created);
		CHECK(strcmp(note_signer_vkey(a), note_signer_vkey(b)) == 0);
		note_signer_free(a);
		note_signer_free(b);
		CHECK_ERR(note_signer_load_or_create(p3, "bad name", &created, &a, ERR), VL_INVALID_ARGUMENT,
		    "key name");
		CHECK(a == NULL);
		free(p3);
	}

	/* The same key under another name is another key id. */
	CHECK(note_signer_load(path, "vledger.local/other", &s2, &err));
	CHECK(note_signer_key_id(s2) != note_signer_key_id(s));
	CHECK(!verifies(note_signer_vkey(s2), note, strlen(note)));
	note_signer_free(s2);

	free(note);
	note_signer_free(s);
	note_signer_free(other);
	free(path);
	free(path2);
}

static void
test_key_file_refusals(void)
{
	struct note_signer *s = (struct note_signer *)1;
	char *path = path_in_dir("perm.pem"), *p;
	struct vl_error err;
	EVP_PKEY *pk;
	mode_t old;
	struct stat st;
	FILE *f;

	CHECK(note_key_generate(path, &err));
	CHECK(chmod(path, 0644) == 0);
	CHECK_ERR(note_signer_load(path, "x", &s, ERR), VL_FAILED_PRECONDITION, "must be mode 0600 (is 0644)");
	CHECK(s == NULL);
	CHECK(chmod(path, 0640) == 0);
	CHECK_ERR(note_signer_load(path, "x", &s, ERR), VL_FAILED_PRECONDITION, "must be mode 0600");
	CHECK(chmod(path, 0602) == 0);
	CHECK_ERR(note_signer_load(path, "x", &s, ERR), VL_FAILED_PRECONDITION, "must be mode 0600");
	CHECK(chmod(path, 0400) == 0);
	CHECK(note_signer_load(path, "x", &s, &err));
	note_signer_free(s);
	free(path);

	/* Missing file. */
	p = path_in_dir("missing.pem");
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_NOT_FOUND, "missing.pem");
	free(p);

	/* Bad names are refused before the file is touched. */
	{
		static const char *const bad[] = {
			"", "a b", "a+b", "a\tb", "a\nb", "a\xc2\xa0" "b", "a\xe2\x80\x83" "b", "a\xe3\x80\x80" "b",
			"\xff", "a\xc0\xaf", "a\x01",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK(!note_name_valid(bad[i], strlen(bad[i])));
			CHECK_ERR(note_signer_load("/nonexistent", bad[i], &s, ERR), VL_INVALID_ARGUMENT, "key name");
		}
		CHECK(note_name_valid("vledger.local/log", 17));
		CHECK(note_name_valid("caf\xc3\xa9", 5));
	}

	/* Other key types, in PKCS#8 and in the traditional formats. */
	p = path_in_dir("rsa.pem");
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	CHECK(pk != NULL);
	write_key(p, pk, 0600, false);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "holds a key of type RSA; signing needs Ed25519");
	CHECK(unlink(p) == 0);
	write_key(p, pk, 0600, true);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "not a PKCS#8 PEM private key");
	EVP_PKEY_free(pk);
	free(p);

	p = path_in_dir("ec.pem");
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CHECK(pk != NULL);
	write_key(p, pk, 0600, false);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "holds a key of type EC;");
	CHECK(unlink(p) == 0);
	write_key(p, pk, 0600, true);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "EC PRIVATE KEY");
	EVP_PKEY_free(pk);
	free(p);

	p = path_in_dir("x25519.pem");
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	CHECK(pk != NULL);
	write_key(p, pk, 0600, false);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "key of type X25519");
	EVP_PKEY_free(pk);
	free(p);

	/* An encrypted key is refused without prompting for a passphrase. */
	p = path_in_dir("enc.pem");
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CHECK(pk != NULL);
	f = fopen(p, "w");
	CHECK(f != NULL);
	CHECK(PEM_write_PKCS8PrivateKey(f, pk, EVP_aes_256_cbc(), "secret", 6, NULL, NULL) == 1);
	fclose(f);
	CHECK(chmod(p, 0600) == 0);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "ENCRYPTED PRIVATE KEY");
	free(p);

	/* A public key, and garbage. */
	p = path_in_dir("pub.pem");
	f = fopen(p, "w");
	CHECK(f != NULL);
	CHECK(PEM_write_PUBKEY(f, pk) == 1);
	fclose(f);
	CHECK(chmod(p, 0600) == 0);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "not a PKCS#8 PEM private key");
	EVP_PKEY_free(pk);
	f = fopen(p, "w");
	CHECK(f != NULL);
	fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "not a PKCS#8 PEM private key");
	f = fopen(p, "w");
	CHECK(f != NULL);
	fputs("hello\n", f);
	fclose(f);
	CHECK_ERR(note_signer_load(p, "x", &s, ERR), VL_FAILED_PRECONDITION, "no PEM block");
	free(p);

	/* A directory is not a key file. */
	CHECK_ERR(note_signer_load(dir, "x", &s, ERR), VL_FAILED_PRECONDITION, "not a regular file");

	/* O_EXCL: a dangling symlink is not followed to create its target. */
	p = path_in_dir("link.pem");
	{
		char *target = path_in_dir("target.pem");

		CHECK(symlink(target, p) == 0);
		CHECK_ERR(note_key_generate(p, ERR), VL_ALREADY_EXISTS, "link.pem: key file already exists");
		CHECK(access(target, F_OK) == -1 && errno == ENOENT);
		free(target);
	}
	free(p);

	/* Whatever the umask, the key is written 0600. */
	old = umask(0);
	p = path_in_dir("umask0.pem");
	CHECK(note_key_generate(p, &err));
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
	free(p);
	umask(0277);
	p = path_in_dir("umask277.pem");
	CHECK(note_key_generate(p, &err));
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(note_signer_load(p, "x", &s, &err));
	note_signer_free(s);
	free(p);
	umask(old);

	/* Unwritable location. */
	CHECK_ERR(note_key_generate("/nonexistent/dir/key.pem", ERR), VL_INTERNAL, "/nonexistent/dir/key.pem");
}

static void
test_malformed(void)
{
	static const uint8_t seed[32] = { 1, 2, 3 };
	struct note_signer *s = signer_from_seed(seed, "example.com/log", "m.pem");
	const char *vkey = note_signer_vkey(s);
	char *note = sign(s, "hello\n"), *sigline = strstr(note, "\n\n") + 2, *t, buf[512];
	struct vl_error err;

	CHECK(verifies(vkey, note, strlen(note)));

	/* Missing blank line. */
	snprintf(buf, sizeof(buf), "hello\n%s", sigline);
	CHECK_ERR(note_verify(vkey, buf, strlen(buf), NULL, ERR), VL_INVALID_ARGUMENT, "no blank line");
	/* No signature lines. */
	CHECK_ERR(note_verify(vkey, "hello\n\n", 7, NULL, ERR), VL_INVALID_ARGUMENT, "no signature lines");
	CHECK_ERR(note_verify(vkey, "", 0, NULL, ERR), VL_INVALID_ARGUMENT, "no blank line");
	/* A blank line after the signatures moves the split past them. */
	t = concat(note, "\n");
	CHECK_ERR(note_verify(vkey, t, strlen(t), NULL, ERR), VL_INVALID_ARGUMENT, "no signature lines");
	free(t);
	/* Trailing garbage, with and without a newline. */
	t = concat(note, "garbage");
	CHECK_ERR(note_verify(vkey, t, strlen(t), NULL, ERR), VL_INVALID_ARGUMENT, "end with a newline");
	free(t);
	t = concat(note, "garbage\n");
	CHECK_ERR(note_verify(vkey, t, strlen(t), NULL, ERR), VL_INVALID_ARGUMENT, "must start with");
	free(t);
	/* Bad base64 in the signature. */
	snprintf(buf, sizeof(buf), "hello\n\n\xe2\x80\x94 example.com/log !!!!\n");
	CHECK_ERR(note_verify(vkey, buf, strlen(buf), NULL, ERR), VL_INVALID_ARGUMENT, "invalid base64");
	snprintf(buf, sizeof(buf), "hello\n\n\xe2\x80\x94 example.com/log AAAA\n");	/* 3 bytes: no room for a key id + signature */
	CHECK_ERR(note_verify(vkey, buf, strlen(buf), NULL, ERR), VL_INVALID_ARGUMENT, "invalid base64");
	/* URL-safe and unpadded spellings of our own signature. */
	strcpy(buf, note);
	t = strrchr(buf, '=');
	CHECK(t != NULL);
	memmove(t, t + 1, strlen(t + 1) + 1);
	CHECK_ERR(note_verify(vkey, buf, strlen(buf), NULL, ERR), VL_INVALID_ARGUMENT, "invalid base64");
	/* No space between name and signature; "--" instead of the dash. */
	snprintf(buf, sizeof(buf), "hello\n\n\xe2\x80\x94 example.com/log\n");
	CHECK_ERR(note_verify(vkey, buf, strlen(buf), NULL, ERR), VL_INVALID_ARGUMENT, "no signature");
	snprintf(buf, sizeof(buf), "hello\n\n-- %s", sigline + 4);
	CHECK_ERR(note_verify(vkey, buf, strlen(buf), NULL, ERR), VL_INVALID_ARGUMENT, "must start with");
	/* Control characters and invalid UTF-8 anywhere. */
	snprintf(buf, sizeof(buf), "hel\rlo\n\n%s", sigline);
	CHECK_ERR(note_verify(vkey, buf, strlen(buf), NULL, ERR), VL_INVALID_ARGUMENT, "control characters");
	snprintf(buf, sizeof(buf), "hel\xc3lo\n\n%s", sigline);
	CHECK_ERR(note_verify(vkey, buf, strlen(buf), NULL, ERR), VL_INVALID_ARGUMENT, "UTF-8");
	CHECK_ERR(note_verify(vkey, note, strlen(note) + 1, NULL, ERR), VL_INVALID_ARGUMENT, "control characters");

	/* Too many signature lines (all unknown): refused, not looped over. */
	{
		size_t cap = 200 * 120 + 64, n, i;
		char *big = malloc(cap);

		CHECK(big != NULL);
		n = (size_t)sprintf(big, "hello\n\n");
		for (i = 0; i <= NOTE_MAX_SIGNATURES; i++)
			n += (size_t)sprintf(big + n, "\xe2\x80\x94 other%zu AAAAAAAA\n", i);
		CHECK_ERR(note_verify(vkey, big, n, NULL, ERR), VL_INVALID_ARGUMENT, "more than");
		free(big);
	}

	/* Bad vkeys. */
	CHECK_ERR(note_verify("nonsense", note, strlen(note), NULL, ERR), VL_INVALID_ARGUMENT, "vkey: malformed");
	CHECK_ERR(note_verify("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", note, strlen(note),
	    NULL, ERR), VL_INVALID_ARGUMENT, "8 hex digits");
	CHECK_ERR(note_verify("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", note, strlen(note),
	    NULL, ERR), VL_INVALID_ARGUMENT, "key id does not match");
	CHECK_ERR(note_verify("PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", note, strlen(note),
	    NULL, ERR), VL_INVALID_ARGUMENT, "key id does not match");
	CHECK_ERR(note_verify("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", note, strlen(note),
	    NULL, ERR), VL_INVALID_ARGUMENT, "unsupported signature type");
	CHECK_ERR(note_verify("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAAAA", note,
	    strlen(note), NULL, ERR), VL_INVALID_ARGUMENT, "32 bytes");
	/* Go accepts this one (its test of a wrong-length key); base64 with
	 * non-zero padding bits is refused here before the length is seen. */
	CHECK_ERR(note_verify("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", note,
	    strlen(note), NULL, ERR), VL_INVALID_ARGUMENT, "invalid base64");
	CHECK_ERR(note_verify("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW", note, strlen(note),
	    NULL, ERR), VL_INVALID_ARGUMENT, "invalid base64");
	CHECK_ERR(note_verify("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", note, strlen(note),
	    NULL, ERR), VL_INVALID_ARGUMENT, "invalid key name");
	/* A valid vkey in upper-case hex is the same key. */
	{
		char upper[128];
		size_t i;

		strcpy(upper, vkey);
		for (i = strlen("example.com/log+"); i < strlen("example.com/log+") + 8; i++)
			if (upper[i] >= 'a' && upper[i] <= 'f')
				upper[i] = (char)(upper[i] - 'a' + 'A');
		CHECK(verifies(upper, note, strlen(note)));
	}

	/* note_sign refuses what cannot be a note text. */
	{
		static const char *const bad[] = {
			"", "no newline", "a\r\n", "tab\there\n", "bad\xff\n",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			size_t len = strlen(bad[i]);

			t = (char *)1;
			CHECK_ERR(note_sign(s, bad[i], len, &t, ERR), VL_INVALID_ARGUMENT, "note text");
			CHECK(t == NULL);
		}
		CHECK_ERR(note_sign(s, "a\0b\n", 4, &t, ERR), VL_INVALID_ARGUMENT, "control characters");
	}
	/* Texts with blank lines of their own round-trip. */
	{
		static const char *const ok[] = { "a\n\nb\n", "a\n\n", "\n", "caf\xc3\xa9\n",
		    "looks like\n\n\xe2\x80\x94 a signature AAAA\n" };
		size_t i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			char *n = sign(s, ok[i]);

			CHECK(note_verify(vkey, n, strlen(n), &t, &err));
			CHECK(strcmp(t, ok[i]) == 0);
			free(t);
			free(n);
		}
	}
	free(note);
	note_signer_free(s);
}

static void
test_checkpoint(void)
{
	static const char empty_root64[] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	uint8_t root[32], got[32];
	uint64_t size;
	char *body, *origin, buf[256];
	struct vl_error err;
	unsigned int mdlen;
	size_t i;

	/* SHA-256("") is the empty tree's root. */
	CHECK(EVP_Digest("", 0, root, &mdlen, EVP_sha256(), NULL) == 1);
	body = checkpoint_body("vledger.local/log", 0, root);
	CHECK(body != NULL);
	snprintf(buf, sizeof(buf), "vledger.local/log\n0\n%s\n", empty_root64);
	CHECK(strcmp(body, buf) == 0);
	CHECK(checkpoint_parse(body, strlen(body), &origin, &size, got, &err));
	CHECK(strcmp(origin, "vledger.local/log") == 0 && size == 0 && memcmp(got, root, 32) == 0);
	free(origin);
	free(body);

	for (i = 0; i < 32; i++)
		root[i] = (uint8_t)(0xff - i);
	body = checkpoint_body("example.com/behind-the-sofa", UINT64_MAX, root);
	CHECK(body != NULL && strstr(body, "\n18446744073709551615\n") != NULL);
	CHECK(checkpoint_parse(body, strlen(body), &origin, &size, got, &err));
	CHECK(strcmp(origin, "example.com/behind-the-sofa") == 0 && size == UINT64_MAX && memcmp(got, root, 32) == 0);
	free(origin);
	free(body);

	/* The example of c2sp.org/tlog-checkpoint, and extension lines. */
	{
		const char *ex = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
		char *ext;

		CHECK(checkpoint_parse(ex, strlen(ex), &origin, &size, got, &err));
		CHECK(size == 20852163 && got[0] == 0x0a && got[31] == 0x62);
		free(origin);
		ext = concat(ex, "extension one\nanother\n");
		CHECK(checkpoint_parse(ext, strlen(ext), &origin, &size, got, &err));
		CHECK(size == 20852163);
		free(origin);
		free(ext);
	}

	CHECK(checkpoint_body("", 1, root) == NULL);
	CHECK(checkpoint_body("a b", 1, root) == NULL);
	CHECK(checkpoint_body("a\nb", 1, root) == NULL);
	CHECK(checkpoint_body("a+b", 1, root) == NULL);

	{
		static const struct { const char *text, *msg; } bad[] = {
			{ "o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "leading zero" },
			{ "o\n00\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "leading zero" },
			{ "o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "not a decimal" },
			{ "o\n+1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "not a decimal" },
			{ "o\n 1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "not a decimal" },
			{ "o\n1 \n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "not a decimal" },
			{ "o\n0x1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "not a decimal" },
			{ "o\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "out of range" },
			{ "o\n\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "empty tree size" },
			{ "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hS\n", "32 bytes" },		/* 30 bytes */
			{ "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFVV\n", "32 bytes" },	/* 33 bytes */
			{ "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n", "32 bytes" },		/* unpadded */
			{ "o\n1\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n", "32 bytes" },	/* URL-safe */
			{ "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", "32 bytes" },	/* non-canonical */
			{ "o\n1\n\n", "32 bytes" },
			{ "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "newline" },
			{ "o\n1\n", "no root hash" },
			{ "o\n1", "newline" },
			{ "o\n", "no tree size" },
			{ "", "newline" },
			{ "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "empty origin" },
			{ "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n", "empty extension" },
			{ "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n\n", "empty extension" },
			{ "o\t\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "control" },
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			origin = (char *)1;
			CHECK_ERR(checkpoint_parse(bad[i].text, strlen(bad[i].text), &origin, &size, got, ERR),
			    VL_INVALID_ARGUMENT, bad[i].msg);
			CHECK(origin == NULL);
		}
	}

	/* The whole path: body, signed note, verified, parsed. */
	{
		static const uint8_t seed[32] = { 9 };
		struct note_signer *s = signer_from_seed(seed, "vledger.local/log", "cp.pem");
		char *note, *text;

		body = checkpoint_body(note_signer_name(s), 42, root);
		CHECK(body != NULL);
		note = sign(s, body);
		CHECK(note_verify(note_signer_vkey(s), note, strlen(note), &text, &err));
		CHECK(strcmp(text, body) == 0);
		CHECK(checkpoint_parse(text, strlen(text), &origin, &size, got, &err));
		CHECK(strcmp(origin, "vledger.local/log") == 0 && size == 42 && memcmp(got, root, 32) == 0);
		free(origin);
		free(text);
		free(note);
		free(body);
		note_signer_free(s);
	}
}

int
main(void)
{
	char cmd[128];

	CHECK(mkdtemp(dir) != NULL);
	test_fixed_vectors();
	test_keys_and_roundtrip();
	test_key_file_refusals();
	test_malformed();
	test_checkpoint();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	printf("note_test: ok\n");
	return 0;
}
