#!/usr/bin/env bash
# note_interop_test.sh - vledger's signed notes against an implementation
# that is not ours: golang.org/x/mod/sumdb/note (Debian golang-go and
# golang-golang-x-mod-dev), through tests/interop/notecheck. Both ways:
# Go verifies what we sign, we verify what Go signs, and each rejects a
# copy with one byte of the text or of the signature changed.
#
# The Go program is built offline in GOPATH mode against the Debian
# package's sources in /usr/share/gocode (no module proxy, no network).
# ctest sets VLEDGER_BIN and VLEDGER_SOURCE_DIR; the C driver
# (tests/integration/note_driver.c) is built into $VLEDGER_BIN/../tests.
# `check && pass ... || fail ...` is meant: pass only echoes, it cannot fail.
# shellcheck disable=SC2015
set -euo pipefail
export LC_ALL=C

: "${VLEDGER_BIN:?VLEDGER_BIN must point at the bin directory of the build}"
: "${VLEDGER_SOURCE_DIR:?VLEDGER_SOURCE_DIR must point at the source tree}"
driver="$VLEDGER_BIN/../tests/note_driver"
if [[ ! -x "$driver" ]]; then
	echo "note_interop_test.sh: $driver not built" >&2
	exit 1
fi
GO=$(command -v go || true)
GOSRC=/usr/share/gocode
if [[ -z "$GO" || ! -f "$GOSRC/src/golang.org/x/mod/sumdb/note/note.go" ]]; then
	echo "note_interop_test.sh: needs Go and golang.org/x/mod:" \
		"apt-get install golang-go golang-golang-x-mod-dev" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/vledger-note.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Sanitizer reports must not pass for the expected exit status 1 of a
# rejected note: give them their own.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=87"

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

# run_expect STATUS OUT_FILE CMD...: runs CMD with stdout to OUT_FILE and
# stderr to OUT_FILE.err; true if it exited with STATUS and reported no
# sanitizer error.
run_expect() {
	local want=$1 out=$2 status=0
	shift 2
	"$@" >"$out" 2>"$out.err" || status=$?
	if grep -q 'Sanitizer\|runtime error' "$out.err"; then
		cat "$out.err" >&2
		return 1
	fi
	if [[ $status -ne $want ]]; then
		echo "  $* exited $status, want $want:" >&2
		cat "$out.err" >&2
		return 1
	fi
	return 0
}

# --- build notecheck offline ----------------------------------------------
# GOPATH mode (GO111MODULE=off) resolves golang.org/x/mod from the Debian
# sources; GOPROXY=off and GOFLAGS/GOENV cleared make sure nothing reaches
# for the network or a user's Go settings.
go_env=(env -u GOFLAGS GO111MODULE=off GOPATH="$GOSRC" GOPROXY=off GOENV=off GOTOOLCHAIN=local
	GOCACHE="$tmp/gocache" GOTMPDIR="$tmp" HOME="$tmp" CGO_ENABLED=0)
(cd "$VLEDGER_SOURCE_DIR/tests/interop/notecheck" && "${go_env[@]}" "$GO" build -o "$tmp/notecheck" .) ||
	{ echo "note_interop_test.sh: go build of notecheck failed" >&2; exit 1; }
notecheck="$tmp/notecheck"

# flip_sig IN OUT: changes one base64 character inside the signature (past
# the key id) of the last signature line.
flip_sig() {
	local last prefix c r
	last=$(tail -n 1 "$1")
	prefix=${last% *}
	c=${last:${#prefix}+20:1}
	if [[ $c == A ]]; then r=B; else r=A; fi
	{ head -n -1 "$1"; printf '%s%s%s\n' "${last:0:${#prefix}+20}" "$r" "${last:${#prefix}+21}"; } >"$2"
}

# --- vledger signs, Go verifies --------------------------------------------
origin=vledger.local/log
key="$tmp/log.pem"
run_expect 0 "$tmp/out" "$driver" keygen "$key" || fail "keygen"
mode=$(stat -c %a "$key")
[[ $mode == 600 ]] && pass "key file mode 0600" || fail "key file mode is $mode, want 600"
run_expect 0 "$tmp/vkey" "$driver" vkey "$key" "$origin" || fail "vkey"
[[ $(cat "$tmp/vkey") =~ ^vledger\.local/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$ ]] &&
	pass "vkey format" || fail "vkey format: $(cat "$tmp/vkey")"

run_expect 0 "$tmp/cp" "$driver" checkpoint "$key" "$origin" 1234 || fail "sign checkpoint"
sed -n '1,/^$/p' "$tmp/cp" | sed '$d' >"$tmp/cp.body"
if run_expect 0 "$tmp/go.text" "$notecheck" "$tmp/vkey" "$tmp/cp"; then
	cmp -s "$tmp/go.text" "$tmp/cp.body" && pass "Go verifies our checkpoint" ||
		fail "Go's text differs from the checkpoint body"
else
	fail "Go rejects our checkpoint"
fi
[[ $(sed -n 2p "$tmp/go.text") == 1234 && $(head -n 1 "$tmp/go.text") == "$origin" ]] ||
	fail "checkpoint body: $(cat "$tmp/go.text")"
run_expect 0 "$tmp/parsed" "$driver" parse "$tmp/go.text" && [[ $(sed -n 2p "$tmp/parsed") == 1234 ]] ||
	fail "checkpoint_parse of the text Go returned"

sed '2s/^1234$/1235/' "$tmp/cp" >"$tmp/cp.badtext"
cmp -s "$tmp/cp" "$tmp/cp.badtext" && fail "test bug: body not changed"
run_expect 1 "$tmp/out" "$notecheck" "$tmp/vkey" "$tmp/cp.badtext" &&
	pass "Go rejects our checkpoint with the body changed" || fail "Go accepted a changed body"
flip_sig "$tmp/cp" "$tmp/cp.badsig"
cmp -s "$tmp/cp" "$tmp/cp.badsig" && fail "test bug: signature not changed"
run_expect 1 "$tmp/out" "$notecheck" "$tmp/vkey" "$tmp/cp.badsig" &&
	pass "Go rejects our checkpoint with the signature changed" || fail "Go accepted a changed signature"
grep -q 'invalid signature' "$tmp/out.err" || fail "Go's reason: $(cat "$tmp/out.err")"

# Another key of the same name is another key id: Go finds no signature.
run_expect 0 "$tmp/out" "$driver" keygen "$tmp/other.pem" || fail "keygen other"
run_expect 0 "$tmp/vkey.other" "$driver" vkey "$tmp/other.pem" "$origin" || fail "vkey other"
run_expect 1 "$tmp/out" "$notecheck" "$tmp/vkey.other" "$tmp/cp" &&
	pass "Go rejects our checkpoint under another key" || fail "Go accepted a note under another key"

# A free-form text with blank lines and non-ASCII.
printf 'caf\xc3\xa9 \xe2\x80\x94 one\n\ntwo\n' >"$tmp/free.text"
run_expect 0 "$tmp/free" "$driver" sign "$key" "$origin" "$tmp/free.text" || fail "sign free text"
run_expect 0 "$tmp/go.free" "$notecheck" "$tmp/vkey" "$tmp/free" && cmp -s "$tmp/go.free" "$tmp/free.text" &&
	pass "Go verifies a multi-paragraph UTF-8 note" || fail "Go on the free-form note"

# --- Go signs, vledger verifies --------------------------------------------
run_expect 0 "$tmp/out" "$notecheck" sign example.com/go-log "$tmp/cp.body" "$tmp/go.vkey" "$tmp/go.note" ||
	fail "Go sign"
if run_expect 0 "$tmp/c.text" "$driver" verify "$tmp/go.vkey" "$tmp/go.note"; then
	cmp -s "$tmp/c.text" "$tmp/cp.body" && pass "we verify Go's note" || fail "our text differs from Go's"
else
	fail "we reject Go's note"
fi
sed '2s/^1234$/1235/' "$tmp/go.note" >"$tmp/go.badtext"
run_expect 1 "$tmp/out" "$driver" verify "$tmp/go.vkey" "$tmp/go.badtext" &&
	grep -q 'does not verify' "$tmp/out.err" &&
	pass "we reject Go's note with the body changed" || fail "we accepted Go's note with the body changed"
flip_sig "$tmp/go.note" "$tmp/go.badsig"
run_expect 1 "$tmp/out" "$driver" verify "$tmp/go.vkey" "$tmp/go.badsig" &&
	grep -q 'does not verify' "$tmp/out.err" &&
	pass "we reject Go's note with the signature changed" || fail "we accepted Go's note with the signature changed"
run_expect 1 "$tmp/out" "$driver" verify "$tmp/vkey" "$tmp/go.note" &&
	grep -q 'no signature by' "$tmp/out.err" &&
	pass "we reject Go's note under our key" || fail "we accepted Go's note under our key"
run_expect 1 "$tmp/out" "$driver" verify "$tmp/go.vkey" "$tmp/cp" &&
	pass "we reject our note under Go's key" || fail "we accepted our note under Go's key"

# --- cosigned by both: either verifier, either implementation --------------
{ cat "$tmp/cp"; tail -n 1 "$tmp/go.note"; } >"$tmp/both"
ok=1
for v in "$tmp/vkey" "$tmp/go.vkey"; do
	run_expect 0 "$tmp/out" "$notecheck" "$v" "$tmp/both" || ok=0
	run_expect 0 "$tmp/out" "$driver" verify "$v" "$tmp/both" || ok=0
done
[[ $ok == 1 ]] && pass "a note signed by both keys verifies with either, in both" ||
	fail "the doubly signed note"

if [[ $failures -ne 0 ]]; then
	echo "note_interop_test.sh: $failures failure(s)" >&2
	exit 1
fi
echo "note_interop_test.sh: ok"
