# shellcheck shell=bash
# tests/integration/lib.sh - start and stop vledgerd in integration tests.
#
#   source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
#   vl_start NAME [vledgerd flags...]   # background daemon, sets VL_URL_<NAME>
#   vl_wait_ready NAME                  # until /readyz is 200 (or the daemon died)
#   vl_stop NAME                        # SIGTERM; fails unless it exits 0
#   fail MESSAGE                        # print, show daemon logs, exit 1
#
# Each daemon gets a free port, a state dir and a log under $VL_TMP.
: "${VLEDGER_BIN:?VLEDGER_BIN must point at the bin directory of the build}"
: "${VLEDGER_SOURCE_DIR:?VLEDGER_SOURCE_DIR must point at the source tree}"

VL_TMP=$(mktemp -d /tmp/vledger-it.XXXXXX)
chmod 0711 "$VL_TMP"
declare -A VL_PID VL_PORT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

vl_start() {
	local name=$1
	shift
	local port
	port=$(free_port)
	VL_PORT[$name]=$port
	mkdir -p "$VL_TMP/$name"
	"$VLEDGER_BIN/vledgerd" --listen "127.0.0.1:$port" --state-dir "$VL_TMP/$name/state" "$@" \
		>"$VL_TMP/$name/log" 2>&1 &
	VL_PID[$name]=$!
	printf -v "VL_URL_$name" 'http://127.0.0.1:%s' "$port"
}

vl_url() { echo "http://127.0.0.1:${VL_PORT[$1]}"; }
vl_log() { cat "$VL_TMP/$1/log"; }

vl_wait_ready() {
	local name=$1 i
	for i in $(seq 1 200); do
		if curl -fsS "$(vl_url "$name")/readyz" >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "${VL_PID[$name]}" 2>/dev/null; then
			fail "vledgerd $name exited before it was ready"
		fi
		sleep 0.1
	done
	fail "vledgerd $name not ready after 20 s"
}

vl_stop() {
	local name=$1 pid=${VL_PID[$1]} status=0 i
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" || status=$?
	unset "VL_PID[$name]"
	[ "$status" -eq 0 ] || fail "vledgerd $name exited with status $status after SIGTERM"
}

fail() {
	local name
	echo "FAIL: $*" >&2
	for name in "${!VL_PORT[@]}"; do
		echo "--- vledgerd $name log (tail) ---" >&2
		tail -n 30 "$VL_TMP/$name/log" >&2 || true
	done
	exit 1
}

pass() { echo "ok - $*"; }

vl_cleanup() {
	local name
	for name in "${!VL_PID[@]}"; do
		kill -KILL "${VL_PID[$name]}" 2>/dev/null || true
	done
	rm -rf "$VL_TMP"
}

# psql against the throwaway cluster of tests/lib/pg.sh.
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$PG_TEST_URL" -c "$1"; }
