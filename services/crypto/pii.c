/*
 * pii.c - personal data under per-volunteer keys (AES-256-GCM), keyed
 * commitments and the duplicate index (HMAC-SHA-256), the master key file
 * and its HKDF-SHA-256 derived keys. See pii.h for the formats and errors.
 *
 * Every buffer that holds key material or personal data is wiped with
 * OPENSSL_cleanse before it is freed or goes out of scope. Error messages
 * name files and fields, never values.
 */
#include "vledger/pii.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "vledger/encoding.h"
#include "vledger/log.h"

/* A key file is 44 base64 characters and a line end; anything much larger
 * is not one, and is not read. */
#define PII_KEY_FILE_MAX 256
#define PII_KEY_B64_LEN 44

/* The largest ciphertext pii_open looks at: three maximal fields. */
#define PII_PLAINTEXT_MAX (3 * (4 + PII_FIELD_MAX))

static const char label_wrap[] = "vledger pii wrap v1";
static const char label_commit[] = "vledger pii commit v1";
static const char label_index[] = "vledger pii index v1";
static const char label_ticket[] = "vledger feedback ticket v1";

struct pii_keys {
	uint8_t wrap[PII_KEY_LEN];
	uint8_t commit[PII_KEY_LEN];
	uint8_t index[PII_KEY_LEN];
	uint8_t ticket[PII_KEY_LEN];
};

/*
 * Master key file.
 */

/* The directory part of path, malloc'd: "." for a bare file name. */
static char *
pii_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

bool
pii_key_generate(const char *path, struct vl_error *err)
{
	uint8_t key[PII_KEY_LEN];
	char *b64, *line = NULL, *dir;
	size_t off = 0, len = 0;
	ssize_t w;
	int fd, dfd;
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
	random_bytes(key, sizeof(key));
	b64 = base64_encode(key, sizeof(key), false);
	OPENSSL_cleanse(key, sizeof(key));
	line = xasprintf("%s\n", b64);
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	len = strlen(line);
	while (off < len) {
		w = write(fd, line + off, len - off);
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
	if (line != NULL) {
		OPENSSL_cleanse(line, len);
		free(line);
	}
	if (close(fd) == -1 && ok)
		ok = vl_error_set(err, VL_INTERNAL, "%s: close: %s", path, strerror(errno));
	if (!ok) {
		unlink(path);
		return false;
	}
	/* The key must survive a crash as surely as the data sealed under
	 * it: make the new directory entry durable too. EINVAL is a file
	 * system that cannot sync directories, which is no worse than not
	 * trying. */
	dir = pii_dirname(path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 || (fsync(dfd) == -1 && errno != EINVAL))
		ok = vl_error_set(err, VL_INTERNAL, "%s: fsync: %s", dir, strerror(errno));
	if (dfd != -1)
		close(dfd);
	free(dir);
	if (!ok)
		unlink(path);
	return ok;
}

/* Reads the key file (a regular file no one but the owner may touch) and
 * decodes the master key into key. */
static bool
pii_key_read(const char *path, uint8_t key[PII_KEY_LEN], struct vl_error *err)
{
	char buf[PII_KEY_FILE_MAX + 1];
	struct stat st;
	size_t n = 0, keylen = 0;
	ssize_t r;
	int fd;
	bool ok = false;

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
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: key file is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "%s: key file must be mode 0600 (is %04o)", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	for (;;) {
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			vl_error_set(err, VL_INTERNAL, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0 || (n += (size_t)r) == sizeof(buf))
			break;
	}
	/* One line: the base64 text, then at most one "\n" or "\r\n". */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n != PII_KEY_B64_LEN || !base64_decode_strict(buf, n, key, PII_KEY_LEN, &keylen) ||
	    keylen != PII_KEY_LEN) {
		vl_error_set(err, VL_FAILED_PRECONDITION,
		    "%s: not a PII master key (want base64 of %d bytes on one line)", path, PII_KEY_LEN);
		OPENSSL_cleanse(key, PII_KEY_LEN);
		goto out;
	}
	ok = true;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return ok;
}

/* HKDF-SHA-256 (RFC 5869) of the master key with `info`, no salt: the
 * master key is already uniformly random, so extraction needs none. */
static bool
pii_hkdf(EVP_KDF_CTX *kctx, const uint8_t master[PII_KEY_LEN], const char *info, uint8_t out[PII_KEY_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[4];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master, PII_KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	params[3] = OSSL_PARAM_construct_end();
	return EVP_KDF_derive(kctx, out, PII_KEY_LEN, params) == 1;
}

bool
pii_keys_load(const char *path, struct pii_keys **out, struct vl_error *err)
{
	uint8_t master[PII_KEY_LEN];
	struct pii_keys *k;
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx = NULL;
	bool ok;

	*out = NULL;
	if (!pii_key_read(path, master, err))
		return false;
	k = xcalloc(1, sizeof(*k));
	ok = (kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) != NULL && (kctx = EVP_KDF_CTX_new(kdf)) != NULL &&
	    pii_hkdf(kctx, master, label_wrap, k->wrap) &&
	    pii_hkdf(kctx, master, label_commit, k->commit) &&
	    pii_hkdf(kctx, master, label_index, k->index) &&
	    pii_hkdf(kctx, master, label_ticket, k->ticket);
	/* The context holds a copy of the master key; freeing it wipes it. */
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(master, sizeof(master));
	if (!ok) {
		pii_keys_free(k);
		return vl_error_set(err, VL_INTERNAL, "%s: HKDF-SHA-256 key derivation failed", path);
	}
	*out = k;
	return true;
}

bool
pii_keys_load_or_create(const char *path, bool *created, struct pii_keys **out, struct vl_error *err)
{
	struct vl_error gerr;

	*created = false;
	*out = NULL;
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		if (pii_key_generate(path, &gerr))
			*created = true;
		else if (gerr.code != VL_ALREADY_EXISTS) {
			if (err != NULL)
				*err = gerr;
			return false;
		}
		/* VL_ALREADY_EXISTS: someone else created it since access()
		 * (or it is a dangling symlink, which the load reports). */
	}
	return pii_keys_load(path, out, err);
}

void
pii_keys_free(struct pii_keys *k)
{
	if (k == NULL)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/*
 * Encodings.
 */

static void
pii_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
pii_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends u32be(len) || s at buf + *off. */
static void
pii_put_field(uint8_t *buf, size_t *off, const char *s, size_t len)
{
	pii_put_u32(buf + *off, (uint32_t)len);
	if (len > 0)
		memcpy(buf + *off + 4, s, len);
	*off += 4 + len;
}

static const char *
pii_str(const char *s)
{
	return s != NULL ? s : "";
}

/* The length-prefixed concatenation of the n strings, malloc'd (*len
 * bytes); the caller wipes and frees it. Aborts on a string longer than a
 * u32 can say, which no caller can produce from a request. */
static uint8_t *
pii_encode(const char *const *strs, size_t n, size_t *len)
{
	size_t lens[4], total = 0, off = 0, i;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		lens[i] = strlen(pii_str(strs[i]));
		if (lens[i] > UINT32_MAX)
			fatalx("pii: field longer than 4 GiB");
		total += 4 + lens[i];
	}
	buf = xmalloc(total > 0 ? total : 1);
	for (i = 0; i < n; i++)
		pii_put_field(buf, &off, pii_str(strs[i]), lens[i]);
	*len = total;
	return buf;
}

/*
 * AES-256-GCM.
 */

/* Writes 0x01 || nonce || AES-256-GCM(key, pt) || tag (ptlen +
 * PII_CT_OVERHEAD bytes) to out, with associated data 0x01 || ad. The
 * nonce is random: the wrap key sees one nonce per volunteer (far below
 * the 2^32 messages a random 96-bit nonce is good for), a DEK only one. */
static bool
pii_gcm_seal(const uint8_t key[PII_KEY_LEN], const char *ad, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t *nonce = out + 1, *ct = out + 1 + PII_NONCE_LEN;
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0;
	bool ok;

	out[0] = PII_FORMAT_V1;
	random_bytes(nonce, PII_NONCE_LEN);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return false;
	/* GCM's default nonce length is the 12 bytes used here. */
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, out, 1) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)ad, (int)strlen(ad)) == 1 &&
	    EVP_EncryptUpdate(ctx, ct, &n, pt, (int)ptlen) == 1 && (size_t)n == ptlen &&
	    EVP_EncryptFinal_ex(ctx, ct + n, &fin) == 1 && fin == 0 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, PII_TAG_LEN, ct + ptlen) == 1;
	/* Freeing the context wipes the expanded key. */
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* Decrypts in (inlen bytes, at least PII_CT_OVERHEAD, version already
 * checked) into pt (inlen - PII_CT_OVERHEAD bytes). 1 if it authenticates,
 * 0 if not, -1 if OpenSSL failed to run. pt holds unauthenticated bytes on
 * anything but 1: the caller wipes it. */
static int
pii_gcm_open(const uint8_t key[PII_KEY_LEN], const char *ad, const uint8_t *in, size_t inlen, uint8_t *pt)
{
	const uint8_t *nonce = in + 1, *ct = in + 1 + PII_NONCE_LEN;
	size_t ctlen = inlen - PII_CT_OVERHEAD;
	uint8_t tag[PII_TAG_LEN];
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0, rc = -1;

	memcpy(tag, ct + ctlen, PII_TAG_LEN);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, in, 1) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)ad, (int)strlen(ad)) == 1 &&
	    EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ctlen) == 1 && (size_t)n == ctlen &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, PII_TAG_LEN, tag) == 1)
		rc = EVP_DecryptFinal_ex(ctx, pt + n, &fin) == 1 && fin == 0 ? 1 : 0;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static bool
pii_volunteer_id_check(const char *volunteer_id, struct vl_error *err)
{
	if (volunteer_id == NULL || volunteer_id[0] == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "volunteerId: required");
	if (strlen(volunteer_id) > PII_FIELD_MAX)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "volunteerId: longer than %d bytes", PII_FIELD_MAX);
	return true;
}

/*
 * Sealing and opening.
 */

bool
pii_seal(const struct pii_keys *k, const char *volunteer_id, const struct pii_record *rec, uint8_t **wrapped_dek,
    size_t *wrapped_len, uint8_t **ciphertext, size_t *ct_len, struct vl_error *err)
{
	static const char *const fields[3] = { "name", "phone", "idNumber" };
	uint8_t dek[PII_KEY_LEN], *pt, *wrapped, *ct;
	const char *strs[3];
	size_t ptlen, i;
	bool ok;

	*wrapped_dek = NULL;
	*ciphertext = NULL;
	*wrapped_len = 0;
	*ct_len = 0;
	if (!pii_volunteer_id_check(volunteer_id, err))
		return false;
	strs[0] = pii_str(rec->name);
	strs[1] = pii_str(rec->phone);
	strs[2] = pii_str(rec->id_number);
	if (strs[0][0] == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "personalData.name: required");
	for (i = 0; i < 3; i++)
		if (strlen(strs[i]) > PII_FIELD_MAX)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "personalData.%s: longer than %d bytes",
			    fields[i], PII_FIELD_MAX);

	/* A new DEK for every seal: it encrypts exactly one message, so its
	 * random nonce can never repeat. */
	random_bytes(dek, sizeof(dek));
	pt = pii_encode(strs, 3, &ptlen);
	wrapped = xmalloc(PII_WRAPPED_DEK_LEN);
	ct = xmalloc(ptlen + PII_CT_OVERHEAD);
	ok = pii_gcm_seal(k->wrap, volunteer_id, dek, sizeof(dek), wrapped) &&
	    pii_gcm_seal(dek, volunteer_id, pt, ptlen, ct);
	OPENSSL_cleanse(dek, sizeof(dek));
	OPENSSL_cleanse(pt, ptlen);
	free(pt);
	if (!ok) {
		/* Partly written outputs may hold plaintext-derived bytes
		 * under no tag; nothing of them leaves. */
		OPENSSL_cleanse(ct, ptlen + PII_CT_OVERHEAD);
		free(ct);
		free(wrapped);
		return vl_error_set(err, VL_INTERNAL, "personal data: encryption failed");
	}
	*wrapped_dek = wrapped;
	*wrapped_len = PII_WRAPPED_DEK_LEN;
	*ciphertext = ct;
	*ct_len = ptlen + PII_CT_OVERHEAD;
	return true;
}

/* Splits the authenticated plaintext into the record's three strings.
 * Only a bug in pii_seal could make this fail: the tag has already
 * vouched for the bytes. */
static bool
pii_decode(const uint8_t *pt, size_t len, struct pii_record *out)
{
	char **dst[3] = { &out->name, &out->phone, &out->id_number };
	size_t off = 0, i;
	uint32_t n;

	for (i = 0; i < 3; i++) {
		if (len - off < 4)
			return false;
		n = pii_get_u32(pt + off);
		off += 4;
		if (len - off < n || memchr(pt + off, '\0', n) != NULL)
			return false;
		*dst[i] = xmalloc((size_t)n + 1);
		memcpy(*dst[i], pt + off, n);
		(*dst[i])[n] = '\0';
		off += n;
	}
	return off == len;
}

bool
pii_open(const struct pii_keys *k, const char *volunteer_id, const uint8_t *wrapped_dek, size_t wrapped_len,
    const uint8_t *ciphertext, size_t ct_len, struct pii_record *out, struct vl_error *err)
{
	uint8_t dek[PII_KEY_LEN], *pt;
	size_t ptlen;
	int rc;
	bool ok;

	out->name = out->phone = out->id_number = NULL;
	if (!pii_volunteer_id_check(volunteer_id, err))
		return false;
	if (wrapped_dek == NULL || wrapped_len != PII_WRAPPED_DEK_LEN || wrapped_dek[0] != PII_FORMAT_V1)
		return vl_error_set(err, VL_DATA_LOSS, "personal data: wrapped data key is malformed");
	if (ciphertext == NULL || ct_len < PII_CT_OVERHEAD + 3 * 4 || ct_len > PII_CT_OVERHEAD + PII_PLAINTEXT_MAX ||
	    ciphertext[0] != PII_FORMAT_V1)
		return vl_error_set(err, VL_DATA_LOSS, "personal data: ciphertext is malformed");

	rc = pii_gcm_open(k->wrap, volunteer_id, wrapped_dek, wrapped_len, dek);
	if (rc != 1) {
		OPENSSL_cleanse(dek, sizeof(dek));
		if (rc < 0)
			return vl_error_set(err, VL_INTERNAL, "personal data: decryption failed to run");
		return vl_error_set(err, VL_DATA_LOSS, "personal data: wrapped data key does not authenticate "
		    "(another master key or another volunteer's key)");
	}
	ptlen = ct_len - PII_CT_OVERHEAD;
	pt = xmalloc(ptlen);
	rc = pii_gcm_open(dek, volunteer_id, ciphertext, ct_len, pt);
	OPENSSL_cleanse(dek, sizeof(dek));
	ok = rc == 1 && pii_decode(pt, ptlen, out);
	OPENSSL_cleanse(pt, ptlen);
	free(pt);
	if (ok)
		return true;
	pii_record_wipe_free(out);
	if (rc < 0)
		return vl_error_set(err, VL_INTERNAL, "personal data: decryption failed to run");
	if (rc == 0)
		return vl_error_set(err, VL_DATA_LOSS, "personal data: ciphertext does not authenticate");
	return vl_error_set(err, VL_DATA_LOSS, "personal data: ciphertext is malformed");
}

static void
pii_wipe_str(char **s)
{
	if (*s == NULL)
		return;
	OPENSSL_cleanse(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

void
pii_record_wipe_free(struct pii_record *rec)
{
	if (rec == NULL)
		return;
	pii_wipe_str(&rec->name);
	pii_wipe_str(&rec->phone);
	pii_wipe_str(&rec->id_number);
}

/*
 * Commitments and the identity index.
 */

/* HMAC-SHA-256(key, data) as lower-case hex. HMAC cannot fail short of a
 * broken OpenSSL, and the callers have no error to return: abort. */
static void
pii_hmac_hex(const uint8_t key[PII_KEY_LEN], const uint8_t *data, size_t len, char out_hex[PII_HEX_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), key, PII_KEY_LEN, data, len, md, &mdlen) == NULL || mdlen != 32)
		fatalx("pii: HMAC-SHA-256 failed");
	hex_encode(md, 32, out_hex);
}

void
pii_commitment(const struct pii_keys *k, const char *volunteer_id, const struct pii_record *rec,
    char out_hex[PII_HEX_LEN])
{
	const char *strs[4] = { volunteer_id, rec->name, rec->phone, rec->id_number };
	uint8_t *buf;
	size_t len;

	buf = pii_encode(strs, 4, &len);
	pii_hmac_hex(k->commit, buf, len, out_hex);
	OPENSSL_cleanse(buf, len);
	free(buf);
}

bool
pii_identity_index(const struct pii_keys *k, const char *district_id, const char *id_number,
    char out_hex[PII_HEX_LEN])
{
	const char *strs[1] = { district_id };
	char *norm;
	uint8_t *head, *buf;
	size_t headlen, normlen;

	out_hex[0] = '\0';
	norm = pii_id_number_normalize(id_number);
	if ((normlen = strlen(norm)) == 0) {
		free(norm);
		return false;
	}
	/* u32be(len district) || district || number: the district's length
	 * fixes where the number starts. */
	head = pii_encode(strs, 1, &headlen);
	buf = xmalloc(headlen + normlen);
	memcpy(buf, head, headlen);
	memcpy(buf + headlen, norm, normlen);
	pii_hmac_hex(k->index, buf, headlen + normlen, out_hex);
	OPENSSL_cleanse(buf, headlen + normlen);
	OPENSSL_cleanse(norm, normlen);
	free(buf);
	free(head);
	free(norm);
	return true;
}

/*
 * Validation.
 */

static bool
pii_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

char *
pii_id_number_normalize(const char *s)
{
	size_t n = 0, i;
	char *out;

	s = pii_str(s);
	out = xmalloc(strlen(s) + 1);
	for (i = 0; s[i] != '\0'; i++)
		if (!pii_is_space((unsigned char)s[i]))
			out[n++] = s[i];
	out[n] = '\0';
	/* Chinese identity numbers end in a digit or X; people type x too. */
	if (n > 0 && out[n - 1] == 'x')
		out[n - 1] = 'X';
	return out;
}

/* The code point of the UTF-8 sequence at s[*i] (len bytes in all),
 * advancing *i; -1 for a malformed, overlong or surrogate sequence or a
 * value past U+10FFFF. */
static int32_t
pii_utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	static const int32_t min[4] = { 0, 0x80, 0x800, 0x10000 };
	unsigned char c = s[*i];
	size_t extra, k;
	int32_t r;

	if (c < 0x80)
		extra = 0, r = c;
	else if ((c & 0xe0) == 0xc0)
		extra = 1, r = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		extra = 2, r = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		extra = 3, r = c & 0x07;
	else
		return -1;
	if (len - *i - 1 < extra)
		return -1;
	for (k = 1; k <= extra; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		r = r << 6 | (s[*i + k] & 0x3f);
	}
	/* Check the value last: the shortest form only, no surrogates. */
	if (r < min[extra] || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		return -1;
	*i += extra + 1;
	return r;
}

bool
pii_name_valid(const char *s, struct vl_error *err)
{
	size_t len, i = 0, chars = 0;
	int32_t r;

	if (s == NULL || s[0] == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "personalData.name: required");
	len = strlen(s);
	while (i < len) {
		r = pii_utf8_next((const unsigned char *)s, len, &i);
		/* C0, DEL and C1. */
		if (r < 0x20 || (r >= 0x7f && r <= 0x9f))
			return vl_error_set(err, VL_INVALID_ARGUMENT,
			    "personalData.name: must be UTF-8 without control characters");
		if (++chars > PII_NAME_MAX_CHARS)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "personalData.name: longer than %d characters",
			    PII_NAME_MAX_CHARS);
	}
	return true;
}

bool
pii_phone_valid(const char *s, struct vl_error *err)
{
	size_t len, i;

	len = s != NULL ? strlen(s) : 0;
	if (len < PII_PHONE_MIN || len > PII_PHONE_MAX)
		goto bad;
	for (i = 0; i < len; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && !(i == 0 && s[i] == '+'))
			goto bad;
	return true;
bad:
	return vl_error_set(err, VL_INVALID_ARGUMENT,
	    "personalData.phone: must be %d to %d characters: digits with an optional leading +", PII_PHONE_MIN,
	    PII_PHONE_MAX);
}

bool
pii_id_number_valid(const char *s, struct vl_error *err)
{
	/* ISO 7064 MOD 11-2: weight 2^(17-i) mod 11 for the i-th digit; the
	 * check character makes the weighted sum 1 mod 11, so sum mod 11
	 * indexes this table. */
	static const int weights[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	char *norm;
	size_t i;
	int sum = 0;
	bool shape;
	char last;

	norm = pii_id_number_normalize(s);
	shape = strlen(norm) == PII_ID_NUMBER_LEN;
	for (i = 0; shape && i < PII_ID_NUMBER_LEN - 1; i++) {
		if (norm[i] < '0' || norm[i] > '9')
			shape = false;
		else
			sum += (norm[i] - '0') * weights[i];
	}
	last = shape ? norm[PII_ID_NUMBER_LEN - 1] : '\0';
	if (shape && !(last >= '0' && last <= '9') && last != 'X')
		shape = false;
	OPENSSL_cleanse(norm, strlen(norm));
	free(norm);
	if (!shape)
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "personalData.idNumber: must be %d characters: 17 digits and a digit or X", PII_ID_NUMBER_LEN);
	if (check[sum % 11] != last)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "personalData.idNumber: check digit does not match");
	return true;
}

bool
pii_record_valid(const struct pii_record *rec, struct vl_error *err)
{
	if (!pii_name_valid(rec->name, err))
		return false;
	if (rec->phone != NULL && rec->phone[0] != '\0' && !pii_phone_valid(rec->phone, err))
		return false;
	if (rec->id_number != NULL && rec->id_number[0] != '\0' && !pii_id_number_valid(rec->id_number, err))
		return false;
	return true;
}

void
pii_mask_id_number(const char *id, char out[PII_MASK_LEN])
{
	char *norm;
	size_t n, i, start, j = 0;
	unsigned char c;

	norm = pii_id_number_normalize(id);
	n = strlen(norm);
	start = n > PII_MASK_LEN - 1 ? n - (PII_MASK_LEN - 1) : 0;
	for (i = start; i < n; i++) {
		c = (unsigned char)norm[i];
		out[j++] = n > 4 && i >= n - 4 && c > 0x20 && c < 0x7f ? (char)c : '*';
	}
	out[j] = '\0';
	OPENSSL_cleanse(norm, n);
	free(norm);
}

void
pii_ticket_code(const struct pii_keys *keys, const char *scope, uint32_t index, char out[PII_TICKET_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint8_t mac[EVP_MAX_MD_SIZE], buf[4];
	unsigned int maclen = 0;
	size_t scope_len = strlen(scope), i;
	uint8_t *msg = xmalloc(scope_len + 1 + sizeof(buf));
	uint64_t bits = 0;

	buf[0] = (uint8_t)(index >> 24);
	buf[1] = (uint8_t)(index >> 16);
	buf[2] = (uint8_t)(index >> 8);
	buf[3] = (uint8_t)index;
	memcpy(msg, scope, scope_len);
	msg[scope_len] = 0;
	memcpy(msg + scope_len + 1, buf, sizeof(buf));
	if (HMAC(EVP_sha256(), keys->ticket, PII_KEY_LEN, msg, scope_len + 1 + sizeof(buf), mac, &maclen) == NULL)
		fatalx("HMAC-SHA-256 failed");
	free(msg);
	/* The first 50 bits, as 10 base32 characters. */
	for (i = 0; i < 7; i++)
		bits = bits << 8 | mac[i];
	bits >>= 6;
	for (i = 0; i < PII_TICKET_LEN; i++)
		out[i] = alphabet[(bits >> (5 * (PII_TICKET_LEN - 1 - i))) & 31];
	out[PII_TICKET_LEN] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}
