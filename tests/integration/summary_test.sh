#!/usr/bin/env bash
# Volunteer summaries against an independent computation: at least 10,000
# generated shifts (seeded, so every run is the same data set), recorded by
# team leaders and an office, then approved, rejected, voided and amended
# through the API; every volunteer's GetVolunteerSummary in five periods must
# equal, field by field, what summary_check.mjs computes from its own record
# of what it sent and the server accepted (never from the server's tables).
#
# SUMMARY_SHIFTS, SUMMARY_SEED and SUMMARY_CONCURRENCY pass through to the
# checker (defaults 10000, 20220413, 16).
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
command -v node >/dev/null || fail "node is required"
pg_start_throwaway

# The default points policy (10 points an hour, every category) is what the
# checker computes balances under.
vl_start main --database-url "$PG_TEST_URL" --db-pool-size 8
vl_wait_ready main

status=0
VL_URL=$(vl_url main) VL_ADMIN_TOKEN_FILE="$VL_TMP/main/state/admin.token" PSQL="$PG_TEST_BINDIR/psql" \
	node "$VLEDGER_SOURCE_DIR/tests/integration/summary_check.mjs" || status=$?
[ "$status" -eq 0 ] || fail "summaries disagree with the independent computation (see above)"
pass "every summary of ${SUMMARY_SHIFTS:-10000} generated shifts (approved, rejected, voided, amended) matches the independent computation"
vl_stop main
