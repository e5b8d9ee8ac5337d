/*
 * router.c - the procedure table. A linear scan: there are tens of methods,
 * and the comparison is cheaper than hashing the path.
 */
#include "vledger/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/log.h"

struct router {
	const struct schema *schema;
	struct route *routes;
	char **paths;
	size_t count;
};

struct router *
router_new(const struct schema *schema)
{
	struct router *router = xcalloc(1, sizeof(*router));

	router->schema = schema;
	return router;
}

void
router_free(struct router *router)
{
	size_t i;

	if (router == NULL)
		return;
	for (i = 0; i < router->count; i++)
		free(router->paths[i]);
	free(router->paths);
	free(router->routes);
	free(router);
}

void
router_add(struct router *router, const struct rpc_method *methods, size_t count)
{
	size_t i;

	router->routes = xrealloc(router->routes, (router->count + count) * sizeof(*router->routes));
	router->paths = xrealloc(router->paths, (router->count + count) * sizeof(*router->paths));
	for (i = 0; i < count; i++) {
		const struct rpc_method *m = &methods[i];
		struct route *r = &router->routes[router->count];

		if (m->input == NULL || m->output == NULL || (m->handler == NULL && !m->streaming))
			fatalx("router: method %s/%s is incomplete", m->service, m->name);
		r->method = m;
		r->no_side_effects = schema_method_no_side_effects(router->schema, m->service, m->name);
		router->paths[router->count] = xasprintf("/%s/%s", m->service, m->name);
		router->count++;
	}
}

bool
router_has_service(const struct router *router, const char *service)
{
	size_t i;

	for (i = 0; i < router->count; i++)
		if (strcmp(router->routes[i].method->service, service) == 0)
			return true;
	return false;
}

const struct route *
router_find(const struct router *router, const char *path)
{
	size_t i;

	for (i = 0; i < router->count; i++)
		if (strcmp(router->paths[i], path) == 0)
			return &router->routes[i];
	return NULL;
}
