#!/usr/bin/env bash
# Crash: vledgerd is kill -9'd at random moments under append load, 12
# times, and restarted. The load client retries every unanswered write with
# its idempotency key, and writes down each receipt the moment it arrives.
# Afterwards: every receipt is in the log at its index, its entry and
# inclusion proof check out, a consistency proof links its checkpoint to
# the latest one, the log has no gap and no fork, no key was written twice,
# and --verify-storage recomputes the stored tree.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/integration/durability_lib.sh"
dur_setup

KILLS=${DUR_KILLS:-12}
dur_start a
vl_wait_ready a
url=$(vl_url a)
vkey="$VL_TMP/a/state/log.vkey"

dur_load_start a crash 10000
client=$DUR_LOAD_PID

progress=0
for i in $(seq 1 "$KILLS"); do
	before=$(dur_acked)
	# 0.3 to 1.5 s of load, then the kill: lands mid-transaction, mid-commit
	# or mid-reply, wherever it falls.
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + 1.2 * r / 32767 }')"
	at=$(dur_acked)
	dur_kill9 a
	kill -0 "$client" 2>/dev/null || fail "the load client stopped: $(cat "$VL_TMP/client.out")"
	[ "$at" -gt "$before" ] && progress=$((progress + 1))
	dur_start a
	vl_wait_ready a
	echo "kill $i at $(elapsed) s: $at receipts so far"
done
# Some load after the last restart, so that it is checked too.
sleep 1
kill -TERM "$client"
wait "$client" || fail "load client: $(cat "$VL_TMP/client.out")"
echo "client: $(tail -1 "$VL_TMP/client.out")"
# Every kill but perhaps one or two right after a restart landed under load.
[ "$progress" -ge $((KILLS - 2)) ] || fail "only $progress of $KILLS kill intervals saw writes acknowledged"
pass "$KILLS kill -9 of vledgerd under load of 24 concurrent writers ($(dur_acked) receipts)"

dur_check_log "$url" "$vkey" "$VL_TMP/receipts.jsonl"
dur_check_acked_orgs "$VL_TMP/receipts.jsonl"
vl_stop a
dur_verify_storage
pass "after the crashes: every receipt in the log at its index, consistent with the latest checkpoint; no gap, no fork, no duplicate; stored tree verified"
