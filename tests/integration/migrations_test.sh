#!/usr/bin/env bash
# Migrations against a real PostgreSQL: two instances starting together on
# one database apply each migration once; a new file is applied on the next
# start; a changed applied file stops startup with an error naming it.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

sql_dir="$VL_TMP/sql"
cp -r "$VLEDGER_SOURCE_DIR/sql" "$sql_dir"
files=$(ls "$sql_dir"/*.sql | wc -l)

# --check validates without touching anything.
"$VLEDGER_BIN/vledgerd" --check --sql-dir "$sql_dir" --database-url "$PG_TEST_URL" >"$VL_TMP/check.out" ||
	fail "--check failed: $(cat "$VL_TMP/check.out")"
grep -q "configuration ok" "$VL_TMP/check.out" || fail "--check did not say ok"
status=0
"$VLEDGER_BIN/vledgerd" --check --max-body-bytes lots 2>"$VL_TMP/check.err" || status=$?
[ "$status" -eq 2 ] && grep -q -- "--max-body-bytes" "$VL_TMP/check.err" ||
	fail "--check with a bad value: status $status, $(cat "$VL_TMP/check.err")"
[ "$(sql "SELECT to_regclass('schema_migrations') IS NULL")" = t ] || fail "--check wrote to the database"
pass "--check validates and writes nothing"

# Two instances at once on an empty database. Instances sharing a log
# share its signing key.
"$VLEDGER_BIN/vledger" keygen "$VL_TMP/log.key" >/dev/null
"$VLEDGER_BIN/vledger" pii-keygen "$VL_TMP/pii.key" >/dev/null
vl_start a --database-url "$PG_TEST_URL" --sql-dir "$sql_dir" --log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key"
vl_start b --database-url "$PG_TEST_URL" --sql-dir "$sql_dir" --log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key"
vl_wait_ready a
vl_wait_ready b
[ "$(sql 'SELECT count(*) FROM schema_migrations')" = "$files" ] || fail "schema_migrations does not list $files files"
applied=$(cat "$VL_TMP/a/log" "$VL_TMP/b/log" | grep -c "applied migration 001_" || true)
[ "$applied" = 1 ] || fail "001 applied $applied times by two instances"
[ "$(sql 'SELECT count(*) FROM tokens WHERE bootstrap')" = 1 ] || fail "not exactly one bootstrap token"
tokens=$(find "$VL_TMP"/a/state "$VL_TMP"/b/state -maxdepth 1 -name admin.token | wc -l)
[ "$tokens" = 1 ] || fail "$tokens admin.token files written by two instances"
pass "two instances migrating at once: each migration applied once, one bootstrap token"
vl_stop a
vl_stop b

# A new migration is applied on the next start, and only it.
cat >"$sql_dir/900_probe.sql" <<'SQL'
CREATE TABLE migration_probe (x int);
SQL
vl_start c --database-url "$PG_TEST_URL" --sql-dir "$sql_dir" --log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key"
vl_wait_ready c
[ "$(sql "SELECT count(*) FROM schema_migrations WHERE name = '900_probe.sql'")" = 1 ] || fail "900_probe.sql not recorded"
[ "$(sql "SELECT to_regclass('migration_probe') IS NOT NULL")" = t ] || fail "900_probe.sql not applied"
grep -q "applied migration 900_probe.sql" "$VL_TMP/c/log" || fail "no log line for 900_probe.sql"
if grep -q "applied migration 001_" "$VL_TMP/c/log"; then fail "001 applied again"; fi
pass "a new migration is applied alone on the next start"
vl_stop c

# Changing an applied migration stops startup, naming the file.
echo "-- edited after it was applied" >>"$sql_dir/001_foundation.sql"
status=0
timeout 30 "$VLEDGER_BIN/vledgerd" --listen 127.0.0.1:0 --state-dir "$VL_TMP/d" --database-url "$PG_TEST_URL" \
	--sql-dir "$sql_dir" >"$VL_TMP/d.log" 2>&1 || status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "vledgerd started (status $status) with a changed migration"
grep -q "001_foundation.sql was changed after it was applied" "$VL_TMP/d.log" ||
	fail "startup error does not name the changed file: $(tail -3 "$VL_TMP/d.log")"
pass "a changed applied migration stops startup with an error naming it (status $status)"
