/*
 * check.h - the assertions of the unit tests: a failed check prints where
 * and what, and ends the test with exit status 1.
 */
#ifndef VLEDGER_TEST_CHECK_H
#define VLEDGER_TEST_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/error.h"

#define CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		exit(1);							\
	}									\
} while (0)

/* `call` must fail with want_code and a message containing want_substr;
 * it reports into `e_`, a struct vl_error this macro declares. */
#define CHECK_ERR(call, want_code, want_substr) do {				\
	struct vl_error e_ = { 0 };						\
	bool ok_ = (call);							\
	if (ok_ || e_.code != (want_code) || strstr(e_.message, (want_substr)) == NULL) { \
		fprintf(stderr, "%s:%d: %s: got %s, code %d \"%s\"; want code %d containing \"%s\"\n", __FILE__, \
		    __LINE__, #call, ok_ ? "success" : "failure", e_.code, e_.message, (want_code), (want_substr)); \
		exit(1);							\
	}									\
} while (0)

#endif
