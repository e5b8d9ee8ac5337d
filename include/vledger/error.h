/*
 * error.h - the one error type of vledger.
 *
 * An error is a Connect code plus a message that names the offending field
 * ("organization.parentId: no such organization"). It is created where the
 * problem is found and carried up unchanged to the RPC boundary, where
 * connect_send_error() turns it into the Connect error JSON and HTTP status.
 */
#ifndef VLEDGER_ERROR_H
#define VLEDGER_ERROR_H

#include <stdbool.h>

#define VL_MUST_CHECK __attribute__((warn_unused_result))
#define VL_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* The Connect protocol's codes, in the order of the spec. VL_OK is 0. */
enum vl_code {
	VL_OK = 0,
	VL_CANCELED,
	VL_UNKNOWN,
	VL_INVALID_ARGUMENT,
	VL_DEADLINE_EXCEEDED,
	VL_NOT_FOUND,
	VL_ALREADY_EXISTS,
	VL_PERMISSION_DENIED,
	VL_RESOURCE_EXHAUSTED,
	VL_FAILED_PRECONDITION,
	VL_ABORTED,
	VL_OUT_OF_RANGE,
	VL_UNIMPLEMENTED,
	VL_INTERNAL,
	VL_UNAVAILABLE,
	VL_DATA_LOSS,
	VL_UNAUTHENTICATED,
};

struct vl_error {
	enum vl_code code;
	char message[256];
};

/* Sets err (which may be NULL) and returns false, so that callers can write
 * `return vl_error_set(err, VL_INVALID_ARGUMENT, "name: required");`. */
bool vl_error_set(struct vl_error *err, enum vl_code code, const char *fmt, ...) VL_PRINTF(3, 4);

/* Prefixes the message with "prefix." (for nested field paths). */
void vl_error_prefix(struct vl_error *err, const char *prefix);

void vl_error_clear(struct vl_error *err);

/* "invalid_argument", ... (the Connect wire name); static string. */
const char *vl_code_name(enum vl_code code);

/* The HTTP status the Connect spec assigns to a code. */
int vl_code_http_status(enum vl_code code);

#endif
