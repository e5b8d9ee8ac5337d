/*
 * certificate_service.c - vledger.v1.CertificateService: issuing, revoking,
 * reading and verifying volunteer service certificates.
 *
 * Issue path (one transaction): the office's reach -> the credential
 * (credential.c: figures, names, signature) -> certificate_issued entry ->
 * the row (name and masked number sealed) -> response with the receipt.
 *
 * Verifying trusts nothing presented: the proof must verify under
 * vledger's own credential key, the credential's JCS SHA-256 must equal
 * the one stored for its number, and that must equal the one in the
 * certificate_issued entry of the log (so a row changed behind vledger's
 * back is caught too). Then the status: VALID or REVOKED.
 */
#include "certificates_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/codec.h"
#include "vledger/digest_set.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/pii.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/tlog.h"
#include "vledger/vc.h"
#include "vledger/v1/certificates.pb-c.h"

/* A few minutes of clock difference between a client and us. */
#define FUTURE_SLACK_SECONDS 300

/* The last column is true when this transaction has written nothing yet
 * (see CERTIFICATE_CHECKS_CACHED). */
#define CERT_COLUMNS \
	"number, volunteer_id, organization_id, title, document, personal_key, personal_data, sha256," \
	" leaf_index::text, ((extract(epoch FROM issue_time) * 1000000)::bigint)::text," \
	" ((extract(epoch FROM revoke_time) * 1000000)::bigint)::text, revoke_reason," \
	" pg_current_xact_id_if_assigned() IS NULL"
enum {
	COL_NUMBER, COL_VOLUNTEER, COL_ORG, COL_TITLE, COL_DOCUMENT, COL_KEY, COL_SEALED, COL_SHA256, COL_LEAF,
	COL_ISSUE_US, COL_REVOKE_US, COL_REVOKE_REASON, COL_UNWRITTEN
};

/* Every verification reads one row: prepared once per connection. */
static const struct store_statement cert_select = {
	"certificate_select", "SELECT " CERT_COLUMNS " FROM certificates WHERE number = $1", 1
};
static const struct store_statement cert_select_locked = {
	"certificate_select_locked", "SELECT " CERT_COLUMNS " FROM certificates WHERE number = $1 FOR UPDATE", 1
};

/* One certificate row, selected with CERT_COLUMNS (text format). */
static bool
cert_load(PGconn *conn, const char *number, bool lock, PGresult **out, struct vl_error *err)
{
	const char *params[1] = {number};
	PGresult *res;

	res = store_exec_prepared(conn, lock ? &cert_select_locked : &cert_select, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "number", err);
		PQclear(res);
		return false;
	}
	*out = res;
	return true;
}

/* The signed credential of a row as JCS text (malloc'd, caller frees), or
 * NULL with no error when the volunteer's personal data was erased. */
static bool
cert_credential(const struct app *app, const PGresult *res, char **out, struct vl_error *err)
{
	unsigned char *wrapped, *sealed;
	size_t wrapped_len, sealed_len;
	bool ok;

	*out = NULL;
	if (PQgetisnull(res, 0, COL_KEY))
		return true;
	wrapped = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, COL_KEY), &wrapped_len);
	sealed = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, COL_SEALED), &sealed_len);
	if (wrapped == NULL || sealed == NULL) {
		PQfreemem(wrapped);
		PQfreemem(sealed);
		return vl_error_set(err, VL_INTERNAL, "certificate: out of memory");
	}
	ok = credential_join(PQgetvalue(res, 0, COL_DOCUMENT), PQgetvalue(res, 0, COL_VOLUNTEER), app->pii, wrapped,
	    wrapped_len, sealed, sealed_len, out, err);
	PQfreemem(wrapped);
	PQfreemem(sealed);
	return ok;
}

/* A Certificate message pointing into `res` and `credential`; times go in
 * the caller's timestamps. */
static void
cert_message(const PGresult *res, const char *credential, Vledger__V1__Certificate *c, Google__Protobuf__Timestamp *issued,
    Google__Protobuf__Timestamp *revoked)
{
	vledger__v1__certificate__init(c);
	c->number = (char *)PQgetvalue(res, 0, COL_NUMBER);
	c->volunteer_id = (char *)PQgetvalue(res, 0, COL_VOLUNTEER);
	c->organization_id = (char *)PQgetvalue(res, 0, COL_ORG);
	c->title = (char *)PQgetvalue(res, 0, COL_TITLE);
	c->credential = (char *)(credential != NULL ? credential : "");
	c->credential_sha256 = (char *)PQgetvalue(res, 0, COL_SHA256);
	c->leaf_index = strtoull(PQgetvalue(res, 0, COL_LEAF), NULL, 10);
	google__protobuf__timestamp__init(issued);
	timestamp_from_micros(PQgetvalue(res, 0, COL_ISSUE_US), &issued->seconds, &issued->nanos);
	c->issue_time = issued;
	if (PQgetisnull(res, 0, COL_REVOKE_US)) {
		c->status = VLEDGER__V1__CERTIFICATE_STATUS__CERTIFICATE_STATUS_VALID;
	} else {
		c->status = VLEDGER__V1__CERTIFICATE_STATUS__CERTIFICATE_STATUS_REVOKED;
		google__protobuf__timestamp__init(revoked);
		timestamp_from_micros(PQgetvalue(res, 0, COL_REVOKE_US), &revoked->seconds, &revoked->nanos);
		c->revoke_time = revoked;
		c->revoke_reason = (char *)PQgetvalue(res, 0, COL_REVOKE_REASON);
	}
}

/*
 * Verdicts (shared with the public pages).
 */

void
certificate_verdict_free(struct certificate_verdict *v)
{
	free(v->reason);
	free(v->number);
	free(v->credential);
	free(v->issuer_organization_id);
	memset(v, 0, sizeof(*v));
}

static bool
verdict_set(struct certificate_verdict *v, int result, const char *fmt, ...) VL_PRINTF(3, 4);

static bool
verdict_set(struct certificate_verdict *v, int result, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v->result = result;
	free(v->reason);
	v->reason = xstrdup(buf);
	return true;
}

struct entry_capture {
	char *text;
};

static void
entry_capture_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len, const uint8_t leaf_hash[32])
{
	struct entry_capture *c = arg;

	free(c->text);
	c->text = xstrndup((const char *)entry, len);
}

/* Whether the log's entry `leaf` is the certificate_issued entry of
 * `number` with `sha256`. *why says what differs when it is not. */
static bool
issued_entry_matches(PGconn *conn, const struct app *app, const char *leaf, const char *number, const char *sha256,
    bool *matches, const char **why, struct vl_error *err)
{
	struct entry_capture cap = {NULL};
	uint64_t index = strtoull(leaf, NULL, 10);
	json_t *entry, *cert;

	*matches = false;
	if (!tlog_entries(conn, app->tlog, index, index + 1, entry_capture_cb, &cap, err))
		return false;
	entry = cap.text != NULL ? json_loads(cap.text, 0, NULL) : NULL;
	free(cap.text);
	cert = json_object_get(entry, "certificate");
	if (entry == NULL || !json_is_string(json_object_get(entry, "kind")) ||
	    strcmp(json_string_value(json_object_get(entry, "kind")), "certificate_issued") != 0 || cert == NULL ||
	    !json_is_string(json_object_get(cert, "number")) ||
	    strcmp(json_string_value(json_object_get(cert, "number")), number) != 0)
		*why = "the log holds no certificate_issued entry for it where the database says";
	else if (!json_is_string(json_object_get(cert, "credentialSha256")) ||
	    strcmp(json_string_value(json_object_get(cert, "credentialSha256")), sha256) != 0)
		*why = "its SHA-256 differs from the one in its certificate_issued entry";
	else
		*matches = true;
	json_decref(entry);
	return true;
}

/* The name under which a row's match with the log is remembered: SHA-256
 * of everything issued_entry_matches() compares, each NUL-terminated so
 * that no two rows run together into one text. */
static void
row_check_digest(const PGresult *res, uint8_t out[DIGEST_SET_LEN])
{
	static const char kind[] = "certificate_issued";
	const int cols[3] = {COL_NUMBER, COL_SHA256, COL_LEAF};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int i;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, kind, sizeof(kind)) != 1)
		fatalx("certificate: SHA-256 unavailable");
	for (i = 0; i < 3; i++)
		if (EVP_DigestUpdate(md, PQgetvalue(res, 0, cols[i]), (size_t)PQgetlength(res, 0, cols[i]) + 1) != 1)
			fatalx("certificate: SHA-256 failed");
	if (EVP_DigestFinal_ex(md, out, NULL) != 1)
		fatalx("certificate: SHA-256 failed");
	EVP_MD_CTX_free(md);
}

/* Status of a found row: VALID or REVOKED, after checking its hash
 * against the log (or finding it checked before; see
 * CERTIFICATE_CHECKS_CACHED). */
static bool
verdict_from_row(PGconn *conn, const struct app *app, const PGresult *res, struct certificate_verdict *out,
    struct vl_error *err)
{
	uint8_t digest[DIGEST_SET_LEN];
	const char *why = NULL;
	bool matches;

	row_check_digest(res, digest);
	if (digest_set_contains(app->certificate_checks, digest)) {
		matches = true;
	} else {
		if (!issued_entry_matches(conn, app, PQgetvalue(res, 0, COL_LEAF), PQgetvalue(res, 0, COL_NUMBER),
		    PQgetvalue(res, 0, COL_SHA256), &matches, &why, err))
			return false;
		if (matches && strcmp(PQgetvalue(res, 0, COL_UNWRITTEN), "t") == 0)
			digest_set_add(app->certificate_checks, digest);
	}
	if (!matches)
		return verdict_set(out, VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_INVALID,
		    "credential: not in the log: %s", why);
	out->leaf_index = strtoull(PQgetvalue(res, 0, COL_LEAF), NULL, 10);
	out->issue_time_us = strtoll(PQgetvalue(res, 0, COL_ISSUE_US), NULL, 10);
	out->issuer_organization_id = xstrdup(PQgetvalue(res, 0, COL_ORG));
	if (!PQgetisnull(res, 0, COL_REVOKE_US)) {
		out->result = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED;
		out->revoke_time_us = strtoll(PQgetvalue(res, 0, COL_REVOKE_US), NULL, 10);
		out->reason = xstrdup(PQgetvalue(res, 0, COL_REVOKE_REASON));
	} else {
		out->result = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_VALID;
	}
	return true;
}

bool
certificate_verify_number(PGconn *conn, const struct app *app, const char *number, struct certificate_verdict *out,
    struct vl_error *err)
{
	PGresult *res = NULL;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	out->number = xstrdup(number);
	if (!certificate_number_valid(number))
		return verdict_set(out, VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_NOT_FOUND,
		    "number: not a certificate number (VLC-YYYY-XXXX-XXXX-XXXX)");
	if (!cert_load(conn, number, false, &res, err))
		goto out;
	if (PQntuples(res) == 0) {
		ok = verdict_set(out, VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_NOT_FOUND,
		    "number: no certificate with this number was issued here");
		goto out;
	}
	if (!verdict_from_row(conn, app, res, out, err))
		goto out;
	if (out->result != VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_INVALID &&
	    !cert_credential(app, res, &out->credential, err))
		goto out;
	ok = true;
out:
	PQclear(res);
	if (!ok)
		certificate_verdict_free(out);
	return ok;
}

bool
certificate_verify_document(PGconn *conn, const struct app *app, const char *json, size_t len,
    struct certificate_verdict *out, struct vl_error *err)
{
	const int invalid = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_INVALID;
	uint8_t signer_pub[VC_PUBLIC_KEY_LEN], ours[VC_PUBLIC_KEY_LEN];
	struct vl_error verr;
	json_error_t jerr;
	json_t *doc;
	PGresult *res = NULL;
	const char *number;
	char *jcs = NULL, hex[65];
	bool ok = false;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return verdict_set(out, invalid, "credential: not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
		    jerr.column);
	number = json_string_value(json_object_get(doc, "certificateNumber"));
	if (number != NULL)
		out->number = xstrdup(number);
	vl_error_clear(&verr);
	if (!vc_verify(doc, signer_pub, &verr)) {
		ok = verdict_set(out, invalid, "%s", verr.message);
		goto out;
	}
	vc_signer_public_key(app->credentials, ours);
	if (memcmp(signer_pub, ours, sizeof(ours)) != 0) {
		ok = verdict_set(out, invalid, "proof.verificationMethod: unknown key: not this vledger's credential key %s",
		    vc_signer_did(app->credentials));
		goto out;
	}
	if (number == NULL || !certificate_number_valid(number)) {
		ok = verdict_set(out, invalid, "certificateNumber: missing or malformed: not a certificate");
		goto out;
	}
	if (!credential_digest(doc, &jcs, hex, &verr)) {
		ok = verdict_set(out, invalid, "%s", verr.message);
		goto out;
	}
	if (!cert_load(conn, number, false, &res, err))
		goto out;
	if (PQntuples(res) == 0) {
		ok = verdict_set(out, invalid, "credential: not in the log: no certificate %s was issued here", number);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, COL_SHA256), hex) != 0) {
		ok = verdict_set(out, invalid, "credential: not in the log: it is not the certificate %s that was issued"
		    " (SHA-256 differs)", number);
		goto out;
	}
	if (!verdict_from_row(conn, app, res, out, err))
		goto out;
	if (out->result != invalid) {
		out->credential = jcs;
		jcs = NULL;
	}
	ok = true;
out:
	free(jcs);
	PQclear(res);
	json_decref(doc);
	if (!ok)
		certificate_verdict_free(out);
	return ok;
}

/*
 * IssueCertificate
 */

/* The issuing office: the one asked for, or the caller's, or (admin) the
 * volunteer's organisation. It must be within the caller's reach, not an
 * employer, and at or above the volunteer's organisation. */
static bool
issue_check_reach(PGconn *conn, const struct rpc_call *call, const char *volunteer_id, char org[64],
    struct vl_error *err)
{
	const Vledger__V1__IssueCertificateRequest *req = (const void *)call->request;
	const char *field = req->organization_id[0] != '\0' ? "organizationId" : "volunteerId";
	const char *params[1] = {volunteer_id};
	char volunteer_org[64];
	PGresult *res;
	bool within;

	res = PQexecParams(conn, "SELECT organization_id FROM volunteers WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return vl_error_set(err, VL_NOT_FOUND, "volunteerId: no such volunteer");
	}
	snprintf(volunteer_org, sizeof(volunteer_org), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (req->organization_id[0] != '\0')
		snprintf(org, 64, "%s", req->organization_id);
	else if (call->principal.organization_id[0] != '\0')
		snprintf(org, 64, "%s", call->principal.organization_id);
	else
		snprintf(org, 64, "%s", volunteer_org);

	params[0] = org;
	res = PQexecParams(conn, "SELECT kind FROM organizations WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, field, err);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return vl_error_set(err, VL_NOT_FOUND, "organizationId: no such organization");
	}
	if (strcmp(PQgetvalue(res, 0, 0), "employer") == 0) {
		PQclear(res);
		return vl_error_set(err, VL_INVALID_ARGUMENT, "organizationId: an employer does not issue certificates");
	}
	PQclear(res);
	if (!scope_check(conn, &call->principal, org, SCOPE_OFFICE, field, err) ||
	    !org_within(conn, volunteer_org, org, &within, err))
		return false;
	if (!within)
		return vl_error_set(err, VL_PERMISSION_DENIED, "%s: the volunteer is not in the issuing organization"
		    " or below it", req->organization_id[0] != '\0' ? "organizationId" : "volunteerId");
	return true;
}

static bool
issue_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__IssueCertificateRequest *req = (const void *)call->request;
	Vledger__V1__IssueCertificateResponse out = VLEDGER__V1__ISSUE_CERTIFICATE_RESPONSE__INIT;
	Vledger__V1__Certificate cert = VLEDGER__V1__CERTIFICATE__INIT;
	Google__Protobuf__Timestamp issued = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct credential_request creq;
	struct log_record record;
	char org[64], number[CERTIFICATE_NUMBER_SIZE], from[40], to[40], now_s[40], hex[65], leaf[24];
	char *jcs = NULL, *document = NULL;
	uint8_t *wrapped = NULL, *sealed = NULL;
	size_t wrapped_len = 0, sealed_len = 0;
	json_t *credential = NULL, *facts;
	time_t now = time(NULL);
	struct tm tm;
	PGresult *res;
	bool ok = false;

	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	if (!issue_check_reach(conn, call, req->volunteer_id, org, err))
		goto out;

	gmtime_r(&now, &tm);
	strftime(now_s, sizeof(now_s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	certificate_number_new(tm.tm_year + 1900, number);
	codec_timestamp_format(req->from->seconds, req->from->nanos, from);
	codec_timestamp_format(req->to->seconds, req->to->nanos, to);
	creq.number = number;
	creq.volunteer_id = req->volunteer_id;
	creq.organization_id = org;
	creq.title = req->title;
	creq.from = from;
	creq.to = to;
	creq.issue_time = now_s;
	if (!credential_gather(conn, call, &creq, &credential, err) || !credential_digest(credential, &jcs, hex, err) ||
	    !credential_split(credential, req->volunteer_id, call->app->pii, &document, &wrapped, &wrapped_len, &sealed,
	    &sealed_len, err))
		goto out;

	/* The entry names the certificate and its hash, never the person. */
	facts = json_pack("{s:{s:s, s:s, s:s, s:s, s:{s:s, s:s}}}", "certificate", "number", number, "credentialSha256",
	    hex, "volunteerId", req->volunteer_id, "organizationId", org, "period", "from", from, "to", to);
	if (!log_record_append_about(conn, call, "certificate_issued", facts, req->volunteer_id, org, &record, err))
		goto out;
	snprintf(leaf, sizeof(leaf), "%llu", (unsigned long long)record.receipt.leaf_index);
	{
		const char *params[13] = {number, req->volunteer_id, org, req->title, from, to, document,
		    (const char *)wrapped, (const char *)sealed, hex, leaf, now_s, call->principal.token_id};
		int lengths[13] = {0, 0, 0, 0, 0, 0, 0, (int)wrapped_len, (int)sealed_len, 0, 0, 0, 0};
		int formats[13] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0};

		res = PQexecParams(conn, "INSERT INTO certificates (number, volunteer_id, organization_id, title,"
		    " period_from, period_to, document, personal_key, personal_data, sha256, leaf_index, issue_time,"
		    " issued_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)", 13, NULL, params,
		    lengths, formats, 0);
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res, "certificate", err);
		PQclear(res);
		goto out;
	}
	PQclear(res);

	cert.number = number;
	cert.volunteer_id = req->volunteer_id;
	cert.organization_id = org;
	cert.status = VLEDGER__V1__CERTIFICATE_STATUS__CERTIFICATE_STATUS_VALID;
	issued.seconds = now;
	cert.issue_time = &issued;
	cert.credential = jcs;
	cert.credential_sha256 = hex;
	cert.leaf_index = record.receipt.leaf_index;
	cert.title = req->title;
	out.certificate = &cert;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
	if (ok)
		log_info("certificate %s issued by %s (leaf %llu)", number, call->principal.token_id,
		    (unsigned long long)record.receipt.leaf_index);
out:
	log_record_release(&record);
	json_decref(credential);
	free(jcs);
	free(document);
	free(wrapped);
	free(sealed);
	return ok;
}

/* A period: both ends required, to after from, to not in the future. */
static bool
period_valid(const Google__Protobuf__Timestamp *from, const Google__Protobuf__Timestamp *to, struct vl_error *err)
{
	if (!records_timestamp_valid("from", from, err) || !records_timestamp_valid("to", to, err))
		return false;
	if (to->seconds < from->seconds || (to->seconds == from->seconds && to->nanos <= from->nanos))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "to: must be after from");
	if (to->seconds > (int64_t)time(NULL) + FUTURE_SLACK_SECONDS)
		return vl_error_set(err, VL_INVALID_ARGUMENT,
		    "to: in the future: a certificate states service already done (at most now)");
	return true;
}

static void
issue_certificate(struct rpc_call *call)
{
	const Vledger__V1__IssueCertificateRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "issue certificates", &err) ||
	    !idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required");
		goto fail;
	}
	if (!period_valid(req->from, req->to, &err) || !records_text_valid("title", req->title, 100, true, false, &err))
		goto fail;
	rpc_run_job(call, issue_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/*
 * RevokeCertificate
 */

static bool
revoke_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__RevokeCertificateRequest *req = (const void *)call->request;
	Vledger__V1__RevokeCertificateResponse out = VLEDGER__V1__REVOKE_CERTIFICATE_RESPONSE__INIT;
	Vledger__V1__Certificate cert;
	Google__Protobuf__Timestamp issued, revoked;
	struct log_record record;
	char leaf[24], *credential = NULL;
	const char *params[5];
	PGresult *res = NULL, *upd;
	json_t *facts;
	bool ok = false;

	memset(&record, 0, sizeof(record));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	if (!cert_load(conn, req->number, true, &res, err))
		goto out;
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "number: no such certificate");
		goto out;
	}
	if (!scope_check(conn, &call->principal, PQgetvalue(res, 0, COL_ORG), SCOPE_OFFICE, "number", err))
		goto out;
	if (!PQgetisnull(res, 0, COL_REVOKE_US)) {
		vl_error_set(err, VL_FAILED_PRECONDITION, "number: already revoked (%s)",
		    PQgetvalue(res, 0, COL_REVOKE_REASON));
		goto out;
	}
	/* The reason is public: it is in the entry, as the proto says. */
	facts = json_pack("{s:{s:s, s:s, s:s}}", "certificate", "number", req->number, "credentialSha256",
	    PQgetvalue(res, 0, COL_SHA256), "reason", req->reason);
	if (!log_record_append_about(conn, call, "certificate_revoked", facts, PQgetvalue(res, 0, COL_VOLUNTEER),
	    PQgetvalue(res, 0, COL_ORG), &record, err))
		goto out;
	snprintf(leaf, sizeof(leaf), "%llu", (unsigned long long)record.receipt.leaf_index);
	params[0] = req->number;
	params[1] = req->reason;
	params[2] = call->principal.token_id;
	params[3] = leaf;
	upd = PQexecParams(conn, "UPDATE certificates SET revoke_time = now(), revoke_reason = $2, revoked_by = $3,"
	    " revoke_leaf_index = $4 WHERE number = $1", 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(upd) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, upd, "number", err);
		PQclear(upd);
		goto out;
	}
	PQclear(upd);
	PQclear(res);
	res = NULL;
	if (!cert_load(conn, req->number, false, &res, err) || !cert_credential(call->app, res, &credential, err))
		goto out;
	cert_message(res, credential, &cert, &issued, &revoked);
	out.certificate = &cert;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
	if (ok)
		log_info("certificate %s revoked by %s", req->number, call->principal.token_id);
out:
	log_record_release(&record);
	free(credential);
	PQclear(res);
	return ok;
}

static bool
number_valid(const char *number, struct vl_error *err)
{
	if (number[0] == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "number: required");
	if (!certificate_number_valid(number))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "number: not a certificate number (VLC-YYYY-XXXX-XXXX-XXXX)");
	return true;
}

static void
revoke_certificate(struct rpc_call *call)
{
	const Vledger__V1__RevokeCertificateRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "revoke certificates", &err) ||
	    !idempotency_key_valid(req->idempotency_key, &err) || !number_valid(req->number, &err) ||
	    !records_text_valid("reason", req->reason, 500, true, false, &err)) {
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, revoke_job, NULL);
}

/*
 * GetCertificate, VerifyCertificate (public)
 */

static bool
get_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetCertificateRequest *req = (const void *)call->request;
	Vledger__V1__GetCertificateResponse out = VLEDGER__V1__GET_CERTIFICATE_RESPONSE__INIT;
	Vledger__V1__Certificate cert;
	Vledger__V1__Receipt receipt_msg;
	Google__Protobuf__Timestamp issued, revoked;
	struct tlog_receipt receipt;
	ProtobufCBinaryData *hashes = NULL;
	char *credential = NULL;
	PGresult *res = NULL;
	bool ok = false;

	memset(&receipt, 0, sizeof(receipt));
	if (!cert_load(conn, req->number, false, &res, err))
		return false;
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "number: no such certificate");
		goto out;
	}
	if (!cert_credential(call->app, res, &credential, err) ||
	    !tlog_receipt_for(conn, call->app->tlog, strtoull(PQgetvalue(res, 0, COL_LEAF), NULL, 10), &receipt, err))
		goto out;
	cert_message(res, credential, &cert, &issued, &revoked);
	hashes = xcalloc(receipt.proof_count + 1, sizeof(*hashes));
	log_receipt_message(&receipt, &receipt_msg, hashes);
	out.certificate = &cert;
	out.receipt = &receipt_msg;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	free(hashes);
	tlog_receipt_free(&receipt);
	free(credential);
	PQclear(res);
	return ok;
}

static void
get_certificate(struct rpc_call *call)
{
	const Vledger__V1__GetCertificateRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!number_valid(req->number, &err)) {
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, get_job, NULL);
}

static bool
verify_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__VerifyCertificateRequest *req = (const void *)call->request;
	Vledger__V1__VerifyCertificateResponse out = VLEDGER__V1__VERIFY_CERTIFICATE_RESPONSE__INIT;
	Google__Protobuf__Timestamp revoked = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct certificate_verdict v;
	bool ok;

	if (req->credential[0] != '\0')
		ok = certificate_verify_document(conn, call->app, req->credential, strlen(req->credential), &v, err);
	else
		ok = certificate_verify_number(conn, call->app, req->number, &v, err);
	if (!ok)
		return false;
	out.result = (Vledger__V1__VerificationResult)v.result;
	out.reason = v.reason != NULL ? v.reason : (char *)"";
	out.number = v.number != NULL ? v.number : (char *)"";
	out.credential = v.credential != NULL ? v.credential : (char *)"";
	out.leaf_index = v.leaf_index;
	if (v.result == VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED) {
		revoked.seconds = v.revoke_time_us / 1000000;
		revoked.nanos = (int32_t)(v.revoke_time_us % 1000000) * 1000;
		out.revoke_time = &revoked;
		out.revoke_reason = out.reason;
	}
	codec_encode_binary(&out.base, response, response_len);
	certificate_verdict_free(&v);
	return true;
}

static void
verify_certificate(struct rpc_call *call)
{
	const Vledger__V1__VerifyCertificateRequest *req = (const void *)call->request;
	struct vl_error err;

	if (req->credential[0] != '\0' && req->number[0] != '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "credential: give the credential or a number, not both");
		goto fail;
	}
	if (req->credential[0] == '\0' && req->number[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "credential: required (or number)");
		goto fail;
	}
	rpc_run_read_job(call, verify_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

const struct rpc_method certificate_methods[] = {
	{"vledger.v1.CertificateService", "IssueCertificate", &vledger__v1__issue_certificate_request__descriptor,
	    &vledger__v1__issue_certificate_response__descriptor, RPC_TOKEN, issue_certificate, false},
	{"vledger.v1.CertificateService", "RevokeCertificate", &vledger__v1__revoke_certificate_request__descriptor,
	    &vledger__v1__revoke_certificate_response__descriptor, RPC_TOKEN, revoke_certificate, false},
	{"vledger.v1.CertificateService", "GetCertificate", &vledger__v1__get_certificate_request__descriptor,
	    &vledger__v1__get_certificate_response__descriptor, RPC_PUBLIC, get_certificate, false},
	{"vledger.v1.CertificateService", "VerifyCertificate", &vledger__v1__verify_certificate_request__descriptor,
	    &vledger__v1__verify_certificate_response__descriptor, RPC_PUBLIC, verify_certificate, false},
};
const size_t certificate_methods_count = sizeof(certificate_methods) / sizeof(certificate_methods[0]);
