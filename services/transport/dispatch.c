/*
 * dispatch.c - the first stop of every HTTP request: the plain pages by
 * exact path, everything else to the Connect RPC layer.
 */
#include "vledger/dispatch.h"

#include <string.h>

#include "vledger/connect.h"
#include "vledger/health.h"
#include "vledger/log_service.h"

void
dispatch_request(struct http_request *req, void *arg)
{
	struct app *app = arg;

	if (strcmp(req->path, "/healthz") == 0 && strcmp(req->method, "GET") == 0) {
		health_serve_live(app, req);
		return;
	}
	if (strcmp(req->path, "/readyz") == 0 && strcmp(req->method, "GET") == 0) {
		health_serve_ready(app, req);
		return;
	}
	if (strncmp(req->path, "/log/", 5) == 0) {
		log_serve_http(app, req);
		return;
	}
	connect_serve(app, req);
}
