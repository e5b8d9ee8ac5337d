/*
 * router.h - maps "/<package>.<Service>/<Method>" to an rpc_method.
 * Each service module exports its method table; main() adds them all.
 */
#ifndef VLEDGER_ROUTER_H
#define VLEDGER_ROUTER_H

#include <stddef.h>

#include "vledger/rpc.h"
#include "vledger/schema.h"

struct router;

struct route {
	const struct rpc_method *method;
	bool no_side_effects;  /* from the proto's idempotency_level: may be called with GET */
};

/* Returns a new, empty router; free with router_free(). */
struct router *router_new(const struct schema *schema);
void router_free(struct router *router);

/* Adds `count` methods (the table must outlive the router). A method the
 * schema does not know is a build mistake: fatalx(). */
void router_add(struct router *router, const struct rpc_method *methods, size_t count);

/* True when some method of `service` (full name) is routed. */
bool router_has_service(const struct router *router, const char *service);

/* The route for an HTTP path, or NULL. */
const struct route *router_find(const struct router *router, const char *path);

#endif
