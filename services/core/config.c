/*
 * config.c - the settings table and its parser.
 */
#include "vledger/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/log.h"

enum setting_type { SETTING_STRING, SETTING_INT, SETTING_FLAG };

struct setting {
	const char *name;       /* flag without "--" */
	enum setting_type type;
	size_t offset;          /* into struct config */
	const char *def;        /* default (NULL: unset) */
	int64_t min, max;       /* for SETTING_INT */
	const char *env;        /* environment variable, or NULL */
	const char *help;
};

#define OFF(field) offsetof(struct config, field)

static const struct setting settings[] = {
	{"listen", SETTING_STRING, OFF(listen), "127.0.0.1:8080", 0, 0, "VLEDGER_LISTEN",
	    "address to serve HTTP (or HTTPS) on, HOST:PORT"},
	{"state-dir", SETTING_STRING, OFF(state_dir), "./var", 0, 0, "VLEDGER_STATE_DIR",
	    "directory for admin.token and the embedded PostgreSQL cluster (pg/)"},
	{"database-url", SETTING_STRING, OFF(database_url), NULL, 0, 0, "VLEDGER_DATABASE_URL",
	    "PostgreSQL URL or conninfo; unset: start an embedded cluster in STATE_DIR/pg"},
	{"sql-dir", SETTING_STRING, OFF(sql_dir), VLEDGER_SQL_DIR, 0, 0, "VLEDGER_SQL_DIR",
	    "directory of the NNN_name.sql migrations"},
	{"tls-cert", SETTING_STRING, OFF(tls_cert), NULL, 0, 0, "VLEDGER_TLS_CERT",
	    "PEM certificate chain; with --tls-key, serve HTTPS"},
	{"tls-key", SETTING_STRING, OFF(tls_key), NULL, 0, 0, "VLEDGER_TLS_KEY", "PEM private key for --tls-cert"},
	{"max-body-bytes", SETTING_INT, OFF(max_body_bytes), "1048576", 1024, 64 * 1024 * 1024,
	    "VLEDGER_MAX_BODY_BYTES", "largest request body accepted; larger ones get resource_exhausted"},
	{"max-connections", SETTING_INT, OFF(max_connections), "4096", 16, 1000000, "VLEDGER_MAX_CONNECTIONS",
	    "open client connections at once; beyond it new ones get 503 and are closed (keep below ulimit -n)"},
	{"db-pool-size", SETTING_INT, OFF(db_pool_size), "4", 1, 64, "VLEDGER_DB_POOL_SIZE",
	    "database connections (one worker thread each)"},
	{"max-queued-jobs", SETTING_INT, OFF(max_queued_jobs), "1024", 1, 1000000, "VLEDGER_MAX_QUEUED_JOBS",
	    "requests waiting for a database connection beyond which new ones get resource_exhausted"},
	{"no-prepared-statements", SETTING_FLAG, OFF(no_prepared_statements), NULL, 0, 0,
	    "VLEDGER_NO_PREPARED_STATEMENTS", "parse every query anew instead of preparing the frequent ones once per"
	    " connection; for PgBouncer in transaction pooling mode before 1.21"},
	{"node-cache-mb", SETTING_INT, OFF(node_cache_mb), "32", 0, 4096, "VLEDGER_NODE_CACHE_MB",
	    "memory (MiB) for the log's cache of subtree hashes that proofs read; upper levels are kept first;"
	    " 0: none"},
	{"shutdown-timeout-ms", SETTING_INT, OFF(shutdown_timeout_ms), "10000", 0, 600000,
	    "VLEDGER_SHUTDOWN_TIMEOUT_MS", "how long SIGTERM waits for requests in flight"},
	{"embedded-pg-user", SETTING_STRING, OFF(embedded_pg_user), "postgres", 0, 0, "VLEDGER_EMBEDDED_PG_USER",
	    "unprivileged user that runs the embedded PostgreSQL when vledgerd runs as root"},
	{"pg-bindir", SETTING_STRING, OFF(pg_bindir), NULL, 0, 0, "VLEDGER_PG_BINDIR",
	    "directory of initdb/pg_ctl/postgres; unset: /usr/lib/postgresql/<newest>/bin, then PATH"},
	{"log-key", SETTING_STRING, OFF(log_key), NULL, 0, 0, "VLEDGER_LOG_KEY",
	    "Ed25519 PKCS#8 PEM key that signs checkpoints; unset: STATE_DIR/log.key, made on first start"},
	{"origin", SETTING_STRING, OFF(origin), "vledger.local/log", 0, 0, "VLEDGER_ORIGIN",
	    "the log's name: first line of every checkpoint and the signing key's name"},
	{"pii-key", SETTING_STRING, OFF(pii_key), NULL, 0, 0, "VLEDGER_PII_KEY",
	    "master key that seals volunteers' personal data; unset: STATE_DIR/pii.key, made on first start"},
	{"credential-key", SETTING_STRING, OFF(credential_key), NULL, 0, 0, "VLEDGER_CREDENTIAL_KEY",
	    "Ed25519 PKCS#8 PEM key that signs certificates and attestations; unset: STATE_DIR/credential.key"},
	{"public-url", SETTING_STRING, OFF(public_url), NULL, 0, 0, "VLEDGER_PUBLIC_URL",
	    "base URL people reach vledgerd at, for certificate links and QR codes; unset: from --listen"},
	{"max-shift-hours", SETTING_INT, OFF(max_shift_hours), "16", 1, 72, "VLEDGER_MAX_SHIFT_HOURS",
	    "longest shift accepted"},
	{"backdate-days", SETTING_INT, OFF(backdate_days), "90", 0, 3650, "VLEDGER_BACKDATE_DAYS",
	    "how old a shift a team leader may still record (offices may record older ones)"},
	{"ticket-days", SETTING_INT, OFF(ticket_days), "30", 1, 365, "VLEDGER_TICKET_DAYS",
	    "how long a feedback ticket can be used"},
	{"points-policy", SETTING_STRING, OFF(points_policy), NULL, 0, 0, "VLEDGER_POINTS_POLICY",
	    "JSON file with the incentive points policy; unset: 10 points an hour, commendation bonuses"},
	{"checkin-sweep-seconds", SETTING_INT, OFF(sweep_seconds), "60", 1, 3600, "VLEDGER_CHECKIN_SWEEP_SECONDS",
	    "how often check-ins open longer than --max-shift-hours are closed at that limit"},
	{"star-hours", SETTING_STRING, OFF(star_hours), "100,300,600,1000,1500", 0, 0, "VLEDGER_STAR_HOURS",
	    "lifetime approved hours for star levels 1 to 5, ascending"},
	{"verify-storage", SETTING_FLAG, OFF(verify_storage), NULL, 0, 0, NULL,
	    "recompute the log's tree from its stored entries, compare with the signed checkpoint, and exit"},
	{"check", SETTING_FLAG, OFF(check), NULL, 0, 0, NULL, "validate the configuration and exit"},
	{"debug", SETTING_FLAG, OFF(debug), NULL, 0, 0, "VLEDGER_DEBUG", "log debug lines"},
	{"help", SETTING_FLAG, OFF(help), NULL, 0, 0, NULL, "print this help and exit"},
	{"version", SETTING_FLAG, OFF(version), NULL, 0, 0, NULL, "print the version and exit"},
};

#define SETTINGS_COUNT (sizeof(settings) / sizeof(settings[0]))

static bool
setting_assign(struct config *config, const struct setting *s, const char *value, const char *source,
    struct vl_error *err)
{
	char *field = (char *)config + s->offset;
	char *end;
	long long v;

	switch (s->type) {
	case SETTING_STRING:
		free(*(char **)field);
		*(char **)field = value != NULL ? xstrdup(value) : NULL;
		return true;
	case SETTING_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (value[0] == '\0' || *end != '\0' || errno != 0)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: expected an integer, got \"%s\"", source,
			    value);
		if (v < s->min || v > s->max)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: %lld is outside %lld..%lld", source, v,
			    (long long)s->min, (long long)s->max);
		*(int64_t *)field = v;
		return true;
	case SETTING_FLAG:
		if (value == NULL || strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "yes") == 0) {
			*(bool *)field = true;
		} else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
		    value[0] == '\0') {
			*(bool *)field = false;
		} else {
			return vl_error_set(err, VL_INVALID_ARGUMENT, "%s: expected true or false, got \"%s\"",
			    source, value);
		}
		return true;
	}
	return true;
}

/* "100,300,600,1000,1500" -> star_minutes, five ascending positive values. */
/* --public-url: an http(s) URL of printable ASCII without a query or
 * fragment, kept without its trailing '/'. Unset: the scheme (https with
 * --tls-cert) and --listen, with 127.0.0.1 for a wildcard host. */
static bool
public_url_resolve(struct config *config, struct vl_error *err)
{
	char *u = config->public_url;
	size_t len, i;

	if (u == NULL) {
		const char *scheme = config->tls_cert != NULL ? "https" : "http";

		if (strncmp(config->listen, "0.0.0.0:", 8) == 0)
			config->public_url = xasprintf("%s://127.0.0.1:%s", scheme, config->listen + 8);
		else if (strncmp(config->listen, "[::]:", 5) == 0)
			config->public_url = xasprintf("%s://[::1]:%s", scheme, config->listen + 5);
		else
			config->public_url = xasprintf("%s://%s", scheme, config->listen);
		return true;
	}
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "--public-url: must start with http:// or https://");
	for (i = 0; u[i] != '\0'; i++)
		if (u[i] <= ' ' || u[i] >= 0x7f || u[i] == '?' || u[i] == '#' || u[i] == '"' || u[i] == '<' ||
		    u[i] == '>' || u[i] == '\'' || u[i] == '\\')
			return vl_error_set(err, VL_INVALID_ARGUMENT,
			    "--public-url: character %zu is not allowed (no spaces, quotes, query or fragment)", i + 1);
	len = strlen(u);
	while (len > 0 && u[len - 1] == '/')
		u[--len] = '\0';
	if (u[u[4] == 's' ? 8 : 7] == '\0' || u[u[4] == 's' ? 8 : 7] == '/')
		return vl_error_set(err, VL_INVALID_ARGUMENT, "--public-url: needs a host");
	return true;
}

static bool
star_hours_parse(struct config *config, struct vl_error *err)
{
	const char *p = config->star_hours;
	char *end;
	long long v, last = 0;
	int i;

	for (i = 0; i < 5; i++) {
		v = strtoll(p, &end, 10);
		if (end == p || v <= last || v > 1000000 || (i < 4 && *end != ',') || (i == 4 && *end != '\0'))
			return vl_error_set(err, VL_INVALID_ARGUMENT,
			    "--star-hours: expected five ascending hour counts like 100,300,600,1000,1500");
		config->star_minutes[i] = v * 60;
		last = v;
		p = end + 1;
	}
	return true;
}

bool
config_load(struct config *config, int argc, char **argv, struct vl_error *err)
{
	const struct setting *s;
	const char *value, *env;
	char source[96];
	size_t i;
	int a;

	for (i = 0; i < SETTINGS_COUNT; i++) {
		s = &settings[i];
		if (s->def != NULL && !setting_assign(config, s, s->def, s->name, err))
			return false;
		env = s->env != NULL ? getenv(s->env) : NULL;
		if (env != NULL && env[0] != '\0') {
			if (!setting_assign(config, s, env, s->env, err))
				return false;
		}
	}
	for (a = 1; a < argc; a++) {
		const char *arg = argv[a];
		const char *eq;
		size_t name_len;

		if (strcmp(arg, "-h") == 0)
			arg = "--help";
		if (strncmp(arg, "--", 2) != 0)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "unexpected argument \"%s\" (see --help)", arg);
		arg += 2;
		eq = strchr(arg, '=');
		name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		s = NULL;
		for (i = 0; i < SETTINGS_COUNT; i++)
			if (strlen(settings[i].name) == name_len && strncmp(settings[i].name, arg, name_len) == 0)
				s = &settings[i];
		if (s == NULL)
			return vl_error_set(err, VL_INVALID_ARGUMENT, "unknown flag --%.*s (see --help)",
			    (int)name_len, arg);
		snprintf(source, sizeof(source), "--%s", s->name);
		if (eq != NULL) {
			value = eq + 1;
		} else if (s->type == SETTING_FLAG) {
			value = NULL;
		} else {
			if (a + 1 >= argc)
				return vl_error_set(err, VL_INVALID_ARGUMENT, "%s needs a value", source);
			value = argv[++a];
		}
		if (!setting_assign(config, s, value, source, err))
			return false;
	}
	if (!star_hours_parse(config, err))
		return false;
	if ((config->tls_cert == NULL) != (config->tls_key == NULL))
		return vl_error_set(err, VL_INVALID_ARGUMENT, "--tls-cert and --tls-key must be given together");
	return public_url_resolve(config, err);
}

void
config_free(struct config *config)
{
	size_t i;

	for (i = 0; i < SETTINGS_COUNT; i++)
		if (settings[i].type == SETTING_STRING) {
			char **field = (char **)((char *)config + settings[i].offset);
			free(*field);
			*field = NULL;
		}
}

void
config_usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: vledgerd [FLAGS]\n\n"
	    "vledgerd serves the vledger API (Connect protocol, JSON and Protobuf over HTTP/1.1).\n"
	    "Each flag can also be set by the environment variable shown; flags win.\n\n");
	for (i = 0; i < SETTINGS_COUNT; i++) {
		const struct setting *s = &settings[i];
		char left[64];

		snprintf(left, sizeof(left), "--%s%s", s->name,
		    s->type == SETTING_STRING ? " VALUE" : s->type == SETTING_INT ? " N" : "");
		fprintf(out, "  %-28s %s\n", left, s->help);
		if (s->def != NULL || s->env != NULL || s->type == SETTING_INT) {
			const char *sep = "";

			fprintf(out, "  %-28s ", "");
			if (s->def != NULL) {
				fprintf(out, "default: %s", s->def);
				sep = "; ";
			}
			if (s->type == SETTING_INT) {
				fprintf(out, "%srange: %lld..%lld", sep, (long long)s->min, (long long)s->max);
				sep = "; ";
			}
			if (s->env != NULL)
				fprintf(out, "%senv: %s", sep, s->env);
			fputc('\n', out);
		}
	}
}
