/*
 * recognition.h - vledger.v1.RecognitionService: employers see a
 * volunteer's service only with the volunteer's consent.
 *
 * Who may do what (each refusal a named-field error; a refused or invalid
 * request writes nothing):
 *   CreateShareGrant, RevokeShareGrant, ListShareGrants, ListAccesses
 *       the volunteer's own ROLE_VOLUNTEER token, an office at or above the
 *       volunteer's organisation, or admin. A volunteer token naming
 *       another volunteer: permission_denied naming volunteerId (grantId
 *       for RevokeShareGrant).
 *   VerifyVolunteerHours, VerifyVolunteerHoursBatch
 *       ROLE_EMPLOYER tokens only.
 *
 * CreateShareGrant rules: volunteerId required and known; from and to
 * required (2000..2100), to after from; expireTime required, in the future,
 * at most SHARE_EXPIRY_MAX_DAYS ahead; include required, known scopes, no
 * repeats; employerOrganizationId, when given, an EMPLOYER organisation
 * (not_found / invalid_argument naming it).
 *
 * Share codes are "VLS-" and 20 Crockford base32 characters in groups of
 * 4 (100 random bits), e.g. VLS-7G2K-Q9XM-4TVR-H8NB-C3PW. Only SHA-256 of
 * that canonical spelling is stored, and the code is shown once, in the
 * CreateShareGrant response (a retry answered from the idempotency record
 * returns the grant without it). Codes are read leniently: lower case,
 * without hyphens or with spaces, and Crockford's I/L for 1 and O for 0. A
 * string that cannot be a code at all is invalid_argument naming
 * shareCode (its form is public, so this reveals nothing about grants).
 *
 * VerifyVolunteerHours answers a well-formed code that is unknown,
 * revoked, expired or another employer's with one error, the same code and
 * message for all (SHARE_DENIED_MESSAGE), so the answer never tells which.
 * A good code gives a VolunteerHoursAttestation credential (W3C VC 2.0,
 * Data Integrity proof, eddsa-jcs-2022, signed by app->credentials) valid
 * for 24 hours, whose credentialSubject holds the volunteer id, the grant's
 * period and only the parts the grant includes, with the figures of
 * records_summary_load() for that period:
 *   hours          {"totalMinutes", "measuredMinutes", "enteredMinutes",
 *                   "shiftCount", "byCategory": [{"category", "minutes"}],
 *                   "byOrganization": [{"organizationId", "name", "minutes"}]}
 *   feedback       {"count", "averageRating": "4.50" (absent when count is 0)}
 *   commendations  [{"id", "title", "level", "organizationId", "awardTime"}]
 * Each good lookup appends a share_accessed entry and a share_accesses row
 * (ListAccesses). The grant row is share-locked while it is read, so a
 * lookup and a revocation never interleave: no lookup succeeds after the
 * revocation commits.
 *
 * No entry holds a share code, its hash or personal data: grants are named
 * by their id "shg_..." (see proto/vledger/v1/ENTRIES.md).
 */
#ifndef VLEDGER_RECOGNITION_H
#define VLEDGER_RECOGNITION_H

#include <stddef.h>

#include "vledger/rpc.h"

extern const struct rpc_method recognition_methods[];
extern const size_t recognition_methods_count;

#define SHARE_CODE_PREFIX "VLS-"
#define SHARE_CODE_SYMBOLS 20                        /* 5 bits each: 100 bits */
#define SHARE_CODE_LEN (4 + SHARE_CODE_SYMBOLS + 4)  /* prefix, symbols, 4 inner hyphens */
#define SHARE_EXPIRY_MAX_DAYS 366
#define SHARE_BATCH_MAX 500
#define SHARE_ATTESTATION_HOURS 24

#define SHARE_DENIED_MESSAGE \
	"shareCode: no share grant open to this employer has this code (unknown, revoked, expired or another" \
	" employer's)"

/* Reads `in` as a share code (leniently, as above) and writes its canonical
 * spelling to out. False when it cannot be one. */
bool share_code_normalize(const char *in, char out[SHARE_CODE_LEN + 1]);

#endif
