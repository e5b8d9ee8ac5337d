/*
 * note_driver.c - vledger's signed-note code as a command, for
 * tests/integration/note_interop_test.sh to check against Go's
 * golang.org/x/mod/sumdb/note (tests/interop/notecheck).
 *
 * Usage:
 *   note_driver keygen KEY_FILE
 *   note_driver vkey KEY_FILE NAME                 prints the vkey
 *   note_driver sign KEY_FILE NAME TEXT_FILE       prints the signed note
 *   note_driver checkpoint KEY_FILE ORIGIN SIZE    prints a signed checkpoint
 *                                                  (root = SHA-256(SIZE))
 *   note_driver verify VKEY_FILE NOTE_FILE         prints the text if it verifies
 *   note_driver parse TEXT_FILE                    prints origin, size, root (hex)
 * Exit 0 on success, 1 on failure (with the error on stderr), 2 on misuse.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vledger/encoding.h"
#include "vledger/note.h"

static void
usage(void)
{
	fprintf(stderr, "usage: note_driver keygen KEY_FILE\n"
	    "       note_driver vkey KEY_FILE NAME\n"
	    "       note_driver sign KEY_FILE NAME TEXT_FILE\n"
	    "       note_driver checkpoint KEY_FILE ORIGIN SIZE\n"
	    "       note_driver verify VKEY_FILE NOTE_FILE\n"
	    "       note_driver parse TEXT_FILE\n");
	exit(2);
}

static void
fail(const struct vl_error *err)
{
	fprintf(stderr, "note_driver: %s (%s)\n", err->message, vl_code_name(err->code));
	exit(1);
}

/* The whole file, NUL-terminated (the NUL not counted in *len). */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	do {
		if (cap - n < 4096) {
			cap = cap * 2 + 4096;
			if ((buf = realloc(buf, cap + 1)) == NULL) {
				perror("realloc");
				exit(2);
			}
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	if (ferror(f)) {
		perror(path);
		exit(2);
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static struct note_signer *
load(const char *path, const char *name)
{
	struct note_signer *s;
	struct vl_error err;

	if (!note_signer_load(path, name, &s, &err))
		fail(&err);
	return s;
}

int
main(int argc, char **argv)
{
	struct note_signer *s;
	struct vl_error err;
	char *text, *note, *vkey, *body, *origin, *end, hex[2 * CHECKPOINT_HASH_LEN + 1];
	uint8_t root[CHECKPOINT_HASH_LEN];
	unsigned int mdlen;
	uint64_t size;
	size_t len;

	if (argc < 3)
		usage();
	if (strcmp(argv[1], "keygen") == 0 && argc == 3) {
		if (!note_key_generate(argv[2], &err))
			fail(&err);
	} else if (strcmp(argv[1], "vkey") == 0 && argc == 4) {
		s = load(argv[2], argv[3]);
		printf("%s\n", note_signer_vkey(s));
		note_signer_free(s);
	} else if (strcmp(argv[1], "sign") == 0 && argc == 5) {
		s = load(argv[2], argv[3]);
		text = slurp(argv[4], &len);
		if (!note_sign(s, text, len, &note, &err))
			fail(&err);
		fputs(note, stdout);
		free(note);
		free(text);
		note_signer_free(s);
	} else if (strcmp(argv[1], "checkpoint") == 0 && argc == 5) {
		s = load(argv[2], argv[3]);
		size = strtoull(argv[4], &end, 10);
		if (*argv[4] == '\0' || *end != '\0')
			usage();
		if (EVP_Digest(argv[4], strlen(argv[4]), root, &mdlen, EVP_sha256(), NULL) != 1)
			exit(2);
		if ((body = checkpoint_body(note_signer_name(s), size, root)) == NULL)
			exit(2);
		if (!note_sign(s, body, strlen(body), &note, &err))
			fail(&err);
		fputs(note, stdout);
		free(note);
		free(body);
		note_signer_free(s);
	} else if (strcmp(argv[1], "verify") == 0 && argc == 4) {
		vkey = slurp(argv[2], &len);
		/* A vkey file may end in a newline; the key never does. */
		while (len > 0 && (vkey[len - 1] == '\n' || vkey[len - 1] == '\r'))
			vkey[--len] = '\0';
		note = slurp(argv[3], &len);
		if (!note_verify(vkey, note, len, &text, &err))
			fail(&err);
		fputs(text, stdout);
		free(text);
		free(note);
		free(vkey);
	} else if (strcmp(argv[1], "parse") == 0 && argc == 3) {
		text = slurp(argv[2], &len);
		if (!checkpoint_parse(text, len, &origin, &size, root, &err))
			fail(&err);
		hex_encode(root, sizeof(root), hex);
		printf("%s\n%" PRIu64 "\n%s\n", origin, size, hex);
		free(origin);
		free(text);
	} else
		usage();
	return 0;
}
