/*
 * rpc.h - transport-free RPC calls.
 *
 * A handler sees an rpc_call: the method, the authenticated principal, the
 * decoded request message and the deadline. It never sees HTTP, so the same
 * handlers will serve gRPC over HTTP/2 later. The Connect transport
 * (connect.c) builds the call, authenticates it, decodes the request and calls
 * the handler.
 *
 * Contract: a handler must eventually call rpc_reply() or rpc_fail() exactly
 * once, from the loop thread, possibly after a store job. That call frees the
 * rpc_call (and the request message): do not touch it afterwards. If the
 * deadline passed or the client left in the meantime, the answer is dropped
 * quietly.
 */
#ifndef VLEDGER_RPC_H
#define VLEDGER_RPC_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

#include "vledger/error.h"

struct app;
struct rpc_call;

/* The role values are those of vledger.v1.Role in proto/vledger/v1/admin.proto. */
struct principal {
	char token_id[64];
	int role;
	char organization_id[64];  /* "" when the token has none (admin) */
	char volunteer_id[64];     /* ROLE_VOLUNTEER: the volunteer it acts for; else "" */
};

enum rpc_access {
	RPC_PUBLIC,  /* no token needed */
	RPC_TOKEN,   /* a valid token; the handler checks role and scope */
};

struct rpc_method {
	const char *service;  /* full name, "vledger.v1.AdminService" */
	const char *name;     /* "CreateOrganization" */
	const ProtobufCMessageDescriptor *input;
	const ProtobufCMessageDescriptor *output;
	enum rpc_access access;
	void (*handler)(struct rpc_call *call);
	bool streaming;       /* server streaming: not served over unary Connect */
};

struct rpc_call {
	const struct rpc_method *method;
	struct app *app;
	struct principal principal;  /* valid when method->access == RPC_TOKEN */
	ProtobufCMessage *request;   /* owned by the call */
	int64_t deadline_us;         /* CLOCK_MONOTONIC microseconds; 0 = none */
	char id[17];                 /* request id, for logs */
};

/* Sends `response` (still owned by the caller) and frees the call. */
void rpc_reply(struct rpc_call *call, const ProtobufCMessage *response);

/* Sends the error and frees the call. */
void rpc_fail(struct rpc_call *call, const struct vl_error *err);

/* Milliseconds left before the deadline (at least 1), or 0 when the call has
 * no deadline. Safe to call from a store job. */
int64_t rpc_remaining_ms(const struct rpc_call *call);

/* CLOCK_MONOTONIC in microseconds. */
int64_t rpc_now_us(void);


/*
 * Running a handler's database work.
 *
 * rpc_run_job() runs `fn` on a store worker inside one transaction
 * (BEGIN ... COMMIT, or ROLLBACK when fn fails), with statement and lock
 * timeouts set from the call's deadline so that a request that times out
 * writes nothing. fn returns the response as packed protobuf bytes in
 * *response (malloc'd; the runner frees it) or fails with err set. Then, on
 * the loop thread, the runner answers the call (rpc_reply or rpc_fail) and
 * frees `ctx` with free() (ctx may be NULL).
 *
 * fn runs on a worker thread: it may read call->request, call->principal,
 * ctx, call->app->config, call->app->tlog and call->app->pii (immutable
 * after startup), and nothing else of the daemon.
 */
typedef bool (*rpc_job_fn)(PGconn *conn, struct rpc_call *call, void *ctx, uint8_t **response,
    size_t *response_len, struct vl_error *err);

void rpc_run_job(struct rpc_call *call, rpc_job_fn fn, void *ctx);

/* For an fn that only reads and needs no one snapshot across its
 * statements (each may see what committed after the one before): a call
 * without a deadline runs it without BEGIN/COMMIT, each statement
 * committing on its own, which saves two of a short read's three round
 * trips; the server's own statement_timeout, if any, applies. A call with
 * a deadline runs exactly as with rpc_run_job(). */
void rpc_run_read_job(struct rpc_call *call, rpc_job_fn fn, void *ctx);

/* Answers with an already packed response message (of the method's output
 * type) and frees the call. */
void rpc_reply_packed(struct rpc_call *call, const uint8_t *packed, size_t len);

#endif
