/*
 * migrate.h - schema migrations from sql/NNN_name.sql.
 *
 * Migrations are applied in file-name order at startup, each in its own
 * transaction, while holding a PostgreSQL advisory lock so that two vledgerd
 * processes starting together do not race. Each applied file is recorded in
 * schema_migrations with the SHA-256 of its contents; if an applied file has
 * changed since, startup stops with an error naming the file.
 */
#ifndef VLEDGER_MIGRATE_H
#define VLEDGER_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "vledger/error.h"

struct migration {
	char *name;          /* file name, e.g. "001_foundation.sql" */
	char *sql;           /* contents, NUL-terminated */
	char checksum[65];   /* hex SHA-256 of the contents */
};

struct migration_set {
	struct migration *items;  /* sorted by name */
	size_t count;
};

/* Reads every NNN_*.sql file of `dir`. On success `out` owns its memory; free
 * it with migration_set_free(). Other files are ignored; a badly named .sql
 * file is an error. */
VL_MUST_CHECK bool migration_set_load(const char *dir, struct migration_set *out, struct vl_error *err);
void migration_set_free(struct migration_set *set);

/* Applies what is missing (blocking; startup only). Logs each applied file. */
VL_MUST_CHECK bool migrate_apply(PGconn *conn, const struct migration_set *set, struct vl_error *err);

/* True when every migration of `set` is applied with a matching checksum
 * (for /readyz). Returns false with err set otherwise. Blocking: run it in a
 * store job. */
VL_MUST_CHECK bool migrate_is_current(PGconn *conn, const struct migration_set *set, struct vl_error *err);

#endif
