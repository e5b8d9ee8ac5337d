#!/usr/bin/env bash
# The benchmark harness (bench/run.sh) in its smoke mode, against the
# binaries of this build, so that it never rots: every workload runs for a
# couple of seconds on a few connections with tiny data, and the table must
# have every row, each with requests served and no errors. No performance
# targets are checked here (the sanitizer build is far slower, and the
# machine is shared): that is what a full `bench/run.sh` is for.
set -euo pipefail
: "${VLEDGER_BIN:?VLEDGER_BIN must point at the bin directory of the build}"
: "${VLEDGER_SOURCE_DIR:?VLEDGER_SOURCE_DIR must point at the source tree}"

tmp=$(mktemp -d /tmp/vledger-bench-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# The harness cleans up its own PostgreSQL and vledgerd (trap in run.sh).
# --scale too when the bulk loader is built (bench/bulkload.c): in a smoke
# run it compares 10^3 entries with N.
scale=()
[ -x "$VLEDGER_BIN/vledger-bulkload" ] && scale=(--scale 3000)
start=$(date +%s)
bash "$VLEDGER_SOURCE_DIR/bench/run.sh" --smoke --bin "$VLEDGER_BIN" "${scale[@]}" --out "$tmp/results.md" >"$tmp/stdout" 2>"$tmp/stderr" ||
	{ cat "$tmp/stderr" "$tmp/stdout" >&2; fail "bench/run.sh --smoke failed"; }
elapsed=$(($(date +%s) - start))
cat "$tmp/results.md"
cmp -s "$tmp/stdout" "$tmp/results.md" || fail "--out differs from the table printed"
grep -q '^- machine: ' "$tmp/results.md" || fail "no machine description"
grep -q 'fsync=on' "$tmp/results.md" && grep -q 'synchronous_commit=on' "$tmp/results.md" ||
	fail "PostgreSQL did not run with production durability"

# column N of the row whose first cell is KEY (cells trimmed)
cell() {
	awk -F'|' -v key="$1" -v n="$2" '{ k = $2; gsub(/^ +| +$/, "", k) } k == key { v = $(n + 1); gsub(/^ +| +$/, "", v); print v; exit }' "$tmp/results.md"
}
for key in "pgbench INSERT (baseline)" "healthz (baseline)" append verify idle; do
	requests=$(cell "$key" 3)
	errors=$(cell "$key" 8)
	[ -n "$requests" ] || fail "no row for $key"
	[ "$errors" = 0 ] || fail "$key: $errors errors"
	[ "$requests" -gt 0 ] || fail "$key: no requests"
	if [ "$key" != idle ]; then
		awk -v t="$(cell "$key" 4)" 'BEGIN { exit !(t > 0) }' || fail "$key: throughput $(cell "$key" 4)"
	fi
	echo "ok - $key: $requests requests, throughput $(cell "$key" 4), 0 errors"
done
# idle: every connection proven before and after the hold, RSS measured.
[[ $(cell idle 10) =~ ^([0-9]+)\ opened,\ ([0-9]+)\ alive ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] ||
	fail "idle connections: $(cell idle 10)"
awk -v r="$(cell idle 9)" 'BEGIN { exit !(r > 0) }' || fail "idle: no vledgerd RSS"
echo "ok - idle: $(cell idle 10), RSS $(cell idle 9) MB"
if [ ${#scale[@]} -gt 0 ]; then
	for kind in append proof "proof, no node cache"; do
		n=0
		while IFS='|' read -r _ key _ requests throughput _ _ _ errors _; do
			n=$((n + 1))
			[ "${errors// /}" = 0 ] || fail "$key: $errors errors"
			awk -v r="$requests" -v t="$throughput" 'BEGIN { exit !(r > 0 && t > 0) }' || fail "$key: nothing served"
		done < <(grep "^| $kind @ " "$tmp/results.md")
		[ "$n" = 2 ] || fail "--scale: $n rows for $kind, want 2"
	done
	grep -q '^| log storage |.* B/entry @ 1000 .* B/entry @ 3000' "$tmp/results.md" || fail "--scale: no log storage row"
	grep -q '^| idle @ 3000 entries |' "$tmp/results.md" || fail "--scale: no idle row"
	echo "ok - --scale 3000: append, proof (with and without the node cache), storage and idle rows"
fi
# The harness must not leave anything behind: its work directory (the
# cluster's data and socket) is gone, so PostgreSQL was stopped before it.
work=$(sed -n 's/.*starting PostgreSQL in \(.*\)\/pg$/\1/p' "$tmp/stderr")
[ -n "$work" ] || fail "bench/run.sh did not say where it worked"
[ ! -e "$work" ] || fail "bench/run.sh left $work behind"
echo "ok - smoke run in ${elapsed}s"
[ "$elapsed" -lt 60 ] || echo "note: the smoke run took ${elapsed}s (more than the 60 s it should)" >&2
