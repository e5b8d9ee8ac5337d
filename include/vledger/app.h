/*
 * app.h - what every handler can reach: the daemon's long-lived parts.
 * Built by main() before the loop starts; read-only afterwards except where
 * a module says otherwise.
 */
#ifndef VLEDGER_APP_H
#define VLEDGER_APP_H

#include <event2/event.h>

#include "vledger/config.h"
#include "vledger/migrate.h"
#include "vledger/schema.h"

struct store;
struct router;
struct tlog;
struct pii_keys;
struct vc_signer;
struct digest_set;
struct rpc_batcher;

struct app {
	struct event_base *base;
	const struct config *config;
	struct schema *schema;
	struct store *store;
	struct router *router;
	struct tlog *tlog;       /* the transparent log; read-only, usable from store jobs */
	struct pii_keys *pii;    /* personal data keys; read-only, usable from store jobs */
	struct vc_signer *credentials;  /* signs certificates and attestations; read-only, usable from store jobs */
	/* Certificate rows already found to match their certificate_issued
	 * entry (certificates.h); owned; thread-safe, usable from store jobs. */
	struct digest_set *certificate_checks;
	/* RecordShift's sequencer (records.h, rpc_batch.h); loop thread only. */
	struct rpc_batcher *shift_batcher;
	struct migration_set migrations;
	bool shutting_down;
};

#endif
