/*
 * admin.h - vledger.v1.AdminService: the organisation tree and tokens.
 *
 * Who may do what (roles are those of a token; "subtree" is the token's
 * organisation and everything below it):
 *   CreateOrganization  admin: anything; office: under its subtree
 *   Get/ListOrganizations admin, auditor: all; office: its subtree;
 *                       team_leader, employer, volunteer: their own
 *                       organisation
 *   CreateToken         admin: any role; office: ROLE_OFFICE and
 *                       ROLE_TEAM_LEADER tokens for its subtree, and
 *                       ROLE_VOLUNTEER tokens for the volunteers in it
 *   RevokeToken, ListTokens  admin: all; office: tokens of its subtree
 *
 * A ROLE_VOLUNTEER token is bound to one volunteer (principal.volunteer_id)
 * and its organisation is the volunteer's. It may read that volunteer's
 * summary and entries (RecordsService, role set ROLES_FIELD_OR_SELF) and
 * manage their consent (RecognitionService), and read its organisation;
 * nothing else: ROLES_OFFICE and ROLES_FIELD leave it out, so every other
 * handler refuses it in role_may().
 */
#ifndef VLEDGER_ADMIN_H
#define VLEDGER_ADMIN_H

#include <stddef.h>

#include <libpq-fe.h>

#include "vledger/rpc.h"
#include "vledger/v1/admin.pb-c.h"

extern const struct rpc_method admin_methods[];
extern const size_t admin_methods_count;

struct tlog;

/* Creates the bootstrap admin token unless the database has one, records it
 * in the log, and writes its secret to `path` (mode 0600). Blocking:
 * startup only. *created tells whether a token was made. */
VL_MUST_CHECK bool admin_bootstrap_token(PGconn *conn, const struct tlog *log, const char *path, bool *created,
    struct vl_error *err);

/* The token handlers (admin_tokens.c), listed in the method table that
 * lives with the organisation handlers. */
void admin_create_token(struct rpc_call *call);
void admin_revoke_token(struct rpc_call *call);
void admin_list_tokens(struct rpc_call *call);

/* Shared by the organisation and token handlers (admin_*.c). */
const char *org_kind_db_name(int kind);
int org_kind_from_db(const char *name);
const char *org_kind_proto_name(int kind);
/* Which roles may call a method at all (before scope_check narrows it to
 * an organisation): bit sets of vledger.v1.Role values. */
#define ROLE_BIT(role) (1u << (role))
#define ROLES_OFFICE (ROLE_BIT(VLEDGER__V1__ROLE__ROLE_ADMIN) | ROLE_BIT(VLEDGER__V1__ROLE__ROLE_OFFICE))
#define ROLES_FIELD (ROLES_OFFICE | ROLE_BIT(VLEDGER__V1__ROLE__ROLE_TEAM_LEADER))
/* Reads of one volunteer's own record: the field roles and the volunteer
 * (narrowed to their own id by volunteer_scope_check). */
#define ROLES_FIELD_OR_SELF (ROLES_FIELD | ROLE_BIT(VLEDGER__V1__ROLE__ROLE_VOLUNTEER))

/* True when the caller's role is in `roles`; else VL_PERMISSION_DENIED
 * "ROLE_X tokens cannot <action>". */
VL_MUST_CHECK bool role_may(const struct rpc_call *call, unsigned roles, const char *action, struct vl_error *err);

/* Who may act on organisation `org`: an admin always; an office when org
 * is its organisation or below it; a team leader when org is its team and
 * SCOPE_TEAM_LEADER is in `allow`. Anyone else, or out of reach:
 * VL_PERMISSION_DENIED naming `field`. Runs in a store job. */
/* The refusal of scope checks, with the field name. */
#define SCOPE_REFUSAL_FMT "%s: outside what this token may act on"
#define SCOPE_OFFICE 1u
#define SCOPE_TEAM_LEADER 2u
#define SCOPE_VOLUNTEER 4u  /* volunteer_scope_check only: the volunteer's own token */
VL_MUST_CHECK bool scope_check(PGconn *conn, const struct principal *p, const char *org, unsigned allow,
    const char *field, struct vl_error *err);

/* Who may act on volunteer `volunteer_id`: a ROLE_VOLUNTEER token only on
 * its own volunteer and only when SCOPE_VOLUNTEER is in `allow` (refused
 * before the volunteer is looked up, so that it cannot probe for others);
 * anyone else as scope_check() on the volunteer's organisation. An unknown
 * volunteer is VL_NOT_FOUND "<field>: no such volunteer". When `org_out`
 * is not NULL it gets the volunteer's organisation. Runs in a store job. */
VL_MUST_CHECK bool volunteer_scope_check(PGconn *conn, const struct principal *p, const char *volunteer_id,
    unsigned allow, const char *field, char org_out[64], struct vl_error *err);

/* Page tokens are opaque to clients: base64url of "<tag><seq>". */
char *page_token_encode(char tag, long long seq);
VL_MUST_CHECK bool page_token_decode(const char *token, char tag, long long *seq, struct vl_error *err);
/* page_size 0 -> 50; 1..500 allowed. */
VL_MUST_CHECK bool page_size_valid(int32_t page_size, int *out, struct vl_error *err);
/* Sets *within to whether organisation `org` is `ancestor` or below it. */
VL_MUST_CHECK bool org_within(PGconn *conn, const char *org, const char *ancestor, bool *within,
    struct vl_error *err);
/* "timestamptz column" -> Timestamp, from the microseconds since the epoch
 * that admin SQL selects as `(extract(epoch from x) * 1000000)::bigint`. */
void timestamp_from_micros(const char *micros, int64_t *seconds, int32_t *nanos);

#endif
