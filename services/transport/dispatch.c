/*
 * dispatch.c - the first stop of every HTTP request: the plain pages by
 * path (health, the log's resources, the public certificate pages),
 * everything else to the Connect RPC layer.
 */
#include "vledger/dispatch.h"

#include <string.h>

#include "vledger/connect.h"
#include "vledger/health.h"
#include "vledger/log_service.h"
#include "vledger/pages.h"

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
	/* Pages for people; every method reaches them so that they answer 405
	 * with Allow rather than a Connect error. */
	if (strncmp(req->path, "/certificates/", 14) == 0) {
		pages_serve_certificate(app, req);
		return;
	}
	if (strcmp(req->path, "/verify") == 0 || strncmp(req->path, "/verify/", 8) == 0) {
		pages_serve_verify(app, req);
		return;
	}
	if (strcmp(req->path, "/credentials/did") == 0) {
		pages_serve_did(app, req);
		return;
	}
	connect_serve(app, req);
}
