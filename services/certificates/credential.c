/*
 * credential.c - the volunteer service credential: what a certificate
 * states, gathered in one transaction, written as a W3C VC 2.0 document and
 * signed (eddsa-jcs-2022); and the stored form of it, which keeps the
 * volunteer's name and masked identity number sealed apart.
 *
 * The figures come from records_summary_load(), the same SQL that
 * GetVolunteerSummary answers from, so a certificate never states other
 * hours than the summary for its period. The document holds no floating
 * point numbers (JCS, jcs.h): hours are minutes, the average rating a
 * string with two decimals.
 */
#include "certificates_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/codec.h"
#include "vledger/commendations.h"
#include "vledger/encoding.h"
#include "vledger/jcs.h"
#include "vledger/log.h"
#include "vledger/pii.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/vc.h"

#define COUNTED_PERIOD \
	"volunteer_id = $1 AND status = 'approved' AND NOT voided AND start_time >= $2 AND start_time < $3"

/* The first column of a one-row query, or NULL (then err is set). */
static char *
query_one(PGconn *conn, const char *sql, int n, const char *const *params, const char *what, struct vl_error *err)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	char *value = NULL;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		store_error_from_result(conn, res, what, err);
	else if (PQntuples(res) == 0)
		vl_error_set(err, VL_NOT_FOUND, "%s: not found", what);
	else
		value = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return value;
}

/* [{"category", "minutes"}] from the summary. */
static json_t *
categories_json(const struct records_summary *sum)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sum->summary.n_by_category; i++)
		json_array_append_new(a, json_pack("{s:s, s:I}", "category",
		    records_category_db_name(sum->summary.by_category[i]->category), "minutes",
		    (json_int_t)sum->summary.by_category[i]->minutes));
	return a;
}

/* [{"id", "name", "minutes"}]: the organisations served, with their names
 * (public: organisation names are not personal data). */
static bool
organizations_json(PGconn *conn, const char *const *params, json_t **out, struct vl_error *err)
{
	PGresult *res;
	json_t *a;
	int i;

	res = PQexecParams(conn, "SELECT s.organization_id, o.name, sum(s.minutes)::text FROM shifts s"
	    " JOIN organizations o ON o.id = s.organization_id WHERE s." COUNTED_PERIOD
	    " GROUP BY s.organization_id, o.name ORDER BY sum(s.minutes) DESC, s.organization_id", 3, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organizationsServed", err);
		PQclear(res);
		return false;
	}
	a = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:I}", "id", PQgetvalue(res, i, 0), "name",
		    PQgetvalue(res, i, 1), "minutes", (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10)));
	PQclear(res);
	*out = a;
	return true;
}

/* The distinct activities named on the counted shifts (at most 20, the
 * most served first): what the service was. */
static bool
activities_json(PGconn *conn, const char *const *params, json_t **out, struct vl_error *err)
{
	PGresult *res;
	json_t *a;
	int i;

	res = PQexecParams(conn, "SELECT activity FROM shifts WHERE " COUNTED_PERIOD " AND activity <> ''"
	    " GROUP BY activity ORDER BY sum(minutes) DESC, activity LIMIT 20", 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "activities", err);
		PQclear(res);
		return false;
	}
	a = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, json_string(PQgetvalue(res, i, 0)));
	PQclear(res);
	*out = a;
	return true;
}

static json_t *
commendations_json(const struct records_summary *sum)
{
	json_t *a = json_array();
	char when[40];
	size_t i;

	for (i = 0; i < sum->summary.n_commendations; i++) {
		const Vledger__V1__Commendation *c = sum->summary.commendations[i];

		/* Whole seconds, like every other time in the document. */
		if (c->award_time != NULL)
			codec_timestamp_format(c->award_time->seconds, 0, when);
		else
			when[0] = '\0';
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "id", c->id, "title", c->title, "level",
		    commendation_level_db_name(c->level) != NULL ? commendation_level_db_name(c->level) : "", "awardTime",
		    when));
	}
	return a;
}

/* The volunteer's name and masked identity number, opened from the sealed
 * personal data. VL_FAILED_PRECONDITION once it was erased: a certificate
 * must name the person. */
static bool
subject_identity(PGconn *conn, const struct app *app, const char *volunteer_id, char **name, char *masked,
    struct vl_error *err)
{
	const char *params[1] = {volunteer_id};
	struct pii_record rec;
	PGresult *res;
	bool ok;

	res = PQexecParams(conn, "SELECT wrapped_key, ciphertext FROM volunteer_personal_data WHERE volunteer_id = $1", 1,
	    NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "volunteerId: the volunteer's personal data was erased; a certificate must name the volunteer");
	}
	memset(&rec, 0, sizeof(rec));
	ok = pii_open(app->pii, volunteer_id, (const uint8_t *)PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0),
	    (const uint8_t *)PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1), &rec, err);
	PQclear(res);
	if (!ok)
		return false;
	*name = xstrdup(rec.name);
	pii_mask_id_number(rec.id_number, masked);
	pii_record_wipe_free(&rec);
	return true;
}

bool
credential_gather(PGconn *conn, const struct rpc_call *call, const struct credential_request *req, json_t **out,
    struct vl_error *err)
{
	const struct app *app = call->app;
	const char *params[3] = {req->volunteer_id, req->from, req->to};
	const char *p1[1];
	struct records_summary sum;
	char masked[PII_MASK_LEN], *name = NULL, *org_name = NULL, *officer = NULL;
	json_t *orgs = NULL, *activities = NULL, *doc = NULL;
	char *id = NULL, *subject_id = NULL, *status_url = NULL;
	bool ok = false;

	memset(&sum, 0, sizeof(sum));
	p1[0] = req->organization_id;
	org_name = query_one(conn, "SELECT name FROM organizations WHERE id = $1", 1, p1, "organizationId", err);
	if (org_name == NULL)
		goto out;
	p1[0] = call->principal.token_id;
	officer = query_one(conn, "SELECT description FROM tokens WHERE id = $1", 1, p1, "token", err);
	if (officer == NULL)
		goto out;
	if (!subject_identity(conn, app, req->volunteer_id, &name, masked, err) ||
	    !records_summary_load(conn, app->config, req->volunteer_id, req->from, req->to, &sum, err) ||
	    !organizations_json(conn, params, &orgs, err) || !activities_json(conn, params, &activities, err))
		goto out;

	id = xasprintf("urn:vledger:certificate:%s", req->number);
	subject_id = xasprintf("urn:vledger:volunteer:%s", req->volunteer_id);
	status_url = xasprintf("%s/certificates/%s/status", app->config->public_url, req->number);
	doc = json_pack("{s:[s], s:s, s:[s,s], s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:s, s:s, s:s,"
	    " s:{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:I, s:i, s:o, s:o, s:o, s:i, s:s, s:o, s:I, s:i},"
	    " s:{s:s, s:s}}",
	    "@context", "https://www.w3.org/ns/credentials/v2",
	    "id", id,
	    "type", "VerifiableCredential", "VolunteerServiceCredential",
	    "issuer", "id", vc_signer_did(app->credentials), "name", org_name, "organizationId", req->organization_id,
	    "officer", "tokenId", call->principal.token_id, "name", officer,
	    "validFrom", req->issue_time,
	    "name", req->title,
	    "certificateNumber", req->number,
	    "credentialSubject",
	    "id", subject_id, "volunteerId", req->volunteer_id, "name", name, "maskedIdNumber", masked,
	    "period", "from", req->from, "to", req->to,
	    "totalMinutes", (json_int_t)sum.summary.total_minutes,
	    "shiftCount", (int)sum.summary.shift_count,
	    "minutesByCategory", categories_json(&sum),
	    "activities", activities,
	    "organizationsServed", orgs,
	    "feedbackCount", (int)sum.summary.feedback_count,
	    "averageRating", sum.average_rating_2dp,
	    "commendations", commendations_json(&sum),
	    "lifetimeMinutes", (json_int_t)sum.summary.lifetime_minutes,
	    "starLevel", (int)sum.summary.star_level,
	    "credentialStatus", "id", status_url, "type", "VledgerCertificateStatus");
	activities = orgs = NULL;  /* json_pack's "o" took them, also on failure */
	if (doc == NULL) {
		vl_error_set(err, VL_INTERNAL, "credential: cannot build the document");
		goto out;
	}
	if (!vc_sign(app->credentials, doc, req->issue_time, err))
		goto out;
	*out = doc;
	doc = NULL;
	ok = true;
out:
	json_decref(doc);
	json_decref(orgs);
	json_decref(activities);
	if (name != NULL) {
		OPENSSL_cleanse(name, strlen(name));
		free(name);
	}
	OPENSSL_cleanse(masked, sizeof(masked));
	free(org_name);
	free(officer);
	free(id);
	free(subject_id);
	free(status_url);
	records_summary_release(&sum);
	return ok;
}

bool
credential_digest(const json_t *credential, char **jcs, char hex[65], struct vl_error *err)
{
	unsigned char md[32];
	size_t len;

	if (!jcs_serialize(credential, jcs, &len, err))
		return false;
	EVP_Digest(*jcs, len, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), hex);
	return true;
}

/* The personal part of a credential, for sealing: name and masked number
 * in a pii_record (its phone stays empty). */
bool
credential_split(const json_t *credential, const char *volunteer_id, const struct pii_keys *keys, char **document,
    uint8_t **wrapped, size_t *wrapped_len, uint8_t **sealed, size_t *sealed_len, struct vl_error *err)
{
	json_t *copy = json_deep_copy(credential), *subject;
	struct pii_record rec;
	size_t len;
	bool ok = false;

	subject = json_object_get(copy, "credentialSubject");
	memset(&rec, 0, sizeof(rec));
	rec.name = (char *)json_string_value(json_object_get(subject, "name"));
	rec.phone = (char *)"";
	rec.id_number = (char *)json_string_value(json_object_get(subject, "maskedIdNumber"));
	if (rec.name == NULL || rec.id_number == NULL) {
		vl_error_set(err, VL_INTERNAL, "credential: no subject name to seal");
		goto out;
	}
	if (!pii_seal(keys, volunteer_id, &rec, wrapped, wrapped_len, sealed, sealed_len, err))
		goto out;
	json_object_del(subject, "name");
	json_object_del(subject, "maskedIdNumber");
	if (!jcs_serialize(copy, document, &len, err)) {
		free(*wrapped);
		free(*sealed);
		*wrapped = *sealed = NULL;
		goto out;
	}
	ok = true;
out:
	json_decref(copy);
	return ok;
}

bool
credential_join(const char *document, const char *volunteer_id, const struct pii_keys *keys, const uint8_t *wrapped,
    size_t wrapped_len, const uint8_t *sealed, size_t sealed_len, char **credential, struct vl_error *err)
{
	struct pii_record rec;
	json_error_t jerr;
	json_t *doc, *subject;
	size_t len;
	bool ok = false;

	doc = json_loads(document, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return vl_error_set(err, VL_DATA_LOSS, "certificate: stored document is not JSON: %s", jerr.text);
	memset(&rec, 0, sizeof(rec));
	if (!pii_open(keys, volunteer_id, wrapped, wrapped_len, sealed, sealed_len, &rec, err))
		goto out;
	subject = json_object_get(doc, "credentialSubject");
	if (!json_is_object(subject)) {
		vl_error_set(err, VL_DATA_LOSS, "certificate: stored document has no credentialSubject");
		goto out;
	}
	json_object_set_new(subject, "name", json_string(rec.name));
	json_object_set_new(subject, "maskedIdNumber", json_string(rec.id_number));
	ok = jcs_serialize(doc, credential, &len, err);
out:
	pii_record_wipe_free(&rec);
	json_decref(doc);
	return ok;
}

void
certificate_number_new(int year, char out[CERTIFICATE_NUMBER_SIZE])
{
	uint8_t r[8];
	uint64_t bits = 0;
	char groups[13];
	int i;

	random_bytes(r, sizeof(r));
	for (i = 0; i < 8; i++)
		bits = bits << 8 | r[i];
	for (i = 0; i < 12; i++) {
		groups[i] = crockford32_alphabet[bits & 31];
		bits >>= 5;
	}
	groups[12] = '\0';
	snprintf(out, CERTIFICATE_NUMBER_SIZE, "VLC-%04u-%.4s-%.4s-%.4s", (unsigned)year % 10000u, groups, groups + 4, groups + 8);
}

bool
certificate_number_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != CERTIFICATE_NUMBER_SIZE - 1 || strncmp(s, "VLC-", 4) != 0)
		return false;
	for (i = 4; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	for (i = 8; i < CERTIFICATE_NUMBER_SIZE - 1; i++) {
		if ((i - 8) % 5 == 0) {
			if (s[i] != '-')
				return false;
		} else if (s[i] == '\0' || strchr(crockford32_alphabet, s[i]) == NULL) {
			return false;
		}
	}
	return true;
}
