/*
 * error.c - the Connect codes, their wire names and HTTP statuses.
 */
#include "vledger/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool
vl_error_set(struct vl_error *err, enum vl_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return false;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

void
vl_error_prefix(struct vl_error *err, const char *prefix)
{
	char buf[sizeof(err->message)];
	int n;

	if (err == NULL)
		return;
	/* "a" + "b: msg" -> "a.b: msg"; "a" + ": msg" -> "a: msg". A message
	 * too long for the buffer is cut, never overrun. */
	n = snprintf(buf, sizeof(buf), "%s%s", prefix, err->message[0] == ':' ? "" : ".");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	size_t room = sizeof(buf) - (size_t)n - 1;
	size_t len = strnlen(err->message, sizeof(err->message));
	if (len > room)
		len = room;
	memcpy(buf + n, err->message, len);
	buf[(size_t)n + len] = '\0';
	memcpy(err->message, buf, sizeof(buf));
}

void
vl_error_clear(struct vl_error *err)
{
	err->code = VL_OK;
	err->message[0] = '\0';
}

static const struct {
	const char *name;
	int status;
} code_table[] = {
	[VL_OK] = {"ok", 200},
	[VL_CANCELED] = {"canceled", 499},
	[VL_UNKNOWN] = {"unknown", 500},
	[VL_INVALID_ARGUMENT] = {"invalid_argument", 400},
	[VL_DEADLINE_EXCEEDED] = {"deadline_exceeded", 504},
	[VL_NOT_FOUND] = {"not_found", 404},
	[VL_ALREADY_EXISTS] = {"already_exists", 409},
	[VL_PERMISSION_DENIED] = {"permission_denied", 403},
	[VL_RESOURCE_EXHAUSTED] = {"resource_exhausted", 429},
	[VL_FAILED_PRECONDITION] = {"failed_precondition", 400},
	[VL_ABORTED] = {"aborted", 409},
	[VL_OUT_OF_RANGE] = {"out_of_range", 400},
	[VL_UNIMPLEMENTED] = {"unimplemented", 501},
	[VL_INTERNAL] = {"internal", 500},
	[VL_UNAVAILABLE] = {"unavailable", 503},
	[VL_DATA_LOSS] = {"data_loss", 500},
	[VL_UNAUTHENTICATED] = {"unauthenticated", 401},
};

const char *
vl_code_name(enum vl_code code)
{
	if ((unsigned)code >= sizeof(code_table) / sizeof(code_table[0]))
		return "unknown";
	return code_table[code].name;
}

int
vl_code_http_status(enum vl_code code)
{
	if ((unsigned)code >= sizeof(code_table) / sizeof(code_table[0]))
		return 500;
	return code_table[code].status;
}
