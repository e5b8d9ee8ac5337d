/*
 * cli.h - the `vledger` tool's commands, one file each group.
 * Each returns the process exit status: 0 ok, 1 failed check or server
 * error, 2 usage or connection trouble.
 */
#ifndef VLEDGER_CLI_H
#define VLEDGER_CLI_H

#include "vledger/http_client.h"

/* POSTs a JSON Connect request; see http_fetch for the result. */
int cli_call_json(const struct http_url *url, const char *procedure, const char *token, const char *body,
    char **response);

int cli_keygen(int argc, char **argv);
int cli_pii_keygen(int argc, char **argv);
int cli_verify_receipt(int argc, char **argv);
int cli_verify_certificate(int argc, char **argv);
int cli_audit(const struct http_url *url, int argc, char **argv);

/* The bearer token from token_file ($VLEDGER_TOKEN_FILE when NULL) or
 * $VLEDGER_TOKEN; NULL when none is given; exits 2 when the file cannot be
 * read. Caller cleanses and frees. (vledger.c) */
char *load_token(const char *token_file);
/* vledger import-shifts (import.c); token_file is the global --token-file. */
int cli_import_shifts(const struct http_url *url, const char *token_file, int argc, char **argv);

#endif
