#!/usr/bin/env bash
# Retries: clients whose deadlines (Connect-Timeout-Ms 5-20 ms) are shorter
# than many writes take retry every timed-out write with the same
# idempotency key until it succeeds. Some timed-out writes were rolled back,
# some committed anyway; either way each key ends up as exactly one row and
# one log entry: shifts (RecordShift, one shift_recorded entry each) and
# organisations (CreateOrganization, one organization_registered each),
# written at once by two clients of 16 workers. Each retry goes to the other
# of two vledgerd processes on the database, so a retry often runs while
# the attempt it repeats is still running in the other process: RecordShift
# batches then store the key last (record_shift_answers) and the loser runs
# again and replays the winner's answer.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/integration/durability_lib.sh"
dur_setup

KEYS=300
dur_start a
vl_wait_ready a
dur_start b
vl_wait_ready b
url=$(vl_url a)
url_b=$(vl_url b)
token_file="$VL_TMP/a/state/admin.token"
dur_client setup-shifts --url "$url" --token-file "$token_file" --volunteers 16 --out "$VL_TMP/setup.json" ||
	fail "cannot set up volunteers"

for kind in shift org; do
	node "$DUR_CLIENT" load --kind "$kind" --url "$url,$url_b" --token-file "$token_file" --setup "$VL_TMP/setup.json" \
		--out "$VL_TMP/$kind.receipts" --events "$VL_TMP/$kind.events" --concurrency 16 --max-keys "$KEYS" \
		--timeout-ms 5-20 --client-timeout-ms 10000 --prefix "retry-$kind" >"$VL_TMP/$kind.out" 2>&1 &
	pids+=($!)
	DUR_BG+=($!)
done
for i in 0 1; do
	wait "${pids[$i]}" || fail "load client $i: $(cat "$VL_TMP/shift.out" "$VL_TMP/org.out")"
done
for kind in shift org; do
	echo "$kind client: $(tail -1 "$VL_TMP/$kind.out")"
	dur_client retry-report --events "$VL_TMP/$kind.events" --receipts "$VL_TMP/$kind.receipts" || fail "$kind retries"
done

# Exactly one row and one entry per key, and every key acknowledged.
q() { sql "$1"; }
[ "$(q "SELECT count(*) || ' ' || count(DISTINCT activity) FROM shifts WHERE activity LIKE 'dur retry-shift-%'")" = "$KEYS $KEYS" ] ||
	fail "shifts per key: $(q "SELECT activity || ' x' || count(*) FROM shifts WHERE activity LIKE 'dur retry-shift-%' GROUP BY activity HAVING count(*) > 1 LIMIT 3") (rows $(q "SELECT count(*) FROM shifts WHERE activity LIKE 'dur retry-shift-%'"), want $KEYS)"
[ "$(q "SELECT count(*) || ' ' || count(DISTINCT convert_from(entry, 'UTF8')::jsonb #>> '{shift,activity}') FROM log_entries
	WHERE kind = 'shift_recorded' AND convert_from(entry, 'UTF8')::jsonb #>> '{shift,activity}' LIKE 'dur retry-shift-%'")" = "$KEYS $KEYS" ] ||
	fail "shift_recorded entries are not one per key"
[ "$(q "SELECT count(*) || ' ' || count(DISTINCT name) FROM organizations WHERE name LIKE 'dur retry-org-%'")" = "$KEYS $KEYS" ] ||
	fail "organisations are not one per key: $(q "SELECT count(*) || ' ' || count(DISTINCT name) FROM organizations WHERE name LIKE 'dur retry-org-%'")"
[ "$(q "SELECT count(*) || ' ' || count(DISTINCT convert_from(entry, 'UTF8')::jsonb #>> '{organization,name}') FROM log_entries
	WHERE kind = 'organization_registered' AND convert_from(entry, 'UTF8')::jsonb #>> '{organization,name}' LIKE 'dur retry-org-%'")" = "$KEYS $KEYS" ] ||
	fail "organization_registered entries are not one per key"
pass "$KEYS shifts and $KEYS organisations written with retries after timeouts: exactly one row and one log entry per idempotency key"

# The same request, same key, sent to both processes at the same moment:
# one shift per key, and both answers name it.
SAME=40
dur_client same-key --url "$url,$url_b" --token-file "$token_file" --setup "$VL_TMP/setup.json" --keys "$SAME" \
	--prefix same || fail "same-key requests to both processes"
[ "$(q "SELECT count(*) || ' ' || count(DISTINCT activity) FROM shifts WHERE activity LIKE 'dur same-%'")" = "$SAME $SAME" ] ||
	fail "same-key shifts: $(q "SELECT count(*) || ' ' || count(DISTINCT activity) FROM shifts WHERE activity LIKE 'dur same-%'"), want $SAME $SAME"
pass "$SAME keys sent to both processes at once: one shift per key, both answers the same"
# One key, a different request in each process at the same moment: one is
# recorded, the other refused (already_exists), never both.
dur_client same-key --url "$url,$url_b" --token-file "$token_file" --setup "$VL_TMP/setup.json" --keys "$SAME" \
	--prefix conflict --conflict 1 || fail "conflicting requests under one key in both processes"
[ "$(q "SELECT count(*) || ' ' || count(DISTINCT activity) FROM shifts WHERE activity LIKE 'dur conflict-%'")" = "$SAME $SAME" ] ||
	fail "conflicting keys: $(q "SELECT count(*) || ' ' || count(DISTINCT activity) FROM shifts WHERE activity LIKE 'dur conflict-%'") shifts, want $SAME $SAME"
echo "RecordShift calls run again after the other process stored their key first: $(cat "$VL_TMP/a/log" "$VL_TMP/b/log" | grep -c 'used by a concurrent request' || true)"
pass "$SAME keys used by a different request in each process at once: one recorded, one already_exists"

dur_check_log "$url" "$VL_TMP/a/state/log.vkey" "$VL_TMP/shift.receipts" "$VL_TMP/org.receipts"
vl_stop a
vl_stop b
dur_verify_storage
pass "every receipt, first answer or replay, is in the log at its index and consistent with the latest checkpoint"
