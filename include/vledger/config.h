/*
 * config.h - vledgerd's settings: one table (config.c) of name, type,
 * default, range and environment variable. Command-line flags override the
 * environment, which overrides the defaults. `--help` prints the table.
 */
#ifndef VLEDGER_CONFIG_H
#define VLEDGER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vledger/error.h"

struct config {
	char *listen;
	char *state_dir;
	char *database_url;      /* NULL: run the embedded PostgreSQL */
	char *sql_dir;
	char *tls_cert;
	char *tls_key;
	int64_t max_body_bytes;
	int64_t max_connections;
	int64_t db_pool_size;
	int64_t max_queued_jobs; /* bound of the store's job queue; beyond it calls are refused */
	int64_t shutdown_timeout_ms;
	bool no_prepared_statements; /* never PQprepare: for PgBouncer transaction pooling before 1.21 */
	int64_t node_cache_mb;   /* memory for the log's subtree hash cache; 0: none */
	char *embedded_pg_user;
	char *pg_bindir;         /* NULL: search */
	char *log_key;           /* NULL: STATE_DIR/log.key, created on first start */
	char *origin;            /* the log's checkpoint origin and key name */
	char *pii_key;           /* NULL: STATE_DIR/pii.key, created on first start */
	char *credential_key;    /* NULL: STATE_DIR/credential.key, created on first start */
	char *public_url;        /* always set after config_load: no trailing '/' */
	int64_t max_shift_hours;
	int64_t backdate_days;
	int64_t ticket_days;
	int64_t sweep_seconds;   /* how often stale check-ins are closed */
	char *points_policy;     /* NULL: the built-in policy */
	char *star_hours;        /* "100,300,600,1000,1500": hours for star levels 1..5 */
	int64_t star_minutes[5]; /* parsed from star_hours */
	bool verify_storage;     /* --verify-storage: check the log's storage and exit */
	bool check;              /* --check: validate and exit */
	bool debug;
	bool help;
	bool version;
};

/* Parses the environment and argv into `config` (which must be zeroed).
 * Returns false with err naming the flag on a bad value. Strings are
 * malloc'd; free with config_free(). */
VL_MUST_CHECK bool config_load(struct config *config, int argc, char **argv, struct vl_error *err);
void config_free(struct config *config);
void config_usage(FILE *out);

#endif
