/*
 * connect.h - the Connect protocol (unary) over http_server.
 *
 * The request path of every RPC, in order:
 *   connect_serve: route by path, check method and content type, parse the
 *     GET query or take the body, honour Connect-Timeout-Ms
 *   -> authenticate (a store job looking up the bearer token's hash)
 *   -> decode into the generated C struct (codec)
 *   -> the handler (services/<area>/)
 *   -> rpc_reply / rpc_fail: encode the answer or the Connect error, send it.
 * One function, connect_send_error(), writes every error.
 */
#ifndef VLEDGER_CONNECT_H
#define VLEDGER_CONNECT_H

#include "vledger/app.h"
#include "vledger/http_server.h"

/* Serves a request whose path is not one of the plain HTTP pages. Always
 * answers it, now or later. */
void connect_serve(struct app *app, struct http_request *req);

/* The http_server oversize_body hook: a resource_exhausted Connect error. */
void connect_oversize_body(int *status, const char **content_type, char **body, size_t *body_len);

/* Sends a Connect error for a request that never became an RPC call. */
void connect_send_error(struct http_request *req, const struct vl_error *err);

#endif
