#!/usr/bin/env bash
# vledger-bulkload (bench/bulkload.c) against a real PostgreSQL: a bulk-loaded
# log must be indistinguishable, to every checker we have, from one grown by
# vledgerd's own appends. Loads in odd batch sizes on top of logs whose sizes
# are not powers of two (so partial subtrees are closed across batches and
# loads), then: vledgerd --verify-storage recomputes every leaf and subtree
# hash and checks the signed checkpoint; `vledger audit --full` proves the
# new checkpoint consistent with the one seen before the load and recomputes
# the root from the tiles; a normal API write afterwards gets a receipt that
# `vledger verify-receipt` accepts. Also: a load while vledgerd is serving
# writes, an interrupted load finished with --entries 0, and the refusals
# (another key, another origin, bad usage).
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap "vl_cleanup; pg_stop_throwaway" EXIT
pg_start_throwaway

bulk="$VLEDGER_BIN/vledger-bulkload"
cli="$VLEDGER_BIN/vledger"
[ -x "$bulk" ] || fail "$bulk is not built"
"$cli" keygen "$VL_TMP/log.key" >/dev/null
"$cli" keygen "$VL_TMP/other.key" >/dev/null
"$cli" pii-keygen "$VL_TMP/pii.key" >/dev/null
origin=vledger.local/log
daemon_flags=(--database-url "$PG_TEST_URL" --log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key")
load_flags=(--database-url "$PG_TEST_URL" --log-key "$VL_TMP/log.key" --origin "$origin")

log_size() { sql "SELECT count(*) FROM log_entries"; }
checkpoint_size() { sql "SELECT max(tree_size) FROM log_checkpoints"; }
verify_storage() { # verify_storage EXPECTED_SIZE
	"$VLEDGER_BIN/vledgerd" --verify-storage --state-dir "$VL_TMP/v" "${daemon_flags[@]}" >"$VL_TMP/v.log" 2>&1 ||
		fail "verify-storage: $(tail -2 "$VL_TMP/v.log")"
	grep -q "verify-storage: ok: $1 entries" "$VL_TMP/v.log" || fail "verify-storage checked: $(tail -1 "$VL_TMP/v.log")"
}
create() { # create URL KEY -> response JSON on stdout
	"$cli" --url "$1" --token-file "$token_file" call AdminService/CreateOrganization \
		"{\"name\":\"org $2\",\"kind\":\"ORGANIZATION_KIND_EMPLOYER\",\"idempotencyKey\":\"$2\"}"
}
leaf_index_of() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0)).receipt.leafIndex))'; }
audit() { # audit URL: monitor check against the state kept since the first run
	"$cli" --url "$1" audit --vkey "$vkey" --state "$VL_TMP/audit.state" --full >"$VL_TMP/audit.out" 2>&1 ||
		fail "audit --full: $(cat "$VL_TMP/audit.out")"
}

# vledgerd migrates, creates the log (bootstrap token entry), takes one write
# so that the size is not a power of two, and the monitor records the
# checkpoint; then it stops.
vl_start a "${daemon_flags[@]}"
vl_wait_ready a
url=$(vl_url a)
token_file="$VL_TMP/a/state/admin.token"
vkey="$VL_TMP/a/state/log.vkey"
create "$url" before >"$VL_TMP/before.json" || fail "write before the load: $(cat "$VL_TMP/before.json")"
audit "$url"
vl_stop a
size0=$(log_size)
checkpoints0=$(sql "SELECT count(*) FROM log_checkpoints")
[ $((size0 & (size0 - 1))) -ne 0 ] || fail "the log should start at a size that is not a power of two, is $size0"

# Refusals leave the log as it was.
status=0
"$bulk" --database-url "$PG_TEST_URL" --log-key "$VL_TMP/other.key" --origin "$origin" --entries 10 \
	>/dev/null 2>"$VL_TMP/err" || status=$?
[ "$status" -eq 1 ] && grep -q "not signed by this key" "$VL_TMP/err" || fail "another key (status $status): $(cat "$VL_TMP/err")"
status=0
"$bulk" --database-url "$PG_TEST_URL" --log-key "$VL_TMP/log.key" --origin other.example/log --entries 10 \
	>/dev/null 2>"$VL_TMP/err" || status=$?
[ "$status" -eq 1 ] && grep -q "created with origin" "$VL_TMP/err" || fail "another origin (status $status): $(cat "$VL_TMP/err")"
status=0
"$bulk" "${load_flags[@]}" --entries 10 --batch 0 >/dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "--batch 0 gave status $status, want 2"
status=0
"$bulk" "${load_flags[@]}" >/dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "no --entries gave status $status, want 2"
"$bulk" --help | grep -q "FOR BENCHMARKS ONLY" || fail "--help"
[ "$(log_size)" = "$size0" ] && [ "$(sql "SELECT count(*) FROM log_checkpoints")" = "$checkpoints0" ] ||
	fail "a refused load changed the log"
pass "another key, another origin and bad usage are refused without touching the log"

# Load 1: 5000 entries in batches of 777 on top of $size0 entries.
"$bulk" "${load_flags[@]}" --entries 5000 --batch 777 >"$VL_TMP/load1.out" 2>"$VL_TMP/load1.err" ||
	fail "load 1: $(cat "$VL_TMP/load1.err")"
size1=$((size0 + 5000))
grep -qx "tree_size=$size1" "$VL_TMP/load1.out" || fail "load 1 reported $(cat "$VL_TMP/load1.out")"
grep -qx "entries_added=5000" "$VL_TMP/load1.out" || fail "load 1 reported $(cat "$VL_TMP/load1.out")"
grep -Eq '^bytes_per_entry=[0-9]+\.[0-9]$' "$VL_TMP/load1.out" || fail "no bytes_per_entry: $(cat "$VL_TMP/load1.out")"
[ "$(log_size)" = "$size1" ] && [ "$(checkpoint_size)" = "$size1" ] || fail "after load 1: $(log_size) entries, checkpoint $(checkpoint_size)"
[ "$(sql "SELECT count(*) FROM log_checkpoints")" = $((checkpoints0 + 1)) ] || fail "load 1 should sign exactly one checkpoint"
entry=$(sql "SELECT convert_from(entry, 'UTF8') FROM log_entries WHERE leaf_index = $size0")
[[ "$entry" =~ ^\{\"actor\":\"bulkload\",\"kind\":\"bulk_synthetic\",\"n\":$size0,\"time\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\"\}$ ]] ||
	fail "entry $size0 is not the canonical synthetic entry: $entry"
[ "$(sql "SELECT count(*) FROM log_entries WHERE kind = 'bulk_synthetic'")" = 5000 ] || fail "kind column"
verify_storage "$size1"
pass "5000 entries in batches of 777 on top of $size0: every leaf, subtree and the signed root check out (verify-storage)"

# The daemon serves the loaded log: the monitor sees a consistent, complete
# log, and a normal write lands right after the loaded entries.
vl_start b "${daemon_flags[@]}"
vl_wait_ready b
url=$(vl_url b)
audit "$url"
create "$url" after1 >"$VL_TMP/after1.json" || fail "write after load 1: $(cat "$VL_TMP/after1.json")"
[ "$(leaf_index_of <"$VL_TMP/after1.json")" = "$size1" ] || fail "the write after load 1 is not entry $size1"
"$cli" verify-receipt --vkey "$vkey" "$VL_TMP/after1.json" >/dev/null || fail "the receipt after load 1 does not verify"
"$cli" --url "$url" call LogService/GetInclusionProof \
	"{\"leafIndex\":\"$((size0 + 777))\",\"treeSize\":\"$((size1 + 1))\"}" >"$VL_TMP/proof.json" ||
	fail "inclusion proof of a loaded entry: $(cat "$VL_TMP/proof.json")"
audit "$url"
pass "after load 1 vledgerd appends entry $size1 with a verifying receipt; audit --full agrees (consistency from the pre-load checkpoint, root from the tiles)"

# Load 2, while vledgerd keeps writing: its appends land between batches
# (the loader re-reads the right edge) and nothing forks.
"$bulk" "${load_flags[@]}" --entries 3001 --batch 97 >"$VL_TMP/load2.out" 2>"$VL_TMP/load2.err" &
load_pid=$!
for i in $(seq 1 15); do
	create "$url" "during$i" >"$VL_TMP/during.$i.json" || fail "write during load 2: $(cat "$VL_TMP/during.$i.json")"
done
wait "$load_pid" || fail "load 2: $(cat "$VL_TMP/load2.err")"
size2=$((size1 + 1 + 3001 + 15))
[ "$(log_size)" = "$size2" ] && [ "$(checkpoint_size)" = "$size2" ] ||
	fail "after load 2: $(log_size) entries, checkpoint $(checkpoint_size), want $size2"
[ "$(sql "SELECT count(*) = max(leaf_index) + 1 FROM log_entries")" = t ] || fail "gaps after load 2"
for i in $(seq 1 15); do
	"$cli" verify-receipt --vkey "$vkey" "$VL_TMP/during.$i.json" >/dev/null || fail "receipt of write $i during load 2"
done
create "$url" after2 >"$VL_TMP/after2.json" || fail "write after load 2"
"$cli" verify-receipt --vkey "$vkey" "$VL_TMP/after2.json" >/dev/null || fail "the receipt after load 2 does not verify"
audit "$url"
others=$(sed -n 's/.*(\([0-9]*\) by other writers).*/\1/p' "$VL_TMP/load2.err")
pass "3001 entries in batches of 97 while vledgerd wrote 15 ($others of them between the loader's batches): one gap-free log, receipts verify, audit --full agrees"
vl_stop b
size2=$((size2 + 1))
verify_storage "$size2"

# An interrupted load leaves committed batches beyond the latest checkpoint
# (invisible to readers); --entries 0 signs a checkpoint covering them.
"$bulk" "${load_flags[@]}" --entries 1000000 --batch 1000 >/dev/null 2>&1 &
load_pid=$!
for i in $(seq 1 300); do
	[ "$(log_size)" -gt "$size2" ] && break
	sleep 0.05
done
kill -KILL "$load_pid"
wait "$load_pid" 2>/dev/null || true
size3=$(log_size)
[ "$size3" -gt "$size2" ] && [ "$size3" -lt $((size2 + 1000000)) ] || fail "the interrupted load left $size3 entries"
[ "$(checkpoint_size)" = "$size2" ] || fail "an interrupted load published checkpoint $(checkpoint_size)"
"$bulk" "${load_flags[@]}" --entries 0 >"$VL_TMP/load3.out" 2>"$VL_TMP/load3.err" || fail "--entries 0: $(cat "$VL_TMP/load3.err")"
grep -q "beyond the latest checkpoint" "$VL_TMP/load3.err" || fail "--entries 0 did not report the leftover entries"
[ "$(checkpoint_size)" = "$size3" ] || fail "--entries 0 did not sign the size $size3"
n=$(sql "SELECT count(*) FROM log_checkpoints")
"$bulk" "${load_flags[@]}" --entries 0 --quiet >/dev/null || fail "--entries 0 on a complete log"
[ "$(sql "SELECT count(*) FROM log_checkpoints")" = "$n" ] || fail "--entries 0 on a complete log signed a checkpoint"

# Load 3: one more entry on top of that, then everything is checked again.
"$bulk" "${load_flags[@]}" --entries 1 --quiet >/dev/null || fail "load 3"
verify_storage $((size3 + 1))
vl_start c "${daemon_flags[@]}"
vl_wait_ready c
audit "$(vl_url c)"
create "$(vl_url c)" after3 >"$VL_TMP/after3.json" || fail "write after load 3"
"$cli" verify-receipt --vkey "$vkey" "$VL_TMP/after3.json" >/dev/null || fail "the receipt after load 3 does not verify"
vl_stop c
pass "an interrupted load ($((size3 - size2)) entries past the checkpoint) is finished by --entries 0; one more entry on top; verify-storage, audit --full and a receipt agree"

# The head row (sql/013_log_heads.sql), which appends trust for the size
# and right edge of the tree. Upgrade: a log grown before 013 existed gets
# its head from the stored nodes when 013 is applied - simulated by dropping
# the table and forgetting the migration - and appends go on from it.
size4=$((size3 + 2))
head_before=$(sql "SELECT tree_size || ':' || encode(right_edge, 'hex') FROM log_heads")
sql "DROP TABLE log_heads; DELETE FROM schema_migrations WHERE name = '013_log_heads.sql'" >/dev/null
vl_start d "${daemon_flags[@]}"
vl_wait_ready d
grep -q "applied migration 013_log_heads.sql" "$VL_TMP/d/log" || fail "013 was not applied again"
[ "$(sql "SELECT tree_size || ':' || encode(right_edge, 'hex') FROM log_heads")" = "$head_before" ] ||
	fail "013's backfill does not give the head appends left: $(sql "SELECT tree_size FROM log_heads") vs $size4"
create "$(vl_url d)" after-upgrade >"$VL_TMP/upgrade.json" || fail "write after the upgrade"
"$cli" verify-receipt --vkey "$vkey" "$VL_TMP/upgrade.json" >/dev/null || fail "the receipt after the upgrade does not verify"
[ "$(leaf_index_of <"$VL_TMP/upgrade.json")" = "$size4" ] || fail "the write after the upgrade is not at $size4"
vl_stop d
verify_storage $((size4 + 1))
pass "013 on a log of $size4 entries: the backfilled head equals the one appends keep; the next write extends it (receipt, verify-storage)"

# A head that disagrees with the stored tree is reported by verify-storage.
sql "UPDATE log_heads SET right_edge = set_byte(right_edge, 0, get_byte(right_edge, 0) # 255)" >/dev/null
status=0
"$VLEDGER_BIN/vledgerd" --verify-storage --state-dir "$VL_TMP/v" "${daemon_flags[@]}" >"$VL_TMP/v.log" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q "head row's right edge differs" "$VL_TMP/v.log" ||
	fail "verify-storage missed a changed head (status $status): $(tail -2 "$VL_TMP/v.log")"
pass "verify-storage reports a head row that differs from the stored tree"
