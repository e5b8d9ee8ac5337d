/*
 * health.h - liveness and readiness: GET /healthz, GET /readyz and the
 * standard grpc.health.v1.Health/Check over Connect.
 *
 * Ready means: the database answers and every migration in sql/ is applied
 * with a matching checksum. Health/Check with service "" or a vledger
 * service name answers SERVING when ready, NOT_SERVING otherwise; an unknown
 * service name is not_found, as the gRPC health protocol says.
 */
#ifndef VLEDGER_HEALTH_H
#define VLEDGER_HEALTH_H

#include <stddef.h>

#include "vledger/app.h"
#include "vledger/http_server.h"
#include "vledger/rpc.h"

extern const struct rpc_method health_methods[];
extern const size_t health_methods_count;

/* GET /healthz: 200 while the process runs. */
void health_serve_live(struct app *app, struct http_request *req);
/* GET /readyz: 200 or 503 with the reason, after a store job. */
void health_serve_ready(struct app *app, struct http_request *req);

#endif
