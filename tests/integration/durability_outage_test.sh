#!/usr/bin/env bash
# Database outage: PostgreSQL is stopped (pg_ctl stop -m fast) for 10 s
# under write load. Every call in that window fails with unavailable within
# its deadline (no hang, no crash, no other code), /readyz says 503, and once
# PostgreSQL is back vledgerd serves again within 5 s by itself: /readyz 200
# and writes succeed. Nothing acknowledged before, during or after is lost.
# Then PostgreSQL restarts while vledgerd is idle: the pool's idle
# connections are dead, and the very next calls must still succeed.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/integration/durability_lib.sh"
dur_setup

TIMEOUT_MS=2000
dur_start a
vl_wait_ready a
url=$(vl_url a)
vkey="$VL_TMP/a/state/log.vkey"

node "$DUR_CLIENT" load --url "$url" --token-file "$VL_TMP/a/state/admin.token" --out "$VL_TMP/receipts.jsonl" \
	--events "$VL_TMP/events.jsonl" --concurrency 16 --timeout-ms "$TIMEOUT_MS" --client-timeout-ms 10000 \
	--prefix outage >"$VL_TMP/client.out" 2>&1 &
client=$!
DUR_BG+=("$client")
sleep 2

readyz() { curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' "$url/readyz" || true; }

stop=$(now_ms)
dur_pg_stop
down=$(now_ms)
echo "PostgreSQL stopped at $(elapsed) s (took $((down - stop)) ms)"
sleep 1
read -r code secs <<<"$(readyz)"
[ "$code" = 503 ] || fail "/readyz during the outage: HTTP $code after $secs s (want 503)"
echo "/readyz during the outage: $code in $secs s"
# A call without a deadline must not wait for the database either.
t0=$(now_ms)
answer=$(curl -s -m 10 -H "Authorization: Bearer $(cat "$VL_TMP/a/state/admin.token")" -H 'Content-Type: application/json' \
	-d '{"name":"dur nodeadline","kind":"ORGANIZATION_KIND_EMPLOYER","idempotencyKey":"nodeadline"}' \
	"$url/vledger.v1.AdminService/CreateOrganization" || true)
[ $(($(now_ms) - t0)) -lt 1000 ] || fail "a call without a deadline took $(($(now_ms) - t0)) ms during the outage: $answer"
case "$answer" in *'"code":"unavailable"'*'"message":"'?*) ;; *) fail "a call during the outage answered: $answer" ;; esac
echo "a write without a deadline during the outage: $answer"
kill -0 "${VL_PID[a]}" 2>/dev/null || fail "vledgerd died during the outage"
# Down for 10 s in all, from the moment pg_ctl stop returned.
sleep "$(awk -v ms=$((10000 - ($(now_ms) - down))) 'BEGIN { printf "%.3f", ms / 1000 }')"

dur_pg_start
up=$(now_ms)
echo "PostgreSQL back at $(elapsed) s after $((up - down)) ms"
while :; do
	read -r code secs <<<"$(readyz)"
	[ "$code" = 200 ] && break
	[ $(($(now_ms) - up)) -lt 5000 ] || fail "/readyz still $code 5 s after PostgreSQL came back"
	sleep 0.1
done
ready=$(now_ms)
echo "/readyz 200 again $((ready - up)) ms after PostgreSQL came back"
sleep 4
kill -TERM "$client"
wait "$client" || fail "load client: $(cat "$VL_TMP/client.out")"
echo "client: $(tail -1 "$VL_TMP/client.out")"
kill -0 "${VL_PID[a]}" 2>/dev/null || fail "vledgerd died"

dur_client outage-report --events "$VL_TMP/events.jsonl" --stop "$stop" --down "$down" --up "$up" \
	--timeout-ms "$TIMEOUT_MS" --slack-ms 1000 --recover-ms 5000 || fail "calls during the outage misbehaved"
pass "PostgreSQL down 10 s under load: calls failed fast with unavailable, /readyz 503 then 200 within 5 s, writes resumed within 5 s"

dur_check_log "$url" "$vkey" "$VL_TMP/receipts.jsonl"
dur_check_acked_orgs "$VL_TMP/receipts.jsonl"
vl_stop a
dur_verify_storage
pass "after the outage: every receipt in the log, consistent with the latest checkpoint; no gap, no duplicate"

# PostgreSQL restarts while nothing is asked: every pooled connection is
# now closed by the server, which libpq notices only when it next reads.
dur_start a
vl_wait_ready a
dur_pg_stop
dur_pg_start
for i in $(seq 1 8); do
	answer=$(curl -s -m 10 -H "Authorization: Bearer $(cat "$VL_TMP/a/state/admin.token")" -H 'Content-Type: application/json' \
		-d "{\"name\":\"dur idle $i\",\"kind\":\"ORGANIZATION_KIND_EMPLOYER\",\"idempotencyKey\":\"idle-$i\"}" \
		"$url/vledger.v1.AdminService/CreateOrganization")
	case "$answer" in *'"receipt"'*) ;; *) fail "write $i after PostgreSQL restarted under an idle vledgerd: $answer" ;; esac
done
vl_stop a
pass "after PostgreSQL restarted under an idle vledgerd, the next 8 writes all succeed"
