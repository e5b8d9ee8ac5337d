# shellcheck shell=bash
# tests/integration/durability_lib.sh - shared by the durability_*_test.sh
# scripts (issue 6): a throwaway PostgreSQL with durability ON, vledgerd
# processes that can be kill -9'd and restarted on the same port, and the
# Node load client / log checker (durability_client.mjs).
#
#   source "$VLEDGER_SOURCE_DIR/tests/integration/durability_lib.sh"
#   dur_setup                 # PostgreSQL (fsync on), keys, trap
#   dur_start NAME [flags]    # vledgerd on a fixed port per NAME (kept across restarts)
#   dur_kill9 NAME            # SIGKILL, and reap it
#   dur_client ARGS...        # node durability_client.mjs ARGS...
#   dur_load_start NAME ...   # 24 writers in the background; dur_acked counts receipts
#   dur_pg_stop / dur_pg_start
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"

DUR_CLIENT="$VLEDGER_SOURCE_DIR/tests/integration/durability_client.mjs"
DUR_T0=$(date +%s%N)

# Milliseconds since the epoch, comparable with the client's Date.now().
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Seconds since the test started, for the progress lines.
elapsed() { awk -v a="$(date +%s%N)" -v b="$DUR_T0" 'BEGIN { printf "%.1f", (a - b) / 1e9 }'; }

dur_cleanup() {
	local pid
	for pid in "${DUR_BG[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	vl_cleanup
	pg_stop_throwaway
}
DUR_BG=()

# pg.sh starts its cluster with fsync=off (fine for other tests). These
# tests are about what survives, so restart it with the defaults: fsync and
# synchronous_commit on, full_page_writes on.
dur_pg_start() {
	_pg_run pg_ctl -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/postgres.log" -w -t 60 \
		-o "-c listen_addresses='' -p 5432 -k '$PG_TEST_DIR' -c unix_socket_permissions=0700" \
		start >"$PG_TEST_DIR/pg_ctl.log" 2>&1 || fail "pg_ctl start: $(cat "$PG_TEST_DIR/pg_ctl.log")"
}
dur_pg_stop() {
	_pg_run pg_ctl -D "$PG_TEST_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || fail "pg_ctl stop failed"
}

dur_setup() {
	trap dur_cleanup EXIT
	pg_start_throwaway || fail "cannot start PostgreSQL"
	dur_pg_stop
	dur_pg_start
	[ "$(sql "SHOW fsync") $(sql "SHOW synchronous_commit")" = "on on" ] ||
		fail "PostgreSQL is not durable: fsync=$(sql "SHOW fsync") synchronous_commit=$(sql "SHOW synchronous_commit")"
	"$VLEDGER_BIN/vledger" keygen "$VL_TMP/log.key" >/dev/null
	"$VLEDGER_BIN/vledger" pii-keygen "$VL_TMP/pii.key" >/dev/null
}

# Starts vledgerd NAME on the database; the first start picks a port, later
# ones reuse it (clients keep their URL across a crash). Appends to the log.
dur_start() {
	local name=$1
	shift
	if [ -z "${VL_PORT[$name]:-}" ]; then
		VL_PORT[$name]=$(free_port)
	fi
	mkdir -p "$VL_TMP/$name"
	"$VLEDGER_BIN/vledgerd" --listen "127.0.0.1:${VL_PORT[$name]}" --state-dir "$VL_TMP/$name/state" \
		--database-url "$PG_TEST_URL" --log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key" "$@" \
		>>"$VL_TMP/$name/log" 2>&1 &
	VL_PID[$name]=$!
}

dur_kill9() {
	local name=$1
	kill -KILL "${VL_PID[$name]}"
	wait "${VL_PID[$name]}" 2>/dev/null || true
	unset "VL_PID[$name]"
}

# Receipts the load client has written down so far.
dur_acked() { cat "$VL_TMP/receipts.jsonl" 2>/dev/null | wc -l; }

# Starts the load client (24 writers, 5 s deadline per call) against
# vledgerd NAME in the background, writing every receipt to
# $VL_TMP/receipts.jsonl, and returns once 20 were acknowledged. Its PID is
# DUR_LOAD_PID (killed at exit if still running; SIGTERM makes it finish).
dur_load_start() { # dur_load_start NAME PREFIX CLIENT_TIMEOUT_MS
	node "$DUR_CLIENT" load --url "$(vl_url "$1")" --token-file "$VL_TMP/$1/state/admin.token" \
		--out "$VL_TMP/receipts.jsonl" --concurrency 24 --timeout-ms 5000 --client-timeout-ms "$3" \
		--prefix "$2" >"$VL_TMP/client.out" 2>&1 &
	DUR_LOAD_PID=$!
	DUR_BG+=("$DUR_LOAD_PID")
	for _ in $(seq 1 100); do [ "$(dur_acked)" -ge 20 ] && break; sleep 0.1; done
	[ "$(dur_acked)" -ge 20 ] || fail "no load: $(cat "$VL_TMP/client.out")"
}

# In the foreground only: in the background, start node itself (node "$DUR_CLIENT" ... &) so
# that $! is node and SIGTERM reaches it.
dur_client() { node "$DUR_CLIENT" "$@"; }

# The log's checks after the run: every receipt against the log now
# (durability_client.mjs verify), no organisation or entry twice for one
# idempotency key, and vledgerd --verify-storage over the stored tree.
# Call with every vledgerd stopped (verify-storage wants a quiet log).
dur_check_log() { # dur_check_log URL VKEY RECEIPTS...
	local url=$1 vkey=$2
	shift 2
	dur_client verify --url "$url" --vkey "$vkey" "$@" || fail "receipts do not check out against the log"
	[ "$(sql "SELECT count(*) = coalesce(max(leaf_index) + 1, 0) FROM log_entries")" = t ] || fail "the log has a gap"
	[ "$(sql "SELECT count(DISTINCT tree_size) = count(*) FROM log_checkpoints")" = t ] || fail "two checkpoints for one tree size"
	dups=$(sql "SELECT name || ' x' || count(*) FROM organizations WHERE name LIKE 'dur %' GROUP BY name HAVING count(*) > 1 LIMIT 5")
	[ -z "$dups" ] || fail "duplicate organisations for one idempotency key: $dups"
	dups=$(sql "SELECT count(*) FROM log_entries WHERE kind = 'organization_registered'
		AND convert_from(entry, 'UTF8') LIKE '%\"name\":\"dur %' GROUP BY convert_from(entry, 'UTF8')::jsonb #>> '{organization,name}'
		HAVING count(*) > 1 LIMIT 1")
	[ -z "$dups" ] || fail "two log entries for one idempotency key"
}

dur_verify_storage() {
	"$VLEDGER_BIN/vledgerd" --verify-storage --state-dir "$VL_TMP/verify" --database-url "$PG_TEST_URL" \
		--log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key" >"$VL_TMP/verify.log" 2>&1 ||
		fail "vledgerd --verify-storage: $(tail -3 "$VL_TMP/verify.log")"
}

# Every acknowledged key (a line of RECEIPTS) has its organisation.
dur_check_acked_orgs() { # dur_check_acked_orgs RECEIPTS...
	local missing
	missing=$(cat "$@" | node -e '
		const keys = new Set(require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).key));
		console.log("SELECT count(*) FROM (VALUES " + [...keys].map((k) => `(\x27dur ${k}\x27)`).join(",") +
			") v(n) WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.name = v.n);");' |
		psql -X -q -A -t -v ON_ERROR_STOP=1 "$PG_TEST_URL" -f -) || fail "cannot count acknowledged organisations"
	[ "$missing" = 0 ] || fail "$missing acknowledged organisations are missing from the database"
}
