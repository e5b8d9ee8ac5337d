#!/usr/bin/env bash
# Corrections and entry listing against a real PostgreSQL: AmendShift and
# VoidEntry append entries, keep the original in the log, move the totals,
# and show in the shift's history; refused corrections write nothing;
# ListEntries pages newest first and stays stable while entries are appended.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

vl_start main --database-url "$PG_TEST_URL"
vl_wait_ready main
url=$(vl_url main)
admin_file="$VL_TMP/main/state/admin.token"
rpc() { # rpc METHOD JSON [TOKEN-FILE] -> response JSON (errors too)
	curl -sS -H "Authorization: Bearer $(cat "${3:-$admin_file}")" -H 'Content-Type: application/json' -d "$2" \
		"$url/vledger.v1.$1"
}
field() { node -e 'let v=JSON.parse(require("fs").readFileSync(0));for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v??""))' "$1"; }
size() { curl -sS -H 'Content-Type: application/json' -d '{}' "$url/vledger.v1.LogService/GetCheckpoint" | field treeSize; }
org() { rpc AdminService/CreateOrganization "{\"name\":\"$1\",\"kind\":\"ORGANIZATION_KIND_$2\",${3:+\"parentId\":\"$3\",}\"idempotencyKey\":\"o-$1\"}" | field organization.id; }
token() { rpc AdminService/CreateToken "{\"organizationId\":\"$1\",\"role\":\"ROLE_$2\",\"idempotencyKey\":\"t-$1-$2\"}" | field secret >"$VL_TMP/$3"; chmod 600 "$VL_TMP/$3"; }
at() { date -u -d "$1" +%FT%TZ; }

d=$(org D DISTRICT); s=$(org S SUBDISTRICT "$d"); c=$(org C COMMUNITY "$s"); c2=$(org C2 COMMUNITY "$s")
token "$c" OFFICE office_c; token "$c2" OFFICE office_c2
vol=$(rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$c\",\"personalData\":{\"name\":\"赵六\"},\"idempotencyKey\":\"v\"}" | field volunteer.id)
record() { rpc RecordsService/RecordShift "{\"volunteerId\":\"$vol\",\"organizationId\":\"$c\",\"category\":\"SHIFT_CATEGORY_$1\",\"startTime\":\"$(at "$2")\",\"endTime\":\"$(at "$3")\",\"activity\":\"值守\",\"place\":\"检测点\",\"idempotencyKey\":\"r-$4\"}" | field shift.id; }
s1=$(record TESTING_SITE '-10 hours' '-8 hours' 1)
s2=$(record DISINFECTION '-6 hours' '-5 hours' 2)
s3=$(record PUBLICITY '-4 hours' '-3 hours' 3)
total() { rpc RecordsService/GetVolunteerSummary "{\"volunteerId\":\"$vol\"}" | field summary.totalMinutes; }
[ "$(total)" = 240 ] || fail "summary before corrections: $(total)"

# Amend: the shift and the totals follow; the history shows both steps.
amended=$(rpc RecordsService/AmendShift "{\"shiftId\":\"$s1\",\"fields\":[\"endTime\",\"category\"],\"endTime\":\"$(at '-9 hours')\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"reason\":\"ended early\",\"idempotencyKey\":\"a1\"}" "$VL_TMP/office_c")
[ "$(echo "$amended" | field shift.minutes)" = 60 ] && [ "$(echo "$amended" | field shift.category)" = SHIFT_CATEGORY_OTHER ] ||
	fail "amend: $amended"
echo "$amended" | field receipt.entry | base64 -d | grep -q '"kind":"shift_amended"' || fail "amend entry"
[ "$(total)" = 180 ] || fail "summary after amending: $(total)"
history=$(rpc RecordsService/GetShift "{\"shiftId\":\"$s1\"}" | field history)
[ "$(echo "$history" | node -e 'const h=JSON.parse(require("fs").readFileSync(0));process.stdout.write(h.map(x=>x.kind).join(","))')" = recorded,amended ] ||
	fail "history: $history"
echo "$history" | grep -q 'ended early' || fail "history lacks the reason"
[ "$(sql "SELECT count(*) FROM log_entries WHERE kind = 'shift_recorded' AND convert_from(entry, 'UTF8') LIKE '%$s1%'")" = 1 ] ||
	fail "the original record is not in the log"
pass "AmendShift moves the totals, keeps the original entry and shows in the shift's history"

# Refused corrections write nothing.
before=$(size)
code() { field code; }
[ "$(rpc RecordsService/AmendShift "{\"shiftId\":\"$s2\",\"fields\":[\"endTime\"],\"endTime\":\"$(at '-3 hours 30 minutes')\",\"reason\":\"x\",\"idempotencyKey\":\"a2\"}" | code)" = failed_precondition ] ||
	fail "an amendment overlapping another shift was accepted"
[ "$(rpc RecordsService/AmendShift "{\"shiftId\":\"$s2\",\"fields\":[\"minutes\"],\"reason\":\"x\",\"idempotencyKey\":\"a3\"}" | code)" = invalid_argument ] ||
	fail "an amendment of a computed field was accepted"
[ "$(rpc RecordsService/AmendShift "{\"shiftId\":\"$s2\",\"fields\":[\"place\"],\"place\":\"检测点\",\"reason\":\"x\",\"idempotencyKey\":\"a4\"}" | code)" = invalid_argument ] ||
	fail "an amendment that changes nothing was accepted"
[ "$(rpc RecordsService/AmendShift "{\"shiftId\":\"$s2\",\"fields\":[\"place\"],\"place\":\"别处\",\"reason\":\"x\",\"idempotencyKey\":\"a5\"}" "$VL_TMP/office_c2" | code)" = permission_denied ] ||
	fail "a sibling community's office amended a shift"
[ "$(rpc RecordsService/VoidEntry "{\"entryId\":\"$s2\",\"reason\":\"x\",\"idempotencyKey\":\"v0\"}" "$VL_TMP/office_c2" | code)" = permission_denied ] ||
	fail "a sibling community's office voided a shift"
[ "$(rpc RecordsService/VoidEntry "{\"entryId\":\"org_1\",\"reason\":\"x\",\"idempotencyKey\":\"v1\"}" | code)" = invalid_argument ] ||
	fail "VoidEntry of an organisation id"
[ "$(rpc RecordsService/VoidEntry "{\"entryId\":\"shf_000000000000000000000000\",\"reason\":\"x\",\"idempotencyKey\":\"v2\"}" | code)" = not_found ] ||
	fail "VoidEntry of an unknown shift"
[ "$(size)" = "$before" ] || fail "refused corrections grew the log from $before to $(size)"
pass "refused corrections (overlap, computed field, no change, sibling office, wrong or unknown id) write nothing"

# Void: the shift stops counting, once.
rpc RecordsService/VoidEntry "{\"entryId\":\"$s2\",\"reason\":\"recorded twice\",\"idempotencyKey\":\"v3\"}" "$VL_TMP/office_c" | grep -q receipt ||
	fail "void refused"
[ "$(total)" = 120 ] || fail "summary after voiding: $(total)"
[ "$(rpc RecordsService/VoidEntry "{\"entryId\":\"$s2\",\"reason\":\"again\",\"idempotencyKey\":\"v4\"}" | code)" = failed_precondition ] ||
	fail "voided twice"
[ "$(rpc RecordsService/AmendShift "{\"shiftId\":\"$s2\",\"fields\":[\"place\"],\"place\":\"y\",\"reason\":\"x\",\"idempotencyKey\":\"a6\"}" | code)" = failed_precondition ] ||
	fail "amended a voided shift"
# A voided shift cannot be decided any more.
pend=$(rpc RecordsService/RecordShift "{\"volunteerId\":\"$vol\",\"organizationId\":\"$c\",\"category\":\"SHIFT_CATEGORY_OTHER\",\"startTime\":\"$(at '-30 hours')\",\"endTime\":\"$(at '-29 hours')\",\"activity\":\"值守\",\"place\":\"检测点\",\"idempotencyKey\":\"p1\"}" | field shift.id)
sql "UPDATE shifts SET status = 'pending', decided_by = '' WHERE id = '$pend'"
rpc RecordsService/VoidEntry "{\"entryId\":\"$pend\",\"reason\":\"wrong volunteer\",\"idempotencyKey\":\"vp\"}" >/dev/null
[ "$(rpc RecordsService/ApproveShift "{\"shiftId\":\"$pend\",\"idempotencyKey\":\"ap\"}" | code)" = failed_precondition ] ||
	fail "a voided shift was approved"
# Its slot is free again.
s4=$(record DISINFECTION '-6 hours' '-5 hours' 4)
[ -n "$s4" ] || fail "the voided shift's slot is still taken"
pass "VoidEntry removes a shift from the totals once and frees its time slot"

# ListEntries: newest first, stable pages while entries are appended.
page1=$(rpc RecordsService/ListEntries "{\"volunteerId\":\"$vol\",\"pageSize\":3}")
token1=$(echo "$page1" | field nextPageToken)
first=$(echo "$page1" | node -e 'const p=JSON.parse(require("fs").readFileSync(0));process.stdout.write(p.entries.map(e=>e.leafIndex).join(","))')
s5=$(record MEDIATION '-2 hours' '-1 hours' 5)
rest=""
tok=$token1
while [ -n "$tok" ]; do
	page=$(rpc RecordsService/ListEntries "{\"volunteerId\":\"$vol\",\"pageSize\":3,\"pageToken\":\"$tok\"}")
	rest="$rest,$(echo "$page" | node -e 'const p=JSON.parse(require("fs").readFileSync(0));process.stdout.write(p.entries.map(e=>e.leafIndex).join(","))')"
	tok=$(echo "$page" | field nextPageToken)
done
all="$first$rest"
expected=$(sql "SELECT string_agg(leaf_index::text, ',' ORDER BY leaf_index DESC) FROM entry_subjects WHERE volunteer_id = '$vol' AND leaf_index <= $(echo "$first" | cut -d, -f1)")
[ "$all" = "$expected" ] || fail "paging: got $all, expected $expected"
kinds=$(rpc RecordsService/ListEntries "{\"volunteerId\":\"$vol\",\"kinds\":[\"entry_voided\"]}" | field entries)
[ "$(echo "$kinds" | node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0)).length))')" = 2 ] || fail "kinds filter: $kinds"
[ "$(rpc RecordsService/ListEntries "{\"volunteerId\":\"$vol\"}" "$VL_TMP/office_c2" | code)" = permission_denied ] || fail "sibling office listed"
[ "$(rpc RecordsService/ListEntries "{\"volunteerId\":\"$vol\",\"organizationId\":\"$c\"}" | code)" = invalid_argument ] || fail "both filters"
orgs=$(rpc RecordsService/ListEntries "{\"organizationId\":\"$s\",\"pageSize\":500}" | field entries | node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0)).length))')
[ "$orgs" -ge 10 ] || fail "organisation listing found only $orgs entries"
pass "ListEntries pages newest first without gaps or repeats while entries are appended; filters and reach hold"
vl_stop main
