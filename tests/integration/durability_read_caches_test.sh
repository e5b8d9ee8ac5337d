#!/usr/bin/env bash
# Read caches with two vledgerd processes on one database: a (the default
# subtree cache) and b (--node-cache-mb 0: every node from the database;
# --no-prepared-statements: every statement, the pipelined write tail's
# too, parsed anew, as behind PgBouncer in transaction pooling mode).
#
# 1. Proofs: a serves inclusion and consistency proofs, the log then grows
#    through b (past two powers of two), and a's proofs, at the old sizes
#    and the new ones, are byte for byte b's. A proof against the latest
#    checkpoint on a has b's latest size within a second (a answers "the
#    latest" from memory for a second after it last read it). Repeating
#    inclusion proofs a has served reads nothing from the database
#    (PostgreSQL's statement log shows neither the node nor the checkpoint
#    query): they are answered in memory, on the loop.
# 2. Certificates: a certificate that a verified VALID (and remembered as
#    matching the log) is revoked through b; a says REVOKED at once.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/integration/durability_lib.sh"
dur_setup
"$VLEDGER_BIN/vledger" keygen "$VL_TMP/credential.key" >/dev/null

dur_start a --credential-key "$VL_TMP/credential.key"
vl_wait_ready a
dur_start b --credential-key "$VL_TMP/credential.key" --node-cache-mb 0 --no-prepared-statements
vl_wait_ready b
url_a=$(vl_url a)
url_b=$(vl_url b)
admin=$(cat "$VL_TMP/a/state/admin.token")

# call URL TOKEN Service/Method JSON -> the response; fails on any non-2xx.
call() {
	curl -sS --fail-with-body -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$4" \
		"$1/vledger.v1.$3" || fail "$3 on $1 failed: $4"
}
jstr() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
size_of() { curl -fsS "$1/log/checkpoint" | sed -n 2p; }
inclusion() { # URL LEAF [SIZE]
	call "$1" "" LogService/GetInclusionProof "{\"leafIndex\":\"$2\"${3:+,\"treeSize\":\"$3\"}}"
}
consistency() { call "$1" "" LogService/GetConsistencyProof "{\"fromSize\":\"$2\",\"toSize\":\"$3\"}"; }

# --- a certificate, issued through a -------------------------------------------
org() {
	call "$url_a" "$admin" AdminService/CreateOrganization \
		"{\"name\":\"$1\",\"kind\":\"ORGANIZATION_KIND_$2\"${3:+,\"parentId\":\"$3\"},\"idempotencyKey\":\"rc-$2\"}" | jstr id
}
district=$(org "RC District" DISTRICT)
subdistrict=$(org "RC Subdistrict" SUBDISTRICT "$district")
community=$(org "RC Community" COMMUNITY "$subdistrict")
team=$(org "RC Team" TEAM "$community")
office=$(call "$url_a" "$admin" AdminService/CreateToken \
	"{\"organizationId\":\"$community\",\"role\":\"ROLE_OFFICE\",\"description\":\"rc office\",\"idempotencyKey\":\"rc-office\"}" |
	jstr secret)
[ -n "$team" ] && [ -n "$office" ] || fail "could not set up the organisations and the office token"
now=$(date -u +%s)
vol=$(call "$url_a" "$office" VolunteerService/RegisterVolunteer \
	"{\"organizationId\":\"$team\",\"personalData\":{\"name\":\"RC Volunteer\"},\"idempotencyKey\":\"rc-vol\"}" | jstr id)
call "$url_a" "$office" RecordsService/RecordShift "{\"volunteerId\":\"$vol\",\"organizationId\":\"$team\",\"category\":\"SHIFT_CATEGORY_ELDERLY_CARE\",\"startTime\":\"$(iso $((now - 5 * 86400)))\",\"endTime\":\"$(iso $((now - 5 * 86400 + 7200)))\",\"activity\":\"visit\",\"place\":\"station\",\"idempotencyKey\":\"rc-shift\"}" >/dev/null
number=$(call "$url_a" "$office" CertificateService/IssueCertificate \
	"{\"volunteerId\":\"$vol\",\"from\":\"$(iso $((now - 10 * 86400)))\",\"to\":\"$(iso $((now - 60)))\",\"title\":\"证明\",\"idempotencyKey\":\"rc-cert\"}" |
	jstr number)
[[ $number == VLC-* ]] || fail "no certificate issued"

# --- 1. proofs --------------------------------------------------------------------
size1=$(size_of "$url_a")
[ "$size1" -ge 8 ] && [ "$size1" -lt 16 ] || fail "expected 8..15 entries after the setup, have $size1"
# a serves (and caches) every proof of the tree of size1.
for ((i = 0; i < size1; i++)); do
	[ "$(inclusion "$url_a" "$i")" = "$(inclusion "$url_b" "$i" "$size1")" ] ||
		fail "leaf $i at size $size1: a and b disagree"
done
for ((f = 1; f < size1; f++)); do
	[ "$(consistency "$url_a" "$f" "$size1")" = "$(consistency "$url_b" "$f" "$size1")" ] ||
		fail "consistency $f..$size1: a and b disagree"
done

# The log grows through b past 16 and 32 entries.
for ((i = 0; i < 30; i++)); do
	call "$url_b" "$admin" AdminService/CreateOrganization \
		"{\"name\":\"RC grow $i\",\"kind\":\"ORGANIZATION_KIND_COMMUNITY\",\"parentId\":\"$subdistrict\",\"idempotencyKey\":\"rc-grow-$i\"}" >/dev/null
done
size2=$(size_of "$url_b")
[ "$size2" -gt 32 ] || fail "the log did not grow past 32 entries ($size2)"
# Stale for at most a second: a's proof against the latest checkpoint is
# against b's once a second has passed since a last read the checkpoint.
sleep 1.1
got=$(inclusion "$url_a" 0 | grep -o '"treeSize":"[0-9]*"' | cut -d'"' -f4)
[ "$got" = "$size2" ] || fail "a proved leaf 0 against size $got a second later, the latest checkpoint (written by b) has $size2"

for s in "$size1" 16 32 "$size2"; do
	for ((i = 0; i < s; i++)); do
		[ "$(inclusion "$url_a" "$i" "$s")" = "$(inclusion "$url_b" "$i" "$s")" ] ||
			fail "leaf $i at size $s: a (cached since size $size1) and b (uncached) disagree"
	done
	for f in 1 3 "$size1" 16; do
		[ "$f" -le "$s" ] || continue
		[ "$(consistency "$url_a" "$f" "$s")" = "$(consistency "$url_b" "$f" "$s")" ] ||
			fail "consistency $f..$s: a and b disagree"
	done
done
pass "a's proofs after b grew the log from $size1 to $size2 entries are b's (uncached), byte for byte"

# Served from memory: with every statement logged, inclusion proofs a has
# served run neither the node query nor the checkpoint query; a
# consistency proof (not answered in memory) reads the checkpoint only.
pglog="$PG_TEST_DIR/postgres.log"
sql "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
sleep 1
start=$(stat -c %s "$pglog")
for ((i = 0; i < size2; i++)); do
	inclusion "$url_a" "$i" "$size2" >/dev/null
done
consistency "$url_a" "$size1" "$size2" >/dev/null
tail -c +"$((start + 1))" "$pglog" >"$VL_TMP/statements.log"
latest=$(grep -c 'execute tlog_latest' "$VL_TMP/statements.log" || true)
nodes=$(grep -c 'execute tlog_nodes' "$VL_TMP/statements.log" || true)
[ "$latest" = 1 ] || fail "expected one checkpoint read (the consistency proof's) in the statement log, found $latest"
[ "$nodes" = 0 ] || fail "proofs a had served before read nodes from the database $nodes times"
# ...and a proof that needs a node a has not seen does read it: leaf 0's
# proof at size2 + 1 needs the new leaf's hash (level 0, index size2).
call "$url_b" "$admin" AdminService/CreateOrganization \
	"{\"name\":\"RC grow last\",\"kind\":\"ORGANIZATION_KIND_COMMUNITY\",\"parentId\":\"$subdistrict\",\"idempotencyKey\":\"rc-grow-last\"}" >/dev/null
sleep 1.1 # past a's second of answering "the latest" from memory
start=$(stat -c %s "$pglog")
inclusion "$url_a" 0 >/dev/null
tail -c +"$((start + 1))" "$pglog" >"$VL_TMP/statements.log"
grep -q 'execute tlog_nodes' "$VL_TMP/statements.log" || fail "a proof that needs a new leaf did not read it"
sql "ALTER SYSTEM RESET log_statement" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
pass "$size2 repeated proofs on a: answered in memory (no checkpoint or node reads); a proof needing a new node reads it"

# --- 2. revocation through the other process ---------------------------------------
verify() { call "$1" "" CertificateService/VerifyCertificate "{\"number\":\"$number\"}"; }
for ((i = 0; i < 3; i++)); do
	verify "$url_a" | grep -q '"result":"VERIFICATION_RESULT_VALID"' || fail "a: $number is not VALID: $(verify "$url_a")"
done
call "$url_b" "$office" CertificateService/RevokeCertificate \
	"{\"number\":\"$number\",\"reason\":\"issued in error\",\"idempotencyKey\":\"rc-revoke\"}" >/dev/null
out=$(verify "$url_a")
grep -q '"result":"VERIFICATION_RESULT_REVOKED"' <<<"$out" || fail "a after b revoked: $out"
grep -q '"revokeReason":"issued in error"' <<<"$out" || fail "a after b revoked, no reason: $out"
verify "$url_b" | grep -q '"result":"VERIFICATION_RESULT_REVOKED"' || fail "b after revoking: $(verify "$url_b")"
pass "a verified $number VALID three times; revoked through b, a says REVOKED at once"

vl_stop a
vl_stop b
dur_verify_storage
pass "the log checks out (vledgerd --verify-storage)"
