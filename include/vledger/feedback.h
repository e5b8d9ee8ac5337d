/*
 * feedback.h - vledger.v1.FeedbackService: one-time tickets for a shift and
 * the ratings the people served leave with them.
 */
#ifndef VLEDGER_FEEDBACK_H
#define VLEDGER_FEEDBACK_H

#include <stddef.h>

#include "vledger/rpc.h"

extern const struct rpc_method feedback_methods[];
extern const size_t feedback_methods_count;

#endif
