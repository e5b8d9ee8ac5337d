/*
 * embedded_pg.h - the private PostgreSQL cluster vledgerd runs when no
 * database URL is configured.
 *
 * The cluster lives in STATE_DIR/pg (data in pg/data, the Unix socket in
 * pg/run, the server log in pg/postgres.log) and listens on no TCP port.
 * PostgreSQL refuses to run as root, so when vledgerd runs as root every
 * PostgreSQL program is run as the unprivileged `run_as_user` (default
 * "postgres") and pg/ is owned by that user. These calls block; they are for
 * startup and shutdown, before and after the event loop runs.
 */
#ifndef VLEDGER_EMBEDDED_PG_H
#define VLEDGER_EMBEDDED_PG_H

#include "vledger/error.h"

struct embedded_pg;

struct embedded_pg_config {
	const char *state_dir;    /* must exist */
	const char *bindir;       /* PostgreSQL programs; NULL: search the usual places */
	const char *run_as_user;  /* used only when running as root */
};

/* Creates the cluster the first time (initdb, a `vledger` database), starts
 * it unless a server from an earlier run is still up on the same data dir
 * (then it is reused), and waits until it accepts connections. On success *out
 * is freed with embedded_pg_stop(). Errors say which step failed and where
 * the server log is. */
VL_MUST_CHECK bool embedded_pg_start(const struct embedded_pg_config *config, struct embedded_pg **out,
    struct vl_error *err);

/* The libpq connection string for the cluster's `vledger` database. Owned by
 * the embedded_pg. */
const char *embedded_pg_conninfo(const struct embedded_pg *pg);

/* Stops the server (fast shutdown, waits for it) and frees pg. */
void embedded_pg_stop(struct embedded_pg *pg);

#endif
