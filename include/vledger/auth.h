/*
 * auth.h - bearer tokens: making secrets, hashing them, looking them up.
 *
 * A secret is "vlt_" followed by 43 base64url characters (256 random bits).
 * Only SHA-256(secret) is stored; the secret itself is shown once, to whoever
 * created the token, and never logged.
 */
#ifndef VLEDGER_AUTH_H
#define VLEDGER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vledger/error.h"
#include "vledger/rpc.h"

#define AUTH_SECRET_PREFIX "vlt_"
#define AUTH_SECRET_SIZE 48  /* prefix + 43 characters + NUL */

/* A new random secret and its hash. Wipe `secret` (OPENSSL_cleanse) when done. */
void auth_secret_new(char secret[AUTH_SECRET_SIZE], uint8_t hash[32]);
void auth_secret_hash(const char *secret, size_t len, uint8_t hash[32]);

/* Extracts the secret from an Authorization header value ("Bearer <secret>",
 * scheme case-insensitive). Returns NULL when the header is not a bearer
 * credential. The result points into `header`. */
const char *auth_bearer(const char *header);

/* Store job body: finds the token with this hash. Fails with
 * VL_UNAUTHENTICATED for an unknown, revoked or expired token (the message
 * says which, without echoing the secret), VL_UNAVAILABLE/VL_INTERNAL for
 * database trouble. */
VL_MUST_CHECK bool auth_lookup(PGconn *conn, const uint8_t hash[32], struct principal *out, struct vl_error *err);

/* vledger.v1.Role <-> the names stored in the database ("admin", ...).
 * role_from_db returns 0 (ROLE_UNSPECIFIED) for an unknown name. */
const char *role_db_name(int role);
int role_from_db(const char *name);
/* "ROLE_ADMIN", ... for messages. */
const char *role_proto_name(int role);

#endif
