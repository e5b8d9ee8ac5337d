#!/usr/bin/env bash
# Feedback against a real PostgreSQL: tickets are one-time, expire, are kept
# only as hashes and come back unchanged for a retried request; feedback
# reaches the volunteer's summary; comments stay off the log.
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

d=$(rpc AdminService/CreateOrganization '{"name":"D","kind":"ORGANIZATION_KIND_DISTRICT","idempotencyKey":"d"}' | field organization.id)
s=$(rpc AdminService/CreateOrganization "{\"name\":\"S\",\"kind\":\"ORGANIZATION_KIND_SUBDISTRICT\",\"parentId\":\"$d\",\"idempotencyKey\":\"s\"}" | field organization.id)
c=$(rpc AdminService/CreateOrganization "{\"name\":\"C\",\"kind\":\"ORGANIZATION_KIND_COMMUNITY\",\"parentId\":\"$s\",\"idempotencyKey\":\"c\"}" | field organization.id)
vol=$(rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$c\",\"personalData\":{\"name\":\"王五\"},\"idempotencyKey\":\"v\"}" | field volunteer.id)
[ -n "$vol" ] || fail "no volunteer"
start=$(date -u -d '-3 hours' +%FT%TZ)
end=$(date -u -d '-1 hours' +%FT%TZ)
shift=$(rpc RecordsService/RecordShift "{\"volunteerId\":\"$vol\",\"organizationId\":\"$c\",\"category\":\"SHIFT_CATEGORY_SUPPLY_DELIVERY\",\"startTime\":\"$start\",\"endTime\":\"$end\",\"activity\":\"送菜\",\"place\":\"5号楼\",\"idempotencyKey\":\"sh\"}" | field shift.id)
[ -n "$shift" ] || fail "no shift"

first=$(rpc FeedbackService/IssueFeedbackTickets "{\"shiftId\":\"$shift\",\"count\":3,\"idempotencyKey\":\"t1\"}")
tickets=$(echo "$first" | field tickets)
again=$(rpc FeedbackService/IssueFeedbackTickets "{\"shiftId\":\"$shift\",\"count\":3,\"idempotencyKey\":\"t1\"}" | field tickets)
[ "$(echo "$tickets" | node -e 'const t=JSON.parse(require("fs").readFileSync(0));process.stdout.write(String(t.length===3&&t.every(x=>/^[A-Z2-7]{10}$/.test(x))))')" = true ] ||
	fail "tickets: $tickets"
[ "$tickets" = "$again" ] || fail "a retried IssueFeedbackTickets gave other tickets: $tickets vs $again"
[ "$(sql "SELECT count(*) FROM feedback_tickets WHERE shift_id = '$shift'")" = 3 ] || fail "tickets stored twice"
t1=$(echo "$tickets" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0))[0])')
t2=$(echo "$tickets" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0))[1])')
t3=$(echo "$tickets" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0))[2])')
for t in $t1 $t2 $t3; do
	if pg_dump_all=$(runuser -u postgres -- pg_dump -h "$PG_TEST_DIR" -p 5432 -U vledger vledger_test 2>/dev/null ||
		pg_dump -h "$PG_TEST_DIR" -p 5432 -U vledger vledger_test); grep -q "$t" <<<"$pg_dump_all"; then
		fail "a ticket code is stored in the database"
	fi
done
pass "tickets: 10 base32 characters, only hashes stored, a retry returns the same codes"

size() { rpc LogService/GetCheckpoint '{}' - | field treeSize; }
before=$(size)
code() { field code; }
[ "$(rpc FeedbackService/SubmitFeedback "{\"ticket\":\"$t1\",\"rating\":0}" - | code)" = invalid_argument ] || fail "rating 0"
[ "$(rpc FeedbackService/SubmitFeedback '{"ticket":"AAAAAAAAAA","rating":5}' - | code)" = not_found ] || fail "unknown ticket"
[ "$(rpc FeedbackService/SubmitFeedback '{"ticket":"short","rating":5}' - | code)" = invalid_argument ] || fail "malformed ticket"
[ "$(size)" = "$before" ] || fail "a refused feedback grew the log"
comment="谢谢小王 call 13912345678"
resp=$(rpc FeedbackService/SubmitFeedback "{\"ticket\":\"$(echo "$t1" | tr A-Z a-z)\",\"rating\":5,\"comment\":\"$comment\",\"tags\":[\"准时\"]}" -)
[ -n "$(echo "$resp" | field feedbackId)" ] || fail "feedback refused: $resp"
entry=$(echo "$resp" | field receipt.entry | base64 -d)
if grep -q "13912345678" <<<"$entry"; then fail "the comment reached the log"; fi
grep -q '"actor":"public"' <<<"$entry" && grep -q '"kind":"feedback_given"' <<<"$entry" || fail "entry: $entry"
[ "$(rpc FeedbackService/SubmitFeedback "{\"ticket\":\"$t1\",\"rating\":4}" - | code)" = already_exists ] || fail "a ticket worked twice"
rpc FeedbackService/SubmitFeedback "{\"ticket\":\"$t2\",\"rating\":2}" - | grep -q feedbackId || fail "second ticket"
sql "UPDATE feedback_tickets SET expire_time = now() - interval '1 second' WHERE used_time IS NULL"
[ "$(rpc FeedbackService/SubmitFeedback "{\"ticket\":\"$t3\",\"rating\":5}" - | code)" = failed_precondition ] || fail "expired ticket"
pass "a ticket works once (lower case too); unknown is not_found, reused already_exists, expired failed_precondition"

summary=$(rpc RecordsService/GetVolunteerSummary "{\"volunteerId\":\"$vol\"}")
[ "$(echo "$summary" | field summary.feedbackCount)" = 2 ] && [ "$(echo "$summary" | field summary.averageRating)" = 3.5 ] &&
	[ "$(echo "$summary" | field summary.totalMinutes)" = 120 ] || fail "summary: $summary"
pass "the summary counts 120 approved minutes and 2 ratings averaging 3.5"
vl_stop main
