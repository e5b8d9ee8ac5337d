/*
 * embedded_pg.c - runs a private PostgreSQL cluster under STATE_DIR/pg.
 *
 * Layout: pg/data (the cluster), pg/run (the Unix socket, mode 0700),
 * pg/postgres.log (the server log, and the output of initdb and pg_ctl).
 *
 * Security: the cluster is created with trust authentication. That is safe
 * here because the server listens on no TCP address (listen_addresses='')
 * and its only socket lives in pg/run, a 0700 directory owned by the
 * cluster's user: only that user and root can reach the socket at all, and
 * both could read the data files directly anyway.
 *
 * The PostgreSQL programs are run with fork/execv, never through a shell,
 * because paths may contain spaces. When vledgerd runs as root they run as
 * `run_as_user` (PostgreSQL refuses to run as root) and pg/ is owned by that
 * user. All of this is blocking and runs before or after the event loop.
 */
#include "vledger/embedded_pg.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "vledger/log.h"

/* A fixed port: it only names the socket file (.s.PGSQL.5432) in our private
 * run dir, and fixing it keeps PGPORT in the environment from moving it. */
#define EPG_PORT "5432"
#define EPG_SOCKET_NAME "/.s.PGSQL." EPG_PORT

struct embedded_pg {
	char *state_dir;   /* absolute, owned */
	char *pg_dir;      /* STATE_DIR/pg */
	char *data_dir;    /* STATE_DIR/pg/data */
	char *run_dir;     /* STATE_DIR/pg/run: the socket directory */
	char *log_path;    /* STATE_DIR/pg/postgres.log */
	char *bindir;      /* directory of postgres, initdb and pg_ctl */
	char *conninfo;    /* for the vledger database; returned by embedded_pg_conninfo */
	bool drop_privs;   /* running as root: run the programs as uid/gid */
	uid_t uid;
	gid_t gid;
	char *user;        /* run_as_user, for messages */
};

static void
epg_free(struct embedded_pg *pg)
{
	if (pg == NULL)
		return;
	free(pg->state_dir);
	free(pg->pg_dir);
	free(pg->data_dir);
	free(pg->run_dir);
	free(pg->log_path);
	free(pg->bindir);
	free(pg->conninfo);
	free(pg->user);
	free(pg);
}

static bool
epg_is_exec(const char *dir, const char *prog)
{
	char *path = xasprintf("%s/%s", dir, prog);
	bool ok = access(path, X_OK) == 0;

	free(path);
	return ok;
}

static bool
epg_has_server(const char *dir)
{
	return epg_is_exec(dir, "postgres") && epg_is_exec(dir, "pg_ctl") && epg_is_exec(dir, "initdb");
}

/*
 * Finds the server programs. `pg_config --bindir` names the client bindir on
 * Debian (/usr/bin, where there is no `postgres`), so it is not used: the
 * server lives in /usr/lib/postgresql/<major>/bin. 15 is what vledger is
 * tested with; otherwise the highest installed major; then PATH.
 */
static char *
epg_find_bindir(void)
{
	DIR *d;
	struct dirent *de;
	char *dir, *best = NULL, *path, *p, *save = NULL;
	const char *env;
	long v, bestv = -1;

	if (epg_has_server("/usr/lib/postgresql/15/bin"))
		return xstrdup("/usr/lib/postgresql/15/bin");
	if ((d = opendir("/usr/lib/postgresql")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *end;

			v = strtol(de->d_name, &end, 10);
			if (end == de->d_name || *end != '\0' || v <= bestv)
				continue;
			dir = xasprintf("/usr/lib/postgresql/%s/bin", de->d_name);
			if (epg_has_server(dir)) {
				free(best);
				best = dir;
				bestv = v;
			} else
				free(dir);
		}
		closedir(d);
	}
	if (best != NULL)
		return best;
	if ((env = getenv("PATH")) == NULL)
		return NULL;
	path = xstrdup(env);
	for (p = strtok_r(path, ":", &save); p != NULL; p = strtok_r(NULL, ":", &save))
		if (*p == '/' && epg_has_server(p)) {
			best = xstrdup(p);
			break;
		}
	free(path);
	return best;
}

/*
 * Runs bindir/argv[0] and waits for it. Output goes to the server log (the
 * messages a failed initdb or pg_ctl prints are what the operator needs, and
 * the errors point there). When root, the child drops to the cluster user
 * first. Returns the exit status, or -1 if it could not run or was killed.
 */
static int
epg_run(const struct embedded_pg *pg, char *const argv[])
{
	char *path = xasprintf("%s/%s", pg->bindir, argv[0]);
	pid_t pid;
	int status, logfd, nullfd;

	logfd = open(pg->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd == -1 || nullfd == -1) {
		log_warn("embedded PostgreSQL: cannot open %s", logfd == -1 ? pg->log_path : "/dev/null");
		if (logfd != -1)
			close(logfd);
		if (nullfd != -1)
			close(nullfd);
		free(path);
		return -1;
	}
	if (pg->drop_privs && fchown(logfd, pg->uid, pg->gid) == -1)
		log_warn("embedded PostgreSQL: chown %s", pg->log_path);

	if ((pid = fork()) == -1) {
		log_warn("embedded PostgreSQL: fork");
		close(logfd);
		close(nullfd);
		free(path);
		return -1;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls from here on. */
		if (dup2(nullfd, STDIN_FILENO) == -1 || dup2(logfd, STDOUT_FILENO) == -1 ||
		    dup2(logfd, STDERR_FILENO) == -1)
			_exit(127);
		if (pg->drop_privs && (setgroups(0, NULL) == -1 || setgid(pg->gid) == -1 ||
		    setuid(pg->uid) == -1))
			_exit(126);
		/* initdb and postgres complain when the cwd is unreadable (e.g.
		 * /root after dropping privileges). */
		if (chdir(pg->pg_dir) == -1)
			_exit(125);
		execv(path, argv);
		_exit(127);
	}
	close(logfd);
	close(nullfd);
	free(path);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			log_warn("embedded PostgreSQL: waitpid");
			return -1;
		}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_warnx("embedded PostgreSQL: %s killed by signal %d", argv[0], WTERMSIG(status));
	return -1;
}

/* Describes a failed program run for an error message. */
static const char *
epg_status_text(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "could not run or was killed");
	else if (status == 126)
		snprintf(buf, len, "exit 126: could not switch user");
	else if (status == 125)
		snprintf(buf, len, "exit 125: could not enter the pg directory");
	else if (status == 127)
		snprintf(buf, len, "exit 127: could not execute");
	else
		snprintf(buf, len, "exit %d", status);
	return buf;
}

/*
 * Checks, as the cluster user, that every directory from / down to the state
 * dir is searchable. A forked child does setuid and access(X_OK) on each
 * prefix and writes the first failing one to a pipe, so the error can name
 * the directory (typically /root, which is 0700).
 */
static bool
epg_check_reachable(const struct embedded_pg *pg, struct vl_error *err)
{
	char bad[PATH_MAX];
	char *prefix;
	ssize_t n;
	size_t i, len;
	pid_t pid;
	int fds[2], status;

	prefix = xstrdup(pg->state_dir);
	len = strlen(prefix);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		free(prefix);
		return vl_error_set(err, VL_INTERNAL, "embedded PostgreSQL: pipe: %s", strerror(errno));
	}
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		free(prefix);
		return vl_error_set(err, VL_INTERNAL, "embedded PostgreSQL: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		if (setgroups(0, NULL) == -1 || setgid(pg->gid) == -1 || setuid(pg->uid) == -1)
			_exit(2);
		if (access("/", X_OK) == -1) {
			(void)!write(fds[1], "/", 1);
			_exit(1);
		}
		/* Walk "/a", "/a/b", ... by cutting the path at each '/'. */
		for (i = 1; i <= len; i++) {
			char c;

			if (i < len && prefix[i] != '/')
				continue;
			c = prefix[i];
			prefix[i] = '\0';
			if (access(prefix, X_OK) == -1) {
				(void)!write(fds[1], prefix, strlen(prefix));
				_exit(1);
			}
			prefix[i] = c;
		}
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], bad, sizeof(bad) - 1);
	close(fds[0]);
	free(prefix);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return vl_error_set(err, VL_INTERNAL, "embedded PostgreSQL: waitpid: %s",
			    strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "embedded PostgreSQL: cannot switch to user %s", pg->user);
	bad[n > 0 ? n : 0] = '\0';
	return vl_error_set(err, VL_FAILED_PRECONDITION,
	    "user %s cannot search directory %s (on the way to the state dir); use "
	    "--state-dir /var/lib/vledger or chmod o+x %s", pg->user, bad, bad);
}

static uid_t chown_uid;
static gid_t chown_gid;

static int
epg_chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (st->st_uid == chown_uid && st->st_gid == chown_gid)
		return 0;
	if (lchown(path, chown_uid, chown_gid) == -1) {
		log_warn("embedded PostgreSQL: chown %s", path);
		return 1;
	}
	return 0;
}

/* chown -R pg/ to the cluster user, without following symlinks. Only called
 * at startup, before any thread exists, so the statics above are safe. */
static bool
epg_chown_tree(const struct embedded_pg *pg, struct vl_error *err)
{
	chown_uid = pg->uid;
	chown_gid = pg->gid;
	if (nftw(pg->pg_dir, epg_chown_one, 32, FTW_PHYS) != 0)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "embedded PostgreSQL: cannot give %s to user %s", pg->pg_dir, pg->user);
	return true;
}

static bool
epg_mkdir(const char *path, mode_t mode, struct vl_error *err)
{
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "embedded PostgreSQL: mkdir %s: %s", path,
		    strerror(errno));
	/* Existing directories too: the socket dir's 0700 is what makes trust
	 * authentication safe. */
	if (chmod(path, mode) == -1)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "embedded PostgreSQL: chmod %s: %s", path,
		    strerror(errno));
	return true;
}

/* The conninfo of the vledger database; the socket dir is single-quoted
 * with \ and ' escaped (libpq rules), so any path is safe. Caller frees. */
static char *
epg_conninfo(const char *run_dir)
{
	size_t len = strlen(run_dir), i, j;
	char *q = xmalloc(2 * len + 3), *s;

	j = 0;
	q[j++] = '\'';
	for (i = 0; i < len; i++) {
		if (run_dir[i] == '\'' || run_dir[i] == '\\')
			q[j++] = '\\';
		q[j++] = run_dir[i];
	}
	q[j++] = '\'';
	q[j] = '\0';
	s = xasprintf("host=%s port=" EPG_PORT " dbname=vledger user=vledger", q);
	free(q);
	return s;
}

/*
 * pg_ctl hands -o to /bin/sh (`exec postgres -D "<data>" <opts>`), and puts
 * the data dir and log path inside double quotes; unix_socket_directories is
 * a comma-separated list, and so is libpq's host. Those characters cannot be
 * quoted through all of these layers, so such paths are refused up front.
 */
static bool
epg_path_ok(const char *path, struct vl_error *err)
{
	if (strpbrk(path, "\"$`\\,\n\r") != NULL)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "embedded PostgreSQL: state dir %s contains one of \" $ ` \\ , or a newline, "
		    "which pg_ctl cannot handle; choose another --state-dir", path);
	return true;
}

/* Single-quotes s for /bin/sh: ' becomes '\''. Caller frees. */
static char *
epg_shell_quote(const char *s)
{
	size_t len = strlen(s), i, j = 0;
	char *q = xmalloc(4 * len + 3);

	q[j++] = '\'';
	for (i = 0; i < len; i++) {
		if (s[i] == '\'') {
			memcpy(q + j, "'\\''", 4);
			j += 4;
		} else
			q[j++] = s[i];
	}
	q[j++] = '\'';
	q[j] = '\0';
	return q;
}

static bool
epg_initdb(struct embedded_pg *pg, struct vl_error *err)
{
	char st[64];
	int r;
	char *argv[] = { "initdb", "-D", pg->data_dir, "-U", "vledger", "--auth=trust", "-E", "UTF8",
	    "--locale=C.UTF-8", NULL };

	log_info("embedded PostgreSQL: initialising cluster in %s", pg->data_dir);
	r = epg_run(pg, argv);
	if (r != 0)
		return vl_error_set(err, VL_UNAVAILABLE, "embedded PostgreSQL: initdb failed (%s); see %s",
		    epg_status_text(r, st, sizeof(st)), pg->log_path);
	return true;
}

/* pg_ctl status: 0 when a server is running on the data dir. */
static bool
epg_running(struct embedded_pg *pg)
{
	char *argv[] = { "pg_ctl", "-D", pg->data_dir, "status", NULL };

	return epg_run(pg, argv) == 0;
}

static bool
epg_pg_ctl_start(struct embedded_pg *pg, struct vl_error *err)
{
	char st[64];
	char *qrun, *opts;
	int r;

	qrun = epg_shell_quote(pg->run_dir);
	opts = xasprintf("-c listen_addresses='' -p " EPG_PORT " -k %s -c unix_socket_permissions=0700",
	    qrun);
	free(qrun);
	{
		char *argv[] = { "pg_ctl", "-D", pg->data_dir, "-l", pg->log_path, "-w", "-t", "60",
		    "-o", opts, "start", NULL };

		r = epg_run(pg, argv);
	}
	free(opts);
	if (r != 0)
		return vl_error_set(err, VL_UNAVAILABLE,
		    "embedded PostgreSQL: pg_ctl start failed (%s); see %s",
		    epg_status_text(r, st, sizeof(st)), pg->log_path);
	return true;
}

/* Connects to the `postgres` database, waiting up to 60 s for a server that
 * is still starting (a reused one may be in crash recovery), and creates the
 * `vledger` database if it is missing (a first run that stopped between
 * initdb and CREATE DATABASE leaves it so). */
static bool
epg_ensure_database(struct embedded_pg *pg, struct vl_error *err)
{
	const char *keys[] = { "host", "port", "dbname", "user", "fallback_application_name", NULL };
	const char *vals[] = { pg->run_dir, EPG_PORT, "postgres", "vledger", "vledgerd", NULL };
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	PGconn *conn = NULL;
	PGresult *res;
	PGPing ping;
	char msg[160];
	bool ok;
	int i;

	for (i = 0; i < 300; i++) {
		conn = PQconnectdbParams(keys, vals, 0);
		if (PQstatus(conn) == CONNECTION_OK)
			break;
		/* Retry only while the server is not up yet; a server that
		 * accepts connections but refused this one will not change its
		 * mind. */
		ping = PQpingParams(keys, vals, 0);
		if (ping == PQPING_OK || ping == PQPING_NO_ATTEMPT)
			break;
		PQfinish(conn);
		conn = NULL;
		nanosleep(&ts, NULL);
	}
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		snprintf(msg, sizeof(msg), "%s", conn != NULL ? PQerrorMessage(conn) : "timed out");
		msg[strcspn(msg, "\n")] = '\0';
		PQfinish(conn);
		return vl_error_set(err, VL_UNAVAILABLE, "embedded PostgreSQL: cannot connect (%s); see %s",
		    msg, pg->log_path);
	}
	res = PQexec(conn, "SELECT 1 FROM pg_database WHERE datname = 'vledger'");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (ok && PQntuples(res) == 0) {
		PQclear(res);
		log_info("embedded PostgreSQL: creating database vledger");
		res = PQexec(conn, "CREATE DATABASE vledger");
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	}
	if (!ok) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
		msg[strcspn(msg, "\n")] = '\0';
		vl_error_set(err, VL_UNAVAILABLE, "embedded PostgreSQL: creating database vledger: %s",
		    msg);
	}
	PQclear(res);
	PQfinish(conn);
	return ok;
}

/* Resolves the user the programs run as, when root. */
static bool
epg_lookup_user(struct embedded_pg *pg, const char *name, struct vl_error *err)
{
	struct passwd *pw;

	pg->user = xstrdup(name);
	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "embedded PostgreSQL: user %s does not exist; PostgreSQL refuses to run as root, "
		    "so create it (useradd --system %s) or name another with --embedded-pg-user",
		    name, name);
	if (pw->pw_uid == 0)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "embedded PostgreSQL: user %s is root; PostgreSQL refuses to run as root, name an "
		    "unprivileged user with --embedded-pg-user", name);
	pg->uid = pw->pw_uid;
	pg->gid = pw->pw_gid;
	pg->drop_privs = true;
	return true;
}

/*
 * Everything up to starting the server: the paths, the binaries, the user,
 * the directories and their modes.
 */
static bool
epg_prepare(const struct embedded_pg_config *config, struct embedded_pg *pg, struct vl_error *err)
{
	char resolved[PATH_MAX];
	struct stat st;
	size_t socklen;

	if (config->state_dir == NULL || *config->state_dir == '\0')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "embedded PostgreSQL: no state dir");
	if (realpath(config->state_dir, resolved) == NULL || stat(resolved, &st) == -1)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "embedded PostgreSQL: state dir %s: %s",
		    config->state_dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "embedded PostgreSQL: state dir %s is not a directory", resolved);
	if (!epg_path_ok(resolved, err))
		return false;
	pg->state_dir = xstrdup(resolved);
	pg->pg_dir = xasprintf("%s/pg", resolved);
	pg->data_dir = xasprintf("%s/data", pg->pg_dir);
	pg->run_dir = xasprintf("%s/run", pg->pg_dir);
	pg->log_path = xasprintf("%s/postgres.log", pg->pg_dir);
	pg->conninfo = epg_conninfo(pg->run_dir);

	/* sun_path is 108 bytes including the NUL. */
	socklen = strlen(pg->run_dir) + strlen(EPG_SOCKET_NAME);
	if (socklen > sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "embedded PostgreSQL: socket path %s" EPG_SOCKET_NAME " is %zu bytes, over the "
		    "Unix limit of 107; use a shorter --state-dir", pg->run_dir, socklen);

	if (config->bindir != NULL) {
		if (!epg_has_server(config->bindir))
			return vl_error_set(err, VL_FAILED_PRECONDITION,
			    "embedded PostgreSQL: %s has no executable postgres, initdb and pg_ctl",
			    config->bindir);
		pg->bindir = xstrdup(config->bindir);
	} else if ((pg->bindir = epg_find_bindir()) == NULL)
		return vl_error_set(err, VL_FAILED_PRECONDITION,
		    "embedded PostgreSQL: no postgres/initdb/pg_ctl in /usr/lib/postgresql/*/bin or "
		    "PATH; apt-get install postgresql-15, or give a --database-url");

	if (geteuid() == 0) {
		if (!epg_lookup_user(pg, config->run_as_user != NULL ? config->run_as_user : "postgres",
		    err))
			return false;
		/* The cluster user must pass through the state dir to reach pg/,
		 * but has no business listing what else vledgerd keeps there.
		 * A group/world-writable dir (such as /tmp itself) is refused
		 * rather than chmod'ed: it is not a private state dir. */
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			return vl_error_set(err, VL_FAILED_PRECONDITION,
			    "embedded PostgreSQL: state dir %s is writable by others; use a private "
			    "directory such as /var/lib/vledger", resolved);
		if ((st.st_mode & 07777) != 0711 && chmod(resolved, 0711) == -1)
			return vl_error_set(err, VL_FAILED_PRECONDITION,
			    "embedded PostgreSQL: chmod 0711 %s: %s", resolved, strerror(errno));
		if (!epg_check_reachable(pg, err))
			return false;
	} else
		pg->user = xstrdup("(current user)");

	if (!epg_mkdir(pg->pg_dir, 0700, err) || !epg_mkdir(pg->run_dir, 0700, err))
		return false;
	if (pg->drop_privs && !epg_chown_tree(pg, err))
		return false;
	return true;
}

bool
embedded_pg_start(const struct embedded_pg_config *config, struct embedded_pg **out,
    struct vl_error *err)
{
	struct embedded_pg *pg;
	char *version;
	bool fresh, reused = false;

	*out = NULL;
	pg = xcalloc(1, sizeof(*pg));
	if (!epg_prepare(config, pg, err)) {
		epg_free(pg);
		return false;
	}

	version = xasprintf("%s/PG_VERSION", pg->data_dir);
	fresh = access(version, F_OK) == -1;
	free(version);
	if (fresh && !epg_initdb(pg, err)) {
		epg_free(pg);
		return false;
	}

	/* A vledgerd that crashed leaves its server running; a second start
	 * would fail on the data dir's lock, so adopt it instead. */
	if (!fresh && epg_running(pg)) {
		log_info("embedded PostgreSQL: reusing the server already running on %s", pg->data_dir);
		reused = true;
	} else if (!epg_pg_ctl_start(pg, err)) {
		epg_free(pg);
		return false;
	}

	if (!epg_ensure_database(pg, err)) {
		if (!reused) {
			char *argv[] = { "pg_ctl", "-D", pg->data_dir, "-m", "fast", "-w", "stop", NULL };

			(void)epg_run(pg, argv);
		}
		epg_free(pg);
		return false;
	}
	if (!reused)
		log_info("embedded PostgreSQL: started (data %s, socket in %s, log %s)", pg->data_dir,
		    pg->run_dir, pg->log_path);
	*out = pg;
	return true;
}

const char *
embedded_pg_conninfo(const struct embedded_pg *pg)
{
	return pg->conninfo;
}

void
embedded_pg_stop(struct embedded_pg *pg)
{
	char st[64];
	int r;

	if (pg == NULL)
		return;
	{
		char *argv[] = { "pg_ctl", "-D", pg->data_dir, "-m", "fast", "-w", "stop", NULL };

		r = epg_run(pg, argv);
	}
	if (r == 0)
		log_info("embedded PostgreSQL: stopped");
	else
		log_warnx("embedded PostgreSQL: pg_ctl stop failed (%s); see %s",
		    epg_status_text(r, st, sizeof(st)), pg->log_path);
	epg_free(pg);
}
