#!/usr/bin/env bash
# End-to-end tests of vledgerd: starts the daemon (with its embedded
# PostgreSQL) in a fresh state dir on a free port, runs the node:test files in
# this directory against it with real Connect clients and `buf curl`, then
# checks the daemon shuts down cleanly on SIGTERM.
#
# Environment (ctest sets these; the defaults suit a plain `bash run.sh` from
# a checkout with a build in ./build):
#   VLEDGER_BIN              directory holding vledgerd
#   VLEDGER_DESCRIPTOR_SET   the protoc --include_imports FileDescriptorSet
#   VLEDGER_SOURCE_DIR       the source tree
# Optional:
#   VLEDGER_PG_BINDIR        PostgreSQL programs (default /usr/lib/postgresql/15/bin)
#   VLEDGER_E2E_KEEP=1       keep the state dir (daemon and PostgreSQL logs)
#   VLEDGER_E2E_FILES        test files to run instead of all *.test.mjs
#   VLEDGER_E2E_ARTIFACTS    where tests save screenshots (default: e2e-artifacts
#                            next to the descriptor set, i.e. in the build dir)
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${VLEDGER_SOURCE_DIR:=$(cd "$E2E_DIR/../.." && pwd)}"
: "${VLEDGER_BIN:=$VLEDGER_SOURCE_DIR/build/bin}"
: "${VLEDGER_DESCRIPTOR_SET:=$VLEDGER_SOURCE_DIR/build/vledger.binpb}"
PG_BINDIR=${VLEDGER_PG_BINDIR:-/usr/lib/postgresql/15/bin}
export VLEDGER_SOURCE_DIR VLEDGER_BIN VLEDGER_DESCRIPTOR_SET
# Screenshots must outlive the state dir, which is removed after the run.
: "${VLEDGER_E2E_ARTIFACTS:=$(cd "$(dirname "$VLEDGER_DESCRIPTOR_SET")" && pwd)/e2e-artifacts}"
export VLEDGER_E2E_ARTIFACTS

say() { echo "e2e: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }

[ -x "$VLEDGER_BIN/vledgerd" ] || die "no executable $VLEDGER_BIN/vledgerd (set VLEDGER_BIN)"
[ -s "$VLEDGER_DESCRIPTOR_SET" ] || die "no descriptor set at $VLEDGER_DESCRIPTOR_SET (set VLEDGER_DESCRIPTOR_SET)"
command -v node >/dev/null || die "node is not installed"
command -v npm >/dev/null || die "npm is not installed"

# --- node_modules: npm ci when missing or older than package-lock.json -------
stamp=$E2E_DIR/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$E2E_DIR/package-lock.json" -nt "$stamp" ]; then
	say "npm ci in $E2E_DIR"
	npm_log=$(mktemp /tmp/vledger-e2e-npm.XXXXXX)
	if ! (cd "$E2E_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1; then
		cat "$npm_log" >&2
		rm -f "$npm_log"
		die "npm ci failed"
	fi
	rm -f "$npm_log"
	touch "$stamp"
fi
[ -x "$E2E_DIR/node_modules/.bin/buf" ] || die "node_modules/.bin/buf missing after npm ci"

# --- helpers -----------------------------------------------------------------
as_pg_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_running() {
	[ -f "$STATE_DIR/pg/data/postmaster.pid" ] || return 1
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$STATE_DIR/pg/data" status >/dev/null 2>&1
}

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# HTTP GET with bash only; prints the status code (or nothing).
http_status() {
	local port=$1 path=$2 line=""
	{
		exec 3<>"/dev/tcp/127.0.0.1/$port" &&
			printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3 &&
			IFS= read -r -t 2 line <&3
		exec 3<&- 3>&-
	} 2>/dev/null || true
	line=${line%$'\r'}
	case $line in
	HTTP/1.?\ *) line=${line#HTTP/1.? }; echo "${line%% *}" ;;
	esac
}

log_tail() {
	if [ -f "$STATE_DIR/vledgerd.log" ]; then
		say "---- last 60 lines of $STATE_DIR/vledgerd.log ----"
		tail -n 60 "$STATE_DIR/vledgerd.log" >&2 || true
		say "---- end of vledgerd.log ----"
	fi
	if [ -f "$STATE_DIR/pg/postgres.log" ]; then
		say "---- last 20 lines of $STATE_DIR/pg/postgres.log ----"
		tail -n 20 "$STATE_DIR/pg/postgres.log" >&2 || true
	fi
}

DAEMON_PID=""
STATE_DIR=""
FAILED=0

cleanup() {
	local rc=$?
	set +e
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		say "killing vledgerd ($DAEMON_PID)"
		kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	if [ -n "$STATE_DIR" ] && pg_running; then
		say "stopping the PostgreSQL left running in $STATE_DIR/pg/data"
		as_pg_owner "$PG_BINDIR/pg_ctl" -D "$STATE_DIR/pg/data" stop -m immediate -w -t 20 >/dev/null 2>&1
	fi
	if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
		[ -n "$STATE_DIR" ] && log_tail
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ -n "$STATE_DIR" ] && [ -d "$STATE_DIR" ]; then
		if [ "${VLEDGER_E2E_KEEP:-0}" = 1 ]; then
			say "kept $STATE_DIR"
		else
			rm -rf "$STATE_DIR"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- start the daemon --------------------------------------------------------
STATE_DIR=$(mktemp -d /tmp/vledger-e2e.XXXXXX)
chmod 0711 "$STATE_DIR"

start_daemon() {
	PORT=$(free_port)
	[ -n "$PORT" ] || die "could not pick a free port"
	"$VLEDGER_BIN/vledgerd" --listen "127.0.0.1:$PORT" --state-dir "$STATE_DIR" >>"$STATE_DIR/vledgerd.log" 2>&1 &
	DAEMON_PID=$!
}

# Starts vledgerd and waits for GET /readyz == 200 (retrying on a port taken
# meanwhile). Sets PORT and DAEMON_PID.
start_and_wait() {
	local ready=0 attempt deadline rc
	for attempt in 1 2 3; do
		start_daemon
		say "vledgerd pid $DAEMON_PID on 127.0.0.1:$PORT, state dir $STATE_DIR"
		deadline=$((SECONDS + 60))
		while [ $SECONDS -lt $deadline ]; do
			if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
				break
			fi
			if [ "$(http_status "$PORT" /readyz)" = 200 ]; then
				ready=1
				break
			fi
			sleep 0.2
		done
		[ $ready -eq 1 ] && return 0
		if kill -0 "$DAEMON_PID" 2>/dev/null; then
			die "vledgerd did not become ready (GET /readyz != 200) within 60 s"
		fi
		rc=0
		wait "$DAEMON_PID" || rc=$?
		DAEMON_PID=""
		# A port taken between picking it and binding it: try another one.
		if tail -n 5 "$STATE_DIR/vledgerd.log" | grep -qi 'in use'; then
			say "port $PORT was taken, retrying"
			continue
		fi
		die "vledgerd exited with status $rc before becoming ready"
	done
	die "vledgerd never became ready"
}

# SIGTERM; vledgerd must exit 0 within 20 s and leave no PostgreSQL running.
stop_and_check() {
	local deadline rc
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		rc=0
		wait "$DAEMON_PID" || rc=$?
		DAEMON_PID=""
		die "vledgerd died during the tests (status $rc)"
	fi
	say "SIGTERM to vledgerd"
	kill -TERM "$DAEMON_PID"
	deadline=$((SECONDS + 20))
	while kill -0 "$DAEMON_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
		sleep 0.1
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		die "vledgerd still running 20 s after SIGTERM"
	fi
	rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=""
	if [ $rc -ne 0 ]; then
		die "vledgerd exited with status $rc after SIGTERM (want 0)"
	fi
	if pg_running; then
		die "the embedded PostgreSQL is still running after vledgerd exited"
	fi
	say "vledgerd exited 0 after SIGTERM; embedded PostgreSQL stopped"
}

start_and_wait

[ -s "$STATE_DIR/admin.token" ] || die "$STATE_DIR/admin.token missing or empty"
VLEDGER_ADMIN_TOKEN=$(head -n 1 "$STATE_DIR/admin.token" | tr -d '\r\n')
[ -n "$VLEDGER_ADMIN_TOKEN" ] || die "$STATE_DIR/admin.token has an empty first line"
export VLEDGER_URL="http://127.0.0.1:$PORT"
export VLEDGER_ADMIN_TOKEN
export VLEDGER_STATE_DIR="$STATE_DIR"

# --- run the tests -----------------------------------------------------------
cd "$E2E_DIR"
if [ -n "${VLEDGER_E2E_FILES:-}" ]; then
	# shellcheck disable=SC2206
	files=($VLEDGER_E2E_FILES)
else
	files=(./*.test.mjs)
fi
say "running ${#files[@]} test files"
test_rc=0
node --test --test-concurrency=1 --test-timeout=90000 --test-reporter=spec "${files[@]}" || test_rc=$?
if [ $test_rc -ne 0 ]; then
	say "node --test failed (status $test_rc)"
	FAILED=1
fi

# --- graceful shutdown, then a restart on the same state dir ----------------
orgs_before=""
if [ $FAILED -eq 0 ]; then
	orgs_before=$(node count_orgs.mjs) || die "counting organisations failed"
fi
stop_and_check

if [ $FAILED -eq 0 ]; then
	token_before=$VLEDGER_ADMIN_TOKEN
	say "restarting vledgerd on the same state dir"
	start_and_wait
	VLEDGER_ADMIN_TOKEN=$(head -n 1 "$STATE_DIR/admin.token" | tr -d '\r\n')
	[ "$VLEDGER_ADMIN_TOKEN" = "$token_before" ] || die "admin.token changed across a restart"
	export VLEDGER_URL="http://127.0.0.1:$PORT"
	orgs_after=$(node count_orgs.mjs) || die "counting organisations after the restart failed"
	[ "$orgs_after" = "$orgs_before" ] || die "organisations before the restart: $orgs_before, after: $orgs_after"
	say "restart kept the admin token and all $orgs_after organisations"
	stop_and_check
fi

if [ $FAILED -ne 0 ]; then
	exit 1
fi
say "all passed"
