/*
 * note.c - C2SP signed notes with Ed25519 (OpenSSL EVP), key files, and
 * tlog-checkpoint bodies. See note.h for the formats and the errors.
 *
 * Written from c2sp.org/signed-note and c2sp.org/tlog-checkpoint. Parsing
 * is strict where the spec leaves room (canonical base64 only) and exactly
 * as permissive as the spec demands elsewhere (unknown signatures are
 * skipped, not rejected).
 */
#include "vledger/note.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "vledger/encoding.h"
#include "vledger/log.h"

#define ED25519_PUBLIC_LEN 32
#define ED25519_SIG_LEN 64
#define NOTE_KEY_ID_LEN 4
/* Signature type byte of Ed25519 in key ids and vkeys (signed-note). */
#define NOTE_ALG_ED25519 0x01

/* A PEM Ed25519 key is about 120 bytes; anything this large is not one. */
#define KEY_FILE_MAX (16 * 1024)

/* "— " : U+2014 EM DASH in UTF-8, then a space. */
static const char sig_prefix[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN (sizeof(sig_prefix) - 1)

struct note_signer {
	EVP_PKEY *pkey;		/* the private key; freeing it wipes it */
	char *name;
	uint32_t key_id;
	char *vkey;
};

/*
 * Text checks.
 */

/* Decodes the UTF-8 sequence at s[*i] (len bytes in all) and advances *i.
 * Returns the code point, or -1 for anything but well-formed UTF-8
 * (overlongs, surrogates and values past U+10FFFF included). */
static int32_t
note_next_rune(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i], lo = 0x80, hi = 0xbf;
	size_t n, k;
	int32_t r;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	/* The second byte's range carries the rules against overlongs (E0,
	 * F0), surrogates (ED) and values past U+10FFFF (F4). */
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		r = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		r = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		r = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return -1;
	if (len - *i - 1 < n)
		return -1;
	if (s[*i + 1] < lo || s[*i + 1] > hi)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		r = (r << 6) | (s[*i + k] & 0x3f);
	}
	*i += n + 1;
	return r;
}

/* Unicode White_Space, which is what the spec's "Unicode spaces" means to
 * the reference implementation too (Go's unicode.IsSpace). */
static bool
note_rune_is_space(int32_t r)
{
	return (r >= 0x09 && r <= 0x0d) || r == 0x20 || r == 0x85 || r == 0xa0 || r == 0x1680 ||
	    (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f ||
	    r == 0x3000;
}

/* Valid UTF-8 with no control character other than '\n': the rule for
 * the whole of a signed note. */
static bool
note_text_clean(const char *s, size_t len)
{
	size_t i = 0;
	int32_t r;

	while (i < len) {
		r = note_next_rune((const unsigned char *)s, len, &i);
		if (r < 0 || (r < 0x20 && r != '\n'))
			return false;
	}
	return true;
}

bool
note_name_valid(const char *name, size_t len)
{
	size_t i = 0;
	int32_t r;

	if (name == NULL || len == 0)
		return false;
	while (i < len) {
		r = note_next_rune((const unsigned char *)name, len, &i);
		if (r < 0x20 || r == '+' || note_rune_is_space(r))
			return false;
	}
	return true;
}

/*
 * Keys.
 */

/* SHA-256(name || 0x0A || 0x01 || pub)[:4], big-endian. */
static bool
note_key_id(const char *name, const uint8_t pub[ED25519_PUBLIC_LEN], uint32_t *id)
{
	static const uint8_t sep[2] = { '\n', NOTE_ALG_ED25519 };
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	bool ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return false;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
	    EVP_DigestUpdate(ctx, sep, sizeof(sep)) == 1 &&
	    EVP_DigestUpdate(ctx, pub, ED25519_PUBLIC_LEN) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= NOTE_KEY_ID_LEN;
	EVP_MD_CTX_free(ctx);
	if (ok)
		*id = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
	return ok;
}

/* "<name>+<id>+<base64(0x01 || pub)>", malloc'd. */
static char *
note_vkey_format(const char *name, uint32_t id, const uint8_t pub[ED25519_PUBLIC_LEN])
{
	uint8_t raw[1 + ED25519_PUBLIC_LEN];
	char *b64, *vkey;

	raw[0] = NOTE_ALG_ED25519;
	memcpy(raw + 1, pub, ED25519_PUBLIC_LEN);
	b64 = base64_encode(raw, sizeof(raw), false);
	vkey = xasprintf("%s+%08" PRIx32 "+%s", name, id, b64);
	free(b64);
	return vkey;
}

bool
note_key_generate(const char *path, struct vl_error *err)
{
	EVP_PKEY *pkey = NULL;
	BIO *mem = NULL;
	char *pem;
	long pemlen;
	size_t off = 0;
	ssize_t w;
	int fd;
	bool ok = false;

	/* O_EXCL also refuses a symlink, dangling or not, so a planted link
	 * cannot redirect the new secret. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)
			return vl_error_set(err, VL_ALREADY_EXISTS, "%s: key file already exists", path);
		return vl_error_set(err, VL_INTERNAL, "%s: %s", path, strerror(errno));
	}
	/* The umask can only clear bits of 0600; set it anyway so that the
	 * owner can read the key back whatever the umask. */
	if (fchmod(fd, 0600) == -1) {
		vl_error_set(err, VL_INTERNAL, "%s: chmod: %s", path, strerror(errno));
		goto out;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		vl_error_set(err, VL_INTERNAL, "%s: Ed25519 key generation failed", path);
		goto out;
	}
	/* PEM_write_bio_PrivateKey writes unencrypted PKCS#8. The memory BIO
	 * holds the secret: it is wiped before it is freed. */
	if ((mem = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (pemlen = BIO_get_mem_data(mem, &pem)) <= 0) {
		vl_error_set(err, VL_INTERNAL, "%s: cannot encode the key", path);
		goto out;
	}
	while (off < (size_t)pemlen) {
		w = write(fd, pem + off, (size_t)pemlen - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			vl_error_set(err, VL_INTERNAL, "%s: write: %s", path, w == 0 ? "short write" : strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1) {
		vl_error_set(err, VL_INTERNAL, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
	ok = true;
out:
	if (mem != NULL) {
		if ((pemlen = BIO_get_mem_data(mem, &pem)) > 0)
			OPENSSL_cleanse(pem, (size_t)pemlen);
		BIO_free(mem);
	}
	EVP_PKEY_free(pkey);
	if (close(fd) == -1 && ok)
		ok = vl_error_set(err, VL_INTERNAL, "%s: close: %s", path, strerror(errno));
	/* Never leave a half-written key for the next start to trip on. */
	if (!ok)
		(void)unlink(path);
	return ok;
}

/* Reads the whole key file into a malloc'd buffer (*buf, *len), after
 * checking that it is a regular file no one but the owner may touch. The
 * caller wipes and frees *buf. */
static bool
note_key_read(const char *path, char **buf, size_t *len, struct vl_error *err)
{
	struct stat st;
	char *data;
	size_t n = 0;
	ssize_t r;
	int fd;

	*buf = NULL;
	*len = 0;
	/* Symlinks are followed (deployments mount secrets that way); the
	 * checks below are on the file actually opened. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		if (errno == ENOENT)
			return vl_error_set(err, VL_NOT_FOUND, "%s: no such key file", path);
		return vl_error_set(err, VL_INTERNAL, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		vl_error_set(err, VL_INTERNAL, "%s: stat: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: key file is not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: key file must be mode 0600 (is %04o)", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size > KEY_FILE_MAX) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: not a PKCS#8 PEM private key (too large)", path);
		goto fail;
	}
	data = xmalloc(KEY_FILE_MAX + 1);
	for (;;) {
		r = read(fd, data + n, KEY_FILE_MAX + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			vl_error_set(err, VL_INTERNAL, "%s: read: %s", path, strerror(errno));
			OPENSSL_cleanse(data, n);
			free(data);
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > KEY_FILE_MAX) {
			vl_error_set(err, VL_FAILED_PRECONDITION, "%s: not a PKCS#8 PEM private key (too large)",
			    path);
			OPENSSL_cleanse(data, n);
			free(data);
			goto fail;
		}
	}
	close(fd);
	*buf = data;
	*len = n;
	return true;
fail:
	close(fd);
	return false;
}

/* Decodes the first PEM block of buf, which must be an unencrypted PKCS#8
 * Ed25519 private key. Returns the key or NULL with err set. */
static EVP_PKEY *
note_key_decode(const char *path, const char *buf, size_t len, struct vl_error *err)
{
	BIO *mem;
	char *label = NULL, *header = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	long derlen = 0;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *pkey = NULL;
	const char *type;

	if ((mem = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		vl_error_set(err, VL_INTERNAL, "%s: out of memory", path);
		return NULL;
	}
	/* PEM_read_bio, not PEM_read_bio_PrivateKey: the label is checked
	 * first, and OpenSSL never gets the chance to prompt on the terminal
	 * for the passphrase of an encrypted key. */
	if (PEM_read_bio(mem, &label, &header, &der, &derlen) != 1) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: not a PKCS#8 PEM private key (no PEM block)", path);
		goto out;
	}
	if (strcmp(label, "PRIVATE KEY") != 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION,
		    "%s: not a PKCS#8 PEM private key (found \"%.40s\"; want \"PRIVATE KEY\")", path, label);
		goto out;
	}
	p = der;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, derlen)) == NULL || p != der + derlen) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: not a PKCS#8 PEM private key (bad DER)", path);
		goto out;
	}
	if ((pkey = EVP_PKCS82PKEY(p8)) == NULL) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: unsupported or corrupt private key", path);
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		type = EVP_PKEY_get0_type_name(pkey);
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: holds a key of type %s; signing needs Ed25519",
		    path, type != NULL ? type : "unknown");
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	if (der != NULL) {
		OPENSSL_cleanse(der, (size_t)derlen);
		OPENSSL_free(der);
	}
	OPENSSL_free(label);
	OPENSSL_free(header);
	/* PKCS8_PRIV_KEY_INFO_free clears the key octets it holds. */
	PKCS8_PRIV_KEY_INFO_free(p8);
	BIO_free(mem);
	return pkey;
}

bool
note_key_load(const char *path, EVP_PKEY **out, struct vl_error *err)
{
	char *buf;
	size_t len;

	*out = NULL;
	if (!note_key_read(path, &buf, &len, err))
		return false;
	*out = note_key_decode(path, buf, len, err);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return *out != NULL;
}

bool
note_signer_load(const char *path, const char *name, struct note_signer **out, struct vl_error *err)
{
	struct note_signer *s;
	EVP_PKEY *pkey;
	uint8_t pub[ED25519_PUBLIC_LEN];
	size_t publen = sizeof(pub);
	uint32_t id;

	*out = NULL;
	/* The name is not echoed: it may hold the control characters that
	 * make it invalid. */
	if (name == NULL || !note_name_valid(name, strlen(name)))
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "key name: must be non-empty UTF-8 without spaces, '+' or control characters");
	if (!note_key_load(path, &pkey, err))
		return false;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 || publen != sizeof(pub) ||
	    !note_key_id(name, pub, &id)) {
		EVP_PKEY_free(pkey);
		return vl_error_set(err, VL_INTERNAL, "%s: cannot derive the public key", path);
	}
	s = xcalloc(1, sizeof(*s));
	s->pkey = pkey;
	s->name = xstrdup(name);
	s->key_id = id;
	s->vkey = note_vkey_format(name, id, pub);
	*out = s;
	return true;
}

bool
note_signer_load_or_create(const char *path, const char *name, bool *created, struct note_signer **out,
    struct vl_error *err)
{
	struct vl_error gerr;

	*created = false;
	*out = NULL;
	if (name == NULL || !note_name_valid(name, strlen(name)))
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "key name: must be non-empty UTF-8 without spaces, '+' or control characters");
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		if (note_key_generate(path, &gerr))
			*created = true;
		else if (gerr.code != VL_ALREADY_EXISTS) {
			if (err != NULL)
				*err = gerr;
			return false;
		}
		/* VL_ALREADY_EXISTS: someone else created it since access();
		 * load theirs. */
	}
	return note_signer_load(path, name, out, err);
}

void
note_signer_free(struct note_signer *s)
{
	if (s == NULL)
		return;
	/* EVP_PKEY_free wipes the Ed25519 private key. */
	EVP_PKEY_free(s->pkey);
	free(s->name);
	free(s->vkey);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

const char *
note_signer_vkey(const struct note_signer *s)
{
	return s->vkey;
}

const char *
note_signer_name(const struct note_signer *s)
{
	return s->name;
}

uint32_t
note_signer_key_id(const struct note_signer *s)
{
	return s->key_id;
}

/*
 * Signing and verifying.
 */

bool
note_sign(const struct note_signer *s, const char *text, size_t len, char **note_out, struct vl_error *err)
{
	uint8_t sig[NOTE_KEY_ID_LEN + ED25519_SIG_LEN];
	size_t siglen = ED25519_SIG_LEN;
	EVP_MD_CTX *ctx;
	char *b64, *note;
	size_t namelen, b64len, n;
	bool ok;

	*note_out = NULL;
	if (len == 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "note text: empty");
	if (len > NOTE_MAX_LEN)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "note text: longer than %d bytes", NOTE_MAX_LEN);
	if (text[len - 1] != '\n')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "note text: must end with a newline");
	if (!note_text_clean(text, len))
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "note text: must be UTF-8 without control characters other than newline");

	/* Ed25519 signs the message itself (no prehash): no digest given. */
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return vl_error_set(err, VL_INTERNAL, "note: out of memory");
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig + NOTE_KEY_ID_LEN, &siglen, (const unsigned char *)text, len) == 1 &&
	    siglen == ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return vl_error_set(err, VL_INTERNAL, "note: Ed25519 signing failed");
	sig[0] = (uint8_t)(s->key_id >> 24);
	sig[1] = (uint8_t)(s->key_id >> 16);
	sig[2] = (uint8_t)(s->key_id >> 8);
	sig[3] = (uint8_t)s->key_id;
	b64 = base64_encode(sig, sizeof(sig), false);

	/* text "\n" "— " name " " b64 "\n" */
	namelen = strlen(s->name);
	b64len = strlen(b64);
	note = xmalloc(len + 1 + SIG_PREFIX_LEN + namelen + 1 + b64len + 2);
	memcpy(note, text, len);
	n = len;
	note[n++] = '\n';
	memcpy(note + n, sig_prefix, SIG_PREFIX_LEN);
	n += SIG_PREFIX_LEN;
	memcpy(note + n, s->name, namelen);
	n += namelen;
	note[n++] = ' ';
	memcpy(note + n, b64, b64len);
	n += b64len;
	note[n++] = '\n';
	note[n] = '\0';
	free(b64);
	*note_out = note;
	return true;
}

/* A parsed vkey: what note_verify checks lines against. */
struct note_vkey {
	const char *name;	/* into the vkey string, not NUL-terminated */
	size_t namelen;
	uint32_t id;
	uint8_t pub[ED25519_PUBLIC_LEN];
};

static int
note_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
note_vkey_parse(const char *vkey, struct note_vkey *vk, struct vl_error *err)
{
	const char *plus, *key;
	size_t rawlen, keylen, i;
	uint8_t *raw, alg;
	uint32_t want;
	char *name;
	bool ok;
	int v;

	if (vkey == NULL || (plus = strchr(vkey, '+')) == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "vkey: malformed (want <name>+<key id>+<base64 key>)");
	vk->name = vkey;
	vk->namelen = (size_t)(plus - vkey);
	if (!note_name_valid(vk->name, vk->namelen))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "vkey: invalid key name");
	vk->id = 0;
	for (i = 1; i <= 8; i++) {
		if ((v = note_hex_value((unsigned char)plus[i])) < 0)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "vkey: key id must be 8 hex digits");
		vk->id = vk->id << 4 | (uint32_t)v;
	}
	if (plus[9] != '+')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "vkey: key id must be 8 hex digits");
	key = plus + 10;
	keylen = strlen(key);
	raw = xmalloc(keylen / 4 * 3 + 1);
	if (!base64_decode_strict(key, keylen, raw, keylen / 4 * 3 + 1, &rawlen) || rawlen == 0) {
		free(raw);
		return vl_error_set(err, VL_INVALID_ARGUMENT, "vkey: invalid base64 key");
	}
	alg = raw[0];
	if (rawlen == 1 + ED25519_PUBLIC_LEN)
		memcpy(vk->pub, raw + 1, ED25519_PUBLIC_LEN);
	free(raw);
	if (alg != NOTE_ALG_ED25519)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "vkey: unsupported signature type 0x%02x (want Ed25519)",
		    alg);
	if (rawlen != 1 + ED25519_PUBLIC_LEN)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "vkey: Ed25519 key must be 32 bytes");
	/* The id is derived from the key: a mismatch is a corrupt vkey. */
	name = xstrndup(vk->name, vk->namelen);
	ok = note_key_id(name, vk->pub, &want);
	free(name);
	if (!ok)
		return vl_error_set(err, VL_INTERNAL, "vkey: SHA-256 failed");
	if (want != vk->id)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "vkey: key id does not match the key");
	return true;
}

/* 1 if sig verifies over msg under pub, 0 if not, -1 if OpenSSL failed. */
static int
note_ed25519_verify(const uint8_t pub[ED25519_PUBLIC_LEN], const char *msg, size_t len, const uint8_t *sig)
{
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx;
	int rc = -1;

	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, ED25519_PUBLIC_LEN)) == NULL)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
		rc = EVP_DigestVerify(ctx, sig, ED25519_SIG_LEN, (const unsigned char *)msg, len) == 1 ? 1 : 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

bool
note_verify(const char *vkey, const char *note, size_t len, char **text_out, struct vl_error *err)
{
	uint8_t sig[NOTE_KEY_ID_LEN + ED25519_SIG_LEN];
	struct note_vkey vk;
	const char *line, *end, *name, *sp, *b64;
	size_t textlen, i, siglen, namelen, b64len, nsigs = 0, verified = 0;
	uint8_t *raw;
	uint32_t id;
	int rc;

	if (text_out != NULL)
		*text_out = NULL;
	if (!note_vkey_parse(vkey, &vk, err))
		return false;
	if (len > NOTE_MAX_LEN)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "note: longer than %d bytes", NOTE_MAX_LEN);
	if (!note_text_clean(note, len))
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "note: must be UTF-8 without control characters other than newline");
	/* The text ends at the LAST blank line: the text may have blank
	 * lines of its own, signature lines never are blank. */
	for (i = len; i >= 2; i--)
		if (note[i - 2] == '\n' && note[i - 1] == '\n')
			break;
	if (i < 2)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "note: no blank line before the signatures");
	textlen = i - 1;
	line = note + i;
	end = note + len;
	if (line == end)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "note: no signature lines");
	if (end[-1] != '\n')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "note: signature lines must end with a newline");

	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));

		if (++nsigs > NOTE_MAX_SIGNATURES)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "note: more than %d signatures",
			    NOTE_MAX_SIGNATURES);
		/* "— " name " " base64; the name has no spaces, so the first
		 * space after the prefix ends it. */
		if ((size_t)(eol - line) < SIG_PREFIX_LEN || memcmp(line, sig_prefix, SIG_PREFIX_LEN) != 0)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "note: signature line %zu: must start with \"— \"",
			    nsigs);
		name = line + SIG_PREFIX_LEN;
		if ((sp = memchr(name, ' ', (size_t)(eol - name))) == NULL)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "note: signature line %zu: no signature", nsigs);
		namelen = (size_t)(sp - name);
		b64 = sp + 1;
		if (!note_name_valid(name, namelen))
			return vl_error_set(err, VL_INVALID_ARGUMENT, "note: signature line %zu: invalid key name",
			    nsigs);
		/* Lines by other keys may carry longer signatures (witness
		 * cosignatures, other algorithms): decode whatever length. */
		b64len = (size_t)(eol - b64);
		raw = xmalloc(b64len / 4 * 3 + 1);
		if (!base64_decode_strict(b64, b64len, raw, b64len / 4 * 3 + 1, &siglen) || siglen <= NOTE_KEY_ID_LEN) {
			free(raw);
			return vl_error_set(err, VL_INVALID_ARGUMENT,
			    "note: signature line %zu: invalid base64 signature", nsigs);
		}
		id = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
		if (siglen == sizeof(sig))
			memcpy(sig, raw, sizeof(sig));
		free(raw);
		line = eol + 1;

		if (namelen != vk.namelen || memcmp(name, vk.name, namelen) != 0 || id != vk.id)
			continue;	/* an unknown key: ignored, as the spec requires */
		if (siglen != sizeof(sig) ||
		    (rc = note_ed25519_verify(vk.pub, note, textlen, sig + NOTE_KEY_ID_LEN)) == 0)
			return vl_error_set(err, VL_PERMISSION_DENIED, "note: signature by %.*s+%08" PRIx32
			    " does not verify", (int)vk.namelen, vk.name, vk.id);
		if (rc < 0)
			return vl_error_set(err, VL_INTERNAL, "note: Ed25519 verification failed to run");
		verified++;
	}
	if (verified == 0)
		return vl_error_set(err, VL_PERMISSION_DENIED, "note: no signature by %.*s+%08" PRIx32,
		    (int)vk.namelen, vk.name, vk.id);
	if (text_out != NULL)
		*text_out = xstrndup(note, textlen);
	return true;
}

/*
 * Checkpoint bodies.
 */

char *
checkpoint_body(const char *origin, uint64_t size, const uint8_t root[CHECKPOINT_HASH_LEN])
{
	char *b64, *body;

	if (origin == NULL || !note_name_valid(origin, strlen(origin)))
		return NULL;
	b64 = base64_encode(root, CHECKPOINT_HASH_LEN, false);
	body = xasprintf("%s\n%" PRIu64 "\n%s\n", origin, size, b64);
	free(b64);
	return body;
}

bool
checkpoint_parse(const char *text, size_t len, char **origin, uint64_t *size, uint8_t root[CHECKPOINT_HASH_LEN],
    struct vl_error *err)
{
	uint8_t hash[CHECKPOINT_HASH_LEN];
	const char *p, *eol, *end = text + len;
	size_t n, i, hashlen;
	uint64_t v = 0;
	unsigned d;

	*origin = NULL;
	if (len == 0 || text[len - 1] != '\n')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: must end with a newline");
	if (!note_text_clean(text, len))
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "checkpoint: must be UTF-8 without control characters other than newline");

	/* Origin: any non-empty line. */
	eol = memchr(text, '\n', len);
	if (eol == text)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: empty origin");

	/* Tree size. */
	p = eol + 1;
	if (p == end || (eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: no tree size line");
	n = (size_t)(eol - p);
	if (n == 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: empty tree size");
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: tree size is not a decimal number");
	if (n > 1 && p[0] == '0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: tree size has a leading zero");
	for (i = 0; i < n; i++) {
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: tree size out of range");
		v = v * 10 + d;
	}

	/* Root hash. */
	p = eol + 1;
	if (p == end || (eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: no root hash line");
	if (!base64_decode_strict(p, (size_t)(eol - p), hash, sizeof(hash), &hashlen) || hashlen != sizeof(hash))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: root hash must be base64 of 32 bytes");

	/* Extension lines: opaque, but never empty. */
	for (p = eol + 1; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == p)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "checkpoint: empty extension line");
	}

	*origin = xstrndup(text, (size_t)((const char *)memchr(text, '\n', len) - text));
	*size = v;
	memcpy(root, hash, sizeof(hash));
	return true;
}
