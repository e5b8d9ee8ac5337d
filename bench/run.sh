#!/usr/bin/env bash
# bench/run.sh - the benchmark harness (README "Benchmarks").
#
#   bench/run.sh [--smoke] [--duration S] [--connections N] [--idle-connections N]
#                [--scale N] [--db-pool-size N] [--bin DIR] [--out FILE]
#
# Builds a Release vledgerd (build-bench/; --bin DIR uses binaries already
# built there instead), starts a fresh PostgreSQL 15 cluster with production
# durability (fsync, synchronous_commit, full_page_writes on) and vledgerd on
# it, sets up data through the API, and runs each workload with
# vledger-loadgen (bench/loadgen.c) on this machine:
#
#   pgbench INSERT  baseline: a single-row INSERT of a shift-shaped row per
#                   transaction, -c N -j 2 -M prepared, same cluster
#   healthz         baseline: GET /healthz on the same vledgerd
#   append          RecordShift with receipts, distinct volunteers per
#                   connection; target >= 2x pgbench's tps, p99 <= 50 ms, 0 errors
#   verify          GetInclusionProof (random leaves) + VerifyCertificate;
#                   target >= 0.5x the healthz rate
#   idle            1,000 idle keep-alive connections; target RSS < 256 MB
#   --scale N       with the bulk loader (bench/bulkload.c): append and
#                   GetInclusionProof after growing the log to 10^4 entries and
#                   to N, and log storage per entry; target within 1.5x of 10^4
#                   (in a smoke run: 10^3 and N); GetInclusionProof also with
#                   vledgerd restarted with --node-cache-mb 0 (the cost from
#                   storage alone, for information)
#
# and prints a markdown table (also written to --out FILE when given; nothing
# is written otherwise, so a smoke run never overwrites bench/RESULTS.md).
# --smoke: 2 s per workload, 4 connections, tiny data, no targets; it is what
# tests/integration/bench_smoke_test.sh runs. Exit status: 0 when the run
# completed (targets missed are reported FAIL in the table, not by the exit
# status, except that --smoke fails on any error), non-zero when the harness
# itself could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

smoke=0
duration=10
conns=64
idle_conns=1000
scale=""
out=""
bin=""
pool=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) smoke=1 ;;
	--duration) duration=${2:?}; shift ;;
	--connections) conns=${2:?}; shift ;;
	--idle-connections) idle_conns=${2:?}; shift ;;
	--scale) scale=${2:?}; shift ;;
	--db-pool-size) pool=${2:?}; shift ;;
	--bin) bin=${2:?}; shift ;;
	--out) out=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1" >&2; usage; exit 2 ;;
	esac
	shift
done
# --scale compares the log at N entries with the log at $scale_ref.
if [ "$smoke" = 1 ]; then
	duration=2 conns=4 idle_conns=20 warmup=0.5 scale_ref=1000
else
	warmup=2 scale_ref=10000
fi
# The smoke run's --scale measurements are shorter still, to stay within a minute.
scale_duration=$([ "$smoke" = 1 ] && echo 1 || echo "$duration")
for v in duration conns idle_conns ${scale:+scale} ${pool:+pool}; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --${v//_/-} wants a positive integer, not ${!v}" >&2; exit 2; }
done
[ -z "$scale" ] || [ "$scale" -gt "$scale_ref" ] || { echo "bench/run.sh: --scale is compared with $scale_ref entries; give more" >&2; exit 2; }
# The idle connections are held for the run's duration; vledgerd closes a
# connection idle for 60 s (services/transport/http_server.c).
idle_hold=$((duration < 50 ? duration : 50))

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- build ------------------------------------------------------------------
if [ -z "$bin" ]; then
	scripts/install-deps.sh test
	log "building Release into build-bench/"
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	targets=(vledgerd vledger-loadgen)
	[ -f bench/bulkload.c ] && targets+=(vledger-bulkload)
	cmake --build build-bench -j"$(nproc)" --target "${targets[@]}" >/dev/null
	bin=$root/build-bench/bin
	build_desc="Release (build-bench/)"
else
	bin=$(cd "$bin" && pwd)
	build_desc="prebuilt $bin"
fi
for b in vledgerd vledger-loadgen; do
	[ -x "$bin/$b" ] || die "$bin/$b is missing (build the vledgerd and vledger-loadgen targets)"
done
loadgen=$bin/vledger-loadgen

# --- a fresh cluster, production durability ----------------------------------
# tests/lib/pg.sh finds the server programs and runs them as `postgres` when
# we are root; its throwaway cluster runs with fsync=off, which is wrong for
# a benchmark, so the cluster itself is started here.
# shellcheck source=tests/lib/pg.sh
source "$root/tests/lib/pg.sh"
PG_TEST_BINDIR=$(pg_find_bindir)
pgbench=$PG_TEST_BINDIR/pgbench
psql_bin=$PG_TEST_BINDIR/psql
[ -x "$pgbench" ] || die "pgbench not found in $PG_TEST_BINDIR (apt-get install postgresql-15)"

work=$(mktemp -d /tmp/vledger-bench.XXXXXX)
chmod 0711 "$work" # the postgres user must reach $work/pg
vpid=""
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if [ -n "$vpid" ] && kill -0 "$vpid" 2>/dev/null; then
		kill -TERM "$vpid" 2>/dev/null || true
		wait "$vpid" 2>/dev/null || true
	fi
	if [ -f "$work/pg/data/postmaster.pid" ]; then
		_pg_run pg_ctl -D "$work/pg/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
	fi
	if [ "${BENCH_KEEP:-}" = 1 ]; then
		log "kept $work"
	else
		rm -rf -- "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/pg" "$work/state"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work/pg"
log "starting PostgreSQL in $work/pg"
_pg_run initdb -D "$work/pg/data" -U vledger --auth=trust -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log" >&2; die "initdb failed"; }
# Only durability is set; everything else is PostgreSQL's default, as a
# fresh production install would be before tuning.
_pg_run pg_ctl -D "$work/pg/data" -l "$work/pg/postgres.log" -w -t 60 \
	-o "-c listen_addresses='' -p 5432 -k '$work/pg' -c unix_socket_permissions=0700 -c fsync=on -c synchronous_commit=on -c full_page_writes=on" \
	start >"$work/pg_ctl.log" 2>&1 || { cat "$work/pg_ctl.log" "$work/pg/postgres.log" >&2; die "pg_ctl start failed"; }
pg_conn="host=$work/pg port=5432 user=vledger"
psql() { "$psql_bin" -X -q -A -t -v ON_ERROR_STOP=1 "$pg_conn dbname=${DB:-vledger}" "$@"; }
DB=postgres psql -c 'CREATE DATABASE vledger' -c 'CREATE DATABASE bench_baseline'
db_url="postgresql:///vledger?host=$(_pg_urlencode "$work/pg")&port=5432&user=vledger"
pg_settings=$(psql -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','wal_sync_method','shared_buffers','max_connections')")
pg_version=$(psql -c 'SHOW server_version')

# --- vledgerd --------------------------------------------------------------
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
port=$(free_port)
url="http://127.0.0.1:$port"
# 1,000 idle connections need descriptors beyond the common soft limit of
# 1024 (a production unit would set LimitNOFILE).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -gt $((idle_conns + 100)) ] ||
	die "ulimit -n is $(ulimit -n): too low for $idle_conns connections"

start_vledgerd() { # [extra vledgerd options]
	"$bin/vledgerd" --listen "127.0.0.1:$port" --state-dir "$work/state" --database-url "$db_url" \
		--sql-dir "$root/sql" ${pool:+--db-pool-size "$pool"} "$@" >>"$work/vledgerd.log" 2>&1 &
	vpid=$!
	local i
	for i in $(seq 1 600); do
		curl -fsS "$url/readyz" >/dev/null 2>&1 && return 0
		kill -0 "$vpid" 2>/dev/null || { tail -n 30 "$work/vledgerd.log" >&2; die "vledgerd exited before it was ready"; }
		sleep 0.1
	done
	die "vledgerd not ready after 60 s"
}
stop_vledgerd() {
	kill -TERM "$vpid" 2>/dev/null || true
	wait "$vpid" 2>/dev/null || true
	vpid=""
}
log "starting vledgerd on $url"
start_vledgerd

# --- data, through the API -----------------------------------------------------
admin_token=$(cat "$work/state/admin.token")
# rpc TOKEN Service/Method JSON -> the response; fails on any non-2xx.
rpc() {
	curl -sS --fail-with-body -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		-d "$3" "$url/vledger.v1.$2" || die "$2 failed: $3"
}
# The first "KEY":"value" of a JSON answer (enough for the ids we need).
jstr() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date -u +%s)

log "setting up organisations, an office token, volunteers and certificates"
org() { rpc "$admin_token" AdminService/CreateOrganization "{\"name\":\"$1\",\"kind\":\"ORGANIZATION_KIND_$2\"${3:+,\"parentId\":\"$3\"},\"idempotencyKey\":\"bench-org-$2\"}" | jstr id; }
district=$(org "Bench District" DISTRICT)
subdistrict=$(org "Bench Subdistrict" SUBDISTRICT "$district")
community=$(org "Bench Community" COMMUNITY "$subdistrict")
team=$(org "Bench Team" TEAM "$community")
[ -n "$team" ] || die "could not create the organisation tree"
rpc "$admin_token" AdminService/CreateToken "{\"organizationId\":\"$community\",\"role\":\"ROLE_OFFICE\",\"description\":\"bench office\",\"idempotencyKey\":\"bench-office\"}" |
	jstr secret >"$work/office.token"
office_token=$(cat "$work/office.token")
[ -n "$office_token" ] || die "no office token"

# Two volunteers per connection, registered 8 at a time.
nvol=$((conns * 2))
register_volunteers() { # COUNT PREFIX -> ids, one a line
	seq 1 "$1" | xargs -P 8 -I{} curl -sS --fail-with-body -w '\n' \
		-H "Authorization: Bearer $office_token" -H 'Content-Type: application/json' \
		-d "{\"organizationId\":\"$team\",\"personalData\":{\"name\":\"Bench Volunteer $2{}\"},\"idempotencyKey\":\"bench-vol-$2{}\"}" \
		"$url/vledger.v1.VolunteerService/RegisterVolunteer" | tee -a "$work/register.log" | grep -o '"id":"vol_[^"]*"' | cut -d'"' -f4
}
register_volunteers "$nvol" a >"$work/volunteers" || die "RegisterVolunteer failed"
[ "$(wc -l <"$work/volunteers")" -eq "$nvol" ] || die "registered $(wc -l <"$work/volunteers") of $nvol volunteers"

# Certificates for the verify workload: each volunteer one shift, one certificate.
ncert=$([ "$smoke" = 1 ] && echo 2 || echo 5)
register_volunteers "$ncert" c >"$work/cert-volunteers" || die "RegisterVolunteer failed"
: >"$work/certificates"
i=0
while read -r v; do
	i=$((i + 1))
	rpc "$office_token" RecordsService/RecordShift "{\"volunteerId\":\"$v\",\"organizationId\":\"$team\",\"category\":\"SHIFT_CATEGORY_ELDERLY_CARE\",\"startTime\":\"$(iso $((now - 5 * 86400)))\",\"endTime\":\"$(iso $((now - 5 * 86400 + 7200)))\",\"activity\":\"bench visit\",\"place\":\"bench station\",\"idempotencyKey\":\"bench-cshift-$i\"}" >/dev/null
	rpc "$office_token" CertificateService/IssueCertificate "{\"volunteerId\":\"$v\",\"from\":\"$(iso $((now - 10 * 86400)))\",\"to\":\"$(iso $((now - 60)))\",\"title\":\"志愿服务证明 Volunteer Service Certificate\",\"idempotencyKey\":\"bench-cert-$i\"}" |
		jstr number >>"$work/certificates"
done <"$work/cert-volunteers"
[ "$(grep -c '^VLC-' "$work/certificates")" -eq "$ncert" ] || die "issued $(grep -c '^VLC-' "$work/certificates") of $ncert certificates"

# --- measuring -------------------------------------------------------------------
declare -a rows=()
notes=()
smoke_errors=0

tree_size() { curl -fsS "$url/log/checkpoint" | sed -n 2p; }
rss_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$vpid/status"; }
# Log storage: every log table over the number of entries.
storage_per_entry() {
	psql -c "SELECT round((SELECT sum(pg_total_relation_size(c)) FROM unnest(ARRAY['logs','log_entries','log_nodes','log_checkpoints']::regclass[]) c) / greatest(count(*), 1)) FROM log_entries"
}
jget() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }
# Where the CPU goes during a workload, so that "CPU-bound" is a figure of
# the run and not a guess: a snapshot is "wall-ns vledgerd-ticks
# postgres-ticks machine-busy-ticks machine-all-ticks". PostgreSQL's are its
# lasting processes (postmaster and children alive at both snapshots, i.e.
# vledgerd's pooled backends); pgbench's backends exit before the second.
clk_tck=$(getconf CLK_TCK)
proc_ticks() { # PID... -> utime + stime, summed
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
cpu_snapshot() {
	local pm
	pm=$(head -n 1 "$work/pg/data/postmaster.pid" 2>/dev/null || echo 0)
	# shellcheck disable=SC2046
	echo "$(date +%s%N) $(proc_ticks "$vpid") $(proc_ticks "$pm" $(pgrep -P "$pm" 2>/dev/null)) $(awk '$1 == "cpu" {
		busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat)"
}
# cpu_fields SNAPSHOT-BEFORE SNAPSHOT-AFTER -> ,"cpu_vledgerd":cores,"cpu_postgres":cores,"cpu_busy_pct":pct
cpu_fields() {
	awk -v a="$1" -v b="$2" -v hz="$clk_tck" 'BEGIN {
		split(a, x, " "); split(b, y, " "); s = (y[1] - x[1]) / 1e9
		if (s <= 0 || y[5] == x[5]) exit
		printf ",\"cpu_vledgerd\":%.2f,\"cpu_postgres\":%.2f,\"cpu_busy_pct\":%.0f",
			(y[2] - x[2]) / hz / s, (y[3] - x[3]) / hz / s, 100 * (y[4] - x[4]) / (y[5] - x[5]) }'
}
run_loadgen() { # WORKLOAD CONNECTIONS [args...] -> the JSON line
	local wl=$1 n=$2 line before
	shift 2
	log "workload $wl: $n connections, ${duration}s"
	before=$(cpu_snapshot)
	line=$("$loadgen" --url "$url" --workload "$wl" --connections "$n" --duration "$duration" --warmup "$warmup" \
		--server-pid "$vpid" "$@") || die "vledger-loadgen $wl failed"
	line="${line%\}}$(cpu_fields "$before" "$(cpu_snapshot)")}"
	log "  $line"
	printf '%s\n' "$line"
}
fmt_rss() { awk -v kb="$1" 'BEGIN { if (kb < 0 || kb == "") print "—"; else printf "%.1f", kb / 1024 }'; }
# row KEY CONNECTIONS JSON BASELINE RATIO RESULT
row() {
	local j=$3 tp
	tp=$(jget "$j" throughput_rps)
	[ "$(jget "$j" workload)" != idle ] || tp="—" # connections held, not a rate
	rows+=("| $1 | $2 | $(jget "$j" requests) | $tp | $(jget "$j" p50_ms) | $(jget "$j" p99_ms) | $(jget "$j" max_ms) | $(jget "$j" errors) | $(fmt_rss "$(jget "$j" rss_max_kb)") | $4 | $5 | $6 |")
	if [ -n "$(jget "$j" cpu_busy_pct)" ]; then
		notes+=("$1: CPU: machine $(jget "$j" cpu_busy_pct) % busy; vledgerd $(jget "$j" cpu_vledgerd) cores, PostgreSQL $(jget "$j" cpu_postgres) cores")
	fi
	if awk -v c="$(jget "$j" loadgen_cpu)" 'BEGIN { exit !(c > 0.8) }'; then
		notes+=("$1: the load generator used $(jget "$j" loadgen_cpu) of a core; the rate may be its limit, not vledgerd's")
	fi
	if [ "$(jget "$j" errors)" != 0 ]; then
		smoke_errors=$((smoke_errors + 1))
		notes+=("$1: $(jget "$j" errors) errors; the first: $(sed -n 's/.*"first_error":"\(.*\)"}$/\1/p' <<<"$j")")
	fi
}
verdict() { # CONDITION-EXPRESSION (awk) -> PASS / FAIL (or "—" in smoke runs)
	if [ "$smoke" = 1 ]; then echo "— (smoke)"; else awk "BEGIN { print ($1) ? \"PASS\" : \"FAIL\" }"; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "—" }'; }

# 1. pgbench: the same cluster, a shift-shaped single-row INSERT per transaction.
DB=bench_baseline psql -c "CREATE TABLE bench_shifts (
	id bigserial PRIMARY KEY,
	volunteer_id text NOT NULL,
	organization_id text NOT NULL,
	category int NOT NULL,
	start_time timestamptz NOT NULL,
	end_time timestamptz NOT NULL,
	minutes int NOT NULL,
	activity text NOT NULL,
	place text NOT NULL,
	idempotency_key text NOT NULL UNIQUE,
	create_time timestamptz NOT NULL DEFAULT now())"
cat >"$work/insert.sql" <<'SQL'
\set v random(1, 1000000)
INSERT INTO bench_shifts (volunteer_id, organization_id, category, start_time, end_time, minutes, activity, place, idempotency_key)
VALUES ('vol_' || :v, 'org_bench', 4, now() - interval '1 day', now() - interval '1 day' + interval '10 minutes', 10,
        'bench visit', 'bench station', gen_random_uuid()::text);
SQL
mkdir -p "$work/pgbench"
pgbench_run() { # SECONDS [extra args] -> pgbench's report
	(cd "$work/pgbench" && "$pgbench" -n -h "$work/pg" -p 5432 -U vledger -c "$conns" -j 2 -M prepared \
		-T "$1" -f "$work/insert.sql" "${@:2}" bench_baseline 2>&1)
}
psql -c CHECKPOINT
log "pgbench: $conns clients, ${duration}s"
[ "$smoke" = 1 ] || pgbench_run "${warmup%.*}" >/dev/null || die "pgbench warm-up failed"
cpu_before=$(cpu_snapshot)
pgbench_out=$(pgbench_run "$duration" -l --log-prefix="$work/pgbench/tx") || { printf '%s\n' "$pgbench_out" >&2; die "pgbench failed"; }
pgbench_cpu=$(cpu_fields "$cpu_before" "$(cpu_snapshot)")
log "  $(grep -E '^(tps|latency average|number of failed)' <<<"$pgbench_out" | tr '\n' ' ')"
pg_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$pgbench_out" | head -n 1 | awk '{ printf "%.1f", $1 }')
pg_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$pgbench_out")
# Every transaction's latency (microseconds, third column of pgbench's -l log).
pg_json=$(cat "$work"/pgbench/tx.* | awk -v tps="$pg_tps" -v failed="${pg_failed:-0}" '{ print $3 }' | sort -n |
	awk -v tps="$pg_tps" -v failed="${pg_failed:-0}" '
		{ v[NR] = $1 }
		END {
			n = NR; p50 = v[int((50 * n + 99) / 100)]; p99 = v[int((99 * n + 99) / 100)]
			printf "{\"requests\":%d,\"throughput_rps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%d,\"rss_max_kb\":-1}\n",
				n, tps, p50 / 1000, p99 / 1000, v[n] / 1000, failed
		}')
pg_json="${pg_json%\}}$pgbench_cpu}"
row "pgbench INSERT (baseline)" "$conns" "$pg_json" "—" "—" "—"

# 2. GET /healthz on this vledgerd.
health_json=$(run_loadgen healthz "$conns")
health_rps=$(jget "$health_json" throughput_rps)
row "healthz (baseline)" "$conns" "$health_json" "—" "—" "—"

# 3. Append: RecordShift with receipts.
psql -c CHECKPOINT
append_json=$(run_loadgen append "$conns" --token-file "$work/office.token" --org "$team" \
	--volunteers "$work/volunteers" --shift-base $((now - 80 * 86400)) --shift-limit $((now - 60 * 86400)))
a_rps=$(jget "$append_json" throughput_rps)
a_ratio=$(ratio "$a_rps" "$pg_tps")
row append "$conns" "$append_json" "pgbench $pg_tps tps" "${a_ratio}× (≥ 2×, p99 ≤ 50 ms, 0 errors)" \
	"$(verdict "$a_ratio >= 2 && $(jget "$append_json" p99_ms) <= 50 && $(jget "$append_json" errors) == 0")"
storage=$(storage_per_entry)
entries=$(tree_size)

# 4. Verify: inclusion proofs for random leaves and certificates.
verify_json=$(run_loadgen verify "$conns" --tree-size "$(tree_size)" --certificates "$work/certificates")
v_ratio=$(ratio "$(jget "$verify_json" throughput_rps)" "$health_rps")
row verify "$conns" "$verify_json" "healthz $health_rps req/s" "${v_ratio}× (≥ 0.5×)" \
	"$(verdict "$v_ratio >= 0.5 && $(jget "$verify_json" errors) == 0")"

# 5. Memory: idle keep-alive connections.
idle_row() { # LABEL -> adds the row
	local j
	j=$(duration=$idle_hold warmup=0 run_loadgen idle "$idle_conns")
	local rss_mb
	rss_mb=$(awk -v kb="$(jget "$j" rss_max_kb)" 'BEGIN { printf "%.1f", kb / 1024 }')
	row "$1" "$idle_conns" "$j" "$(jget "$j" established) opened, $(jget "$j" survived) alive after ${idle_hold}s" \
		"RSS ${rss_mb} MB (< 256 MB)" \
		"$(verdict "$rss_mb < 256 && $(jget "$j" errors) == 0 && $(jget "$j" survived) == $idle_conns")"
}
idle_row idle

# 6. Scale: the bulk loader grows the log; measure at 10^4 and at N entries.
bulkload=$bin/vledger-bulkload
if [ -n "$scale" ]; then
	if [ ! -x "$bulkload" ]; then
		notes+=("--scale $scale skipped: $bulkload does not exist (bench/bulkload.c not built)")
	else
		declare -A s_rps s_p99 s_p99s s_storage
		# proof_row LABEL P99-ARRAY TARGET-TEXT (RATIO replaced) verdict|TEXT:
		# GetInclusionProof at this size; at N, compared with $scale_ref.
		proof_row() {
			local -n p99=$2
			local j r
			j=$(duration=$scale_duration run_loadgen proof "$conns" --tree-size "$(tree_size)")
			p99[$target]=$(jget "$j" p99_ms)
			if [ "$target" = "$scale_ref" ]; then
				row "$1 @ $size entries" "$conns" "$j" "—" "—" "—"
				return
			fi
			r=$(ratio "${p99[$target]}" "${p99[$scale_ref]}")
			row "$1 @ $size entries" "$conns" "$j" "p99 ${p99[$scale_ref]} ms @ $scale_ref" "${3/RATIO/$r}" \
				"$([ "$4" = verdict ] && verdict "$r <= 1.5" || echo "$4")"
		}
		base=$((now - 60 * 86400))
		for target in "$scale_ref" "$scale"; do
			size=$(tree_size)
			if [ "$size" -lt "$target" ]; then
				log "bulk loading the log from $size to $target entries"
				# bench/bulkload.c: appends --entries entries as vledgerd
				# would store them and signs one checkpoint; vledgerd keeps
				# running (the loader takes the log's row lock per batch).
				"$bulkload" --database-url "$db_url" --log-key "$work/state/log.key" --origin vledger.local/log \
					--entries $((target - size)) --quiet >"$work/bulkload.out" 2>"$work/bulkload.log" ||
					{ tail -n 20 "$work/bulkload.log" >&2; die "bulk loader failed"; }
				log "  $(tr '\n' ' ' <"$work/bulkload.out")"
			fi
			size=$(tree_size)
			psql -c CHECKPOINT
			j=$(duration=$scale_duration run_loadgen append "$conns" --token-file "$work/office.token" --org "$team" \
				--volunteers "$work/volunteers" --shift-base "$base" --shift-limit $((base + 15 * 86400)))
			base=$((base + 20 * 86400))
			s_rps[$target]=$(jget "$j" throughput_rps)
			s_storage[$target]=$(storage_per_entry)
			if [ "$target" = "$scale_ref" ]; then
				row "append @ $size entries" "$conns" "$j" "—" "—" "—"
			else
				r=$(ratio "${s_rps[$scale_ref]}" "${s_rps[$target]}")
				row "append @ $size entries" "$conns" "$j" "${s_rps[$scale_ref]} req/s @ $scale_ref" "slowdown ${r}× (≤ 1.5×)" "$(verdict "$r <= 1.5")"
			fi
			# From storage alone first: with --node-cache-mb 0 every proof
			# reads its nodes and the checkpoint from PostgreSQL. A small
			# log is answered from memory by the default daemon (next) and
			# a large one mostly is not; this row shows what the storage
			# path costs at each size, for information: the target is the
			# default's. The default daemon runs last, so that the idle
			# row below measures it with its cache as the proofs left it.
			stop_vledgerd
			start_vledgerd --node-cache-mb 0
			proof_row "proof, no node cache" s_p99s "p99 RATIO× (information)" "—"
			stop_vledgerd
			start_vledgerd
			proof_row proof s_p99 "p99 RATIO× (≤ 1.5×)" verdict
		done
		r=$(ratio "${s_storage[$scale]}" "${s_storage[$scale_ref]}")
		rows+=("| log storage | — | — | — | — | — | — | — | — | ${s_storage[$scale_ref]} B/entry @ $scale_ref | ${s_storage[$scale]} B/entry @ $scale: ${r}× (≤ 1.5×) | $(verdict "$r <= 1.5") |")
		idle_row "idle @ $scale entries"
	fi
fi

hwm=$(rss_kb VmHWM)
rss_end=$(rss_kb VmRSS)

# --- the report --------------------------------------------------------------
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
report() {
	cat <<EOF
## vledger benchmark$([ "$smoke" = 1 ] && echo " (smoke run: tiny sizes, no targets)")

- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit, build: $build_desc
- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r); load generator on the same machine
- PostgreSQL $pg_version ($pg_settings), fresh cluster; vledgerd --db-pool-size ${pool:-default}
- each workload: ${warmup} s warm-up, then ${duration} s measured (idle: held ${idle_hold} s); latencies are every request's, exact; errors count warm-up and drain too
- CPU notes below the table: over each whole workload, warm-up included, of $(nproc) cores; PostgreSQL counts its processes alive at both ends (vledgerd's pooled backends; pgbench's own backends are not counted)
- log: $entries entries after append, $storage bytes of log tables per entry; vledgerd RSS at the end $(fmt_rss "$rss_end") MB, peak (VmHWM) $(fmt_rss "$hwm") MB

| workload | connections | requests | throughput (req/s) | p50 ms | p99 ms | max ms | errors | vledgerd RSS MB | baseline | ratio / target | result |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |
EOF
	printf '%s\n' "${rows[@]}"
	if [ ${#notes[@]} -gt 0 ]; then
		echo
		printf -- '- %s\n' "${notes[@]}"
	fi
}
report
[ -z "$out" ] || report >"$out"
if [ "$smoke" = 1 ] && [ "$smoke_errors" -gt 0 ]; then
	die "the smoke run had errors"
fi
