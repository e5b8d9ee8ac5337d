/*
 * attendance.h - vledger.v1.AttendanceService: check-in and check-out at the
 * site, recording MEASURED shifts with the server's clock.
 *
 * CheckIn (admin, office, team leader; the same reach rules as RecordShift)
 * opens a check_ins row whose start is the database's now(); a volunteer has
 * at most one open check-in (checked under the per-volunteer shift lock and
 * backed by the unique index check_ins_open). CheckOut closes it into a
 * shift with source 'measured': end now(), or start + --max-shift-hours with
 * `capped` when it was open longer; the overlap rule of RecordShift applies
 * under the same lock. Entries: `checked_in`, and `shift_recorded` with
 * "source":"measured", "checkInId" and ("capped":true).
 */
#ifndef VLEDGER_ATTENDANCE_H
#define VLEDGER_ATTENDANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vledger/error.h"
#include "vledger/rpc.h"

struct tlog;

extern const struct rpc_method attendance_methods[];
extern const size_t attendance_methods_count;

/* The periodic sweep: closes every check-in open longer than
 * `max_shift_hours` at start + limit, its shift flagged capped and PENDING
 * (for an office to approve), appending the same entries as a check-out with
 * actor "vledgerd". Each check-in is closed in its own transaction (the
 * connection must not be in one); one that cannot be closed (its capped shift
 * would overlap another live shift) is logged and left open. *closed counts
 * the check-ins closed. Blocking: run it in a store job or at startup. */
VL_MUST_CHECK bool attendance_close_stale(PGconn *conn, const struct tlog *log, int64_t max_shift_hours, int *closed,
    struct vl_error *err);

#endif
