/*
 * migrate.c - loads sql/NNN_name.sql and applies the missing ones.
 *
 * Concurrency: migrate_apply holds a session-level advisory lock for its
 * whole run, so two vledgerd processes starting at once apply each file once:
 * the second waits, then finds everything recorded. Each file runs in its own
 * transaction together with its schema_migrations row, so a file is either
 * applied and recorded or neither. A migration file must therefore not
 * contain BEGIN/COMMIT itself, nor statements that cannot run inside a
 * transaction block (CREATE INDEX CONCURRENTLY, VACUUM).
 */
#include "vledger/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "vledger/log.h"
#include "vledger/store.h"

/*
 * The advisory lock key: the ASCII bytes of "vledger" followed by 0x01
 * (0x766c656467657201). Any fixed value works as long as nothing else in the
 * database uses it; spelling the product name makes it recognisable in
 * pg_locks (objid/classid) and unlikely to collide.
 */
#define MIGRATE_LOCK_KEY "8533306875866083841"

#define MIGRATE_CREATE_TABLE \
	"CREATE TABLE IF NOT EXISTS schema_migrations (" \
	"name text PRIMARY KEY, " \
	"checksum text NOT NULL, " \
	"applied_at timestamptz NOT NULL DEFAULT now())"

/* ^[0-9]{3}_[a-z0-9_]+\.sql$ */
static bool
migration_name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (len < 9 || strcmp(name + len - 4, ".sql") != 0)
		return false;
	for (i = 0; i < 3; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	if (name[3] != '_')
		return false;
	for (i = 4; i < len - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_'))
			return false;
	return true;
}

static bool
migration_sha256(const char *data, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return false;
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[64] = '\0';
	return true;
}

/* Reads path into a NUL-terminated malloc'd buffer owned by the caller. */
static bool
migration_read(const char *path, const char *name, char **out, size_t *outlen, struct vl_error *err)
{
	FILE *f;
	struct stat st;
	char *buf;
	size_t len, cap, n;

	if ((f = fopen(path, "rb")) == NULL)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "migration %s: %s", name, strerror(errno));
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return vl_error_set(err, VL_FAILED_PRECONDITION, "migration %s: not a regular file", name);
	}
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap);
	len = 0;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len == cap - 1) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return vl_error_set(err, VL_FAILED_PRECONDITION, "migration %s: read error", name);
	}
	fclose(f);
	buf[len] = '\0';
	/* PQexec stops at a NUL: refuse a file that would silently run only
	 * in part. */
	if (memchr(buf, '\0', len) != NULL) {
		free(buf);
		return vl_error_set(err, VL_FAILED_PRECONDITION, "migration %s contains a NUL byte", name);
	}
	*out = buf;
	*outlen = len;
	return true;
}

static int
migration_cmp(const void *a, const void *b)
{
	const struct migration *ma = a, *mb = b;

	return strcmp(ma->name, mb->name);
}

void
migration_set_free(struct migration_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->count; i++) {
		free(set->items[i].name);
		free(set->items[i].sql);
	}
	free(set->items);
	set->items = NULL;
	set->count = 0;
}

bool
migration_set_load(const char *dir, struct migration_set *out, struct vl_error *err)
{
	DIR *d;
	struct dirent *de;
	struct migration_set set = { NULL, 0 };
	size_t cap = 0, len, i;
	char *path;
	bool ok = true;

	out->items = NULL;
	out->count = 0;
	if ((d = opendir(dir)) == NULL)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "migrations directory %s: %s", dir,
		    strerror(errno));
	while (ok && (errno = 0, de = readdir(d)) != NULL) {
		struct migration *m;

		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 4, ".sql") != 0)
			continue;
		if (!migration_name_ok(de->d_name)) {
			ok = vl_error_set(err, VL_FAILED_PRECONDITION,
			    "migration file %s in %s is not named NNN_name.sql (3 digits, then "
			    "lowercase letters, digits and _)", de->d_name, dir);
			break;
		}
		if (set.count == cap) {
			cap = cap ? cap * 2 : 16;
			set.items = xrealloc(set.items, cap * sizeof(*set.items));
		}
		m = &set.items[set.count];
		memset(m, 0, sizeof(*m));
		m->name = xstrdup(de->d_name);
		path = xasprintf("%s/%s", dir, de->d_name);
		ok = migration_read(path, m->name, &m->sql, &len, err);
		free(path);
		if (!ok) {
			free(m->name);
			break;
		}
		set.count++;
		if (!migration_sha256(m->sql, len, m->checksum))
			ok = vl_error_set(err, VL_INTERNAL, "migration %s: SHA-256 failed", m->name);
	}
	if (ok && de == NULL && errno != 0)
		ok = vl_error_set(err, VL_FAILED_PRECONDITION, "migrations directory %s: %s", dir,
		    strerror(errno));
	closedir(d);
	if (ok && set.count > 1) {
		qsort(set.items, set.count, sizeof(*set.items), migration_cmp);
		/* Two files with one number are almost always two branches that
		 * each added "the next" migration: their order would be an
		 * accident of naming, so make someone renumber one. */
		for (i = 1; i < set.count; i++)
			if (strncmp(set.items[i - 1].name, set.items[i].name, 3) == 0) {
				ok = vl_error_set(err, VL_FAILED_PRECONDITION,
				    "migrations %s and %s have the same number", set.items[i - 1].name,
				    set.items[i].name);
				break;
			}
	}
	if (!ok) {
		migration_set_free(&set);
		return false;
	}
	*out = set;
	return true;
}

/* The recorded (name, checksum) rows; NULL with err set on failure. */
static PGresult *
migrate_recorded(PGconn *conn, struct vl_error *err)
{
	PGresult *res;

	res = PQexec(conn, "SELECT name, checksum FROM schema_migrations ORDER BY name");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_error_from_result(conn, res, "reading schema_migrations", err);
		PQclear(res);
		return NULL;
	}
	return res;
}

static const struct migration *
migrate_find(const struct migration_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->count; i++)
		if (strcmp(set->items[i].name, name) == 0)
			return &set->items[i];
	return NULL;
}

/* Row index of `name` in the recorded rows, or -1. */
static int
migrate_recorded_row(const PGresult *rec, const char *name)
{
	int i;

	for (i = 0; i < PQntuples(rec); i++)
		if (strcmp(PQgetvalue(rec, i, 0), name) == 0)
			return i;
	return -1;
}

/* Every recorded migration must still exist with the same contents. */
static bool
migrate_check_recorded(const PGresult *rec, const struct migration_set *set, struct vl_error *err)
{
	const struct migration *m;
	const char *name, *sum;
	int i;

	for (i = 0; i < PQntuples(rec); i++) {
		name = PQgetvalue(rec, i, 0);
		sum = PQgetvalue(rec, i, 1);
		if ((m = migrate_find(set, name)) == NULL)
			return vl_error_set(err, VL_FAILED_PRECONDITION,
			    "migration %s was applied but its file is missing; restore the file "
			    "(or run the vledgerd version that has it)", name);
		if (strcmp(m->checksum, sum) != 0) {
			/* The full sums go to the log; the error keeps a prefix of
			 * each so that the file name and the advice fit. */
			log_warnx("migration %s was changed after it was applied (recorded sha256 %s, "
			    "file sha256 %s)", name, sum, m->checksum);
			return vl_error_set(err, VL_FAILED_PRECONDITION,
			    "migration %s was changed after it was applied (recorded sha256 %.12s..., "
			    "file sha256 %.12s...); restore the file or add a new migration",
			    name, sum, m->checksum);
		}
	}
	return true;
}

/* 1-based line of a 1-based character position (PG_DIAG_STATEMENT_POSITION
 * counts characters; the files are UTF-8). */
static int
migrate_line_of(const char *sql, long pos)
{
	const unsigned char *p;
	long chars = 0;
	int line = 1;

	for (p = (const unsigned char *)sql; *p != '\0'; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;
		if (++chars >= pos)
			break;
		if (*p == '\n')
			line++;
	}
	return line;
}

static bool
migrate_one(PGconn *conn, const struct migration *m, struct vl_error *err)
{
	const char *params[2] = { m->name, m->checksum };
	const char *pos;
	PGresult *res;
	char what[128];

	if (!store_exec(conn, "BEGIN", err))
		return false;
	res = PQexec(conn, m->sql);
	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_EMPTY_QUERY)) {
		pos = res != NULL ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
		if (pos != NULL)
			snprintf(what, sizeof(what), "migration %s failed at line %d", m->name,
			    migrate_line_of(m->sql, strtol(pos, NULL, 10)));
		else
			snprintf(what, sizeof(what), "migration %s failed", m->name);
		/* Logs it too when it is an internal error. */
		store_error_from_result(conn, res, what, err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	res = PQexecParams(conn, "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", 2,
	    NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(what, sizeof(what), "recording migration %s", m->name);
		store_error_from_result(conn, res, what, err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	if (!store_exec(conn, "COMMIT", err))
		return false;
	log_info("applied migration %s", m->name);
	return true;
}

/*
 * Creates schema_migrations if it is missing. Called under the lock: two
 * concurrent CREATE TABLE IF NOT EXISTS can still collide on the catalog's
 * unique indexes. Looking first avoids the "already exists, skipping"
 * NOTICE that every later start would print.
 */
static bool
migrate_create_table(PGconn *conn, struct vl_error *err)
{
	PGresult *res;
	bool missing;

	res = PQexec(conn, "SELECT to_regclass('schema_migrations') IS NULL");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "checking schema_migrations", err);
		PQclear(res);
		return false;
	}
	missing = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return !missing || store_exec(conn, MIGRATE_CREATE_TABLE, err);
}

bool
migrate_apply(PGconn *conn, const struct migration_set *set, struct vl_error *err)
{
	struct vl_error unlock_err;
	PGresult *rec = NULL;
	size_t i, applied = 0;
	bool ok;

	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return vl_error_set(err, VL_INTERNAL, "migrate_apply: connection is inside a transaction");
	/* Session-level, so it spans the per-file transactions below. Waits
	 * for another vledgerd that is migrating. */
	if (!store_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err))
		return false;

	ok = migrate_create_table(conn, err);
	if (ok)
		ok = (rec = migrate_recorded(conn, err)) != NULL;
	if (ok)
		ok = migrate_check_recorded(rec, set, err);
	for (i = 0; ok && i < set->count; i++) {
		if (migrate_recorded_row(rec, set->items[i].name) != -1)
			continue;
		ok = migrate_one(conn, &set->items[i], err);
		if (ok)
			applied++;
	}
	PQclear(rec);

	/* A failed file leaves its transaction open (aborted); end it so that
	 * the unlock below can run. */
	if (PQtransactionStatus(conn) != PQTRANS_IDLE &&
	    !store_exec(conn, "ROLLBACK", &unlock_err))
		log_warnx("migrate: %s", unlock_err.message);
	if (!store_exec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", &unlock_err))
		/* Only when the connection is gone, and then so is the lock. */
		log_warnx("migrate: releasing the migration lock: %s", unlock_err.message);
	if (ok)
		log_info("schema: %zu migration%s applied, %zu already applied", applied,
		    applied == 1 ? "" : "s", set->count - applied);
	return ok;
}

bool
migrate_is_current(PGconn *conn, const struct migration_set *set, struct vl_error *err)
{
	PGresult *res, *rec;
	const struct migration *m;
	bool exists;
	size_t i;
	int row;

	/* to_regclass instead of letting the SELECT fail keeps a readiness
	 * probe from writing an ERROR to the server log on every poll. */
	res = PQexec(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		store_error_from_result(conn, res, "checking schema_migrations", err);
		PQclear(res);
		return false;
	}
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists)
		return set->count == 0 ? true :
		    vl_error_set(err, VL_FAILED_PRECONDITION, "schema not migrated: no schema_migrations table");
	if ((rec = migrate_recorded(conn, err)) == NULL)
		return false;
	for (i = 0; i < set->count; i++) {
		m = &set->items[i];
		if ((row = migrate_recorded_row(rec, m->name)) == -1) {
			vl_error_set(err, VL_FAILED_PRECONDITION, "migration %s is not applied", m->name);
			PQclear(rec);
			return false;
		}
		if (strcmp(PQgetvalue(rec, row, 1), m->checksum) != 0) {
			vl_error_set(err, VL_FAILED_PRECONDITION,
			    "migration %s was changed after it was applied", m->name);
			PQclear(rec);
			return false;
		}
	}
	PQclear(rec);
	return true;
}
