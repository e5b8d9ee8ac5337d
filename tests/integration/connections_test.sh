#!/usr/bin/env bash
# The cap on open client connections (--max-connections): at the cap a new
# connection gets an immediate 503 and is closed, connections already open
# keep working, and a slot freed by a closing connection is usable again.
# Also: running out of file descriptors pauses accepting instead of spinning
# (the daemon keeps serving its open connections and comes back), and plain
# pages, log resources and /readyz are refused at once when the database
# queue is full (--max-queued-jobs), like RPCs.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

CAP=16
vl_start main --database-url "$PG_TEST_URL" --max-connections "$CAP"
vl_wait_ready main
port=${VL_PORT[main]}

# Open CAP keep-alive connections and prove each is established (one
# request each, the connection stays open).
fds=()
for i in $(seq 1 "$CAP"); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&"$fd"
	IFS= read -r -t 5 line <&"$fd" || fail "connection $i: no answer"
	[[ "$line" == "HTTP/1.1 200"* ]] || fail "connection $i: got \"$line\""
	fds+=("$fd")
done
pass "$CAP connections open and served"

# One more: refused at once with 503, whatever it sends.
out=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" 2>&1 || true)
[ "$out" = 503 ] || fail "connection $((CAP + 1)) got \"$out\", want 503"
body=$(curl -sS -m 5 "http://127.0.0.1:$port/healthz" 2>&1 || true)
[[ "$body" == *"too many connections"* ]] || fail "the refusal does not say why: \"$body\""
grep -q "refusing new ones" "$VL_TMP/main/log" || fail "the refusal was not logged"
pass "connection $((CAP + 1)) refused with 503 and a reason"

# The open ones still work.
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&"${fds[0]}"
# (The rest of the first answer is still unread: skip to the new status
# line, which may follow a body without a newline.)
line=
while IFS= read -r -t 5 line <&"${fds[0]}"; do
	[[ "$line" == *"HTTP/1.1 "* ]] && break
done
[[ "$line" == *"HTTP/1.1 200"* ]] || fail "an open connection stopped working at the cap: \"$line\""
pass "open connections keep working at the cap"

# Close one: a new connection is accepted again.
fd=${fds[1]}
exec {fd}>&-
unset 'fds[1]'
ok=0
for i in $(seq 1 50); do
	out=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" 2>&1 || true)
	if [ "$out" = 200 ]; then ok=1; break; fi
	sleep 0.1
done
[ "$ok" = 1 ] || fail "after a connection closed, a new one still got \"$out\""
pass "a freed slot is usable again"
for fd in "${fds[@]}"; do exec {fd}>&-; done
vl_stop main

# Out of file descriptors: with a low RLIMIT_NOFILE and no cap, accept()
# fails with EMFILE. vledgerd pauses accepting (one log line per pause,
# not a busy loop), keeps serving, and accepts again once descriptors are
# free. (The limit is set before exec: lowering a running process's limit
# with prlimit is not allowed everywhere.)
port=$(free_port)
VL_PORT[fd]=$port
mkdir -p "$VL_TMP/fd"
( ulimit -n 48; exec "$VLEDGER_BIN/vledgerd" --listen "127.0.0.1:$port" --state-dir "$VL_TMP/fd/state" \
	--database-url "$PG_TEST_URL" --max-connections 100000 --db-pool-size 1 \
	--log-key "$VL_TMP/main/state/log.key" --pii-key "$VL_TMP/main/state/pii.key" ) >"$VL_TMP/fd/log" 2>&1 &
VL_PID[fd]=$!
pid=$!
vl_wait_ready fd
fds=()
for i in $(seq 1 60); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || break
	fds+=("$fd")
done
sleep 1
cpu=$(ps -o %cpu= -p "$pid" | tr -d ' ')
pauses=$(grep -c "pausing new connections" "$VL_TMP/fd/log" || true)
[ "$pauses" -ge 1 ] || fail "no accept pause was logged when descriptors ran out"
[ "$pauses" -le 20 ] || fail "accept errors were logged $pauses times in a second: the loop spins"
kill -0 "$pid" || fail "vledgerd died when descriptors ran out"
for fd in "${fds[@]}"; do exec {fd}>&-; done
ok=0
for i in $(seq 1 50); do
	if curl -fsS -m 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ok=1; break; fi
	sleep 0.1
done
[ "$ok" = 1 ] || fail "vledgerd did not accept again after descriptors were freed"
pass "out of descriptors: accepting paused ($pauses pauses logged, ${cpu}% CPU), then resumed"
vl_stop fd

# Plain pages are bounded like RPCs (--max-queued-jobs): with one database
# connection held up by a lock and one page request waiting, the next log
# resource, certificate page and /readyz are refused at once with 503
# instead of queueing; once the lock goes, the held ones are answered.
vl_start busy --database-url "$PG_TEST_URL" --db-pool-size 1 --max-queued-jobs 1 \
	--log-key "$VL_TMP/main/state/log.key" --pii-key "$VL_TMP/main/state/pii.key"
vl_wait_ready busy
url=$(vl_url busy)
psql -X -q "$PG_TEST_URL" -c "BEGIN; LOCK TABLE log_checkpoints IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" \
	>/dev/null 2>&1 &
locker=$!
sleep 0.5
curl -sS -m 15 -o /dev/null -w '%{http_code}' "$url/log/checkpoint" >"$VL_TMP/held1" 2>&1 &
held1=$!
sleep 0.3
curl -sS -m 15 -o /dev/null -w '%{http_code}' "$url/log/checkpoint" >"$VL_TMP/held2" 2>&1 &
held2=$!
sleep 0.3
start=$(date +%s%N)
code=$(curl -sS -m 5 -o "$VL_TMP/busy_body" -w '%{http_code}' "$url/log/checkpoint" || true)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$code" = 503 ] || fail "a log resource past the queue limit got $code, want 503"
[ "$ms" -lt 1000 ] || fail "the refusal took $ms ms"
grep -q "server busy" "$VL_TMP/busy_body" || fail "the refusal does not say why"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$url/certificates/VLC-2026-0000-0000-0000" || true)
[ "$code" = 503 ] || fail "a certificate page past the queue limit got $code, want 503"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$url/readyz" || true)
[ "$code" = 503 ] || fail "/readyz with a full queue got $code, want 503"
wait "$locker" || true
wait "$held1" "$held2" || true
[ "$(cat "$VL_TMP/held1")" = 200 ] && [ "$(cat "$VL_TMP/held2")" = 200 ] ||
	fail "the requests held behind the lock got $(cat "$VL_TMP/held1") and $(cat "$VL_TMP/held2"), want 200"
curl -fsS -m 5 "$url/readyz" >/dev/null || fail "/readyz did not recover"
pass "pages, log resources and /readyz are refused with 503 in $ms ms when the queue is full, then recover"
vl_stop busy
