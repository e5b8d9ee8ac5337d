#!/usr/bin/env bash
# Two writers: two vledgerd processes on one database (one --log-key) under
# append load, each client worker alternating between them, and one of them
# kill -9'd and restarted half-way. One log comes out: no gap, no fork,
# every receipt from either process in it at its index and consistent with
# the latest checkpoint, no key written twice, and both processes serve the
# same checkpoint.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/integration/durability_lib.sh"
dur_setup

dur_start a
vl_wait_ready a
dur_start b
vl_wait_ready b
url_a=$(vl_url a)
url_b=$(vl_url b)
vkey="$VL_TMP/a/state/log.vkey"
# Only the first instance writes the bootstrap admin token; b shares it.
[ ! -e "$VL_TMP/b/state/admin.token" ] || fail "the second instance wrote a bootstrap token too"

node "$DUR_CLIENT" load --url "$url_a,$url_b" --token-file "$VL_TMP/a/state/admin.token" --out "$VL_TMP/receipts.jsonl" \
	--concurrency 24 --timeout-ms 5000 --client-timeout-ms 10000 --prefix two >"$VL_TMP/client.out" 2>&1 &
client=$!
DUR_BG+=("$client")
sleep 4
dur_kill9 b
dur_start b
vl_wait_ready b
sleep 4
kill -TERM "$client"
wait "$client" || fail "load client: $(cat "$VL_TMP/client.out")"
echo "client: $(tail -1 "$VL_TMP/client.out")"

from_a=$(grep -c "\"url\":\"$url_a\"" "$VL_TMP/receipts.jsonl" || true)
from_b=$(grep -c "\"url\":\"$url_b\"" "$VL_TMP/receipts.jsonl" || true)
[ "$from_a" -ge 50 ] && [ "$from_b" -ge 50 ] || fail "receipts from a: $from_a, from b: $from_b (want both under load)"
pass "two vledgerd processes on one database, 24 writers alternating, b kill -9'd once: $from_a receipts from a, $from_b from b"

cp_a=$(curl -fsS "$url_a/log/checkpoint") || fail "GET /log/checkpoint from a"
cp_b=$(curl -fsS "$url_b/log/checkpoint") || fail "GET /log/checkpoint from b"
[ "$cp_a" = "$cp_b" ] || fail "a and b serve different checkpoints"
dur_check_log "$url_a" "$vkey" "$VL_TMP/receipts.jsonl"
dur_check_log "$url_b" "$vkey" "$VL_TMP/receipts.jsonl"
dur_check_acked_orgs "$VL_TMP/receipts.jsonl"
vl_stop a
vl_stop b
dur_verify_storage
pass "one log: every receipt of either process in it at its index, consistent with the latest checkpoint; no gap, no fork, no duplicate"
