/*
 * vledger - the command-line tool: call the API from a shell.
 *
 *   vledger [--url URL] [--token-file FILE] call SERVICE/METHOD [JSON]
 *   vledger [--url URL] health
 *
 * It speaks the Connect protocol's JSON form over HTTP/1.1 (https:// via
 * OpenSSL). A CLI may block, so this is a plain blocking client; the token
 * comes from --token-file or $VLEDGER_TOKEN and is never printed.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "vledger/log.h"

#define DEFAULT_URL "http://127.0.0.1:8080"
#define RESPONSE_MAX (64 * 1024 * 1024)

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: vledger [--url URL] [--token-file FILE] [--insecure] COMMAND ...\n"
	    "\n"
	    "commands:\n"
	    "  call SERVICE/METHOD [JSON]  call an RPC with a JSON request (default {}), e.g.\n"
	    "                              vledger call vledger.v1.AdminService/ListOrganizations\n"
	    "                              SERVICE may omit the \"vledger.v1.\" prefix; JSON '-' reads stdin\n"
	    "  health                      grpc.health.v1.Health/Check; exit 0 when SERVING\n"
	    "\n"
	    "flags:\n"
	    "  --url URL          vledgerd's address (default %s; env VLEDGER_URL)\n"
	    "  --token-file FILE  file holding a bearer token, e.g. var/admin.token (env VLEDGER_TOKEN_FILE;\n"
	    "                     or the token itself in VLEDGER_TOKEN)\n"
	    "  --insecure         with https://, do not verify the server's certificate\n"
	    "  --help, --version\n"
	    "\n"
	    "exit status: 0 success, 1 the server answered with an error, 2 usage or connection trouble\n",
	    DEFAULT_URL);
}

struct url {
	bool tls;
	char host[256];
	char port[8];
	char path_prefix[256];
};

static bool
url_parse(const char *text, struct url *u)
{
	const char *p, *slash, *colon;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (strncmp(text, "http://", 7) == 0) {
		p = text + 7;
		strcpy(u->port, "80");
	} else if (strncmp(text, "https://", 8) == 0) {
		p = text + 8;
		u->tls = true;
		strcpy(u->port, "443");
	} else {
		return false;
	}
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	colon = memchr(p, ':', n);
	if (colon != NULL) {
		size_t port_len = n - (size_t)(colon - p) - 1;
		if (port_len == 0 || port_len >= sizeof(u->port))
			return false;
		memcpy(u->port, colon + 1, port_len);
		u->port[port_len] = '\0';
		n = (size_t)(colon - p);
	}
	if (n == 0 || n >= sizeof(u->host))
		return false;
	memcpy(u->host, p, n);
	if (slash != NULL) {
		snprintf(u->path_prefix, sizeof(u->path_prefix), "%s", slash);
		n = strlen(u->path_prefix);
		if (n > 0 && u->path_prefix[n - 1] == '/')
			u->path_prefix[n - 1] = '\0';
	}
	return true;
}

/* Reads a whole file or stdin ("-"); returns a malloc'd NUL-terminated
 * string the caller frees, or NULL with errno set. */
static char *
read_all(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap * 2 + 4096;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

static BIO *
connect_to(const struct url *u, bool insecure, SSL_CTX **ctx_out)
{
	struct addrinfo hints, *res, *ai;
	BIO *bio;
	int fd = -1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(u->host, u->port, &hints, &res);
	if (r != 0) {
		fprintf(stderr, "vledger: %s: %s\n", u->host, gai_strerror(r));
		return NULL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "vledger: cannot connect to %s:%s: %s\n", u->host, u->port, strerror(errno));
		return NULL;
	}
	bio = BIO_new_socket(fd, BIO_CLOSE);
	if (!u->tls)
		return bio;
	*ctx_out = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_default_verify_paths(*ctx_out);
	SSL_CTX_set_verify(*ctx_out, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	BIO *ssl_bio = BIO_new_ssl(*ctx_out, 1);
	SSL *ssl;
	BIO_get_ssl(ssl_bio, &ssl);
	SSL_set_tlsext_host_name(ssl, u->host);
	SSL_set1_host(ssl, u->host);
	bio = BIO_push(ssl_bio, bio);
	if (BIO_do_handshake(bio) != 1) {
		fprintf(stderr, "vledger: TLS handshake with %s failed: %s\n", u->host,
		    ERR_reason_error_string(ERR_get_error()));
		BIO_free_all(bio);
		return NULL;
	}
	return bio;
}

/* POSTs `body` as application/json and reads the whole response. Returns
 * the HTTP status (or -1) and sets *response (malloc'd, caller frees). */
static int
post_json(const struct url *u, bool insecure, const char *procedure, const char *token, const char *body,
    char **response)
{
	SSL_CTX *ctx = NULL;
	BIO *bio;
	char *request, *buf = NULL, *p;
	size_t len = 0, cap = 0;
	int n, status = -1;

	*response = NULL;
	bio = connect_to(u, insecure, &ctx);
	if (bio == NULL)
		goto out;
	request = xasprintf("POST %s/%s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
	    "Connect-Protocol-Version: 1\r\nContent-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n%s",
	    u->path_prefix, procedure, u->host, u->port, strlen(body), token != NULL ? "Authorization: Bearer " : "",
	    token != NULL ? token : "", token != NULL ? "\r\n" : "", body);
	n = BIO_write(bio, request, (int)strlen(request));
	free(request);
	if (n <= 0) {
		fprintf(stderr, "vledger: sending the request failed\n");
		goto out;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap * 2 + 4096;
			if (cap > RESPONSE_MAX)
				break;
			buf = xrealloc(buf, cap);
		}
		n = BIO_read(bio, buf + len, (int)(cap - len - 1));
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL || len < 12 || strncmp(buf, "HTTP/1.", 7) != 0) {
		fprintf(stderr, "vledger: no HTTP response from %s:%s\n", u->host, u->port);
		goto out;
	}
	buf[len] = '\0';
	status = atoi(buf + 9);
	p = strstr(buf, "\r\n\r\n");
	*response = xstrdup(p != NULL ? p + 4 : "");
out:
	free(buf);
	if (bio != NULL)
		BIO_free_all(bio);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return status;
}

static char *
load_token(const char *token_file)
{
	const char *env = getenv("VLEDGER_TOKEN");
	char *token, *end;

	if (token_file == NULL)
		token_file = getenv("VLEDGER_TOKEN_FILE");
	if (token_file == NULL)
		return env != NULL && env[0] != '\0' ? xstrdup(env) : NULL;
	token = read_all(token_file);
	if (token == NULL) {
		fprintf(stderr, "vledger: --token-file %s: %s\n", token_file, strerror(errno));
		exit(2);
	}
	end = token + strlen(token);
	while (end > token && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	return token;
}

/* Prints a successful answer pretty, or the Connect error as
 * "code: message" on stderr. Returns the exit status. */
static int
report(int status, const char *response)
{
	json_error_t jerr;
	json_t *doc = json_loads(response, 0, &jerr);
	int rc;

	if (status == 200 && doc != NULL) {
		char *pretty = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", pretty);
		free(pretty);
		rc = 0;
	} else if (doc != NULL && json_is_string(json_object_get(doc, "code"))) {
		fprintf(stderr, "%s: %s\n", json_string_value(json_object_get(doc, "code")),
		    json_is_string(json_object_get(doc, "message")) ? json_string_value(json_object_get(doc, "message")) : "");
		rc = 1;
	} else {
		fprintf(stderr, "HTTP %d%s%s\n", status, response[0] != '\0' ? ": " : "", response);
		rc = 1;
	}
	json_decref(doc);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *url_text = getenv("VLEDGER_URL"), *token_file = NULL;
	char *token = NULL, *body = NULL, *response = NULL, *procedure;
	bool insecure = false;
	struct url url;
	int a, status, rc = 2;

	for (a = 1; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
		if (strcmp(argv[a], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[a], "--version") == 0) {
			printf("vledger %s\n", VLEDGER_VERSION);
			return 0;
		} else if (strcmp(argv[a], "--insecure") == 0) {
			insecure = true;
		} else if (strcmp(argv[a], "--url") == 0 && a + 1 < argc) {
			url_text = argv[++a];
		} else if (strcmp(argv[a], "--token-file") == 0 && a + 1 < argc) {
			token_file = argv[++a];
		} else {
			fprintf(stderr, "vledger: unknown or incomplete flag %s\n", argv[a]);
			usage(stderr);
			return 2;
		}
	}
	if (url_text == NULL || url_text[0] == '\0')
		url_text = DEFAULT_URL;
	if (!url_parse(url_text, &url)) {
		fprintf(stderr, "vledger: --url: expected http://HOST[:PORT] or https://..., got \"%s\"\n", url_text);
		return 2;
	}
	if (a >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[a], "health") == 0 && a + 1 == argc) {
		status = post_json(&url, insecure, "grpc.health.v1.Health/Check", NULL, "{}", &response);
		if (status < 0)
			return 2;
		rc = report(status, response);
		if (rc == 0 && strstr(response, "\"SERVING\"") == NULL)
			rc = 1;
		free(response);
		return rc;
	}
	if (strcmp(argv[a], "call") != 0 || a + 1 >= argc || a + 3 < argc) {
		usage(stderr);
		return 2;
	}
	procedure = strchr(argv[a + 1], '.') != NULL && strchr(argv[a + 1], '.') < strchr(argv[a + 1], '/')
	    ? xstrdup(argv[a + 1]) : xasprintf("vledger.v1.%s", argv[a + 1]);
	if (strchr(procedure, '/') == NULL) {
		fprintf(stderr, "vledger: expected SERVICE/METHOD, got \"%s\"\n", argv[a + 1]);
		goto out;
	}
	if (a + 2 < argc)
		body = strcmp(argv[a + 2], "-") == 0 ? read_all("-") : xstrdup(argv[a + 2]);
	else
		body = xstrdup("{}");
	token = load_token(token_file);
	status = post_json(&url, insecure, procedure, token, body, &response);
	if (status >= 0)
		rc = report(status, response);
out:
	free(procedure);
	free(body);
	free(response);
	if (token != NULL) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
	return rc;
}
