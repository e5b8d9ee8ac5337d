/*
 * certificates_test.c - certificate numbers and the stored form of a
 * credential (services/certificates/credential.c): the name and masked
 * identity number sealed apart must come back byte for byte, for the right
 * volunteer only, and the document kept in the clear must not hold them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../services/certificates/certificates_internal.h"
#include "vledger/jcs.h"
#include "vledger/pii.h"

#include "check.h"

static void
test_numbers(void)
{
	char n[CERTIFICATE_NUMBER_SIZE], other[CERTIFICATE_NUMBER_SIZE];
	static const char *const bad[] = {
		"", "VLC-2026-ABCD-EFGH-JKM", "VLC-2026-ABCD-EFGH-JKMNP", "vlc-2026-ABCD-EFGH-JKMN",
		"VLC-2026-abcd-EFGH-JKMN", "VLC-2026-ABCI-EFGH-JKMN", "VLC-2026-ABCL-EFGH-JKMN", "VLC-2026-ABCO-EFGH-JKMN",
		"VLC-2026-ABCU-EFGH-JKMN", "VLC-20X6-ABCD-EFGH-JKMN", "VLC-2026_ABCD-EFGH-JKMN", "VLC-2026-ABCD-EFGHJJKMN",
		"XLC-2026-ABCD-EFGH-JKMN", "VLC-2026-ABCD-EFGH-JKM\n",
	};
	size_t i;
	int k;

	CHECK(certificate_number_valid("VLC-2026-ABCD-EFGH-JKMN"));
	CHECK(certificate_number_valid("VLC-0000-0000-0000-0000"));
	CHECK(!certificate_number_valid(NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (certificate_number_valid(bad[i])) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			exit(1);
		}
	/* Every new number has the shape and the year; two are not equal
	 * (60 random bits). */
	for (k = 0; k < 1000; k++) {
		certificate_number_new(2026, n);
		CHECK(certificate_number_valid(n));
		CHECK(strncmp(n, "VLC-2026-", 9) == 0);
	}
	certificate_number_new(2026, other);
	CHECK(strcmp(n, other) != 0);
	certificate_number_new(987, n);
	CHECK(strncmp(n, "VLC-0987-", 9) == 0 && certificate_number_valid(n));
}

static const char credential_text[] = "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"],"
    "\"certificateNumber\":\"VLC-2026-ABCD-EFGH-JKMN\","
    "\"credentialSubject\":{\"id\":\"urn:vledger:volunteer:vol_1\",\"maskedIdNumber\":\"**************002X\","
    "\"name\":\"张三 <b>\",\"totalMinutes\":210,\"volunteerId\":\"vol_1\"},"
    "\"proof\":{\"proofValue\":\"z111\",\"type\":\"DataIntegrityProof\"},"
    "\"type\":[\"VerifiableCredential\",\"VolunteerServiceCredential\"]}";

static void
test_split_join(const struct pii_keys *keys)
{
	json_t *cred = json_loads(credential_text, 0, NULL);
	char *document = NULL, *joined = NULL, *jcs = NULL, hex[65], hex2[65];
	uint8_t *wrapped = NULL, *sealed = NULL;
	size_t wrapped_len, sealed_len, len;
	struct vl_error err;

	CHECK(cred != NULL);
	CHECK(credential_split(cred, "vol_1", keys, &document, &wrapped, &wrapped_len, &sealed, &sealed_len, &err));
	/* The clear part holds neither the name nor the masked number. */
	CHECK(strstr(document, "张三") == NULL);
	CHECK(strstr(document, "002X") == NULL);
	CHECK(strstr(document, "maskedIdNumber") == NULL);
	CHECK(strstr(document, "\"totalMinutes\":210") != NULL);
	CHECK(memmem(sealed, sealed_len, "张三", strlen("张三")) == NULL);
	/* Joined again it is the credential, byte for byte in JCS form. */
	CHECK(credential_join(document, "vol_1", keys, wrapped, wrapped_len, sealed, sealed_len, &joined, &err));
	CHECK(jcs_serialize(cred, &jcs, &len, &err));
	CHECK(strcmp(joined, jcs) == 0);
	/* The digest is SHA-256 of that text, stable across calls. */
	free(jcs);
	CHECK(credential_digest(cred, &jcs, hex, &err));
	CHECK(strlen(hex) == 64);
	free(jcs);
	CHECK(credential_digest(cred, &jcs, hex2, &err));
	CHECK(strcmp(hex, hex2) == 0);
	free(jcs);
	free(joined);
	joined = NULL;
	/* Sealed for one volunteer, it does not open for another. */
	CHECK(!credential_join(document, "vol_2", keys, wrapped, wrapped_len, sealed, sealed_len, &joined, &err));
	CHECK(joined == NULL);
	/* A flipped byte of the sealed part is refused, not misread. */
	sealed[sealed_len - 1] ^= 1;
	CHECK(!credential_join(document, "vol_1", keys, wrapped, wrapped_len, sealed, sealed_len, &joined, &err));
	/* A stored document that is not JSON is data loss, said plainly. */
	sealed[sealed_len - 1] ^= 1;
	CHECK(!credential_join("{", "vol_1", keys, wrapped, wrapped_len, sealed, sealed_len, &joined, &err));
	CHECK(err.code == VL_DATA_LOSS);
	free(document);
	free(wrapped);
	free(sealed);
	json_decref(cred);
}

int
main(void)
{
	char dir[] = "/tmp/certificates_test.XXXXXX", path[64];
	struct pii_keys *keys = NULL;
	struct vl_error err;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/pii.key", dir);
	CHECK(pii_key_generate(path, &err));
	CHECK(pii_keys_load(path, &keys, &err));
	test_numbers();
	test_split_join(keys);
	pii_keys_free(keys);
	unlink(path);
	rmdir(dir);
	printf("certificates_test: ok\n");
	return 0;
}
