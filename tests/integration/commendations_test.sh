#!/usr/bin/env bash
# Commendations against a real PostgreSQL: who may award which level (an
# office up to its own rank, CITY by admin tokens only; a level above the
# awarding organisation's rank is permission_denied naming level), the
# volunteer in the awarding organisation or below it, the validation errors
# each naming its field, related shifts of the volunteer only, idempotent
# retries, the commendation_awarded entries, and who may list them. Every
# refused request leaves the log as it was.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

vl_start main --database-url "$PG_TEST_URL"
vl_wait_ready main
url=$(vl_url main)
admin="$VL_TMP/main/state/admin.token"
# rpc SERVICE/METHOD JSON [TOKEN-FILE|-] -> the response JSON (errors too) on stdout
rpc() {
	local auth=()
	[ "${3:-$admin}" = - ] || auth=(-H "Authorization: Bearer $(cat "${3:-$admin}")")
	curl -sS "${auth[@]}" -H 'Content-Type: application/json' -d "$2" "$url/vledger.v1.$1"
}
field() { node -e 'let v=JSON.parse(require("fs").readFileSync(0));for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v??""))' "$1"; }
size() { rpc LogService/GetCheckpoint '{}' - | field treeSize; }
# merge BASE-JSON OVERRIDES-JSON -> BASE with OVERRIDES' keys replaced (null: removed)
merge() { node -e 'const [b,o]=process.argv.slice(1).map(JSON.parse);for(const k in o){if(o[k]===null)delete b[k];else b[k]=o[k]}process.stdout.write(JSON.stringify(b))' "$1" "$2"; }

# The tree: D > S > C > T, a sibling community C2 under S, an employer E.
org() { # NAME KIND [PARENT]
	local id
	id=$(rpc AdminService/CreateOrganization "{\"name\":\"$1\",\"kind\":\"ORGANIZATION_KIND_$2\"${3:+,\"parentId\":\"$3\"},\"idempotencyKey\":\"org-$1\"}" |
		field organization.id)
	[ -n "$id" ] || fail "organisation $1"
	echo "$id"
}
d=$(org D DISTRICT)
s=$(org S SUBDISTRICT "$d")
c=$(org C COMMUNITY "$s")
t=$(org T TEAM "$c")
c2=$(org C2 COMMUNITY "$s")
e=$(org E EMPLOYER)
token() { # FILE-NAME ROLE [ORG]
	local secret
	secret=$(rpc AdminService/CreateToken "{\"role\":\"ROLE_$2\"${3:+,\"organizationId\":\"$3\"},\"idempotencyKey\":\"tok-$1\"}" |
		field secret)
	[ -n "$secret" ] || fail "token $1"
	printf '%s' "$secret" >"$VL_TMP/$1.token"
	echo "$VL_TMP/$1.token"
}
office_d=$(token office_d OFFICE "$d")
office_s=$(token office_s OFFICE "$s")
office_c=$(token office_c OFFICE "$c")
office_c2=$(token office_c2 OFFICE "$c2")
leader_t=$(token leader_t TEAM_LEADER "$t")
employer=$(token employer EMPLOYER "$e")
auditor=$(token auditor AUDITOR)

volunteer() { # KEY ORG
	local id
	id=$(rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$2\",\"personalData\":{\"name\":\"$1\"},\"idempotencyKey\":\"vol-$1\"}" |
		field volunteer.id)
	[ -n "$id" ] || fail "volunteer $1"
	echo "$id"
}
vol=$(volunteer a "$t")   # in the team
vol2=$(volunteer b "$c2")  # in the sibling community
shift_of() { # KEY VOLUNTEER ORG HOURS-AGO [TOKEN-FILE]
	local id
	id=$(rpc RecordsService/RecordShift "{\"volunteerId\":\"$2\",\"organizationId\":\"$3\",\"category\":\"SHIFT_CATEGORY_BUILDING_SWEEP\",\"startTime\":\"$(date -u -d "-$4 hours" +%FT%TZ)\",\"endTime\":\"$(date -u -d "-$(($4 - 1)) hours" +%FT%TZ)\",\"activity\":\"扫楼\",\"place\":\"3号楼\",\"idempotencyKey\":\"sh-$1\"}" "${5:-$admin}" |
		field shift.id)
	[ -n "$id" ] || fail "shift $1"
	echo "$id"
}
sh_ok=$(shift_of ok "$vol" "$t" 10)                        # approved
sh_pending=$(shift_of pending "$vol" "$t" 8 "$leader_t")   # pending: allowed
sh_rejected=$(shift_of rejected "$vol" "$t" 6 "$leader_t")
rpc RecordsService/RejectShift "{\"shiftId\":\"$sh_rejected\",\"reason\":\"重复\",\"idempotencyKey\":\"rej\"}" |
	grep -q SHIFT_STATUS_REJECTED || fail "reject shift"
sh_voided=$(shift_of voided "$vol" "$t" 4)
sql "UPDATE shifts SET voided = true WHERE id = '$sh_voided'"
sh_other=$(shift_of other "$vol2" "$c2" 10)

# award TOKEN-FILE VOLUNTEER ORG LEVEL OVERRIDES WANT [FIELD]
# WANT is "ok" or a Connect code; a refusal must name FIELD (when given)
# first in its message and leave the log's size unchanged; an award must
# add exactly its entry, with the request's facts.
n=0
last=""
award() {
	local tok=$1 vol_id=$2 org_id=$3 level=$4 extra=$5 want=$6 want_field=${7:-} body resp before after code msg
	n=$((n + 1))
	body=$(merge "{\"volunteerId\":\"$vol_id\",\"organizationId\":\"$org_id\",\"level\":\"COMMENDATION_LEVEL_$level\",\"title\":\"抗疫先锋\",\"idempotencyKey\":\"a-$n\"}" "$extra")
	before=$(size)
	resp=$(rpc CommendationService/AwardCommendation "$body" "$tok")
	after=$(size)
	if [ "$want" = ok ]; then
		[ -n "$(echo "$resp" | field commendation.id)" ] || fail "#$n $(basename "$tok") $level: refused: $resp (body $body)"
		[ "$after" = $((before + 1)) ] || fail "#$n: the log grew from $before to $after"
		check_award "$body" "$resp"
		last=$resp
	else
		code=$(echo "$resp" | field code)
		msg=$(echo "$resp" | field message)
		[ "$code" = "$want" ] || fail "#$n $(basename "$tok") $level: want $want${want_field:+ naming $want_field}, got $resp (body $body)"
		[ -z "$want_field" ] || [[ "$msg" == "$want_field:"* ]] ||
			fail "#$n: the message does not name $want_field first: $msg"
		[ "$after" = "$before" ] || fail "#$n: a refused request ($code) grew the log from $before to $after"
	fi
}
# The response and its receipt's entry hold what was asked, nothing more.
check_award() {
	node -e '
const [body, resp] = process.argv.slice(1).map(JSON.parse);
const c = resp.commendation, e = JSON.parse(Buffer.from(resp.receipt.entry, "base64").toString());
const fail = (m) => { console.error(m, JSON.stringify(resp), JSON.stringify(e)); process.exit(1); };
const level = body.level.replace("COMMENDATION_LEVEL_", "").toLowerCase();
const ids = body.relatedShiftIds ?? [];
if (!/^cmd_[0-9a-f]{24}$/.test(c.id)) fail("id");
if (c.volunteerId !== body.volunteerId || c.organizationId !== body.organizationId || c.level !== body.level ||
    c.title !== body.title || (c.citation ?? "") !== (body.citation ?? "") ||
    JSON.stringify(c.relatedShiftIds ?? []) !== JSON.stringify(ids) || !/^tok_/.test(c.awardedBy) || c.voided ||
    !c.awardTime) fail("commendation");
if (e.kind !== "commendation_awarded" || e.actor !== c.awardedBy || !e.time) fail("entry header");
const want = {id: c.id, volunteerId: body.volunteerId, organizationId: body.organizationId, level, title: body.title};
if (body.citation) want.citation = body.citation;
if (ids.length) want.relatedShiftIds = ids;
const sorted = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
if (sorted(e.commendation) !== sorted(want)) fail("entry facts: want " + sorted(want));
if (Object.keys(e).sort().join() !== "actor,commendation,kind,time") fail("entry keys");
' "$1" "$2" || fail "award #$n: response or entry wrong"
}

# Who may award which level. Ranks: TEAM 1 COMMUNITY 2 SUBDISTRICT 3
# DISTRICT 4 CITY 5; a community is 2, a sub-district 3, a district 4.
award "$office_c" "$vol" "$c" TEAM '{}' ok
award "$office_c" "$vol" "$c" COMMUNITY '{}' ok
award "$office_c" "$vol" "$c" SUBDISTRICT '{}' permission_denied level
award "$office_c" "$vol" "$c" DISTRICT '{}' permission_denied level
award "$office_c" "$vol" "$c" CITY '{}' permission_denied level
award "$office_s" "$vol" "$s" SUBDISTRICT '{}' ok
award "$office_s" "$vol" "$s" DISTRICT '{}' permission_denied level
award "$office_s" "$vol" "$c" COMMUNITY '{}' ok
award "$office_s" "$vol" "$c" SUBDISTRICT '{}' permission_denied level
award "$office_d" "$vol" "$d" DISTRICT '{}' ok
award "$office_d" "$vol" "$d" CITY '{}' permission_denied level
award "$office_d" "$vol" "$c" SUBDISTRICT '{}' permission_denied level
award "$admin" "$vol" "$c" DISTRICT '{}' permission_denied level
award "$admin" "$vol" "$d" CITY '{}' ok
award "$admin" "$vol" "$c" CITY '{}' ok
pass "levels: a community office TEAM/COMMUNITY, a sub-district up to SUBDISTRICT, a district up to DISTRICT (by the awarding organisation's rank, else permission_denied naming level), CITY with admin tokens only"

award "$leader_t" "$vol" "$c" TEAM '{}' permission_denied
award "$employer" "$vol" "$c" TEAM '{}' permission_denied
award "$auditor" "$vol" "$c" TEAM '{}' permission_denied
award "$office_c2" "$vol" "$c" TEAM '{}' permission_denied organizationId
award "$office_c" "$vol" "$s" TEAM '{}' permission_denied organizationId
award "$admin" "$vol" "$t" TEAM '{}' invalid_argument organizationId
award "$office_c" "$vol" "$t" TEAM '{}' invalid_argument organizationId
award "$admin" "$vol" "$e" TEAM '{}' invalid_argument organizationId
award "$admin" "$vol" org_000000000000000000000000 TEAM '{}' not_found organizationId
award "$admin" vol_000000000000000000000000 "$c" TEAM '{}' not_found volunteerId
award "$office_c" "$vol2" "$c" TEAM '{}' permission_denied volunteerId
award "$office_s" "$vol2" "$c" TEAM '{}' permission_denied volunteerId
award "$admin" "$vol2" "$c" COMMUNITY '{}' permission_denied volunteerId
award "$office_s" "$vol2" "$s" TEAM '{}' ok
pass "roles admin and office only; the awarding organisation known, in reach, an office; the volunteer in it or below it"

long=$(printf '%0101d' 0)
award "$office_c" "$vol" "$c" UNSPECIFIED '{}' invalid_argument level
award "$office_c" "$vol" "$c" TEAM '{"level":null}' invalid_argument level
award "$office_c" "$vol" "$c" TEAM '{"volunteerId":""}' invalid_argument volunteerId
award "$office_c" "$vol" "$c" TEAM '{"organizationId":""}' invalid_argument organizationId
award "$office_c" "$vol" "$c" TEAM '{"idempotencyKey":null}' invalid_argument idempotencyKey
award "$office_c" "$vol" "$c" TEAM '{"title":""}' invalid_argument title
award "$office_c" "$vol" "$c" TEAM '{"title":"   "}' invalid_argument title
award "$office_c" "$vol" "$c" TEAM "{\"title\":\"$long\"}" invalid_argument title
award "$office_c" "$vol" "$c" TEAM "{\"title\":\"${long:1}\"}" ok
award "$office_c" "$vol" "$c" TEAM '{"title":"两行\n标题"}' invalid_argument title
award "$office_c" "$vol" "$c" TEAM "{\"citation\":\"$(printf '%01001d' 0)\"}" invalid_argument citation
award "$office_c" "$vol" "$c" TEAM '{"citation":"tab\there"}' invalid_argument citation
award "$office_c" "$vol" "$c" TEAM '{"citation":"bell\u0007"}' invalid_argument citation
award "$office_c" "$vol" "$c" TEAM "{\"citation\":\"在疫情期间连续值守三十天，\n风雨无阻。$(printf '%0970d' 0)\"}" ok
pass "validation: level, ids, key, title (1..100, one line), citation (<= 1000, newlines only) each named"

ids51=$(node -e 'process.stdout.write(JSON.stringify(Array.from({length:51},(_, i)=>"shf_"+String(i).padStart(24,"0"))))')
award "$office_c" "$vol" "$c" TEAM "{\"relatedShiftIds\":$ids51}" invalid_argument relatedShiftIds
award "$office_c" "$vol" "$c" TEAM "{\"relatedShiftIds\":[\"$sh_other\"]}" invalid_argument 'relatedShiftIds[0]'
award "$office_s" "$vol" "$s" TEAM "{\"relatedShiftIds\":[\"$sh_ok\",\"$sh_other\"]}" invalid_argument 'relatedShiftIds[1]'
award "$office_c" "$vol" "$c" TEAM "{\"relatedShiftIds\":[\"$sh_ok\",\"$sh_rejected\"]}" invalid_argument 'relatedShiftIds[1]'
award "$office_c" "$vol" "$c" TEAM "{\"relatedShiftIds\":[\"$sh_voided\"]}" invalid_argument 'relatedShiftIds[0]'
award "$office_c" "$vol" "$c" TEAM '{"relatedShiftIds":["shf_000000000000000000000000"]}' invalid_argument 'relatedShiftIds[0]'
award "$office_c" "$vol" "$c" TEAM "{\"relatedShiftIds\":[\"$sh_ok\",\"$sh_ok\"]}" invalid_argument 'relatedShiftIds[1]'
award "$office_c" "$vol" "$c" TEAM "{\"relatedShiftIds\":[\"$sh_ok\",\"\"]}" invalid_argument 'relatedShiftIds[1]'
award "$office_c" "$vol" "$c" COMMUNITY "{\"relatedShiftIds\":[\"$sh_ok\",\"$sh_pending\"],\"citation\":\"连续两周扫楼\"}" ok
related=$last
pass "related shifts: at most 50, the volunteer's own, not rejected, not voided, no repeats (relatedShiftIds[i] named)"

# An idempotent retry: the same commendation and receipt, nothing written.
# The same key with another request: already_exists.
key_body="{\"volunteerId\":\"$vol\",\"organizationId\":\"$c\",\"level\":\"COMMENDATION_LEVEL_COMMUNITY\",\"title\":\"最美志愿者\",\"relatedShiftIds\":[\"$sh_ok\"],\"idempotencyKey\":\"retry\"}"
first=$(rpc CommendationService/AwardCommendation "$key_body" "$office_c")
[ -n "$(echo "$first" | field commendation.id)" ] || fail "award: $first"
rows=$(sql "SELECT count(*) FROM commendations")
before=$(size)
again=$(rpc CommendationService/AwardCommendation "$key_body" "$office_c")
[ "$again" = "$first" ] || fail "a retry answered otherwise: $first vs $again"
[ "$(size)" = "$before" ] && [ "$(sql "SELECT count(*) FROM commendations")" = "$rows" ] || fail "a retry wrote something"
other=$(rpc CommendationService/AwardCommendation "$(merge "$key_body" '{"title":"另一个"}')" "$office_c")
[ "$(echo "$other" | field code)" = already_exists ] || fail "same key, other request: $other"
[ "$(size)" = "$before" ] || fail "a conflicting retry grew the log"
pass "a retry returns the same commendation and receipt and writes nothing; the key with another request is already_exists"

# The receipt verifies offline against the log's key.
echo "$related" >"$VL_TMP/receipt.json"
"$VLEDGER_BIN/vledger" verify-receipt --vkey "$VL_TMP/main/state/log.vkey" "$VL_TMP/receipt.json" >/dev/null ||
	fail "the receipt does not verify"
pass "a commendation's receipt verifies with vledger verify-receipt"

# ListCommendations: who may see, newest first, the period, voided ones gone.
list() { rpc CommendationService/ListCommendations "$1" "${2:-$admin}"; }
all=$(list "{\"volunteerId\":\"$vol\"}")
count=$(sql "SELECT count(*) FROM commendations WHERE volunteer_id = '$vol'")
node -e '
const [r, count] = [JSON.parse(process.argv[1]), Number(process.argv[2])];
const l = r.commendations ?? [];
const t = l.map((c) => Date.parse(c.awardTime));
if (l.length !== count || t.some((x, i) => i > 0 && x > t[i - 1])) process.exit(1);
' "$all" "$count" || fail "admin list: want $count newest first, got $all"
for tok in "$office_c" "$office_s" "$office_d" "$leader_t"; do
	[ "$(list "{\"volunteerId\":\"$vol\"}" "$tok")" = "$all" ] || fail "$(basename "$tok") does not see the same list"
done
for tok in "$office_c2" "$employer" "$auditor"; do
	[ "$(list "{\"volunteerId\":\"$vol\"}" "$tok" | field code)" = permission_denied ] ||
		fail "$(basename "$tok") may list the commendations"
done
[[ "$(list "{\"volunteerId\":\"$vol\"}" "$office_c2" | field message)" == volunteerId:* ]] || fail "the refusal names volunteerId"
[ "$(list '{"volunteerId":"vol_000000000000000000000000"}' | field code)" = not_found ] || fail "unknown volunteer"
[ "$(list '{}' | field code)" = invalid_argument ] || fail "no volunteer"
[ "$(list "{\"volunteerId\":\"$vol\",\"from\":\"2030-01-01T00:00:00Z\",\"to\":\"2029-01-01T00:00:00Z\"}" | field code)" = invalid_argument ] ||
	fail "to before from"
[ "$(list "{\"volunteerId\":\"$vol2\"}" "$office_c2" | field commendations)" != "" ] || fail "office_c2 cannot list vol2"
pass "ListCommendations: admin, offices at or above, the team leader; a sibling office, employers and auditors are permission_denied"

[ "$(list "{\"volunteerId\":\"$vol\",\"from\":\"$(date -u -d '+1 hour' +%FT%TZ)\"}" | field commendations)" = "" ] ||
	fail "a future period is not empty"
[ "$(list "{\"volunteerId\":\"$vol\",\"to\":\"$(date -u -d '-1 hour' +%FT%TZ)\"}" | field commendations)" = "" ] ||
	fail "a past period is not empty"
newest=$(echo "$all" | node -e 'const l=JSON.parse(require("fs").readFileSync(0)).commendations;process.stdout.write(l[0].id+" "+l[0].awardTime)')
from=${newest#* }
in_period=$(list "{\"volunteerId\":\"$vol\",\"from\":\"$from\"}" | node -e 'process.stdout.write((JSON.parse(require("fs").readFileSync(0)).commendations??[]).map(c=>c.id).join(" "))')
[ "$in_period" = "${newest% *}" ] || fail "from the newest award time: want ${newest% *}, got $in_period"
sql "UPDATE commendations SET voided = true WHERE id = '${newest% *}'"
if list "{\"volunteerId\":\"$vol\"}" | grep -q "${newest% *}"; then fail "a voided commendation is listed"; fi
[ "$(list "{\"volunteerId\":\"$vol\"}" | node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0)).commendations.length))')" = $((count - 1)) ] ||
	fail "voiding one commendation changed the list by more than one"
get=$(curl -sS -H "Authorization: Bearer $(cat "$admin")" -G "$url/vledger.v1.CommendationService/ListCommendations" \
	--data-urlencode connect=v1 --data-urlencode encoding=json --data-urlencode "message={\"volunteerId\":\"$vol\"}")
[ "$get" = "$(list "{\"volunteerId\":\"$vol\"}")" ] || fail "GET ListCommendations: $get"
pass "the period is by award time [from, to); voided commendations are not listed; GET works"
vl_stop main
