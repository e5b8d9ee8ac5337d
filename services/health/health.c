/*
 * health.c - /healthz, /readyz and grpc.health.v1.Health/Check.
 */
#include "vledger/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "vledger/codec.h"
#include "vledger/log.h"
#include "vledger/router.h"
#include "vledger/store.h"

/* Blocking readiness check for a store job: the database answers and the
 * schema is current. */
static bool
ready_check(PGconn *conn, const struct app *app, struct vl_error *err)
{
	return migrate_is_current(conn, &app->migrations, err);
}

struct ready_probe {
	struct app *app;
	struct http_request *req;
	bool ok;
	struct vl_error err;
};

static void
ready_job(PGconn *conn, void *arg)
{
	struct ready_probe *probe = arg;

	probe->ok = ready_check(conn, probe->app, &probe->err);
}

static void
ready_done(void *arg)
{
	struct ready_probe *probe = arg;
	char body[320];

	if (probe->ok) {
		http_reply(probe->req, 200, "text/plain; charset=utf-8", "ready\n", 6, NULL);
	} else {
		snprintf(body, sizeof(body), "not ready: %s\n", probe->err.message);
		log_info("readyz: %s", probe->err.message);
		http_reply(probe->req, 503, "text/plain; charset=utf-8", body, strlen(body), NULL);
	}
	free(probe);
}

void
health_serve_live(struct app *app, struct http_request *req)
{
	http_reply(req, 200, "text/plain; charset=utf-8", "ok\n", 3, NULL);
}

void
health_serve_ready(struct app *app, struct http_request *req)
{
	struct ready_probe *probe;

	if (app->shutting_down) {
		http_reply(req, 503, "text/plain; charset=utf-8", "not ready: shutting down\n", 25, NULL);
		return;
	}
	probe = xcalloc(1, sizeof(*probe));
	probe->app = app;
	probe->req = req;
	/* A server whose database queue is full is not ready for more: a load
	 * balancer should send traffic elsewhere until it drains. */
	if (!store_try_submit(app->store, ready_job, ready_done, probe)) {
		free(probe);
		http_reply(req, 503, "text/plain; charset=utf-8", "not ready: overloaded\n", 22, NULL);
	}
}

static bool
check_job(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response, size_t *response_len,
    struct vl_error *err)
{
	Grpc__Health__V1__HealthCheckResponse out = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	struct vl_error why;

	if (ready_check(conn, call->app, &why)) {
		out.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	} else {
		out.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
		log_info("health check: not serving: %s", why.message);
	}
	codec_encode_binary(&out.base, response, response_len);
	return true;
}

static void
health_check(struct rpc_call *call)
{
	const Grpc__Health__V1__HealthCheckRequest *req = (const void *)call->request;
	struct vl_error err;

	/* "" is the server as a whole; otherwise any service this server
	 * routes. */
	if (req->service[0] != '\0' && !router_has_service(call->app->router, req->service)) {
		vl_error_set(&err, VL_NOT_FOUND, "service: unknown service \"%.100s\"", req->service);
		rpc_fail(call, &err);
		return;
	}
	rpc_run_job(call, check_job, NULL);
}

const struct rpc_method health_methods[] = {
	{"grpc.health.v1.Health", "Check", &grpc__health__v1__health_check_request__descriptor,
	    &grpc__health__v1__health_check_response__descriptor, RPC_PUBLIC, health_check, false},
	{"grpc.health.v1.Health", "Watch", &grpc__health__v1__health_check_request__descriptor,
	    &grpc__health__v1__health_check_response__descriptor, RPC_PUBLIC, NULL, true},
};
const size_t health_methods_count = sizeof(health_methods) / sizeof(health_methods[0]);
