/*
 * commendations.h - vledger.v1.CommendationService: commendations awarded
 * to volunteers, and the list of them that GetVolunteerSummary shows.
 *
 * Rules (each a named-field error, and the request writes nothing; see
 * proto/vledger/v1/commendations.proto):
 *   AwardCommendation  admin, or an office at or above the awarding
 *                      organisation (a district, sub-district or community).
 *                      The level's rank (TEAM 1 .. CITY 5) must not exceed
 *                      the organisation's (community 2, subdistrict 3,
 *                      district 4): permission_denied naming level. CITY:
 *                      admin tokens only. The volunteer must be in the
 *                      organisation or below it; related shifts must be
 *                      the volunteer's, neither rejected nor voided.
 *   ListCommendations  admin, offices at or above the volunteer's
 *                      organisation, the team leader of the volunteer's
 *                      team. Non-voided commendations, newest first.
 */
#ifndef VLEDGER_COMMENDATIONS_H
#define VLEDGER_COMMENDATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "vledger/error.h"
#include "vledger/rpc.h"
#include "vledger/v1/commendations.pb-c.h"

extern const struct rpc_method commendation_methods[];
extern const size_t commendation_methods_count;

/* Commendation messages read from the database. Every string points into
 * `res` or `shift_ids`; free everything with commendation_list_free(). */
struct commendation_list {
	Vledger__V1__Commendation *items;
	Vledger__V1__Commendation **ptrs;  /* for a repeated field: ptrs[i] == &items[i] */
	Google__Protobuf__Timestamp *award_times;
	char **shift_id_text;              /* per item: the related shift ids, NUL-separated */
	char ***shift_ids;                 /* per item: pointers into shift_id_text[i] */
	size_t count;
	PGresult *res;
};

/* In a store job (the caller has checked who may see the volunteer): the
 * volunteer's non-voided commendations awarded in [from, to) (RFC 3339
 * strings; NULL for an open end), newest first, into *out. On failure *out
 * is empty (but still safe to free). Put them in a message with
 *   msg.n_commendations = out.count; msg.commendations = out.ptrs;
 * and call commendation_list_free() once the message is packed. */
VL_MUST_CHECK bool commendations_for_summary(PGconn *conn, const char *volunteer_id, const char *from_rfc3339,
    const char *to_rfc3339, struct commendation_list *out, struct vl_error *err);
void commendation_list_free(struct commendation_list *list);

/* "district" <-> COMMENDATION_LEVEL_DISTRICT; NULL / 0 when unknown. */
const char *commendation_level_db_name(int level);
int commendation_level_from_db(const char *name);

#endif
