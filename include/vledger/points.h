/*
 * points.h - incentive points: the policy in force, balances computed from
 * the facts (sql/009_points.sql), and redemption.
 *
 * A policy is a JSON object:
 *   {"pointsPerHour": {"default": 10, "elderly_care": 12, ...},
 *    "measuredOnly": false,
 *    "commendationBonus": {"team": 20, "community": 50, "subdistrict": 100, "district": 200, "city": 500},
 *    "cap": 0, "expiryMonths": 0}
 * pointsPerHour keys are shift categories or "default"; values are
 * non-negative integers. measuredOnly counts only check-in/check-out hours.
 * cap (0: none) bounds the balance: points earned beyond it are not kept.
 * expiryMonths (0: never) expires points that many months after they were
 * earned, oldest spent first (sql/010_points_cap_expiry.sql).
 */
#ifndef VLEDGER_POINTS_H
#define VLEDGER_POINTS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "vledger/rpc.h"

struct tlog;

extern const struct rpc_method points_methods[];
extern const size_t points_methods_count;

/* The policy used when --points-policy is not given. */
extern const char points_default_policy[];

/* Startup: reads the policy (the file at `path`, or the default), checks
 * it, and when it differs from the one in force records it: a
 * points_policy_set entry and a new version, effective now. Blocking. */
VL_MUST_CHECK bool points_policy_apply(PGconn *conn, const struct tlog *log, const char *path, struct vl_error *err);

/* Checks a policy document; err names the offending key. */
VL_MUST_CHECK bool points_policy_valid(const char *text, size_t len, struct vl_error *err);

#endif
