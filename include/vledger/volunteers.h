/*
 * volunteers.h - vledger.v1.VolunteerService: registering volunteers,
 * reading them (personal data only for offices above them), and erasing
 * their personal data by destroying its key.
 */
#ifndef VLEDGER_VOLUNTEERS_H
#define VLEDGER_VOLUNTEERS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "vledger/rpc.h"

struct pii_keys;

extern const struct rpc_method volunteer_methods[];
extern const size_t volunteer_methods_count;

/* Startup: records which master key seals this database's personal data,
 * or refuses (VL_FAILED_PRECONDITION) a different one, which could not open
 * what is stored. Blocking. */
VL_MUST_CHECK bool volunteers_check_key(PGconn *conn, const struct pii_keys *keys, struct vl_error *err);

#endif
