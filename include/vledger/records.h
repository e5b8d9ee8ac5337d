/*
 * records.h - vledger.v1.RecordsService: service shifts and their approval.
 *
 * Rules (each a named-field error, and the request writes nothing):
 * end after start; at most --max-shift-hours long; starting (or ending) no
 * more than 5 minutes in the future; a team leader cannot record a shift
 * older than --backdate-days; a known category; a known volunteer and
 * organisation within the caller's reach; no overlap with another live
 * shift of the same volunteer (checked under a per-volunteer lock and
 * backed by an exclusion constraint, so it holds under concurrency).
 */
#ifndef VLEDGER_RECORDS_H
#define VLEDGER_RECORDS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "vledger/commendations.h"
#include "vledger/config.h"
#include "vledger/rpc.h"
#include "vledger/v1/records.pb-c.h"

struct app;
struct rpc_batcher;

extern const struct rpc_method records_methods[];
extern const size_t records_methods_count;

/* Every column is text, so rows read the same in text and binary results. */
#define SHIFT_COLUMNS \
	"id, volunteer_id, organization_id, category," \
	" ((extract(epoch FROM start_time) * 1000000)::bigint)::text," \
	" ((extract(epoch FROM end_time) * 1000000)::bigint)::text, minutes::text, activity, place, grid," \
	" beneficiary, role, note, source, status, recorded_by, decided_by, reject_reason, capped::text, voided::text"

/* A Shift message with room for its timestamps. */
struct shift_view {
	Vledger__V1__Shift shift;
	Google__Protobuf__Timestamp start, end;
};

/* Fills `v` from row `row` selected with SHIFT_COLUMNS; strings point into res. */
void records_shift_from_row(const PGresult *res, int row, struct shift_view *v);

/* The rules every shift's times and texts follow (RecordShift, AmendShift,
 * CheckOut): see the comment at the top. *minutes gets the whole minutes
 * of service. `role` is the caller's (the backdating limit binds team
 * leaders only). */
VL_MUST_CHECK bool records_times_valid(const struct config *config, int role, const Google__Protobuf__Timestamp *start,
    const Google__Protobuf__Timestamp *end, int *minutes, struct vl_error *err);
VL_MUST_CHECK bool records_fields_valid(const char *activity, const char *place, const char *grid,
    const char *beneficiary, const char *role, const char *note, struct vl_error *err);
VL_MUST_CHECK bool records_text_valid(const char *field, const char *s, size_t max, bool required, bool multiline,
    struct vl_error *err);
VL_MUST_CHECK bool records_timestamp_valid(const char *field, const Google__Protobuf__Timestamp *t,
    struct vl_error *err);

/* The refusals of those checks (also made in SQL for RecordShift's
 * batches, sql/015_record_shift_checks.sql, and worded here once). */
#define RECORDS_NO_ORGANIZATION "organizationId: no such organization"
#define RECORDS_ORGANIZATION_KIND "organizationId: service is recorded for a TEAM or a COMMUNITY"
#define RECORDS_NO_VOLUNTEER "volunteerId: no such volunteer"
/* field, shift id, its start, its end */
#define RECORDS_OVERLAP_FMT "%s: overlaps shift %s (%s to %s) of this volunteer"
/* field, check-in id, its start */
#define RECORDS_CHECKIN_OVERLAP_FMT "%s: overlaps the open check-in %s (since %s) of this volunteer"

/* In a store job: where service is recorded (RecordShift, CheckIn) the
 * organisation must be a TEAM or COMMUNITY and both it and the volunteer
 * within the caller's reach (office: at or below; team leader: its team).
 * not_found / invalid_argument / permission_denied naming the field. */
VL_MUST_CHECK bool records_reach_check(PGconn *conn, const struct rpc_call *call, const char *organization_id,
    const char *volunteer_id, struct vl_error *err);

/* In a store job: serialise changes to one volunteer's shifts (held to the
 * end of the transaction), then refuse an overlap with another live shift
 * (not `exclude_shift_id`), naming `field` and the conflicting shift. */
VL_MUST_CHECK bool records_lock_volunteer(PGconn *conn, const char *volunteer_id, struct vl_error *err);
VL_MUST_CHECK bool records_overlap_check(PGconn *conn, const char *volunteer_id, const char *start_rfc3339,
    const char *end_rfc3339, const char *exclude_shift_id, const char *field, struct vl_error *err);

/* Refuses a shift ending after the start of the volunteer's open check-in
 * (which covers its start onwards), naming `field`. Under the same lock. */
VL_MUST_CHECK bool records_checkin_overlap_check(PGconn *conn, const char *volunteer_id, const char *end_rfc3339,
    const char *field, struct vl_error *err);

/* Appends to shift_history (kind: recorded, approved, rejected, amended,
 * voided; changes: a JSON object or NULL). */
VL_MUST_CHECK bool records_history_add(PGconn *conn, const struct rpc_call *call, const char *shift_id,
    const char *kind, const char *reason, const char *changes, uint64_t leaf_index, struct vl_error *err);

/* "elderly_care" <-> SHIFT_CATEGORY_ELDERLY_CARE. */
const char *records_category_db_name(int category);

/* A volunteer's approved, non-voided service in a period (shifts starting
 * at or after `from`, before `to`; either NULL for open), as
 * GetVolunteerSummary reports it; also what certificates and employer
 * attestations state. Everything points into the struct, which owns it:
 * release it with records_summary_release() (also after a failure is
 * harmless: it is zeroed). Runs in a store job; no access check. */
struct records_summary {
	Vledger__V1__VolunteerSummary summary;  /* volunteer_id points at the caller's string */
	const char *average_rating_2dp;         /* "4.50": the average rounded in SQL, for JCS documents */
	Vledger__V1__CategoryMinutes *cats, **cat_ptrs;
	Vledger__V1__OrganizationMinutes *orgs, **org_ptrs;
	struct commendation_list commendations;
	PGresult *totals, *by_org, *feedback;
};
VL_MUST_CHECK bool records_summary_load(PGconn *conn, const struct config *config, const char *volunteer_id,
    const char *from_rfc3339, const char *to_rfc3339, struct records_summary *out, struct vl_error *err);
void records_summary_release(struct records_summary *s);

/* Handlers in their own files: summary.c, corrections.c, entries.c. */
void records_get_volunteer_summary(struct rpc_call *call);
void records_void_entry(struct rpc_call *call);
void records_amend_shift(struct rpc_call *call);
void records_list_entries(struct rpc_call *call);
/* RecordShift, batched (record_shift.c): records_batcher_new() makes the
 * sequencer its calls go through (app->shift_batcher). */
void records_record_shift(struct rpc_call *call);
struct rpc_batcher *records_batcher_new(struct app *app);

/* "elderly_care" -> SHIFT_CATEGORY_ELDERLY_CARE; 0 for an unknown name. */
int records_category_from_db(const char *name);

#endif
