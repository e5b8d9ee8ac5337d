#!/usr/bin/env bash
# The transparent log against a real PostgreSQL, checked by tools that are
# not ours (Go's golang.org/x/mod/sumdb/tlog and note) and by ours:
# tiles and proofs after 300+ writes, receipts offline, two vledgerd
# processes appending at once, append-only tables, and tampering caught by
# --verify-storage and `vledger audit --full`.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap "vl_cleanup; pg_stop_throwaway" EXIT
pg_start_throwaway

# Go, offline, against Debian's packaged golang.org/x/mod.
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$VL_TMP/gocache" GOFLAGS= GOPROXY=off
(cd "$VLEDGER_SOURCE_DIR/tests/interop/tlogcheck" && go build -o "$VL_TMP/tlogcheck" .) || fail "cannot build tlogcheck"

cli="$VLEDGER_BIN/vledger"
"$cli" keygen "$VL_TMP/log.key" >/dev/null
"$cli" pii-keygen "$VL_TMP/pii.key" >/dev/null
[ "$(stat -c %a "$VL_TMP/log.key")" = 600 ] || fail "keygen did not make a 0600 key"
if "$cli" keygen "$VL_TMP/log.key" 2>/dev/null; then fail "keygen overwrote an existing key"; fi

vl_start a --database-url "$PG_TEST_URL" --log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key"
vl_wait_ready a
url_a=$(vl_url a)
token_file="$VL_TMP/a/state/admin.token"
vkey="$VL_TMP/a/state/log.vkey"
[ "$(curl -s "$url_a/log/vkey")" = "$(cat "$vkey")" ] || fail "/log/vkey differs from log.vkey"

create() { # create URL KEY -> response JSON
	curl -sS -H "Authorization: Bearer $(cat "$token_file")" -H 'Content-Type: application/json' \
		-d "{\"name\":\"org $2\",\"kind\":\"ORGANIZATION_KIND_EMPLOYER\",\"idempotencyKey\":\"$2\"}" \
		"$1/vledger.v1.AdminService/CreateOrganization"
}
checkpoint_of() { node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0)).receipt.checkpoint)'; }

# 300 writes: more than one full tile of entries and level-0 hashes.
for i in $(seq 1 300); do
	create "$url_a" "w$i" >"$VL_TMP/resp.$i"
done
for i in 1 100 256 300; do
	checkpoint_of <"$VL_TMP/resp.$i" >"$VL_TMP/cp.$i" || fail "write $i returned no receipt: $(cat "$VL_TMP/resp.$i")"
done
"$VL_TMP/tlogcheck" "$url_a" "$vkey" "$VL_TMP"/cp.* || fail "Go's tlog client rejected the log"
pass "after $(sql "SELECT count(*) FROM log_entries") entries Go's sumdb/tlog recomputes the root from the tiles, checks every record's inclusion and 4 checkpoints' consistency"

# Receipts verify offline; a changed receipt does not.
"$cli" verify-receipt --vkey "$vkey" "$VL_TMP/resp.42" >/dev/null || fail "a good receipt did not verify"
node -e '
const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
const e = Buffer.from(r.receipt.entry, "base64"); e[e.length - 3] ^= 1; r.receipt.entry = e.toString("base64");
fs.writeFileSync(process.argv[2], JSON.stringify(r));
r.receipt.entry = undefined; r.receipt.inclusionProof[0] = Buffer.alloc(32).toString("base64");
fs.writeFileSync(process.argv[3], JSON.stringify(r));' "$VL_TMP/resp.42" "$VL_TMP/bad-entry.json" "$VL_TMP/bad-proof.json"
if "$cli" verify-receipt --vkey "$vkey" "$VL_TMP/bad-entry.json" 2>/dev/null; then fail "a receipt with a changed entry verified"; fi
if "$cli" verify-receipt --vkey "$vkey" "$VL_TMP/bad-proof.json" 2>/dev/null; then fail "a receipt with a changed proof verified"; fi
"$cli" keygen "$VL_TMP/other.key" >/dev/null
other_vkey="vledger.local/log+00000000+$(openssl pkey -in "$VL_TMP/other.key" -pubout -outform DER | tail -c 32 | (printf '\001'; cat) | base64 -w0)"
if "$cli" verify-receipt --vkey "$other_vkey" "$VL_TMP/resp.42" 2>/dev/null; then fail "a receipt verified under another key"; fi
pass "receipts verify offline; a changed entry, a changed proof or another key fail"

# The monitor: first run keeps the checkpoint, the next checks growth.
"$cli" --url "$url_a" audit --vkey "$vkey" --state "$VL_TMP/audit.state" --full >/dev/null || fail "audit --full failed"

# Two processes appending at once: one gap-free log, no fork.
entries_before=$(sql "SELECT count(*) FROM log_entries")
vl_start b --database-url "$PG_TEST_URL" --log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key"
vl_wait_ready b
url_b=$(vl_url b)
pids=()
for i in $(seq 1 40); do
	create "$url_a" "a$i" >"$VL_TMP/ra.$i" &
	pids+=($!)
	create "$url_b" "b$i" >"$VL_TMP/rb.$i" &
	pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 1 40); do
	grep -q '"receipt"' "$VL_TMP/ra.$i" "$VL_TMP/rb.$i" || fail "a concurrent write failed: $(cat "$VL_TMP/ra.$i" "$VL_TMP/rb.$i")"
done
total=$((entries_before + 80))
[ "$(sql "SELECT count(*) = max(leaf_index) + 1 AND count(*) = $total FROM log_entries")" = t ] || fail "log has gaps or wrong size"
[ "$(sql "SELECT count(DISTINCT tree_size) = count(*) FROM log_checkpoints")" = t ] || fail "two checkpoints for one size"
"$cli" --url "$url_b" audit --vkey "$vkey" --state "$VL_TMP/audit.state" --full >/dev/null || fail "audit after concurrent writes"
"$VL_TMP/tlogcheck" "$url_b" "$vkey" "$VL_TMP/cp.300" >/dev/null || fail "Go's tlog client after concurrent writes"
pass "two vledgerd processes writing 80 entries at once: one gap-free log of $total entries, consistent with what the monitor saw"
vl_stop b

# A different key on the same log would fork it: refused at startup.
status=0
timeout 30 "$VLEDGER_BIN/vledgerd" --listen 127.0.0.1:0 --state-dir "$VL_TMP/c" --database-url "$PG_TEST_URL" \
	--log-key "$VL_TMP/other.key" --pii-key "$VL_TMP/pii.key" >"$VL_TMP/c.log" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q "not signed by this key" "$VL_TMP/c.log" || fail "a second key was accepted: $(tail -2 "$VL_TMP/c.log")"
pass "a vledgerd with another signing key refuses to start on the log"

# Proof RPC bounds.
code() { curl -s -H 'Content-Type: application/json' -d "$2" "$url_a/vledger.v1.LogService/$1" | sed -n 's/.*"code":"\([a-z_]*\)".*/\1/p'; }
[ "$(code GetInclusionProof "{\"leafIndex\":\"$total\",\"treeSize\":\"$total\"}")" = out_of_range ] || fail "inclusion proof past the end"
[ "$(code GetInclusionProof '{"leafIndex":"1","treeSize":"999999"}')" = out_of_range ] || fail "inclusion proof past the checkpoint"
[ "$(code GetConsistencyProof '{"fromSize":"10","toSize":"5"}')" = invalid_argument ] || fail "consistency from > to"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url_a/log/tile/0/002")" = 404 ] || fail "a tile beyond the tree was served"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url_a/log/tile/0/001.p/125")" = 200 ] || fail "partial tile"
curl -s -D - -o /dev/null "$url_a/log/tile/0/000" | grep -qi "immutable" || fail "full tiles are not cached as immutable"
pass "proof requests beyond the log are out_of_range or invalid_argument; tiles beyond it 404; full tiles immutable"

# Append-only: the database refuses changes.
for stmt in "UPDATE log_entries SET kind = 'x' WHERE leaf_index = 5" "DELETE FROM log_nodes WHERE level = 0" \
	"TRUNCATE log_checkpoints CASCADE" "UPDATE log_checkpoints SET note = 'x'" "DELETE FROM logs"; do
	if sql "$stmt" 2>/dev/null; then fail "the database allowed: $stmt"; fi
done
pass "UPDATE, DELETE and TRUNCATE on log tables fail"
vl_stop a

"$VLEDGER_BIN/vledgerd" --verify-storage --state-dir "$VL_TMP/v" --database-url "$PG_TEST_URL" \
	--log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key" >"$VL_TMP/v.log" 2>&1 || fail "verify-storage on an intact log: $(tail -2 "$VL_TMP/v.log")"

# Someone with enough rights disables the triggers and rewrites the entry
# of organisation "org w5".
victim=$(sql "SELECT leaf_index FROM log_entries WHERE convert_from(entry, 'UTF8') LIKE '%\"org w5\"%'")
[ -n "$victim" ] || fail "no entry for org w5"
sql "ALTER TABLE log_entries DISABLE TRIGGER USER;
     UPDATE log_entries SET entry = convert_to(replace(convert_from(entry, 'UTF8'), 'org w5', 'org W5'), 'UTF8'),
            leaf_hash = sha256('\\x00'::bytea || convert_to(replace(convert_from(entry, 'UTF8'), 'org w5', 'org W5'), 'UTF8'))
      WHERE leaf_index = $victim;
     ALTER TABLE log_entries ENABLE TRIGGER USER;"
status=0
"$VLEDGER_BIN/vledgerd" --verify-storage --state-dir "$VL_TMP/v" --database-url "$PG_TEST_URL" \
	--log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key" >"$VL_TMP/v.log" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q "index $victim)" "$VL_TMP/v.log" ||
	fail "verify-storage missed the rewritten entry (status $status): $(tail -2 "$VL_TMP/v.log")"
vl_start a2 --database-url "$PG_TEST_URL" --log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key"
vl_wait_ready a2
if "$cli" --url "$(vl_url a2)" audit --vkey "$vkey" --state "$VL_TMP/audit.state" --full 2>"$VL_TMP/audit.err"; then
	fail "audit --full missed the rewritten entry"
fi
grep -q "does not match the entries" "$VL_TMP/audit.err" || fail "audit's reason: $(cat "$VL_TMP/audit.err")"
pass "an entry rewritten behind the triggers' back is caught by --verify-storage and by audit --full"
vl_stop a2
