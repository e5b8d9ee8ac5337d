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
int cli_audit(const struct http_url *url, int argc, char **argv);

#endif
