/*
 * certificates.h - vledger.v1.CertificateService: volunteer service
 * certificates as signed W3C Verifiable Credentials (see
 * proto/vledger/v1/certificates.proto for the document), and the checks
 * that the RPCs and the public pages (services/pages/) share.
 *
 * Who may do what:
 *   IssueCertificate   admin; office at or above the volunteer's organisation
 *   RevokeCertificate  admin; office at or above the issuing organisation
 *   GetCertificate, VerifyCertificate   public (numbers are unguessable)
 */
#ifndef VLEDGER_CERTIFICATES_H
#define VLEDGER_CERTIFICATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vledger/error.h"
#include "vledger/rpc.h"

extern const struct rpc_method certificate_methods[];
extern const size_t certificate_methods_count;

struct app;

/* "VLC-2026-ABCD-EFGH-JKMN": 23 characters and a NUL. */
#define CERTIFICATE_NUMBER_SIZE 24

/* Whether `s` has the shape of a certificate number (it may not exist). */
bool certificate_number_valid(const char *s);

/* What vledger says about a certificate. `result` is a
 * Vledger__V1__VerificationResult value. Every string is malloc'd (or
 * NULL) and owned by the verdict: free it with certificate_verdict_free(). */
struct certificate_verdict {
	int result;
	char *reason;         /* INVALID / NOT_FOUND: why; REVOKED: the revocation reason */
	char *number;         /* the number checked or found in the credential; NULL if none */
	char *credential;     /* VALID / REVOKED: the credential JSON text (NULL once personal data was erased) */
	char *issuer_organization_id;
	int64_t issue_time_us;    /* microseconds since the epoch; 0 when unknown */
	int64_t revoke_time_us;   /* REVOKED only */
	uint64_t leaf_index;      /* the certificate_issued entry (VALID / REVOKED) */
};

/*
 * Verifying reads the certificate's row every time (its revocation may
 * have changed, here or in another vledgerd), but whether the row's
 * (number, credential SHA-256, leaf index) matches the certificate_issued
 * entry at that leaf never changes: log entries are immutable. So a match
 * is remembered in app->certificate_checks (at most this many, about 40
 * bytes each) under the SHA-256 of those three values, and not checked
 * against the log again. A row changed in the database has other values,
 * so it is checked afresh. A match is remembered only when the transaction
 * had written nothing when it read the row: an entry of its own could
 * still roll back.
 */
#define CERTIFICATE_CHECKS_CACHED 65536

/* In a store job (any transaction): the verdict on the certificate with
 * this number: VALID, REVOKED or NOT_FOUND (also for a malformed number).
 * False only on database trouble, with err set. */
VL_MUST_CHECK bool certificate_verify_number(PGconn *conn, const struct app *app, const char *number,
    struct certificate_verdict *out, struct vl_error *err);

/* In a store job: the verdict on a presented credential (JSON text, `len`
 * bytes, need not be NUL-terminated): INVALID when it is not JSON, has no
 * valid eddsa-jcs-2022 proof, was signed by a key other than vledger's
 * credential key, or does not match (SHA-256 of its JCS form) the
 * credential logged under its number; otherwise VALID or REVOKED as for
 * its number. False only on database trouble. */
VL_MUST_CHECK bool certificate_verify_document(PGconn *conn, const struct app *app, const char *json, size_t len,
    struct certificate_verdict *out, struct vl_error *err);

void certificate_verdict_free(struct certificate_verdict *v);

#endif
