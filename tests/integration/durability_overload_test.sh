#!/usr/bin/env bash
# Overload: far more concurrent writes (200) than one database connection can
# serve, with --max-queued-jobs 32. The calls beyond the bound are refused
# at once with resource_exhausted and a message naming the limit; those let
# in wait only behind a bounded queue; nothing times out, hangs or drops its
# connection; vledgerd's memory stays flat however long the overload lasts;
# afterwards it serves normally.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/integration/durability_lib.sh"
dur_setup

# AddressSanitizer holds freed memory in quarantine (256 MB by default),
# which would hide or fake growth; a small quarantine keeps RSS meaningful.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
dur_start a --db-pool-size 1 --max-queued-jobs 32
vl_wait_ready a
url=$(vl_url a)
pid=${VL_PID[a]}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }

# Warm up (connections, caches), then measure.
dur_client load --url "$url" --token-file "$VL_TMP/a/state/admin.token" --out "$VL_TMP/warm.jsonl" \
	--concurrency 4 --max-keys 50 --prefix warm >/dev/null || fail "warm-up writes failed"
overload() { # overload NAME SECONDS: 200 concurrent writers; prints the peak RSS in kB
	node "$DUR_CLIENT" load --url "$url" --token-file "$VL_TMP/a/state/admin.token" --out "$VL_TMP/$1.jsonl" \
		--events "$VL_TMP/$1.events" --concurrency 200 --duration-ms "$(($2 * 1000))" --timeout-ms 30000 \
		--client-timeout-ms 30000 --prefix "$1" >"$VL_TMP/$1.out" 2>&1 &
	local client=$! peak=0 r
	DUR_BG+=("$client")
	while kill -0 "$client" 2>/dev/null; do
		r=$(rss_kb) || fail "vledgerd died under overload"
		[ "$r" -gt "$peak" ] && peak=$r
		sleep 0.2
	done
	wait "$client" || fail "load client $1: $(cat "$VL_TMP/$1.out")"
	echo "$peak"
}
# The server's own view, from its request log (ms from the request read to
# the answer): a refusal costs next to nothing, and a call let in waits only
# behind the bounded queue (32 writes). The client's timings also include
# its own CPU, shared with vledgerd and PostgreSQL on a small machine.
server_times() { # server_times CODE: the largest ms= of CreateOrganization answers with that code
	grep "rpc=vledger.v1.AdminService/CreateOrganization code=$1 " "$VL_TMP/a/log" |
		sed -n 's/.* ms=\([0-9.]*\) .*/\1/p' | sort -n | tail -1
}
base=$(rss_kb)
peak1=$(overload short 3)
echo "short overload: $(tail -1 "$VL_TMP/short.out"), RSS ${base} kB before, peak ${peak1} kB"
dur_client overload-report --events "$VL_TMP/short.events" --max-refusal-ms 3000 --max-ok-ms 10000 || fail "under overload"
refused_ms=$(server_times resource_exhausted)
served_ms=$(server_times ok)
echo "server side: slowest refusal ${refused_ms} ms, slowest write served ${served_ms} ms"
awk -v r="$refused_ms" -v s="$served_ms" 'BEGIN { exit !(r < 50 && s < 2000) }' ||
	fail "refusals up to ${refused_ms} ms (want < 50), served writes up to ${served_ms} ms (want < 2000)"
peak2=$(overload long 9)
echo "3x longer overload: $(tail -1 "$VL_TMP/long.out"), peak ${peak2} kB"
dur_client overload-report --events "$VL_TMP/long.events" --max-refusal-ms 3000 --max-ok-ms 10000 || fail "under longer overload"
# Bounded queues: three times the overload may not need much more memory.
[ $((peak2 - peak1)) -lt 32768 ] || fail "RSS grew from ${peak1} kB to ${peak2} kB with a longer overload"
pass "200 writers on one connection: refused fast with resource_exhausted beyond 32 queued, served ones bounded, RSS ${base} -> ${peak1} -> ${peak2} kB"

answer=$(curl -s -m 5 -H "Authorization: Bearer $(cat "$VL_TMP/a/state/admin.token")" -H 'Content-Type: application/json' \
	-d '{"name":"dur after","kind":"ORGANIZATION_KIND_EMPLOYER","idempotencyKey":"after-overload"}' \
	"$url/vledger.v1.AdminService/CreateOrganization")
case "$answer" in *'"receipt"'*) ;; *) fail "a write after the overload: $answer" ;; esac
dur_check_log "$url" "$VL_TMP/a/state/log.vkey" "$VL_TMP/short.jsonl" "$VL_TMP/long.jsonl"
vl_stop a
pass "after the overload: writes succeed, every receipt given under overload is in the log"
