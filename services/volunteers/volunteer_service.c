/*
 * volunteer_service.c - RegisterVolunteer, GetVolunteer,
 * EraseVolunteerPersonalData.
 *
 * Personal data is validated on the loop thread, sealed in the store job
 * (services/crypto/pii.c) and written only to volunteer_personal_data. No
 * response that may be kept in the idempotency table carries it, and the log
 * entry carries only a keyed commitment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/auth.h"
#include "vledger/codec.h"
#include "vledger/encoding.h"
#include "vledger/idempotency.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/pii.h"
#include "vledger/records.h"
#include "vledger/store.h"
#include "vledger/volunteers.h"
#include "vledger/v1/admin.pb-c.h"
#include "vledger/v1/volunteers.pb-c.h"

/* Every column is text, so rows read the same in text and binary results. */
#define VOLUNTEER_COLUMNS \
	"v.id, v.organization_id, to_json(v.skills)::text, v.commitment," \
	" ((extract(epoch FROM v.register_time) * 1000000)::bigint)::text," \
	" ((extract(epoch FROM v.erase_time) * 1000000)::bigint)::text"

/* A Volunteer message with room for what it points to. */
struct volunteer_view {
	Vledger__V1__Volunteer volunteer;
	Vledger__V1__PersonalData personal;
	Google__Protobuf__Timestamp register_time, erase_time;
	json_t *skills_json;
	char **skills;
};

static void
volunteer_view_free(struct volunteer_view *v)
{
	json_decref(v->skills_json);
	free(v->skills);
}

/* Fills `v` from row `row` of a result selected with VOLUNTEER_COLUMNS; the
 * strings point into `res` and v. Free with volunteer_view_free(). */
static void
volunteer_from_row(const PGresult *res, int row, struct volunteer_view *v)
{
	json_error_t jerr;
	size_t i;

	memset(v, 0, sizeof(*v));
	vledger__v1__volunteer__init(&v->volunteer);
	google__protobuf__timestamp__init(&v->register_time);
	google__protobuf__timestamp__init(&v->erase_time);
	v->volunteer.id = PQgetvalue(res, row, 0);
	v->volunteer.organization_id = PQgetvalue(res, row, 1);
	v->skills_json = json_loads(PQgetvalue(res, row, 2), 0, &jerr);
	v->skills = xcalloc(json_array_size(v->skills_json) + 1, sizeof(*v->skills));
	for (i = 0; i < json_array_size(v->skills_json); i++)
		v->skills[i] = (char *)json_string_value(json_array_get(v->skills_json, i));
	v->volunteer.n_skills = json_array_size(v->skills_json);
	v->volunteer.skills = v->skills;
	v->volunteer.commitment = PQgetvalue(res, row, 3);
	timestamp_from_micros(PQgetvalue(res, row, 4), &v->register_time.seconds, &v->register_time.nanos);
	v->volunteer.register_time = &v->register_time;
	if (!PQgetisnull(res, row, 5)) {
		timestamp_from_micros(PQgetvalue(res, row, 5), &v->erase_time.seconds, &v->erase_time.nanos);
		v->volunteer.erase_time = &v->erase_time;
	}
}

static bool
skills_valid(const Vledger__V1__RegisterVolunteerRequest *req, struct vl_error *err)
{
	size_t i, chars;
	const unsigned char *p;

	if (req->n_skills > 20)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "skills: at most 20");
	for (i = 0; i < req->n_skills; i++) {
		chars = 0;
		for (p = (const unsigned char *)req->skills[i]; *p != '\0'; p++) {
			if (*p < 0x20)
				return vl_error_set(err, VL_INVALID_ARGUMENT, "skills[%zu]: control characters are not allowed", i);
			if ((*p & 0xC0) != 0x80)
				chars++;
		}
		if (chars == 0 || chars > 50)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "skills[%zu]: 1 to 50 characters", i);
	}
	return true;
}

static bool
register_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__RegisterVolunteerRequest *req = (const void *)call->request;
	const struct pii_keys *keys = call->app->pii;
	Vledger__V1__RegisterVolunteerResponse out = VLEDGER__V1__REGISTER_VOLUNTEER_RESPONSE__INIT;
	/* The identity number is kept, committed and indexed in its normal
	 * form, so "…002x" and "…002X" are one number. */
	char *id_number = pii_id_number_normalize(req->personal_data->id_number);
	struct pii_record rec = {req->personal_data->name, req->personal_data->phone, id_number};
	struct volunteer_view view;
	struct log_record record;
	char id[32], commitment[PII_HEX_LEN], index[PII_HEX_LEN], *district = NULL;
	uint8_t *wrapped = NULL, *sealed = NULL;
	size_t wrapped_len, sealed_len, i;
	const char *params[6];
	int lengths[6] = {0}, formats[6] = {0};
	json_t *skills;
	char *skills_text = NULL;
	PGresult *res = NULL;
	bool ok = false, have_index = false;

	/* After the append: entry index, response, COMMIT - pipelined (store.h). */
	store_tail_allow(conn);
	memset(&record, 0, sizeof(record));
	memset(&view, 0, sizeof(view));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		goto out;
	if (*response != NULL) {
		ok = true;
		goto out;
	}

	params[0] = req->organization_id;
	res = PQexecParams(conn, "SELECT kind, coalesce(org_district(id), '') FROM organizations WHERE id = $1", 1, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "organizationId", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		vl_error_set(err, VL_NOT_FOUND, "organizationId: no such organization");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "employer") == 0) {
		vl_error_set(err, VL_INVALID_ARGUMENT, "organizationId: volunteers belong to the tree of offices, not to an"
		    " EMPLOYER");
		goto out;
	}
	district = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	res = NULL;
	if (!scope_check(conn, &call->principal, req->organization_id, SCOPE_OFFICE | SCOPE_TEAM_LEADER,
	    "organizationId", err))
		goto out;

	random_id("vol_", id, sizeof(id));
	if (rec.id_number[0] != '\0' && pii_identity_index(keys, district, rec.id_number, index)) {
		have_index = true;
		params[0] = index;
		res = PQexecParams(conn, "SELECT id FROM volunteers WHERE identity_index = $1", 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			store_error_from_result(conn, res, "personalData.idNumber", err);
			goto out;
		}
		if (PQntuples(res) > 0) {
			vl_error_set(err, VL_ALREADY_EXISTS,
			    "personalData.idNumber: already registered in this district as volunteer %s", PQgetvalue(res, 0, 0));
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	pii_commitment(keys, id, &rec, commitment);
	if (!pii_seal(keys, id, &rec, &wrapped, &wrapped_len, &sealed, &sealed_len, err))
		goto out;

	skills = json_array();
	for (i = 0; i < req->n_skills; i++)
		json_array_append_new(skills, json_string(req->skills[i]));
	skills_text = json_dumps(skills, JSON_COMPACT);
	json_decref(skills);
	params[0] = id;
	params[1] = req->organization_id;
	params[2] = skills_text;
	params[3] = commitment;
	params[4] = have_index ? index : NULL;
	params[5] = call->principal.token_id;
	res = PQexecParams(conn,
	    "INSERT INTO volunteers (id, organization_id, skills, commitment, identity_index, created_by)"
	    " VALUES ($1, $2, ARRAY(SELECT json_array_elements_text($3::json)), $4, $5, $6)",
	    6, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		/* Two registrations of one identity number racing: the unique
		 * index stops the second. */
		store_error_from_result(conn, res, "personalData.idNumber", err);
		goto out;
	}
	PQclear(res);
	params[1] = (const char *)wrapped;
	lengths[1] = (int)wrapped_len;
	formats[1] = 1;
	params[2] = (const char *)sealed;
	lengths[2] = (int)sealed_len;
	formats[2] = 1;
	res = PQexecParams(conn, "INSERT INTO volunteer_personal_data (volunteer_id, wrapped_key, ciphertext)"
	    " VALUES ($1, $2, $3)", 3, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res, "personalData", err);
		goto out;
	}
	PQclear(res);
	params[0] = id;
	res = PQexecParams(conn, "SELECT " VOLUNTEER_COLUMNS " FROM volunteers v WHERE v.id = $1", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "volunteer", err);
		goto out;
	}
	volunteer_from_row(res, 0, &view);
	if (!log_record_append_about(conn, call, "volunteer_registered", json_pack("{s:{s:s, s:s, s:s}}", "volunteer",
	    "id", id, "organizationId", req->organization_id, "commitment", commitment), id, req->organization_id,
	    &record, err))
		goto out;
	out.volunteer = &view.volunteer;
	out.receipt = &record.message;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	volunteer_view_free(&view);
	PQclear(res);
	free(district);
	free(skills_text);
	OPENSSL_cleanse(id_number, strlen(id_number));
	free(id_number);
	if (wrapped != NULL)
		OPENSSL_cleanse(wrapped, wrapped_len);
	free(wrapped);
	free(sealed);
	return ok;
}

static void
register_volunteer(struct rpc_call *call)
{
	const Vledger__V1__RegisterVolunteerRequest *req = (const void *)call->request;
	struct pii_record rec;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "register volunteers", &err))
		goto fail;
	if (!idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->organization_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "organizationId: required");
		goto fail;
	}
	if (req->personal_data == NULL) {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "personalData.name: required");
		goto fail;
	}
	rec.name = req->personal_data->name;
	rec.phone = req->personal_data->phone;
	rec.id_number = req->personal_data->id_number;
	if (!pii_record_valid(&rec, &err) || !skills_valid(req, &err))
		goto fail;
	rpc_run_job(call, register_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

/* Looks the volunteer up (locking the row when `lock`) and checks the
 * caller's reach. *full tells whether the caller may see personal data. */
static bool
volunteer_load(PGconn *conn, const struct rpc_call *call, const char *id, bool lock, PGresult **out, bool *full,
    struct vl_error *err)
{
	const char *params[1] = {id};
	PGresult *res;
	const char *org;

	res = PQexecParams(conn, lock ?
	    "SELECT " VOLUNTEER_COLUMNS ", pd.wrapped_key, pd.ciphertext FROM volunteers v"
	    " LEFT JOIN volunteer_personal_data pd ON pd.volunteer_id = v.id WHERE v.id = $1 FOR UPDATE OF v" :
	    "SELECT " VOLUNTEER_COLUMNS ", pd.wrapped_key, pd.ciphertext FROM volunteers v"
	    " LEFT JOIN volunteer_personal_data pd ON pd.volunteer_id = v.id WHERE v.id = $1",
	    1, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "volunteerId", err);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return vl_error_set(err, VL_NOT_FOUND, "volunteerId: no such volunteer");
	}
	org = PQgetvalue(res, 0, 1);
	*full = call->principal.role != VLEDGER__V1__ROLE__ROLE_TEAM_LEADER;
	if (!scope_check(conn, &call->principal, org, SCOPE_OFFICE | SCOPE_TEAM_LEADER, "volunteerId", err)) {
		PQclear(res);
		return false;
	}
	*out = res;
	return true;
}

static bool
get_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__GetVolunteerRequest *req = (const void *)call->request;
	Vledger__V1__GetVolunteerResponse out = VLEDGER__V1__GET_VOLUNTEER_RESPONSE__INIT;
	struct volunteer_view view;
	struct pii_record rec;
	PGresult *res;
	bool full, ok = false;

	memset(&rec, 0, sizeof(rec));
	if (!volunteer_load(conn, call, req->volunteer_id, false, &res, &full, err))
		return false;
	volunteer_from_row(res, 0, &view);
	if (full && !PQgetisnull(res, 0, 6)) {
		if (!pii_open(call->app->pii, req->volunteer_id, (const uint8_t *)PQgetvalue(res, 0, 6),
		    (size_t)PQgetlength(res, 0, 6), (const uint8_t *)PQgetvalue(res, 0, 7), (size_t)PQgetlength(res, 0, 7),
		    &rec, err))
			goto out;
		vledger__v1__personal_data__init(&view.personal);
		view.personal.name = rec.name;
		view.personal.phone = rec.phone;
		view.personal.id_number = rec.id_number;
		view.volunteer.personal_data = &view.personal;
	}
	out.volunteer = &view.volunteer;
	codec_encode_binary(&out.base, response, response_len);
	ok = true;
out:
	pii_record_wipe_free(&rec);
	volunteer_view_free(&view);
	PQclear(res);
	return ok;
}

static void
get_volunteer(struct rpc_call *call)
{
	const Vledger__V1__GetVolunteerRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_FIELD, "read volunteers", &err)) {
		rpc_fail(call, &err);
		return;
	}
	if (req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required");
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, get_job, NULL);
}

static bool
erase_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	const Vledger__V1__EraseVolunteerPersonalDataRequest *req = (const void *)call->request;
	Vledger__V1__EraseVolunteerPersonalDataResponse out = VLEDGER__V1__ERASE_VOLUNTEER_PERSONAL_DATA_RESPONSE__INIT;
	struct volunteer_view view;
	struct log_record record;
	const char *params[1] = {req->volunteer_id};
	PGresult *res = NULL, *res2 = NULL;
	bool full, ok = false, erased;

	memset(&record, 0, sizeof(record));
	memset(&view, 0, sizeof(view));
	if (!idempotency_claim(conn, call, req->idempotency_key, response, response_len, err))
		return false;
	if (*response != NULL)
		return true;
	if (!volunteer_load(conn, call, req->volunteer_id, true, &res, &full, err))
		return false;
	erased = !PQgetisnull(res, 0, 5);
	if (!erased) {
		/* Crypto-shredding: the wrapped key goes, and with it any way
		 * to read the ciphertext; the keyed identity hash goes too. */
		res2 = PQexecParams(conn, "DELETE FROM volunteer_personal_data WHERE volunteer_id = $1", 1, NULL, params,
		    NULL, NULL, 0);
		if (PQresultStatus(res2) != PGRES_COMMAND_OK) {
			store_error_from_result(conn, res2, "volunteerId", err);
			goto out;
		}
		PQclear(res2);
		/* Certificates keep their status and hash; the name and masked
		 * identity number sealed with them go the same way. */
		res2 = PQexecParams(conn, "UPDATE certificates SET personal_key = NULL, personal_data = NULL"
		    " WHERE volunteer_id = $1", 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res2) != PGRES_COMMAND_OK) {
			store_error_from_result(conn, res2, "volunteerId", err);
			goto out;
		}
		PQclear(res2);
		res2 = PQexecParams(conn, "UPDATE volunteers SET erase_time = now(), identity_index = NULL WHERE id = $1", 1,
		    NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res2) != PGRES_COMMAND_OK) {
			store_error_from_result(conn, res2, "volunteerId", err);
			goto out;
		}
		if (!log_record_append_about(conn, call, "volunteer_personal_data_erased", json_pack("{s:{s:s}, s:s}",
		    "volunteer", "id", req->volunteer_id, "reason", req->reason), req->volunteer_id, PQgetvalue(res, 0, 1),
		    &record, err))
			goto out;
		out.receipt = &record.message;
	}
	PQclear(res);
	res = PQexecParams(conn, "SELECT " VOLUNTEER_COLUMNS " FROM volunteers v WHERE v.id = $1", 1, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "volunteer", err);
		goto out;
	}
	volunteer_from_row(res, 0, &view);
	out.volunteer = &view.volunteer;
	codec_encode_binary(&out.base, response, response_len);
	ok = idempotency_record(conn, call, req->idempotency_key, *response, *response_len, err);
out:
	log_record_release(&record);
	volunteer_view_free(&view);
	PQclear(res2);
	PQclear(res);
	return ok;
}

static void
erase_personal_data(struct rpc_call *call)
{
	const Vledger__V1__EraseVolunteerPersonalDataRequest *req = (const void *)call->request;
	struct vl_error err;

	if (!role_may(call, ROLES_OFFICE, "erase personal data", &err))
		goto fail;
	if (!idempotency_key_valid(req->idempotency_key, &err))
		goto fail;
	if (req->volunteer_id[0] == '\0') {
		vl_error_set(&err, VL_INVALID_ARGUMENT, "volunteerId: required");
		goto fail;
	}
	if (!records_text_valid("reason", req->reason, 300, true, true, &err))
		goto fail;
	rpc_run_job(call, erase_job, NULL);
	return;
fail:
	rpc_fail(call, &err);
}

bool
volunteers_check_key(PGconn *conn, const struct pii_keys *keys, struct vl_error *err)
{
	static const struct pii_record probe = {"vledger key check", "", ""};
	char check[PII_HEX_LEN];
	const char *params[1] = {check};
	PGresult *res;
	bool ok;

	pii_commitment(keys, "key-check", &probe, check);
	res = PQexecParams(conn, "INSERT INTO pii_key_check (check_hmac) VALUES ($1) ON CONFLICT DO NOTHING", 1, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		store_error_from_result(conn, res, "personal data key", err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	res = PQexec(conn, "SELECT check_hmac FROM pii_key_check WHERE log_id = 'default'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "personal data key", err);
		PQclear(res);
		return false;
	}
	ok = strcmp(PQgetvalue(res, 0, 0), check) == 0;
	PQclear(res);
	if (!ok)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "--pii-key: this database's personal data is sealed with"
		    " another master key; start with the key the other instances use");
	return true;
}

const struct rpc_method volunteer_methods[] = {
	{"vledger.v1.VolunteerService", "RegisterVolunteer", &vledger__v1__register_volunteer_request__descriptor,
	    &vledger__v1__register_volunteer_response__descriptor, RPC_TOKEN, register_volunteer, false},
	{"vledger.v1.VolunteerService", "GetVolunteer", &vledger__v1__get_volunteer_request__descriptor,
	    &vledger__v1__get_volunteer_response__descriptor, RPC_TOKEN, get_volunteer, false},
	{"vledger.v1.VolunteerService", "EraseVolunteerPersonalData",
	    &vledger__v1__erase_volunteer_personal_data_request__descriptor,
	    &vledger__v1__erase_volunteer_personal_data_response__descriptor, RPC_TOKEN, erase_personal_data, false},
};
const size_t volunteer_methods_count = sizeof(volunteer_methods) / sizeof(volunteer_methods[0]);
