/*
 * tail.c - the tail of a write, pipelined. See "The tail of a write" in
 * store.h.
 *
 * State is per thread: a pool worker owns exactly one connection, and a
 * tail never outlives the job that started it.
 */
#include <string.h>

#include "vledger/store.h"

/* Statements a tail may queue before it is finished: an append, the few
 * rows that name its leaf index, the stored response and the COMMIT. */
#define TAIL_MAX 16

static _Thread_local struct {
	PGconn *allowed;  /* store_tail_allow() was called for this conn */
	PGconn *active;   /* in pipeline mode, statements queued */
	unsigned count;
	const char *what[TAIL_MAX];  /* static strings: names for errors */
} tail;

void
store_tail_allow(PGconn *conn)
{
	tail.allowed = conn;
}

void
store_tail_reset(void)
{
	tail.allowed = NULL;
}

bool
store_tail_allowed(const PGconn *conn)
{
	return conn != NULL && tail.allowed == conn && tail.active == NULL;
}

bool
store_tail_active(const PGconn *conn)
{
	return conn != NULL && tail.active == conn;
}

bool
store_tail_start(PGconn *conn, struct vl_error *err)
{
	if (PQenterPipelineMode(conn) != 1)
		return vl_error_set(err, VL_INTERNAL, "database: cannot enter pipeline mode: %s", PQerrorMessage(conn));
	tail.active = conn;
	tail.count = 0;
	return true;
}

bool
store_tail_exec(PGconn *conn, const char *sql, int n, const char *const *values, const int *lengths,
    const int *formats, const char *what, struct vl_error *err)
{
	PGresult *res;
	bool ok;

	if (!store_tail_active(conn)) {
		res = PQexecParams(conn, sql, n, NULL, values, lengths, formats, 0);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
		if (!ok)
			store_error_from_result(conn, res, what, err);
		PQclear(res);
		return ok;
	}
	if (tail.count == TAIL_MAX)
		return vl_error_set(err, VL_INTERNAL, "database: more than %d statements after the append", TAIL_MAX);
	if (PQsendQueryParams(conn, sql, n, NULL, values, lengths, formats, 0) != 1)
		return store_error_from_result(conn, NULL, what, err);
	tail.what[tail.count++] = what;
	return true;
}

bool
store_tail_exec_prepared(PGconn *conn, const struct store_statement *stmt, const char *const *values,
    const int *lengths, const int *formats, const char *what, struct vl_error *err)
{
	PGresult *res;
	bool ok;

	if (!store_tail_active(conn)) {
		res = store_exec_prepared(conn, stmt, values, lengths, formats, 0);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
		if (!ok)
			store_error_from_result(conn, res, what, err);
		PQclear(res);
		return ok;
	}
	if (!store_is_prepared(conn, stmt))
		return store_tail_exec(conn, stmt->sql, stmt->nparams, values, lengths, formats, what, err);
	if (tail.count == TAIL_MAX)
		return vl_error_set(err, VL_INTERNAL, "database: more than %d statements after the append", TAIL_MAX);
	if (PQsendQueryPrepared(conn, stmt->name, stmt->nparams, values, lengths, formats, 0) != 1)
		return store_error_from_result(conn, NULL, what, err);
	tail.what[tail.count++] = what;
	return true;
}

bool
store_tail_finish(PGconn *conn, const char *last_sql, struct vl_error *err)
{
	PGresult *res;
	unsigned i;
	bool ok = true, sent;

	if (!store_tail_active(conn))
		return vl_error_set(err, VL_INTERNAL, "store_tail_finish without a tail");
	sent = last_sql == NULL || store_tail_exec(conn, last_sql, 0, NULL, NULL, NULL, "commit", err);
	if (!sent || PQpipelineSync(conn) != 1) {
		if (sent)
			store_error_from_result(conn, NULL, "database pipeline", err);
		/* Nothing more can be read reliably. If the connection cannot
		 * leave pipeline mode now, the pool resets it before the next
		 * job (conn_unusable in store.c). */
		PQexitPipelineMode(conn);
		tail.active = NULL;
		tail.allowed = NULL;
		return false;
	}
	/* One result (then NULL) per statement, in order, then the sync.
	 * The first error names its statement; after it, PostgreSQL skips the
	 * rest (PGRES_PIPELINE_ABORTED). */
	for (i = 0; i < tail.count; i++) {
		while ((res = PQgetResult(conn)) != NULL) {
			ExecStatusType st = PQresultStatus(res);

			if (ok && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
				ok = false;
				store_error_from_result(conn, res, tail.what[i], err);
			}
			PQclear(res);
		}
	}
	while ((res = PQgetResult(conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		PQclear(res);
		if (st == PGRES_PIPELINE_SYNC)
			break;
	}
	if (PQexitPipelineMode(conn) != 1 && ok) {
		ok = false;
		vl_error_set(err, VL_INTERNAL, "database: cannot leave pipeline mode: %s", PQerrorMessage(conn));
	}
	tail.active = NULL;
	tail.allowed = NULL;
	return ok;
}
