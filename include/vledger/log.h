/*
 * log.h - one line per event on stderr: time, level, message.
 *
 * Never pass a token, a key or personal data to these functions.
 * log_warn() appends strerror(errno); log_warnx() does not. fatalx() logs and
 * exits: it is for broken invariants and startup failures, never for bad input.
 */
#ifndef VLEDGER_LOG_H
#define VLEDGER_LOG_H

#include <stddef.h>

#include "vledger/error.h"

void log_info(const char *fmt, ...) VL_PRINTF(1, 2);
void log_warn(const char *fmt, ...) VL_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) VL_PRINTF(1, 2);
void log_debug(const char *fmt, ...) VL_PRINTF(1, 2);
void log_set_debug(bool on);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) VL_PRINTF(1, 2);

/* Allocation that cannot fail: aborts the process on out-of-memory. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a malloc'd formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) VL_PRINTF(1, 2);

#endif
