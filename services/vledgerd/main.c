/*
 * vledgerd - the vledger daemon.
 *
 * main() only reads the configuration and wires the modules together:
 * config -> state dir -> database (embedded or URL) -> migrations ->
 * bootstrap token -> store pool -> router -> HTTP server -> event loop.
 * On SIGTERM/SIGINT it stops accepting, waits (bounded) for requests in
 * flight, then closes the pool and stops the embedded PostgreSQL.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "vledger/admin.h"
#include "vledger/app.h"
#include "vledger/attendance.h"
#include "vledger/certificates.h"
#include "vledger/commendations.h"
#include "vledger/config.h"
#include "vledger/connect.h"
#include "vledger/digest_set.h"
#include "vledger/dispatch.h"
#include "vledger/embedded_pg.h"
#include "vledger/feedback.h"
#include "vledger/health.h"
#include "vledger/http_server.h"
#include "vledger/log.h"
#include "vledger/log_service.h"
#include "vledger/migrate.h"
#include "vledger/note.h"
#include "vledger/pii.h"
#include "vledger/points.h"
#include "vledger/recognition.h"
#include "vledger/records.h"
#include "vledger/rpc_batch.h"
#include "vledger/volunteers.h"
#include "vledger/router.h"
#include "vledger/store.h"
#include "vledger/tlog.h"
#include "vledger/vc.h"

#define LOG_ID "default"  /* one log per deployment for now; every table is keyed by it */

struct daemon {
	struct app app;
	struct config config;
	struct embedded_pg *pg;
	struct http_server *http;
	SSL_CTX *tls;
	struct event *sigterm, *sigint, *drain_timer, *sweep_timer;
	bool sweep_running;
	int64_t drain_deadline_us;
};

/* Creates the state directory if needed. When the embedded PostgreSQL will
 * run as another user (we are root) the directory must be traversable by
 * it, so it is 0711 (no listing); otherwise 0700. */
static bool
prepare_state_dir(const struct config *config, struct vl_error *err)
{
	mode_t mode = (geteuid() == 0 && config->database_url == NULL) ? 0711 : 0700;
	struct stat st;

	if (mkdir(config->state_dir, mode) != 0 && errno != EEXIST)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "--state-dir %s: %s", config->state_dir,
		    strerror(errno));
	if (stat(config->state_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return vl_error_set(err, VL_FAILED_PRECONDITION, "--state-dir %s: not a directory", config->state_dir);
	if (chmod(config->state_dir, mode) != 0)
		return vl_error_set(err, VL_FAILED_PRECONDITION, "--state-dir %s: chmod: %s", config->state_dir,
		    strerror(errno));
	return true;
}

static bool
load_tls(const struct config *config, SSL_CTX **out, struct vl_error *err)
{
	SSL_CTX *ctx;
	unsigned long e;

	*out = NULL;
	if (config->tls_cert == NULL)
		return true;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return vl_error_set(err, VL_INTERNAL, "TLS: SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, config->tls_cert) != 1) {
		e = ERR_get_error();
		SSL_CTX_free(ctx);
		return vl_error_set(err, VL_INVALID_ARGUMENT, "--tls-cert %s: %s", config->tls_cert,
		    ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) : "cannot load");
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, config->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		SSL_CTX_free(ctx);
		return vl_error_set(err, VL_INVALID_ARGUMENT, "--tls-key %s: %s", config->tls_key,
		    ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) : "cannot load or does not match");
	}
	*out = ctx;
	return true;
}

/* The checkpoint signing key: --log-key, or STATE_DIR/log.key made on the
 * first start. */
static bool
load_log_key(const struct config *config, struct note_signer **out, struct vl_error *err)
{
	char *path;
	bool ok, created = false;

	if (config->log_key != NULL)
		return note_signer_load(config->log_key, config->origin, out, err);
	path = xasprintf("%s/log.key", config->state_dir);
	ok = note_signer_load_or_create(path, config->origin, &created, out, err);
	if (ok && created)
		log_info("log key: created %s (mode 0600); back it up: it signs every checkpoint", path);
	free(path);
	return ok;
}

/* The master key for personal data: --pii-key, or STATE_DIR/pii.key made on
 * the first start. */
static bool
load_pii_key(const struct config *config, struct pii_keys **out, struct vl_error *err)
{
	char *path;
	bool ok, created = false;

	if (config->pii_key != NULL)
		return pii_keys_load(config->pii_key, out, err);
	path = xasprintf("%s/pii.key", config->state_dir);
	ok = pii_keys_load_or_create(path, &created, out, err);
	if (ok && created)
		log_info("personal data key: created %s (mode 0600); back it up: without it no personal data can be read",
		    path);
	free(path);
	return ok;
}

/* The key that signs certificates and attestations: --credential-key, or
 * STATE_DIR/credential.key made on the first start. Kept apart from the
 * log key: the two sign different things for different readers, and one
 * can be rotated without the other. Its did:key is public: it goes to
 * STATE_DIR/credential.did and GET /credentials/did. */
static bool
load_credential_key(const struct config *config, struct vc_signer **out, struct vl_error *err)
{
	char *path, *did_path;
	bool ok, created = false;
	FILE *f;

	if (config->credential_key != NULL) {
		ok = vc_signer_load(config->credential_key, out, err);
	} else {
		path = xasprintf("%s/credential.key", config->state_dir);
		ok = vc_signer_load_or_create(path, &created, out, err);
		if (ok && created)
			log_info("credential key: created %s (mode 0600); back it up: it signs every certificate", path);
		free(path);
	}
	if (!ok)
		return false;
	did_path = xasprintf("%s/credential.did", config->state_dir);
	f = fopen(did_path, "w");
	if (f == NULL || fprintf(f, "%s\n", vc_signer_did(*out)) < 0 || fclose(f) != 0)
		log_warn("cannot write %s", did_path);
	free(did_path);
	log_info("credential key: %s (also in %s/credential.did and at GET /credentials/did)", vc_signer_did(*out),
	    config->state_dir);
	return true;
}

/* STATE_DIR/log.vkey: the public verifier key, for auditors. */
static void
write_vkey(const struct config *config, const char *vkey)
{
	char *path = xasprintf("%s/log.vkey", config->state_dir);
	FILE *f = fopen(path, "w");

	if (f == NULL || fprintf(f, "%s\n", vkey) < 0 || fclose(f) != 0)
		log_warn("cannot write %s", path);
	free(path);
}

/* Migrations, the log and the bootstrap token, on a connection of their
 * own before the pool starts (startup may block). Takes `signer`. */
static bool
prepare_database(struct daemon *d, const char *conninfo, struct note_signer *signer, struct vl_error *err)
{
	char *token_path = xasprintf("%s/admin.token", d->config.state_dir);
	PGconn *conn;
	bool ok = false, created;
	uint64_t checked;

	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		vl_error_set(err, VL_UNAVAILABLE, "database: %s", PQerrorMessage(conn));
		note_signer_free(signer);
		goto out;
	}
	if (!migrate_apply(conn, &d->app.migrations, err)) {
		note_signer_free(signer);
		goto out;
	}
	if (!tlog_open(conn, LOG_ID, d->config.origin, signer, &d->app.tlog, err))
		goto out;
	if (!volunteers_check_key(conn, d->app.pii, err))
		goto out;
	write_vkey(&d->config, tlog_vkey(d->app.tlog));
	log_info("log verifier key: %s (also in %s/log.vkey and at GET /log/vkey)", tlog_vkey(d->app.tlog),
	    d->config.state_dir);
	if (d->config.verify_storage) {
		if (!tlog_verify_storage(conn, d->app.tlog, &checked, err))
			goto out;
		log_info("verify-storage: ok: %llu entries, every subtree hash and the root match the signed checkpoint",
		    (unsigned long long)checked);
		ok = true;
		goto out;
	}
	if (access(token_path, F_OK) == 0) {
		log_info("admin token: %s (kept from an earlier start)", token_path);
	} else {
		if (!admin_bootstrap_token(conn, d->app.tlog, token_path, &created, err))
			goto out;
		if (created)
			log_info("admin token: written to %s (mode 0600); it is shown nowhere else", token_path);
		else
			log_info("admin token: not written to %s: this database already has a bootstrap admin token,"
			    " issued to the state directory of the instance that first started on it", token_path);
	}
	/* After the bootstrap token, so that a new log begins with it; never
	 * under --verify-storage, which only reads. */
	if (!points_policy_apply(conn, d->app.tlog, d->config.points_policy, err))
		goto out;
	ok = true;
out:
	PQfinish(conn);
	free(token_path);
	return ok;
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	size_t busy = http_server_in_flight(d->http);
	int pending = store_pending(d->app.store);

	if (busy == 0 && pending == 0) {
		event_base_loopbreak(d->app.base);
		return;
	}
	if (rpc_now_us() >= d->drain_deadline_us) {
		log_warnx("shutdown: %zu requests still in flight after %lld ms; stopping anyway", busy,
		    (long long)d->config.shutdown_timeout_ms);
		event_base_loopbreak(d->app.base);
	}
}

/* Closes check-ins left open past --max-shift-hours, once a minute, on a
 * store worker; one sweep at a time. */
static void
sweep_job(PGconn *conn, void *arg)
{
	struct daemon *d = arg;
	struct vl_error err;
	int closed = 0;

	if (!attendance_close_stale(conn, d->app.tlog, d->config.max_shift_hours, &closed, &err))
		log_warnx("check-in sweep: %s", err.message);
	else if (closed > 0)
		log_info("check-in sweep: closed %d check-ins open longer than %lld hours", closed,
		    (long long)d->config.max_shift_hours);
}

static void
sweep_done(void *arg)
{
	struct daemon *d = arg;

	d->sweep_running = false;
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->app.shutting_down || d->sweep_running)
		return;
	d->sweep_running = true;
	store_submit(d->app.store, sweep_job, sweep_done, d);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tick = {0, 20000};

	if (d->app.shutting_down) {
		log_info("shutdown: second signal, stopping now");
		event_base_loopbreak(d->app.base);
		return;
	}
	log_info("shutdown: %s received; no new connections, finishing %zu requests in flight",
	    strsignal((int)sig), http_server_in_flight(d->http));
	d->app.shutting_down = true;
	http_server_stop_accepting(d->http);
	d->drain_deadline_us = rpc_now_us() + d->config.shutdown_timeout_ms * 1000;
	d->drain_timer = event_new(d->app.base, -1, EV_PERSIST, drain_cb, d);
	event_add(d->drain_timer, &tick);
}

static int
run(struct daemon *d)
{
	struct config *config = &d->config;
	struct app *app = &d->app;
	struct http_server_config http_config;
	struct store_config store_config;
	struct embedded_pg_config pg_config;
	struct vl_error err;
	struct note_signer *signer = NULL;
	const char *conninfo;
	char listen_url[300];
	int status = 1;
	bool ok;

	vl_error_clear(&err);
	app->config = config;
	if (!migration_set_load(config->sql_dir, &app->migrations, &err) || !load_tls(config, &d->tls, &err))
		goto fail;
	if (config->check) {
		printf("configuration ok: listen %s, state dir %s, %s, %zu migrations in %s%s\n", config->listen,
		    config->state_dir, config->database_url != NULL ? "database from --database-url" : "embedded PostgreSQL",
		    app->migrations.count, config->sql_dir, d->tls != NULL ? ", TLS" : "");
		status = 0;
		goto cleanup;
	}
	if (!prepare_state_dir(config, &err) || !load_log_key(config, &signer, &err) ||
	    !load_pii_key(config, &app->pii, &err) || !load_credential_key(config, &app->credentials, &err))
		goto fail;
	if (!schema_load(vledger_descriptor_set, vledger_descriptor_set_len, &app->schema, &err))
		goto fail;
	if (evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads failed");
	app->base = event_base_new();
	if (app->base == NULL)
		fatalx("event_base_new failed");

	if (config->database_url != NULL) {
		conninfo = config->database_url;
		log_info("database: using --database-url (no embedded PostgreSQL)");
	} else {
		pg_config.state_dir = config->state_dir;
		pg_config.bindir = config->pg_bindir;
		pg_config.run_as_user = config->embedded_pg_user;
		if (!embedded_pg_start(&pg_config, &d->pg, &err))
			goto fail;
		conninfo = embedded_pg_conninfo(d->pg);
	}
	ok = prepare_database(d, conninfo, signer, &err);
	signer = NULL;  /* prepare_database took it */
	if (!ok)
		goto fail;
	if (config->verify_storage) {
		status = 0;
		goto cleanup;
	}
	/* Before the store's workers can run a proof. */
	tlog_cache_subtrees(app->tlog, (size_t)config->node_cache_mb << 20);
	app->certificate_checks = digest_set_new(CERTIFICATE_CHECKS_CACHED);
	store_config.conninfo = conninfo;
	store_config.pool_size = (int)config->db_pool_size;
	store_config.max_queued = (int)config->max_queued_jobs;
	store_config.unprepared = config->no_prepared_statements;
	if (!store_open(app->base, &store_config, &app->store, &err))
		goto fail;
	app->shift_batcher = records_batcher_new(app);

	app->router = router_new(app->schema);
	router_add(app->router, health_methods, health_methods_count);
	router_add(app->router, admin_methods, admin_methods_count);
	router_add(app->router, log_methods, log_methods_count);
	router_add(app->router, volunteer_methods, volunteer_methods_count);
	router_add(app->router, records_methods, records_methods_count);
	router_add(app->router, feedback_methods, feedback_methods_count);
	router_add(app->router, points_methods, points_methods_count);
	router_add(app->router, attendance_methods, attendance_methods_count);
	router_add(app->router, commendation_methods, commendation_methods_count);
	router_add(app->router, certificate_methods, certificate_methods_count);
	router_add(app->router, recognition_methods, recognition_methods_count);

	memset(&http_config, 0, sizeof(http_config));
	http_config.listen = config->listen;
	http_config.max_body_bytes = (size_t)config->max_body_bytes;
	http_config.max_connections = (size_t)config->max_connections;
	http_config.tls = d->tls;
	http_config.oversize_body = connect_oversize_body;
	if (!http_server_start(app->base, &http_config, dispatch_request, app, &d->http, &err))
		goto fail;

	d->sigterm = evsignal_new(app->base, SIGTERM, signal_cb, d);
	d->sigint = evsignal_new(app->base, SIGINT, signal_cb, d);
	event_add(d->sigterm, NULL);
	event_add(d->sigint, NULL);
	{
		struct timeval every = {(time_t)config->sweep_seconds, 0};

		d->sweep_timer = event_new(app->base, -1, EV_PERSIST, sweep_cb, d);
		event_add(d->sweep_timer, &every);
	}
	snprintf(listen_url, sizeof(listen_url), "%s://%s", d->tls != NULL ? "https" : "http", config->listen);
	log_info("vledgerd %s listening on %s (max body %lld bytes, %lld database connections, statements %s,"
	    " subtree cache %lld MiB); public URL %s", VLEDGER_VERSION, listen_url, (long long)config->max_body_bytes,
	    (long long)config->db_pool_size, config->no_prepared_statements ? "not prepared" : "prepared",
	    (long long)config->node_cache_mb, config->public_url);

	event_base_dispatch(app->base);
	status = 0;
	log_info("shutdown: closing the database pool");
	goto cleanup;
fail:
	log_warnx("startup failed: %s", err.message);
cleanup:
	if (d->http != NULL && http_server_in_flight(d->http) == 0)
		http_server_free(d->http);
	if (app->store != NULL)
		store_close(app->store);
	if (d->pg != NULL)
		embedded_pg_stop(d->pg);
	note_signer_free(signer);
	rpc_batcher_free(app->shift_batcher);
	tlog_free(app->tlog);
	pii_keys_free(app->pii);
	vc_signer_free(app->credentials);
	digest_set_free(app->certificate_checks);
	if (d->drain_timer != NULL)
		event_free(d->drain_timer);
	if (d->sweep_timer != NULL)
		event_free(d->sweep_timer);
	if (d->sigterm != NULL)
		event_free(d->sigterm);
	if (d->sigint != NULL)
		event_free(d->sigint);
	router_free(app->router);
	if (app->base != NULL)
		event_base_free(app->base);
	if (app->schema != NULL)
		schema_free(app->schema);
	migration_set_free(&app->migrations);
	if (d->tls != NULL)
		SSL_CTX_free(d->tls);
	if (status == 0 && !config->check && !config->verify_storage)
		log_info("shutdown: done");
	return status;
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct vl_error err;
	int status;

	memset(&d, 0, sizeof(d));
	signal(SIGPIPE, SIG_IGN);
	if (!config_load(&d.config, argc, argv, &err)) {
		fprintf(stderr, "vledgerd: %s\n", err.message);
		config_free(&d.config);
		return 2;
	}
	if (d.config.help) {
		config_usage(stdout);
		config_free(&d.config);
		return 0;
	}
	if (d.config.version) {
		printf("vledgerd %s\n", VLEDGER_VERSION);
		config_free(&d.config);
		return 0;
	}
	log_set_debug(d.config.debug);
	status = run(&d);
	config_free(&d.config);
	return status;
}
