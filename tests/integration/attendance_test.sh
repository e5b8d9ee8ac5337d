#!/usr/bin/env bash
# Check-in and check-out against a real PostgreSQL: measured shifts with the
# server's clock, approved for an office and pending for a team leader, one
# open check-in per volunteer (also under concurrency), a check-in left open
# too long closed at --max-shift-hours and flagged, the overlap rule, who may
# call, and no log entry for any refused request.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

vl_start main --database-url "$PG_TEST_URL"
vl_wait_ready main
url=$(vl_url main)
token_file="$VL_TMP/main/state/admin.token"
# rpc SERVICE/METHOD JSON [TOKEN-FILE|-] -> the response JSON (errors too) on stdout
rpc() {
	local auth=()
	[ "${3:-$token_file}" = - ] || auth=(-H "Authorization: Bearer $(cat "${3:-$token_file}")")
	curl -sS "${auth[@]}" -H 'Content-Type: application/json' -d "$2" "$url/vledger.v1.$1"
}
field() { node -e 'let v=JSON.parse(require("fs").readFileSync(0));for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v??""))' "$1"; }
code() { field code; }
size() { rpc LogService/GetCheckpoint '{}' - | field treeSize; }
entry() { field receipt.entry | base64 -d; }
# expect_refused CODE SERVICE/METHOD JSON [TOKEN-FILE]: refused with CODE, the log unchanged; prints the message
expect_refused() {
	local want=$1 before out
	shift
	before=$(size)
	out=$(rpc "$@")
	[ "$(echo "$out" | code)" = "$want" ] || fail "$1 $2: want $want, got $out"
	[ "$(size)" = "$before" ] || fail "a refused $1 grew the log: $out"
	echo "$out" | field message
}

org() { rpc AdminService/CreateOrganization "{\"name\":\"$1\",\"kind\":\"ORGANIZATION_KIND_$2\"${3:+,\"parentId\":\"$3\"},\"idempotencyKey\":\"o-$1\"}" | field organization.id; }
d=$(org D DISTRICT)
s=$(org S SUBDISTRICT "$d")
c=$(org C COMMUNITY "$s")
t1=$(org T1 TEAM "$c")
t2=$(org T2 TEAM "$c")
e=$(org E EMPLOYER)
[ -n "$t2" ] && [ -n "$e" ] || fail "organisations"
token() {
	local f="$VL_TMP/$1.token"
	rpc AdminService/CreateToken "{${3:+\"organizationId\":\"$3\",}\"role\":\"ROLE_$2\",\"idempotencyKey\":\"t-$1\"}" |
		field secret >"$f"
	[ -s "$f" ] || fail "token $1"
	echo "$f"
}
office=$(token office OFFICE "$s")
leader1=$(token leader1 TEAM_LEADER "$t1")
leader2=$(token leader2 TEAM_LEADER "$t2")
employer=$(token employer EMPLOYER "$e")
auditor=$(token auditor AUDITOR)
volunteer() { rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$2\",\"personalData\":{\"name\":\"$1\"},\"idempotencyKey\":\"v-$1\"}" | field volunteer.id; }
v1=$(volunteer 甲 "$c")
v2=$(volunteer 乙 "$t1")
v3=$(volunteer 丙 "$t1")
v4=$(volunteer 丁 "$c")
[ -n "$v1" ] && [ -n "$v4" ] || fail "volunteers"
# checkin KEY VOLUNTEER ORG [TOKEN-FILE] -> the response
checkin() {
	rpc AttendanceService/CheckIn "{\"volunteerId\":\"$2\",\"organizationId\":\"$3\",\"category\":\"SHIFT_CATEGORY_TESTING_SITE\",\"activity\":\"核酸检测扫码\",\"place\":\"3号检测点\",\"grid\":\"网格7\",\"idempotencyKey\":\"$1\"}" "${4:-$token_file}"
}
checkout() { rpc AttendanceService/CheckOut "{\"checkInId\":\"$2\",\"idempotencyKey\":\"$1\"}" "${3:-$token_file}"; }

# An office checks in and out: a measured shift, approved at once.
before=$(size)
in1=$(checkin in1 "$v1" "$c" "$office")
chk1=$(echo "$in1" | field checkIn.id)
[[ "$chk1" =~ ^chk_[0-9a-f]{24}$ ]] || fail "CheckIn: $in1"
[ "$(size)" = $((before + 1)) ] || fail "CheckIn appended other than one entry"
ent=$(echo "$in1" | entry)
node -e '
const e = JSON.parse(process.argv[1]), c = e.checkIn;
if (e.kind !== "checked_in" || c.id !== process.argv[2] || c.volunteerId !== process.argv[3] || c.category !== "testing_site" ||
    c.grid !== "网格7" || "beneficiary" in c || !/^\d{4}-\d\d-\d\dT/.test(c.startTime) || c.startTime !== process.argv[4])
	process.exit(1);' "$ent" "$chk1" "$v1" "$(echo "$in1" | field checkIn.startTime)" || fail "checked_in entry: $ent"
again=$(checkin in1 "$v1" "$c" "$office")
[ "$(echo "$again" | field checkIn.id)" = "$chk1" ] && [ "$(size)" = $((before + 1)) ] || fail "a retried CheckIn: $again"
msg=$(expect_refused failed_precondition AttendanceService/CheckIn "{\"volunteerId\":\"$v1\",\"organizationId\":\"$c\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"in1b\"}")
[[ "$msg" == volunteerId:* ]] || fail "second check-in message: $msg"
pass "CheckIn: the server's time, a checked_in entry, a retry answered once; a second open check-in is failed_precondition on volunteerId"

out1=$(checkout out1 "$chk1" "$office")
shift1=$(echo "$out1" | field shift.id)
[ "$(echo "$out1" | field shift.source)" = SHIFT_SOURCE_MEASURED ] &&
	[ "$(echo "$out1" | field shift.status)" = SHIFT_STATUS_APPROVED ] &&
	[ -n "$(echo "$out1" | field shift.decidedBy)" ] &&
	[ "$(echo "$out1" | field shift.startTime)" = "$(echo "$in1" | field checkIn.startTime)" ] &&
	[ "$(echo "$out1" | field shift.recordedBy)" = "$(echo "$in1" | field checkIn.checkedInBy)" ] &&
	[ "$(echo "$out1" | field shift.capped)" = "" ] || fail "CheckOut by an office: $out1"
m1=$(echo "$out1" | field shift.minutes)
m1=${m1:-0}
[ "$m1" -ge 0 ] && [ "$m1" -le 1 ] || fail "minutes: $m1"
ent=$(echo "$out1" | entry)
node -e '
const e = JSON.parse(process.argv[1]), s = e.shift;
if (e.kind !== "shift_recorded" || s.source !== "measured" || s.status !== "approved" || s.checkInId !== process.argv[2] ||
    s.id !== process.argv[3] || "capped" in s || s.minutes !== Number(process.argv[4]) || s.activity !== "核酸检测扫码")
	process.exit(1);' "$ent" "$chk1" "$shift1" "$m1" || fail "shift_recorded entry: $ent"
[ "$(sql "SELECT shift_id IS NOT NULL AND close_time IS NOT NULL FROM check_ins WHERE id = '$chk1'")" = t ] ||
	fail "the check-in was not closed"
[ "$(sql "SELECT kind FROM shift_history WHERE shift_id = '$shift1'")" = recorded ] || fail "shift history"
[ "$(checkout out1 "$chk1" "$office" | field shift.id)" = "$shift1" ] || fail "a retried CheckOut"
msg=$(expect_refused failed_precondition AttendanceService/CheckOut "{\"checkInId\":\"$chk1\",\"idempotencyKey\":\"out1b\"}")
[[ "$msg" == checkInId:* ]] || fail "second check-out message: $msg"
msg=$(expect_refused not_found AttendanceService/CheckOut '{"checkInId":"chk_000000000000000000000000","idempotencyKey":"nf"}')
[[ "$msg" == checkInId:* ]] || fail "unknown check-in message: $msg"
pass "CheckOut by an office: MEASURED, APPROVED, $m1 minutes, the shift_recorded entry names the check-in; twice is failed_precondition, unknown not_found"

# A team leader: pending; a sibling team's leader reaches nothing of it.
in2=$(checkin in2 "$v2" "$t1" "$leader1")
chk2=$(echo "$in2" | field checkIn.id)
[ -n "$chk2" ] || fail "team leader CheckIn: $in2"
expect_refused permission_denied AttendanceService/CheckOut "{\"checkInId\":\"$chk2\",\"idempotencyKey\":\"x1\"}" "$leader2" >/dev/null
expect_refused permission_denied AttendanceService/CheckIn "{\"volunteerId\":\"$v3\",\"organizationId\":\"$t1\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"x2\"}" "$leader2" >/dev/null
expect_refused permission_denied AttendanceService/CheckIn "{\"volunteerId\":\"$v3\",\"organizationId\":\"$t2\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"x3\"}" "$leader2" >/dev/null
out2=$(checkout out2 "$chk2" "$leader1")
[ "$(echo "$out2" | field shift.status)" = SHIFT_STATUS_PENDING ] && [ "$(echo "$out2" | field shift.decidedBy)" = "" ] &&
	[ "$(echo "$out2" | field shift.source)" = SHIFT_SOURCE_MEASURED ] || fail "CheckOut by a team leader: $out2"
pass "a team leader's measured shift is PENDING; a sibling team's leader is permission_denied"

for who in "$employer" "$auditor"; do
	expect_refused permission_denied AttendanceService/CheckIn "{\"volunteerId\":\"$v3\",\"organizationId\":\"$t1\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"x4\"}" "$who" >/dev/null
	expect_refused permission_denied AttendanceService/CheckOut "{\"checkInId\":\"$chk1\",\"idempotencyKey\":\"x5\"}" "$who" >/dev/null
done
expect_refused unauthenticated AttendanceService/CheckIn '{}' - >/dev/null
pass "employer and auditor tokens are permission_denied, no token unauthenticated"

expect_refused invalid_argument AttendanceService/CheckIn "{\"volunteerId\":\"$v3\",\"organizationId\":\"$t1\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"x6\"}" >/dev/null
expect_refused invalid_argument AttendanceService/CheckIn "{\"volunteerId\":\"$v3\",\"organizationId\":\"$t1\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"activity\":\" \",\"place\":\"p\",\"idempotencyKey\":\"x7\"}" >/dev/null
expect_refused invalid_argument AttendanceService/CheckIn "{\"volunteerId\":\"$v3\",\"organizationId\":\"$s\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"x8\"}" >/dev/null
expect_refused not_found AttendanceService/CheckIn "{\"volunteerId\":\"vol_000000000000000000000000\",\"organizationId\":\"$t1\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"x9\"}" >/dev/null
expect_refused invalid_argument AttendanceService/CheckOut '{"checkInId":"","idempotencyKey":"x10"}' >/dev/null
expect_refused invalid_argument AttendanceService/CheckOut "{\"checkInId\":\"$chk1\"}" >/dev/null
pass "a missing category or activity, a subdistrict, an unknown volunteer, a missing id or key are refused"

# Left open for 20 hours: closed at 16 (--max-shift-hours) and flagged.
in3=$(checkin in3 "$v1" "$c" "$office")
chk3=$(echo "$in3" | field checkIn.id)
[ -n "$chk3" ] || fail "CheckIn: $in3"
sql "UPDATE check_ins SET start_time = now() - interval '20 hours' WHERE id = '$chk3'"
out3=$(checkout out3 "$chk3" "$office")
[ "$(echo "$out3" | field shift.minutes)" = 960 ] && [ "$(echo "$out3" | field shift.capped)" = true ] ||
	fail "stale CheckOut: $out3"
[ "$(sql "SELECT end_time - start_time = interval '16 hours' AND capped FROM shifts WHERE id = '$(echo "$out3" | field shift.id)'")" = t ] ||
	fail "the capped shift is not exactly 16 hours"
ent=$(echo "$out3" | entry)
node -e 'const s = JSON.parse(process.argv[1]).shift;
if (s.capped !== true || s.minutes !== 960 || Date.parse(s.endTime) - Date.parse(s.startTime) !== 16 * 3600e3) process.exit(1)' "$ent" ||
	fail "capped entry: $ent"
pass "a check-in open 20 hours is closed at 16: 960 minutes, capped in the shift and the entry"

# An entered shift beside the measured ones; the summary shows both.
now=$(date +%s)
at() { date -u -d "@$((now + $1))" +%FT%TZ; }
rpc RecordsService/RecordShift "{\"volunteerId\":\"$v1\",\"organizationId\":\"$c\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"startTime\":\"$(at -10800)\",\"endTime\":\"$(at -7200)\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"rs1\"}" |
	grep -q '"shift"' || fail "RecordShift"
summary=$(rpc RecordsService/GetVolunteerSummary "{\"volunteerId\":\"$v1\"}")
[ "$(echo "$summary" | field summary.measuredMinutes)" = $((m1 + 960)) ] &&
	[ "$(echo "$summary" | field summary.enteredMinutes)" = 60 ] &&
	[ "$(echo "$summary" | field summary.totalMinutes)" = $((m1 + 1020)) ] || fail "summary: $summary"
pass "GetVolunteerSummary: measuredMinutes $((m1 + 960)) (check-outs), enteredMinutes 60 (RecordShift)"

# The overlap rule: a check-out whose shift overlaps an entered one (one
# ending a little ahead of the server's clock, which RecordShift allows,
# recorded before the check-in).
rs=$(rpc RecordsService/RecordShift "{\"volunteerId\":\"$v4\",\"organizationId\":\"$c\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"startTime\":\"$(at -3600)\",\"endTime\":\"$(at 180)\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"rs2\"}" | field shift.id)
[ -n "$rs" ] || fail "RecordShift for the overlap"
in4=$(checkin in4 "$v4" "$c" "$office")
chk4=$(echo "$in4" | field checkIn.id)
msg=$(expect_refused failed_precondition AttendanceService/CheckOut "{\"checkInId\":\"$chk4\",\"idempotencyKey\":\"out4\"}" "$office")
[[ "$msg" == checkInId:* && "$msg" == *"$rs"* ]] || fail "overlap message: $msg"
[ "$(sql "SELECT shift_id IS NULL FROM check_ins WHERE id = '$chk4'")" = t ] || fail "the refused check-out closed the check-in"
pass "a check-out overlapping another live shift is failed_precondition naming checkInId and $rs"

# Ten concurrent check-ins of one volunteer: exactly one.
before=$(size)
pids=()
for i in $(seq 1 10); do
	checkin "race$i" "$v3" "$t1" "$leader1" >"$VL_TMP/race$i.json" &
	pids+=($!)
done
wait "${pids[@]}"
ok=0
for i in $(seq 1 10); do
	if [ -n "$(field checkIn.id <"$VL_TMP/race$i.json")" ]; then
		ok=$((ok + 1))
	else
		[ "$(code <"$VL_TMP/race$i.json")" = failed_precondition ] || fail "race $i: $(cat "$VL_TMP/race$i.json")"
	fi
done
[ "$ok" = 1 ] || fail "$ok of 10 concurrent check-ins succeeded"
[ "$(sql "SELECT count(*) FROM check_ins WHERE volunteer_id = '$v3'")" = 1 ] || fail "check-ins stored"
[ "$(size)" = $((before + 1)) ] || fail "the concurrent check-ins appended $(($(size) - before)) entries"
pass "10 concurrent check-ins of one volunteer: one succeeds, nine are failed_precondition, one entry"

# An entered shift may not reach into an open check-in (its slot runs from
# the check-in onwards), or the check-in could never be closed.
v5=$(volunteer 戊 "$c")
checkin in5 "$v5" "$c" "$office" >/dev/null
[ "$(rpc RecordsService/RecordShift "{\"volunteerId\":\"$v5\",\"organizationId\":\"$c\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"startTime\":\"$(at -600)\",\"endTime\":\"$(at 60)\",\"activity\":\"a\",\"place\":\"p\",\"idempotencyKey\":\"rs5\"}" | code)" = failed_precondition ] ||
	fail "a shift overlapping an open check-in was recorded"
pass "RecordShift refuses a shift overlapping the volunteer's open check-in"
vl_stop main

# The sweep closes a check-in left open past the limit, as vledgerd.
sql "UPDATE check_ins SET start_time = now() - interval '17 hours' WHERE volunteer_id = '$v5' AND shift_id IS NULL"
vl_start sweeper --database-url "$PG_TEST_URL" --log-key "$VL_TMP/main/state/log.key" \
	--pii-key "$VL_TMP/main/state/pii.key" --checkin-sweep-seconds 1
vl_wait_ready sweeper
for _ in $(seq 1 50); do
	[ "$(sql "SELECT shift_id IS NOT NULL FROM check_ins WHERE volunteer_id = '$v5'")" = t ] && break
	sleep 0.2
done
[ "$(sql "SELECT s.minutes || ' ' || s.capped || ' ' || s.status || ' ' || s.recorded_by FROM check_ins c JOIN shifts s ON s.id = c.shift_id WHERE c.volunteer_id = '$v5'")" = "960 true pending vledgerd" ] ||
	fail "the sweep did not close the stale check-in: $(sql "SELECT * FROM check_ins WHERE volunteer_id = '$v5'")"
pass "the periodic sweep closes a check-in open 17 h at 16 h, capped and pending, as vledgerd"
vl_stop sweeper
