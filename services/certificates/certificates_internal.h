/*
 * certificates_internal.h - what the certificate handlers
 * (certificate_service.c) use of the credential builder (credential.c).
 */
#ifndef VLEDGER_CERTIFICATES_INTERNAL_H
#define VLEDGER_CERTIFICATES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "vledger/certificates.h"
#include "vledger/error.h"
#include "vledger/rpc.h"

struct pii_keys;

/* What to certify. Strings are the caller's; times are RFC 3339. */
struct credential_request {
	const char *number;
	const char *volunteer_id;
	const char *organization_id;  /* the issuing office */
	const char *title;
	const char *from, *to;        /* the period: shifts starting in [from, to) */
	const char *issue_time;       /* validFrom and the proof's created, seconds precision */
};

/* In the issuing transaction: gathers the figures, the organisation and
 * officer names and the volunteer's name and masked identity number, and
 * returns the signed credential in *out (the caller json_decref()s it).
 * VL_FAILED_PRECONDITION naming volunteerId when the personal data was
 * erased. */
VL_MUST_CHECK bool credential_gather(PGconn *conn, const struct rpc_call *call, const struct credential_request *req,
    json_t **out, struct vl_error *err);

/* JCS(credential) in *jcs (malloc'd, caller frees) and its SHA-256 as 64
 * lower-case hex digits in hex. */
VL_MUST_CHECK bool credential_digest(const json_t *credential, char **jcs, char hex[65], struct vl_error *err);

/* Splits the credential for storage: *document is JCS of the credential
 * without credentialSubject.name and .maskedIdNumber; those two are sealed
 * for volunteer_id (pii_seal) into *wrapped / *sealed. All three are
 * malloc'd for the caller to free (NULL on failure). */
VL_MUST_CHECK bool credential_split(const json_t *credential, const char *volunteer_id, const struct pii_keys *keys,
    char **document, uint8_t **wrapped, size_t *wrapped_len, uint8_t **sealed, size_t *sealed_len,
    struct vl_error *err);

/* The inverse: the signed credential as JCS text in *credential (malloc'd,
 * caller frees). */
VL_MUST_CHECK bool credential_join(const char *document, const char *volunteer_id, const struct pii_keys *keys,
    const uint8_t *wrapped, size_t wrapped_len, const uint8_t *sealed, size_t sealed_len, char **credential,
    struct vl_error *err);

/* A new random number for the year. */
void certificate_number_new(int year, char out[CERTIFICATE_NUMBER_SIZE]);

#endif
