/*
 * dispatch.h - routes an HTTP request to a page or to the RPC layer.
 */
#ifndef VLEDGER_DISPATCH_H
#define VLEDGER_DISPATCH_H

#include "vledger/http_server.h"

/* The http_server request callback; `arg` is the struct app. */
void dispatch_request(struct http_request *req, void *arg);

#endif
