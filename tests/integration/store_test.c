/*
 * store_test.c - the connection pool, the SQLSTATE mapping, migrations, the
 * log's batched append and the embedded cluster, against a real PostgreSQL.
 *
 * Usage: store_test CONNINFO [TEST...]
 * CONNINFO must name a database on a server where the user may create
 * databases and is a superuser (the throwaway cluster of tests/lib/pg.sh).
 * Run by tests/integration/store_test.sh.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <libpq-fe.h>

#include "vledger/embedded_pg.h"
#include "vledger/log.h"
#include "vledger/merkle.h"
#include "vledger/migrate.h"
#include "vledger/note.h"
#include "vledger/store.h"
#include "vledger/tlog.h"

static int failures;
static const char *url;

#define CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		failures++;							\
	}									\
} while (0)

#define CHECK_CODE(err, want) do {						\
	if ((err).code != (want)) {						\
		fprintf(stderr, "%s:%d: want %s, got %s (%s)\n", __FILE__, __LINE__, \
		    vl_code_name(want), vl_code_name((err).code), (err).message); \
		failures++;							\
	}									\
} while (0)

/* --- helpers -------------------------------------------------------------- */

/* Connects to `dbname` (NULL: the one in the URL) with the URL's other
 * settings; a later dbname overrides the one expanded from the URL. */
static PGconn *
connect_db(const char *dbname)
{
	const char *keys[] = { "dbname", "dbname", NULL };
	const char *vals[] = { url, dbname, NULL };
	PGconn *conn;

	if (dbname == NULL)
		keys[1] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "connect %s: %s", dbname ? dbname : "(url)", PQerrorMessage(conn));
		exit(1);
	}
	return conn;
}

static void
exec_ok(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
		failures++;
	}
	PQclear(res);
}

/* First column of the first row, malloc'd; NULL on error or no row. */
static char *
query_value(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	char *v = NULL;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		v = xstrdup(PQgetvalue(res, 0, 0));
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
	return v;
}

static bool
query_is(PGconn *conn, const char *sql, const char *want)
{
	char *v = query_value(conn, sql);
	bool ok = v != NULL && strcmp(v, want) == 0;

	if (!ok)
		fprintf(stderr, "  %s: got %s, want %s\n", sql, v ? v : "(null)", want);
	free(v);
	return ok;
}

/* Runs sql on conn and maps its failure with store_error_from_result. */
static struct vl_error
error_of(PGconn *conn, const char *sql)
{
	struct vl_error err = { 0 };
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		fprintf(stderr, "  %s: unexpectedly succeeded\n", sql);
	else
		CHECK(!store_error_from_result(conn, res, "test", &err));
	PQclear(res);
	return err;
}

static void
fresh_database(const char *name)
{
	PGconn *admin = connect_db(NULL);
	char *sql;

	sql = xasprintf("DROP DATABASE IF EXISTS %s", name);
	exec_ok(admin, sql);
	free(sql);
	sql = xasprintf("CREATE DATABASE %s", name);
	exec_ok(admin, sql);
	free(sql);
	PQfinish(admin);
}

static void
write_file(const char *dir, const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(content, f);
	fclose(f);
	free(path);
}

static void
remove_file(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);

	if (unlink(path) == -1)
		perror(path);
	free(path);
}

static char *
make_dir(const char *tmpl)
{
	char *dir = xstrdup(tmpl);

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return dir;
}

static void
remove_tree(char *dir)
{
	char *argv[] = { "rm", "-rf", "--", dir, NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	free(dir);
}

static bool
load_set(const char *dir, struct migration_set *set)
{
	struct vl_error err = { 0 };

	if (!migration_set_load(dir, set, &err)) {
		fprintf(stderr, "migration_set_load %s: %s\n", dir, err.message);
		failures++;
		return false;
	}
	return true;
}

/* --- the pool ----------------------------------------------------------- */

#define NJOBS 50
#define POOL 4

struct pool_test;

struct pool_job {
	struct pool_test *t;
	int ran;              /* written by the worker */
	int done_calls;       /* written on the loop */
	int backend_pid;
	bool query_ok;
};

struct pool_test {
	struct event_base *base;
	pthread_t loop_thread;
	struct store *store;
	struct pool_job jobs[NJOBS];
	atomic_int running;
	atomic_int max_running;
	int delivered;
	int off_loop;         /* done callbacks that ran on another thread */
	int chained;          /* done callbacks of jobs submitted from done */
};

static void
pool_job_run(PGconn *conn, void *arg)
{
	struct pool_job *j = arg;
	struct pool_test *t = j->t;
	PGresult *res;
	int now, max;

	now = atomic_fetch_add(&t->running, 1) + 1;
	max = atomic_load(&t->max_running);
	while (now > max && !atomic_compare_exchange_weak(&t->max_running, &max, now))
		;
	res = PQexec(conn, "SELECT pg_backend_pid(), pg_sleep(0.02)");
	j->query_ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (j->query_ok)
		j->backend_pid = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	j->ran++;
	atomic_fetch_sub(&t->running, 1);
}

static void
chained_job_run(PGconn *conn, void *arg)
{
	PQclear(PQexec(conn, "SELECT 1"));
}

static void
chained_done(void *arg)
{
	struct pool_test *t = arg;

	if (!pthread_equal(pthread_self(), t->loop_thread))
		t->off_loop++;
	t->chained++;
	if (t->delivered == NJOBS && t->chained == 1)
		event_base_loopexit(t->base, NULL);
}

static void
pool_job_done(void *arg)
{
	struct pool_job *j = arg;
	struct pool_test *t = j->t;

	if (!pthread_equal(pthread_self(), t->loop_thread))
		t->off_loop++;
	j->done_calls++;
	/* done() may submit more work. */
	if (j == &t->jobs[0])
		store_submit(t->store, chained_job_run, chained_done, t);
	if (++t->delivered == NJOBS && t->chained == 1)
		event_base_loopexit(t->base, NULL);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	fprintf(stderr, "pool test timed out\n");
	failures++;
	event_base_loopbreak(arg);
}

static void
test_pool(void)
{
	struct store_config cfg = { url, POOL, 0, false };
	struct vl_error err = { 0 };
	struct pool_test *t = xcalloc(1, sizeof(*t));
	struct timeval tv = { 30, 0 };
	struct event *timeout;
	int pids[NJOBS], npids = 0, i, k;

	t->base = event_base_new();
	t->loop_thread = pthread_self();
	CHECK(store_open(t->base, &cfg, &t->store, &err));
	if (t->store == NULL) {
		fprintf(stderr, "store_open: %s\n", err.message);
		exit(1);
	}
	for (i = 0; i < NJOBS; i++) {
		t->jobs[i].t = t;
		store_submit(t->store, pool_job_run, pool_job_done, &t->jobs[i]);
	}
	/* Nothing can be delivered before the loop runs. */
	CHECK(store_pending(t->store) == NJOBS);

	timeout = evtimer_new(t->base, timeout_cb, t->base);
	evtimer_add(timeout, &tv);
	event_base_dispatch(t->base);
	event_free(timeout);

	CHECK(t->delivered == NJOBS);
	CHECK(t->chained == 1);
	CHECK(t->off_loop == 0);
	CHECK(store_pending(t->store) == 0);
	for (i = 0; i < NJOBS; i++) {
		CHECK(t->jobs[i].ran == 1);
		CHECK(t->jobs[i].done_calls == 1);
		CHECK(t->jobs[i].query_ok);
		for (k = 0; k < npids && pids[k] != t->jobs[i].backend_pid; k++)
			;
		if (k == npids)
			pids[npids++] = t->jobs[i].backend_pid;
	}
	/* Jobs ran in parallel on the pool's own connections. */
	CHECK(npids >= 2 && npids <= POOL);
	CHECK(atomic_load(&t->max_running) >= 2 && atomic_load(&t->max_running) <= POOL);
	printf("pool: %d jobs on %d connections, up to %d at once\n", NJOBS, npids,
	    atomic_load(&t->max_running));

	/* store_close runs what is still queued, without done callbacks. */
	memset(t->jobs, 0, sizeof(t->jobs));
	for (i = 0; i < 10; i++) {
		t->jobs[i].t = t;
		store_submit(t->store, pool_job_run, pool_job_done, &t->jobs[i]);
	}
	store_close(t->store);
	for (i = 0; i < 10; i++) {
		CHECK(t->jobs[i].ran == 1);
		CHECK(t->jobs[i].done_calls == 0);
	}
	event_base_free(t->base);
	free(t);
}

static void
test_open_failure(void)
{
	struct store_config cfg = {
		"host=/nonexistent/vledger-socket-dir dbname=x user=x password=sekret-do-not-log", 2, 0, false };
	struct vl_error err = { 0 };
	struct event_base *base = event_base_new();
	struct store *store = (struct store *)1;

	CHECK(!store_open(base, &cfg, &store, &err));
	CHECK(store == NULL);
	CHECK_CODE(err, VL_UNAVAILABLE);
	CHECK(strstr(err.message, "sekret") == NULL);
	CHECK(strstr(err.message, "/nonexistent/vledger-socket-dir") != NULL);

	cfg.conninfo = url;
	cfg.pool_size = 0;
	CHECK(!store_open(base, &cfg, &store, &err));
	CHECK_CODE(err, VL_INVALID_ARGUMENT);
	event_base_free(base);
}

/* A job that kills its own backend, then jobs on the same (only) connection:
 * the pool must reset it before handing it out again. */
struct reset_test {
	struct event_base *base;
	struct vl_error kill_err;
	int after_ok;
	int delivered;
};

static void
kill_self_run(PGconn *conn, void *arg)
{
	struct reset_test *t = arg;
	PGresult *res = PQexec(conn, "SELECT pg_terminate_backend(pg_backend_pid())");

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		fprintf(stderr, "  pg_terminate_backend(self) returned rows\n");
	else
		(void)store_error_from_result(conn, res, "kill", &t->kill_err);
	PQclear(res);
}

static void
after_kill_run(PGconn *conn, void *arg)
{
	struct reset_test *t = arg;
	PGresult *res = PQexec(conn, "SELECT 1");

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		t->after_ok++;
	PQclear(res);
}

static void
reset_done(void *arg)
{
	struct reset_test *t = arg;

	if (++t->delivered == 4)
		event_base_loopexit(t->base, NULL);
}

/* max_queued: with the only worker busy, store_try_submit queues up to the
 * bound and refuses the next without queuing it; store_submit (the next
 * step of admitted work) still queues; the bound frees up as jobs run. */
struct bound_test {
	struct event_base *base;
	atomic_int running;
	int delivered;
	int expect;
};

static void
bound_slow_run(PGconn *conn, void *arg)
{
	struct bound_test *t = arg;

	atomic_store(&t->running, 1);
	PQclear(PQexec(conn, "SELECT pg_sleep(0.3)"));
}

static void
bound_quick_run(PGconn *conn, void *arg)
{
}

static void
bound_done(void *arg)
{
	struct bound_test *t = arg;

	if (++t->delivered == t->expect)
		event_base_loopexit(t->base, NULL);
}

static void
test_bounded_queue(void)
{
	struct store_config cfg = { url, 1, 2, false };
	struct vl_error err = { 0 };
	struct bound_test t = { 0 };
	struct store *store;
	struct timeval tv = { 30, 0 };
	struct event *timeout;
	int i;

	t.base = event_base_new();
	if (!store_open(t.base, &cfg, &store, &err)) {
		fprintf(stderr, "store_open: %s\n", err.message);
		exit(1);
	}
	store_submit(store, bound_slow_run, bound_done, &t);
	for (i = 0; i < 500 && atomic_load(&t.running) == 0; i++)
		usleep(10000);
	CHECK(atomic_load(&t.running) == 1);
	CHECK(!store_saturated(store));
	CHECK(store_try_submit(store, bound_quick_run, bound_done, &t));
	CHECK(store_try_submit(store, bound_quick_run, bound_done, &t));
	CHECK(store_saturated(store));
	CHECK(store_queued(store) == 2);
	CHECK(!store_try_submit(store, bound_quick_run, bound_done, &t));  /* done never called */
	store_submit(store, bound_quick_run, bound_done, &t);
	CHECK(store_queued(store) == 3);
	t.expect = 4;
	timeout = evtimer_new(t.base, timeout_cb, t.base);
	evtimer_add(timeout, &tv);
	event_base_dispatch(t.base);
	event_free(timeout);
	CHECK(t.delivered == 4);
	CHECK(store_queued(store) == 0 && !store_saturated(store));
	CHECK(store_try_submit(store, bound_quick_run, NULL, &t));
	store_close(store);
	event_base_free(t.base);
	printf("bounded queue: refused past max_queued, admitted again once drained\n");
}

static void
test_reconnect(void)
{
	struct store_config cfg = { url, 1, 0, false };
	struct vl_error err = { 0 };
	struct reset_test t = { 0 };
	struct store *store;
	struct timeval tv = { 30, 0 };
	struct event *timeout;
	int i;

	t.base = event_base_new();
	if (!store_open(t.base, &cfg, &store, &err)) {
		fprintf(stderr, "store_open: %s\n", err.message);
		exit(1);
	}
	store_submit(store, kill_self_run, reset_done, &t);
	for (i = 0; i < 3; i++)
		store_submit(store, after_kill_run, reset_done, &t);
	timeout = evtimer_new(t.base, timeout_cb, t.base);
	evtimer_add(timeout, &tv);
	event_base_dispatch(t.base);
	event_free(timeout);
	CHECK(t.delivered == 4);
	CHECK_CODE(t.kill_err, VL_UNAVAILABLE);
	CHECK(t.after_ok == 3);
	store_close(store);
	event_base_free(t.base);
}

/* Prepared statements: prepared once per connection, the same answer as
 * unprepared, prepared again after the pool reset a connection whose
 * backend died (the server forgot it), never prepared with `unprepared`. */
static const struct store_statement add_stmt = {
	"store_test_add", "SELECT ($1::int + $2::int)::text", 2
};

struct prepared_test {
	struct event_base *base;
	int delivered, expect;
	int answers_ok;     /* jobs whose two store_exec_prepared calls answered right */
	int prepared_seen;  /* pg_prepared_statements rows named store_test_add, per job */
	struct reset_test kill;
};

static void
prepared_run(PGconn *conn, void *arg)
{
	struct prepared_test *t = arg;
	const char *params[2] = {"40", "2"};
	PGresult *res;
	int ok = 0, i;

	for (i = 0; i < 2; i++) {
		res = store_exec_prepared(conn, &add_stmt, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "42") == 0)
			ok++;
		else
			fprintf(stderr, "  store_exec_prepared: %s\n", PQresultErrorMessage(res));
		PQclear(res);
	}
	if (ok == 2)
		t->answers_ok++;
	res = PQexec(conn, "SELECT count(*)::text FROM pg_prepared_statements WHERE name = 'store_test_add'");
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		t->prepared_seen += atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
}

static void
prepared_kill_run(PGconn *conn, void *arg)
{
	kill_self_run(conn, &((struct prepared_test *)arg)->kill);
}

static void
prepared_done(void *arg)
{
	struct prepared_test *t = arg;

	if (++t->delivered == t->expect)
		event_base_loopexit(t->base, NULL);
}

static void
run_prepared(bool unprepared, struct prepared_test *t)
{
	struct store_config cfg = { url, 1, 0, unprepared };
	struct vl_error err = { 0 };
	struct store *store;
	struct timeval tv = { 30, 0 };
	struct event *timeout;
	const char *params[2] = {"1", "2"};
	PGconn *other;
	PGresult *res;

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	if (!store_open(t->base, &cfg, &store, &err)) {
		fprintf(stderr, "store_open: %s\n", err.message);
		exit(1);
	}
	store_submit(store, prepared_run, prepared_done, t);
	store_submit(store, prepared_run, prepared_done, t);
	store_submit(store, prepared_kill_run, prepared_done, t);
	store_submit(store, prepared_run, prepared_done, t);
	t->expect = 4;
	timeout = evtimer_new(t->base, timeout_cb, t->base);
	evtimer_add(timeout, &tv);
	event_base_dispatch(t->base);
	event_free(timeout);
	store_close(store);
	event_base_free(t->base);

	/* Off the pool's threads it runs the SQL as is, preparing nothing. */
	other = connect_db(NULL);
	res = store_exec_prepared(other, &add_stmt, params, NULL, NULL, 0);
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "3") == 0);
	PQclear(res);
	res = PQexec(other, "SELECT count(*) FROM pg_prepared_statements");
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "0") == 0);
	PQclear(res);
	PQfinish(other);
}

static void
test_prepared(void)
{
	struct prepared_test t;

	run_prepared(false, &t);
	CHECK(t.delivered == 4);
	CHECK(t.answers_ok == 3);
	CHECK(t.prepared_seen == 3);  /* prepared in each of the three jobs' sessions */
	CHECK_CODE(t.kill.kill_err, VL_UNAVAILABLE);
	run_prepared(true, &t);
	CHECK(t.delivered == 4);
	CHECK(t.answers_ok == 3);
	CHECK(t.prepared_seen == 0);
	printf("prepared statements: prepared once per connection, again after a reset, never when unprepared\n");
}

/* --- SQLSTATE mapping ----------------------------------------------------- */

static void
test_error_mapping(void)
{
	struct vl_error err = { 0 };
	PGconn *a = connect_db(NULL), *b = connect_db(NULL);
	PGresult *res, *ra = NULL, *rb, *victim;
	int deadlocks = 0;

	exec_ok(a, "DROP TABLE IF EXISTS err_t");
	exec_ok(a, "CREATE TABLE err_t (id int PRIMARY KEY, n int NOT NULL CHECK (n > 0), "
	    "parent int REFERENCES err_t(id))");
	exec_ok(a, "INSERT INTO err_t VALUES (1, 1, NULL), (2, 1, NULL)");

	/* store_exec: success, then a failure with its message. */
	CHECK(store_exec(a, "UPDATE err_t SET n = 2 WHERE id = 2", &err));
	CHECK(!store_exec(a, "INSERT INTO err_t VALUES (1, 1, NULL)", &err));
	CHECK_CODE(err, VL_ALREADY_EXISTS);
	CHECK(strstr(err.message, "duplicate key value violates unique constraint") != NULL);
	CHECK(strncmp(err.message, "INSERT INTO err_t", 17) == 0);

	err = error_of(a, "INSERT INTO err_t VALUES (1, 1, NULL)");
	CHECK_CODE(err, VL_ALREADY_EXISTS);
	CHECK(strncmp(err.message, "test: duplicate key", 19) == 0);
	err = error_of(a, "INSERT INTO err_t VALUES (3, -1, NULL)");
	CHECK_CODE(err, VL_INVALID_ARGUMENT);
	CHECK(strstr(err.message, "check constraint") != NULL);
	err = error_of(a, "INSERT INTO err_t VALUES (3, NULL, NULL)");
	CHECK_CODE(err, VL_INVALID_ARGUMENT);
	err = error_of(a, "INSERT INTO err_t VALUES (3, 1, 99)");
	CHECK_CODE(err, VL_INVALID_ARGUMENT);
	err = error_of(a, "SELECT 'abc'::int");
	CHECK_CODE(err, VL_INVALID_ARGUMENT);
	err = error_of(a, "SELECT 1/0");
	CHECK_CODE(err, VL_INVALID_ARGUMENT);   /* 22012, class 22 */
	err = error_of(a, "SET statement_timeout = 1; SELECT pg_sleep(1)");
	CHECK_CODE(err, VL_DEADLINE_EXCEEDED);
	exec_ok(a, "RESET statement_timeout");
	err = error_of(a, "SELEKT 1");
	CHECK_CODE(err, VL_INTERNAL);
	err = error_of(a, "SELECT * FROM no_such_table");
	CHECK_CODE(err, VL_INTERNAL);

	/* 40001: a repeatable-read transaction updates a row another
	 * transaction changed after its snapshot. */
	exec_ok(a, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	exec_ok(a, "SELECT n FROM err_t WHERE id = 1");
	exec_ok(b, "UPDATE err_t SET n = n + 1 WHERE id = 1");
	err = error_of(a, "UPDATE err_t SET n = n + 1 WHERE id = 1");
	CHECK_CODE(err, VL_ABORTED);
	exec_ok(a, "ROLLBACK");

	/* 40P01: a real deadlock. a waits on b (sent asynchronously), then b
	 * waits on a; the server aborts one of them. */
	exec_ok(a, "SET deadlock_timeout = '50ms'");
	exec_ok(b, "SET deadlock_timeout = '50ms'");
	exec_ok(a, "BEGIN");
	exec_ok(b, "BEGIN");
	exec_ok(a, "UPDATE err_t SET n = n + 1 WHERE id = 1");
	exec_ok(b, "UPDATE err_t SET n = n + 1 WHERE id = 2");
	CHECK(PQsendQuery(a, "UPDATE err_t SET n = n + 1 WHERE id = 2") == 1);
	rb = PQexec(b, "UPDATE err_t SET n = n + 1 WHERE id = 1");
	if (PQresultStatus(rb) == PGRES_FATAL_ERROR) {
		CHECK(!store_error_from_result(b, rb, "b", &err));
		CHECK_CODE(err, VL_ABORTED);
		deadlocks++;
		exec_ok(b, "ROLLBACK");   /* lets a go on */
	}
	while ((res = PQgetResult(a)) != NULL) {
		if (ra == NULL)
			ra = res;
		else
			PQclear(res);
	}
	if (PQresultStatus(ra) == PGRES_FATAL_ERROR) {
		CHECK(!store_error_from_result(a, ra, "a", &err));
		CHECK_CODE(err, VL_ABORTED);
		deadlocks++;
	}
	CHECK(deadlocks == 1);
	victim = PQresultStatus(rb) == PGRES_FATAL_ERROR ? rb : ra;
	CHECK(PQresultErrorField(victim, PG_DIAG_SQLSTATE) != NULL &&
	    strcmp(PQresultErrorField(victim, PG_DIAG_SQLSTATE), "40P01") == 0);
	PQclear(ra);
	PQclear(rb);
	exec_ok(a, "ROLLBACK");
	exec_ok(b, "ROLLBACK");

	/* Connection failures: no result, a dead connection. */
	CHECK(!store_error_from_result(a, NULL, "nothing", &err));
	CHECK_CODE(err, VL_UNAVAILABLE);
	exec_ok(a, "DROP TABLE err_t");
	PQfinish(a);
	a = PQconnectdb("host=/nonexistent/vledger-socket-dir dbname=x");
	CHECK(!store_exec(a, "SELECT 1", &err));
	CHECK_CODE(err, VL_UNAVAILABLE);
	PQfinish(a);
	PQfinish(b);
}

/* --- the pipelined tail of a write (store.h) ----------------------------- */

static void
test_tail(void)
{
	struct vl_error err = { 0 };
	const char *one[1] = { "1" }, *two[1] = { "2" }, *bad[1] = { NULL };
	PGconn *conn, *other;

	fresh_database("vl_tail");
	conn = connect_db("vl_tail");
	other = connect_db("vl_tail");
	exec_ok(conn, "CREATE TABLE t (id int PRIMARY KEY)");

	/* Not allowed: store_tail_exec runs at once, like PQexecParams. */
	CHECK(!store_tail_allowed(conn));
	exec_ok(conn, "BEGIN");
	CHECK(store_tail_exec(conn, "INSERT INTO t VALUES ($1)", 1, one, NULL, NULL, "t", &err));
	CHECK(query_is(conn, "SELECT count(*) FROM t", "1"));
	exec_ok(conn, "ROLLBACK");

	/* Allowed and started: statements wait for the finish, which commits
	 * them together; another session sees nothing before. */
	store_tail_allow(conn);
	CHECK(store_tail_allowed(conn) && !store_tail_allowed(other));
	exec_ok(conn, "BEGIN");
	CHECK(store_tail_start(conn, &err));
	CHECK(store_tail_active(conn) && !store_tail_allowed(conn));
	CHECK(store_tail_exec(conn, "INSERT INTO t VALUES ($1)", 1, one, NULL, NULL, "first row", &err));
	CHECK(store_tail_exec(conn, "INSERT INTO t VALUES ($1)", 1, two, NULL, NULL, "second row", &err));
	CHECK(query_is(other, "SELECT count(*) FROM t", "0"));
	CHECK(store_tail_finish(conn, "COMMIT", &err));
	CHECK(!store_tail_active(conn) && !store_tail_allowed(conn));
	CHECK(PQtransactionStatus(conn) == PQTRANS_IDLE);
	CHECK(query_is(other, "SELECT count(*) FROM t", "2"));

	/* A failing statement in the middle: the finish names it, what came
	 * before is rolled back with it, what came after never ran, and the
	 * connection works normally afterwards. */
	store_tail_allow(conn);
	exec_ok(conn, "BEGIN");
	CHECK(store_tail_start(conn, &err));
	CHECK(store_tail_exec(conn, "DELETE FROM t WHERE id = $1", 1, one, NULL, NULL, "delete", &err));
	CHECK(store_tail_exec(conn, "INSERT INTO t VALUES ($1)", 1, bad, NULL, NULL, "shift history", &err));
	CHECK(store_tail_exec(conn, "DELETE FROM t WHERE id = $1", 1, two, NULL, NULL, "later", &err));
	CHECK(!store_tail_finish(conn, "COMMIT", &err));
	CHECK_CODE(err, VL_INVALID_ARGUMENT);  /* not_null_violation */
	CHECK(strstr(err.message, "shift history") != NULL);
	CHECK(!store_tail_active(conn));
	exec_ok(conn, "ROLLBACK");
	CHECK(PQtransactionStatus(conn) == PQTRANS_IDLE);
	CHECK(query_is(conn, "SELECT string_agg(id::text, ',' ORDER BY id) FROM t", "1,2"));
	CHECK(query_is(other, "SELECT count(*) FROM t", "2"));

	/* A finish without a tail is a programming error, reported as such. */
	CHECK(!store_tail_finish(conn, "COMMIT", &err));
	CHECK_CODE(err, VL_INTERNAL);
	store_tail_reset();
	PQfinish(conn);
	PQfinish(other);
}

/* --- the log's batched append ------------------------------------------------ */

/* Appends `count` entries in one transaction and checks every receipt:
 * consecutive indexes after `*size`, one checkpoint (the latest) for all,
 * each inclusion proof verifying against its root. */
static void
append_batch(PGconn *conn, const struct tlog *log, size_t count, uint64_t *size)
{
	struct tlog_entry_in *in = xcalloc(count, sizeof(*in));
	struct tlog_receipt *receipts = xcalloc(count, sizeof(*receipts));
	json_t **facts = xcalloc(count, sizeof(*facts));
	struct vl_error err = { 0 };
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t latest = 0;
	char *note = NULL;
	size_t i;

	for (i = 0; i < count; i++) {
		facts[i] = json_pack("{s:I}", "n", (json_int_t)(*size + i));
		in[i].kind = "test_entry";
		in[i].actor = "store_test";
		in[i].facts = facts[i];
	}
	exec_ok(conn, "BEGIN");
	CHECK(tlog_append_many(conn, log, count, in, receipts, &err));
	exec_ok(conn, "COMMIT");
	CHECK(tlog_latest(conn, log, &latest, root, &note, &err));
	CHECK(latest == *size + count);
	for (i = 0; i < count; i++) {
		CHECK(receipts[i].leaf_index == *size + i);
		CHECK(receipts[i].tree_size == *size + count);
		CHECK(note != NULL && receipts[i].checkpoint != NULL && strcmp(receipts[i].checkpoint, note) == 0);
		CHECK(merkle_verify_inclusion(receipts[i].leaf_index, receipts[i].tree_size, receipts[i].leaf_hash,
		    (const uint8_t (*)[MERKLE_HASH_LEN])receipts[i].proof, receipts[i].proof_count, root));
		tlog_receipt_free(&receipts[i]);
		json_decref(facts[i]);
	}
	*size += count;
	free(note);
	free(in);
	free(receipts);
	free(facts);
}

static void
test_tlog_batches(void)
{
	const char *src = getenv("VLEDGER_SOURCE_DIR");
	struct migration_set set = { NULL, 0 };
	struct vl_error err = { 0 };
	struct note_signer *signer = NULL;
	struct tlog *log = NULL;
	struct tlog_receipt r[2];
	struct tlog_entry_in bad = { "Bad Kind", "store_test", NULL };
	uint64_t size = 0, checked = 0;
	char *dir, *sql_dir, *key;
	const size_t sizes[] = { 1, 1, 5, 13, 64, 2, 1, 31, 129 };
	PGconn *conn;
	bool created;
	size_t i;

	if (src == NULL) {
		fprintf(stderr, "tlog: VLEDGER_SOURCE_DIR is not set\n");
		failures++;
		return;
	}
	fresh_database("vl_tlog");
	conn = connect_db("vl_tlog");
	sql_dir = xasprintf("%s/sql", src);
	load_set(sql_dir, &set);
	CHECK(migrate_apply(conn, &set, &err));
	dir = make_dir("/tmp/vledger tlog XXXXXX");
	key = xasprintf("%s/log.key", dir);
	CHECK(note_signer_load_or_create(key, "store-test.example", &created, &signer, &err));
	CHECK(tlog_open(conn, "default", "store-test.example/log", signer, &log, &err));

	/* Batches of every shape across node boundaries (2^k sizes and not),
	 * each one append with one checkpoint. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		append_batch(conn, log, sizes[i], &size);

	/* A batch that rolls back leaves nothing: the next one takes its
	 * indexes, and the stored tree still checks out. */
	{
		json_t *f = json_object();
		struct tlog_entry_in two[2] = { { "test_entry", "a", f }, { "test_entry", "b", f } };

		exec_ok(conn, "BEGIN");
		CHECK(tlog_append_many(conn, log, 2, two, r, &err));
		exec_ok(conn, "ROLLBACK");
		CHECK(r[0].leaf_index == size && r[1].leaf_index == size + 1);
		tlog_receipt_free(&r[0]);
		tlog_receipt_free(&r[1]);
		json_decref(f);
	}
	append_batch(conn, log, 3, &size);

	/* A kind outside [a-z_] is refused before anything is written. */
	bad.facts = json_object();
	exec_ok(conn, "BEGIN");
	CHECK(!tlog_append_many(conn, log, 1, &bad, r, &err));
	CHECK_CODE(err, VL_INTERNAL);
	CHECK(r[0].entry == NULL && r[0].checkpoint == NULL);
	exec_ok(conn, "ROLLBACK");
	json_decref((json_t *)bad.facts);

	/* Every node, the head row and the root against the checkpoint,
	 * recomputed from the entries. */
	memset(&err, 0, sizeof(err));
	if (!tlog_verify_storage(conn, log, &checked, &err)) {
		fprintf(stderr, "tlog: verify storage: %s\n", err.message);
		failures++;
	}
	CHECK(checked == size);
	CHECK(size == 1 + 1 + 5 + 13 + 64 + 2 + 1 + 31 + 129 + 3);

	tlog_free(log);
	migration_set_free(&set);
	PQfinish(conn);
	free(key);
	free(sql_dir);
	remove_tree(dir);
}

/* --- migrations ------------------------------------------------------------ */

static void
test_migrations(void)
{
	struct migration_set set = { NULL, 0 };
	struct vl_error err = { 0 };
	PGconn *conn, *other;
	PGresult *res;
	char *dir, *first_applied;
	size_t i;

	fresh_database("vl_mig_seq");
	conn = connect_db("vl_mig_seq");
	other = connect_db("vl_mig_seq");
	dir = make_dir("/tmp/vledger migrations XXXXXX");
	write_file(dir, "001_first.sql", "CREATE TABLE m_first (id int PRIMARY KEY);\n");
	write_file(dir, "002_second.sql",
	    "CREATE TABLE m_second (id int REFERENCES m_first(id));\n"
	    "INSERT INTO m_first VALUES (1);\n"
	    "INSERT INTO m_second VALUES (1);\n");

	if (!load_set(dir, &set))
		goto out;
	/* An empty database is not current, and not an error to ask. */
	CHECK(!migrate_is_current(conn, &set, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);

	CHECK(migrate_apply(conn, &set, &err));
	CHECK(query_is(conn, "SELECT count(*) FROM m_second", "1"));
	res = PQexec(conn, "SELECT name, checksum FROM schema_migrations ORDER BY applied_at, name");
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 2);
	for (i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < (size_t)PQntuples(res) && i < 2; i++) {
		CHECK(strcmp(PQgetvalue(res, (int)i, 0), set.items[i].name) == 0);
		CHECK(strcmp(PQgetvalue(res, (int)i, 1), set.items[i].checksum) == 0);
	}
	PQclear(res);
	/* Applied in order: each file in its own, later, transaction. */
	CHECK(query_is(conn, "SELECT (SELECT applied_at FROM schema_migrations WHERE name = "
	    "'001_first.sql') < (SELECT applied_at FROM schema_migrations WHERE name = "
	    "'002_second.sql')", "t"));
	CHECK(migrate_is_current(conn, &set, &err));
	/* The lock is released. */
	CHECK(query_is(other, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0"));

	/* Again: nothing to do. */
	first_applied = query_value(conn, "SELECT string_agg(applied_at::text, ',') FROM schema_migrations");
	CHECK(migrate_apply(conn, &set, &err));
	{
		char *again = query_value(conn,
		    "SELECT string_agg(applied_at::text, ',') FROM schema_migrations");
		CHECK(first_applied != NULL && again != NULL && strcmp(first_applied, again) == 0);
		free(again);
	}
	free(first_applied);
	migration_set_free(&set);

	/* A new file: not current until applied, then only it is applied. */
	write_file(dir, "003_third.sql", "ALTER TABLE m_first ADD COLUMN note text;\n");
	if (!load_set(dir, &set))
		goto out;
	CHECK(!migrate_is_current(conn, &set, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, "003_third.sql") != NULL);
	CHECK(migrate_apply(conn, &set, &err));
	CHECK(query_is(conn, "SELECT count(*) FROM schema_migrations", "3"));
	CHECK(migrate_is_current(conn, &set, &err));
	migration_set_free(&set);

	/* A failing file: rolled back, not recorded, lock released, and the
	 * error names the file and the line. */
	write_file(dir, "004_broken.sql", "CREATE TABLE m_broken (id int);\n\nSELECT no_such_function();\n");
	if (!load_set(dir, &set))
		goto out;
	CHECK(!migrate_apply(conn, &set, &err));
	CHECK(strstr(err.message, "004_broken.sql") != NULL);
	CHECK(strstr(err.message, "line 3") != NULL);
	CHECK(query_is(conn, "SELECT to_regclass('m_broken') IS NULL", "t"));
	CHECK(query_is(conn, "SELECT count(*) FROM schema_migrations", "3"));
	CHECK(query_is(other, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0"));
	CHECK(PQtransactionStatus(conn) == PQTRANS_IDLE);
	migration_set_free(&set);
	remove_file(dir, "004_broken.sql");

	/* An applied file changed. */
	write_file(dir, "001_first.sql", "CREATE TABLE m_first (id bigint PRIMARY KEY);\n");
	if (!load_set(dir, &set))
		goto out;
	CHECK(!migrate_apply(conn, &set, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, "migration 001_first.sql was changed after it was applied") != NULL);
	CHECK(strstr(err.message, "restore the file or add a new migration") != NULL);
	CHECK(!migrate_is_current(conn, &set, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, "001_first.sql") != NULL);
	CHECK(query_is(other, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0"));
	migration_set_free(&set);

	/* An applied file deleted. */
	write_file(dir, "001_first.sql", "CREATE TABLE m_first (id int PRIMARY KEY);\n");
	remove_file(dir, "002_second.sql");
	if (!load_set(dir, &set))
		goto out;
	CHECK(!migrate_apply(conn, &set, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, "002_second.sql") != NULL);
	CHECK(strstr(err.message, "missing") != NULL);
	CHECK(query_is(other, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0"));
	migration_set_free(&set);

out:
	migration_set_free(&set);
	PQfinish(conn);
	PQfinish(other);
	remove_tree(dir);
}

struct racer {
	const struct migration_set *set;
	pthread_barrier_t *barrier;
	PGconn *conn;
	bool ok;
	struct vl_error err;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->barrier);
	r->ok = migrate_apply(r->conn, r->set, &r->err);
	return NULL;
}

static void
test_migrate_concurrent(void)
{
	struct migration_set set = { NULL, 0 };
	struct racer racers[2];
	pthread_barrier_t barrier;
	pthread_t threads[2];
	char *dir;
	PGconn *check;
	int round, i;

	/* Each file fails if run twice (CREATE TABLE without IF NOT EXISTS)
	 * and logs itself; the first sleeps so that the two overlap. */
	dir = make_dir("/tmp/vledger-migrate-race.XXXXXX");
	write_file(dir, "001_log.sql",
	    "CREATE TABLE applied_log (name text NOT NULL);\n"
	    "INSERT INTO applied_log VALUES ('001');\n"
	    "SELECT pg_sleep(0.3);\n");
	write_file(dir, "002_a.sql", "CREATE TABLE race_a (id int); INSERT INTO applied_log VALUES ('002');\n");
	write_file(dir, "003_b.sql", "CREATE TABLE race_b (id int); INSERT INTO applied_log VALUES ('003');\n");
	if (!load_set(dir, &set)) {
		remove_tree(dir);
		return;
	}
	for (round = 0; round < 3; round++) {
		fresh_database("vl_mig_race");
		pthread_barrier_init(&barrier, NULL, 2);
		for (i = 0; i < 2; i++) {
			memset(&racers[i], 0, sizeof(racers[i]));
			racers[i].set = &set;
			racers[i].barrier = &barrier;
			racers[i].conn = connect_db("vl_mig_race");
			pthread_create(&threads[i], NULL, racer_main, &racers[i]);
		}
		for (i = 0; i < 2; i++) {
			pthread_join(threads[i], NULL);
			CHECK(racers[i].ok);
			if (!racers[i].ok)
				fprintf(stderr, "  racer %d: %s\n", i, racers[i].err.message);
			PQfinish(racers[i].conn);
		}
		pthread_barrier_destroy(&barrier);
		check = connect_db("vl_mig_race");
		CHECK(query_is(check, "SELECT string_agg(name, ',' ORDER BY name) FROM applied_log",
		    "001,002,003"));
		CHECK(query_is(check, "SELECT count(*) FROM schema_migrations", "3"));
		PQfinish(check);
	}
	migration_set_free(&set);
	remove_tree(dir);
}

/* --- embedded PostgreSQL ---------------------------------------------------- */

static char *
read_pid(const char *state_dir)
{
	char *path = xasprintf("%s/pg/data/postmaster.pid", state_dir);
	char line[64] = "";
	FILE *f = fopen(path, "r");

	free(path);
	if (f == NULL)
		return NULL;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return xstrdup(line);
}

static PGconn *
connect_embedded(const struct embedded_pg *pg)
{
	PGconn *conn = PQconnectdb(embedded_pg_conninfo(pg));

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "embedded connect (%s): %s", embedded_pg_conninfo(pg), PQerrorMessage(conn));
		failures++;
	}
	return conn;
}

static void
test_embedded(void)
{
	struct embedded_pg_config cfg = { NULL, NULL, "postgres" };
	struct vl_error err = { 0 };
	struct embedded_pg *pg;
	struct stat st;
	PGconn *conn;
	char *dir, *pid1, *pid2, *pgdir;
	pid_t child;
	int status;

	/* A space in the path: nothing may go through a shell unquoted. */
	dir = make_dir("/tmp/vledger state XXXXXX");
	cfg.state_dir = dir;

	/* A vledgerd that starts the cluster and dies without stopping it. */
	if ((child = fork()) == 0) {
		if (!embedded_pg_start(&cfg, &pg, &err)) {
			fprintf(stderr, "embedded_pg_start (first): %s\n", err.message);
			_exit(1);
		}
		conn = PQconnectdb(embedded_pg_conninfo(pg));
		if (PQstatus(conn) != CONNECTION_OK)
			_exit(2);
		PQclear(PQexec(conn, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"));
		PQfinish(conn);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pid1 = read_pid(dir);
	CHECK(pid1 != NULL);

	pgdir = xasprintf("%s/pg", dir);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == (geteuid() == 0 ? 0711 : 0700));
	if (geteuid() == 0) {
		CHECK(stat(pgdir, &st) == 0 && st.st_uid != 0);
		CHECK((st.st_mode & 0777) == 0700);
	}
	free(pgdir);

	/* The next start adopts the running server. */
	CHECK(embedded_pg_start(&cfg, &pg, &err));
	if (pg == NULL) {
		fprintf(stderr, "embedded_pg_start (reuse): %s\n", err.message);
		goto out;
	}
	pid2 = read_pid(dir);
	CHECK(pid1 != NULL && pid2 != NULL && strcmp(pid1, pid2) == 0);
	free(pid2);
	CHECK(strstr(embedded_pg_conninfo(pg), "dbname=vledger user=vledger") != NULL);
	CHECK(strstr(embedded_pg_conninfo(pg), "host='/tmp/vledger state ") != NULL);
	conn = connect_embedded(pg);
	CHECK(query_is(conn, "SELECT 1", "1"));
	CHECK(query_is(conn, "SELECT x FROM kept", "42"));
	CHECK(query_is(conn, "SELECT current_setting('listen_addresses')", ""));
	CHECK(query_is(conn, "SELECT current_database()", "vledger"));
	PQfinish(conn);
	embedded_pg_stop(pg);
	pid2 = read_pid(dir);
	CHECK(pid2 == NULL);
	free(pid2);

	/* A normal restart: the data persisted. */
	CHECK(embedded_pg_start(&cfg, &pg, &err));
	if (pg == NULL) {
		fprintf(stderr, "embedded_pg_start (restart): %s\n", err.message);
		goto out;
	}
	pid2 = read_pid(dir);
	CHECK(pid2 != NULL && pid1 != NULL && strcmp(pid1, pid2) != 0);
	free(pid2);
	conn = connect_embedded(pg);
	CHECK(query_is(conn, "SELECT x FROM kept", "42"));
	PQfinish(conn);
	embedded_pg_stop(pg);

out:
	free(pid1);
	remove_tree(dir);
}

static void
test_embedded_errors(void)
{
	struct embedded_pg_config cfg = { NULL, NULL, "postgres" };
	struct vl_error err = { 0 };
	struct embedded_pg *pg;
	char *dir, *sub, *longdir;

	cfg.state_dir = "/nonexistent/vledger-state";
	CHECK(!embedded_pg_start(&cfg, &pg, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);
	CHECK(pg == NULL);

	/* The socket path would not fit in sun_path. */
	dir = make_dir("/tmp/vledger-long.XXXXXX");
	longdir = xasprintf("%s/%s", dir,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK(mkdir(longdir, 0700) == 0);
	cfg.state_dir = longdir;
	CHECK(!embedded_pg_start(&cfg, &pg, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, "107") != NULL);
	free(longdir);
	remove_tree(dir);

	if (geteuid() != 0)
		return;

	/* Root only: the run-as user must exist ... */
	dir = make_dir("/tmp/vledger-nouser.XXXXXX");
	cfg.state_dir = dir;
	cfg.run_as_user = "vledger-no-such-user";
	CHECK(!embedded_pg_start(&cfg, &pg, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, "vledger-no-such-user") != NULL);
	CHECK(strstr(err.message, "useradd --system") != NULL);
	remove_tree(dir);

	/* ... and reach the state dir. */
	cfg.run_as_user = "postgres";
	dir = make_dir("/tmp/vledger-private.XXXXXX");   /* 0700, root's */
	sub = xasprintf("%s/state", dir);
	CHECK(mkdir(sub, 0700) == 0);
	cfg.state_dir = sub;
	CHECK(!embedded_pg_start(&cfg, &pg, &err));
	CHECK_CODE(err, VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, dir) != NULL);
	CHECK(strstr(err.message, "--state-dir /var/lib/vledger") != NULL);
	free(sub);
	remove_tree(dir);
}

/* --- main ------------------------------------------------------------------- */

static bool
want(int argc, char **argv, const char *name)
{
	int i;

	if (argc <= 2)
		return true;
	for (i = 2; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: store_test CONNINFO [pool|errors|tail|migrate|tlog|race|embedded]...\n");
		return 2;
	}
	url = argv[1];
	/* Before any event_base exists: store.c activates its event from the
	 * worker threads. */
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "evthread_use_pthreads failed\n");
		return 1;
	}
	if (want(argc, argv, "pool")) {
		test_open_failure();
		test_pool();
		test_reconnect();
		test_bounded_queue();
		test_prepared();
	}
	if (want(argc, argv, "errors"))
		test_error_mapping();
	if (want(argc, argv, "tail"))
		test_tail();
	if (want(argc, argv, "migrate"))
		test_migrations();
	if (want(argc, argv, "tlog"))
		test_tlog_batches();
	if (want(argc, argv, "race"))
		test_migrate_concurrent();
	if (want(argc, argv, "embedded")) {
		test_embedded_errors();
		test_embedded();
	}
	if (failures != 0) {
		fprintf(stderr, "store_test: %d failure(s)\n", failures);
		return 1;
	}
	printf("store_test: ok\n");
	return 0;
}
