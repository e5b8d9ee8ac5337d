/*
 * vledger - the command-line tool: call the API from a shell, make keys,
 * and check the log without trusting the server.
 *
 *   vledger [--url URL] [--token-file FILE] call SERVICE/METHOD [JSON]
 *   vledger [--url URL] health
 *   vledger keygen FILE
 *   vledger verify-receipt --vkey VKEY RECEIPT.json [ENTRY]
 *   vledger verify-certificate --key KEY CERT.json [--receipt RECEIPT.json --vkey VKEY]
 *   vledger audit --url URL --vkey VKEY --state FILE [--full]
 *   vledger [--url URL] [--token-file FILE] import-shifts [--dry-run] FILE.csv
 *
 * It speaks the Connect protocol's JSON form over HTTP/1.1 (https:// via
 * OpenSSL). The token comes from --token-file or $VLEDGER_TOKEN and is
 * never printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "vledger/http_client.h"
#include "vledger/log.h"

#define DEFAULT_URL "http://127.0.0.1:8080"

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
	    "  keygen FILE                 make an Ed25519 checkpoint-signing key (PKCS#8 PEM, mode 0600)\n"
	    "  pii-keygen FILE             make a master key for volunteers' personal data (mode 0600)\n"
	    "  verify-receipt --vkey VKEY RECEIPT.json [ENTRY]\n"
	    "                              check a write's receipt offline: the checkpoint's signature,\n"
	    "                              the entry's leaf hash and the inclusion proof\n"
	    "  verify-certificate --key KEY CERT.json [--receipt RECEIPT.json --vkey VKEY]\n"
	    "                              check a certificate offline: its eddsa-jcs-2022 proof under KEY\n"
	    "                              (the did:key in var/credential.did or GET /credentials/did) and,\n"
	    "                              with a receipt, that its certificate_issued entry is in the log\n"
	    "  audit --vkey VKEY --state FILE [--full]\n"
	    "                              monitor the log at --url: verify the checkpoint and that it is\n"
	    "                              consistent with the one seen last (kept in FILE); --full also\n"
	    "                              fetches every tile and entry bundle and recomputes the root\n"
	    "  import-shifts [--dry-run] FILE.csv\n"
	    "                              record a spreadsheet's shifts (UTF-8 CSV, English or Chinese\n"
	    "                              header), each row once however often the file is imported;\n"
	    "                              see vledger import-shifts --help\n"
	    "\n"
	    "flags:\n"
	    "  --url URL          vledgerd's address (default %s; env VLEDGER_URL)\n"
	    "  --token-file FILE  file holding a bearer token, e.g. var/admin.token (env VLEDGER_TOKEN_FILE;\n"
	    "                     or the token itself in VLEDGER_TOKEN)\n"
	    "  --insecure         with https://, do not verify the server's certificate\n"
	    "  --help, --version\n"
	    "VKEY is a verifier key (name+hex+base64, as in var/log.vkey or GET /log/vkey) or a file holding one.\n"
	    "\n"
	    "exit status: 0 success, 1 the server answered with an error or a check failed,\n"
	    "2 usage or connection trouble\n",
	    DEFAULT_URL);
}

char *
load_token(const char *token_file)
{
	const char *env = getenv("VLEDGER_TOKEN");
	char *token, *end;

	if (token_file == NULL)
		token_file = getenv("VLEDGER_TOKEN_FILE");
	if (token_file == NULL)
		return env != NULL && env[0] != '\0' ? xstrdup(env) : NULL;
	token = read_file(token_file, NULL);
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
cli_call_json(const struct http_url *url, const char *procedure, const char *token, const char *body, char **response)
{
	char *path = xasprintf("/%s", procedure);
	size_t len;
	int status;

	status = http_fetch(url, "POST", path, token, "application/json", body, strlen(body), response, &len);
	free(path);
	return status;
}

static int
command_call(const struct http_url *url, const char *token_file, int argc, char **argv)
{
	char *token = NULL, *body = NULL, *response = NULL, *procedure;
	const char *dot, *slash;
	int status, rc = 2;

	if (argc < 1 || argc > 2) {
		usage(stderr);
		return 2;
	}
	dot = strchr(argv[0], '.');
	slash = strchr(argv[0], '/');
	if (slash == NULL) {
		fprintf(stderr, "vledger: expected SERVICE/METHOD, got \"%s\"\n", argv[0]);
		return 2;
	}
	procedure = dot != NULL && dot < slash ? xstrdup(argv[0]) : xasprintf("vledger.v1.%s", argv[0]);
	if (argc == 2)
		body = strcmp(argv[1], "-") == 0 ? read_file("-", NULL) : xstrdup(argv[1]);
	else
		body = xstrdup("{}");
	token = load_token(token_file);
	status = cli_call_json(url, procedure, token, body, &response);
	if (status >= 0)
		rc = report(status, response);
	free(procedure);
	free(body);
	free(response);
	if (token != NULL) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
	return rc;
}

static int
command_health(const struct http_url *url)
{
	char *response = NULL;
	int status, rc;

	status = cli_call_json(url, "grpc.health.v1.Health/Check", NULL, "{}", &response);
	if (status < 0)
		return 2;
	rc = report(status, response);
	if (rc == 0 && strstr(response, "\"SERVING\"") == NULL)
		rc = 1;
	free(response);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *url_text = getenv("VLEDGER_URL"), *token_file = NULL;
	bool insecure = false;
	struct http_url url;
	int a;

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
	if (!http_url_parse(url_text, &url)) {
		fprintf(stderr, "vledger: --url: expected http://HOST[:PORT] or https://..., got \"%s\"\n", url_text);
		return 2;
	}
	url.insecure = insecure;
	if (a >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[a], "call") == 0)
		return command_call(&url, token_file, argc - a - 1, argv + a + 1);
	if (strcmp(argv[a], "health") == 0 && a + 1 == argc)
		return command_health(&url);
	if (strcmp(argv[a], "keygen") == 0)
		return cli_keygen(argc - a - 1, argv + a + 1);
	if (strcmp(argv[a], "pii-keygen") == 0)
		return cli_pii_keygen(argc - a - 1, argv + a + 1);
	if (strcmp(argv[a], "verify-receipt") == 0)
		return cli_verify_receipt(argc - a - 1, argv + a + 1);
	if (strcmp(argv[a], "verify-certificate") == 0)
		return cli_verify_certificate(argc - a - 1, argv + a + 1);
	if (strcmp(argv[a], "audit") == 0)
		return cli_audit(&url, argc - a - 1, argv + a + 1);
	if (strcmp(argv[a], "import-shifts") == 0)
		return cli_import_shifts(&url, token_file, argc - a - 1, argv + a + 1);
	usage(stderr);
	return 2;
}
