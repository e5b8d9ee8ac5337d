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

#include "vledger/rpc.h"

extern const struct rpc_method records_methods[];
extern const size_t records_methods_count;

/* GetVolunteerSummary (summary.c). */
void records_get_volunteer_summary(struct rpc_call *call);

/* "elderly_care" -> SHIFT_CATEGORY_ELDERLY_CARE; 0 for an unknown name. */
int records_category_from_db(const char *name);

#endif
