#!/usr/bin/env bash
# PostgreSQL crash: every PostgreSQL process is kill -9'd at random moments
# under append load, 5 times, and the cluster restarted (crash recovery
# replays what reached the WAL files). vledgerd keeps running and must
# reconnect by itself.
#
# What this guards: a write that appends commits with synchronous_commit
# off (so that the log lock is released before the WAL flush) and answers
# only after a barrier confirmed the flush (rpc_job.c, store_wal_barrier).
# A kill -9 of PostgreSQL loses WAL that was still in its shared buffers,
# i.e. exactly the commits that were not flushed. If any receipt went out
# before its flush, its entry can be missing or replaced after recovery,
# and the checks below fail: every receipt is in the log at its index, its
# checkpoint is consistent with the latest, no gap, no fork, no key twice,
# every acknowledged organisation exists, and --verify-storage recomputes
# the stored tree.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/integration/durability_lib.sh"
dur_setup

KILLS=${DUR_PG_KILLS:-5}
dur_start a
vl_wait_ready a
url=$(vl_url a)
vkey="$VL_TMP/a/state/log.vkey"

dur_load_start a pgcrash 15000
client=$DUR_LOAD_PID

# The postmaster and all its children at once, as a machine or OOM-killer
# crash would: nothing gets to write its WAL buffers out.
pg_kill9() {
	local pm
	pm=$(head -1 "$PG_TEST_DIR/data/postmaster.pid")
	kill -STOP "$pm"
	pkill -KILL -P "$pm" || true
	kill -KILL "$pm"
	while kill -0 "$pm" 2>/dev/null; do sleep 0.05; done
	while pgrep -P "$pm" >/dev/null; do sleep 0.05; done
}

progress=0
for i in $(seq 1 "$KILLS"); do
	before=$(dur_acked)
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.5 + 1.5 * r / 32767 }')"
	at=$(dur_acked)
	pg_kill9
	[ "$at" -gt "$before" ] && progress=$((progress + 1))
	sleep 0.5
	dur_pg_start
	kill -0 "${VL_PID[a]}" 2>/dev/null || fail "vledgerd died with PostgreSQL: $(tail -5 "$VL_TMP/a/log")"
	# Writes must be acknowledged again before the next crash.
	for _ in $(seq 1 150); do [ "$(dur_acked)" -gt "$at" ] && break; sleep 0.1; done
	[ "$(dur_acked)" -gt "$at" ] || fail "no write acknowledged within 15 s of PostgreSQL's restart $i"
	echo "PostgreSQL crash $i at $(elapsed) s: $at receipts before it, $(dur_acked) now"
done
sleep 1
kill -TERM "$client"
wait "$client" || fail "load client: $(cat "$VL_TMP/client.out")"
echo "client: $(tail -1 "$VL_TMP/client.out")"
[ "$progress" -ge $((KILLS - 1)) ] || fail "only $progress of $KILLS crash intervals saw writes acknowledged"
grep -q "database system was not properly shut down" "$PG_TEST_DIR/postgres.log" ||
	fail "PostgreSQL did not go through crash recovery"
pass "$KILLS kill -9 of PostgreSQL under load of 24 concurrent writers ($(dur_acked) receipts); vledgerd recovered each time"

dur_check_log "$url" "$vkey" "$VL_TMP/receipts.jsonl"
dur_check_acked_orgs "$VL_TMP/receipts.jsonl"
vl_stop a
dur_verify_storage
pass "after PostgreSQL's crashes: every receipt in the log at its index, consistent with the latest checkpoint; no gap, no fork, no duplicate; stored tree verified"
