#!/usr/bin/env bash
# Incentive points against a real PostgreSQL: the policy is recorded in the
# log when it changes; balances follow approved shifts and corrections; 50
# concurrent redemptions against a balance that covers 10 let exactly 10
# through and the balance ends at zero, never below.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

cat >"$VL_TMP/policy.json" <<'JSON'
{"pointsPerHour": {"default": 10, "elderly_care": 20}, "measuredOnly": false,
 "commendationBonus": {"team": 5, "community": 50}}
JSON
"$VLEDGER_BIN/vledger" keygen "$VL_TMP/log.key" >/dev/null
"$VLEDGER_BIN/vledger" pii-keygen "$VL_TMP/pii.key" >/dev/null
keys=(--log-key "$VL_TMP/log.key" --pii-key "$VL_TMP/pii.key")
vl_start main --database-url "$PG_TEST_URL" "${keys[@]}" --points-policy "$VL_TMP/policy.json"
vl_wait_ready main
url=$(vl_url main)
admin_file="$VL_TMP/main/state/admin.token"
rpc() { curl -sS -H "Authorization: Bearer $(cat "${3:-$admin_file}")" -H 'Content-Type: application/json' -d "$2" "$url/vledger.v1.$1"; }
field() { node -e 'let v=JSON.parse(require("fs").readFileSync(0));for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v??""))' "$1"; }
at() { date -u -d "$1" +%FT%TZ; }

[ "$(sql "SELECT count(*) FROM points_policies")" = 1 ] || fail "the policy was not recorded"
[ "$(sql "SELECT count(*) FROM log_entries WHERE kind = 'points_policy_set'")" = 1 ] || fail "no points_policy_set entry"
sql "SELECT convert_from(entry, 'UTF8') FROM log_entries WHERE kind = 'points_policy_set'" | grep -q '"elderly_care":20' ||
	fail "the entry does not hold the policy"
pass "the points policy in force is a log entry"

d=$(rpc AdminService/CreateOrganization '{"name":"D","kind":"ORGANIZATION_KIND_DISTRICT","idempotencyKey":"d"}' | field organization.id)
s=$(rpc AdminService/CreateOrganization "{\"name\":\"S\",\"kind\":\"ORGANIZATION_KIND_SUBDISTRICT\",\"parentId\":\"$d\",\"idempotencyKey\":\"s\"}" | field organization.id)
c=$(rpc AdminService/CreateOrganization "{\"name\":\"C\",\"kind\":\"ORGANIZATION_KIND_COMMUNITY\",\"parentId\":\"$s\",\"idempotencyKey\":\"c\"}" | field organization.id)
vol=$(rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$c\",\"personalData\":{\"name\":\"钱七\"},\"idempotencyKey\":\"v\"}" | field volunteer.id)
record() { rpc RecordsService/RecordShift "{\"volunteerId\":\"$vol\",\"organizationId\":\"$c\",\"category\":\"SHIFT_CATEGORY_$1\",\"startTime\":\"$(at "$2")\",\"endTime\":\"$(at "$3")\",\"activity\":\"服务\",\"place\":\"社区\",\"idempotencyKey\":\"r$4\"}" | field shift.id; }
balance() { local v; v=$(rpc PointsService/GetPointsBalance "{\"volunteerId\":\"$vol\"}" | field "${1:-balance}"); echo "${v:-0}"; }  # proto3 JSON omits zeros
s1=$(record ELDERLY_CARE '-20 hours' '-17 hours -30 minutes' 1)   # 2.5 h x 20 = 50
s2=$(record PUBLICITY '-10 hours' '-9 hours' 2)                    # 1 h x 10 = 10
[ "$(balance)" = 60 ] || fail "balance after two shifts: $(balance), expected 60"
rpc RecordsService/VoidEntry "{\"entryId\":\"$s2\",\"reason\":\"duplicate\",\"idempotencyKey\":\"void\"}" >/dev/null
[ "$(balance)" = 50 ] || fail "balance after voiding a shift: $(balance), expected 50"
rpc RecordsService/AmendShift "{\"shiftId\":\"$s1\",\"fields\":[\"endTime\"],\"endTime\":\"$(at '-15 hours')\",\"reason\":\"longer\",\"idempotencyKey\":\"am\"}" >/dev/null
[ "$(balance)" = 100 ] || fail "balance after amending to 5 h: $(balance), expected 100"
[ "$(rpc RecordsService/GetVolunteerSummary "{\"volunteerId\":\"$vol\"}" | field summary.pointsBalance)" = 100 ] ||
	fail "the summary's points balance differs"
pass "balances follow approved shifts and corrections under the policy (60, 50 after a void, 100 after an amendment)"

# A shift recorded by a team leader counts only once approved.
token=$(rpc AdminService/CreateToken "{\"organizationId\":\"$c\",\"role\":\"ROLE_OFFICE\",\"idempotencyKey\":\"tok\"}" | field secret)
printf '%s\n' "$token" >"$VL_TMP/office"

# The race: a balance of 100 covers 10 redemptions of 10.
pids=()
for i in $(seq 1 50); do
	rpc PointsService/RedeemPoints "{\"volunteerId\":\"$vol\",\"points\":10,\"reason\":\"社区积分超市\",\"idempotencyKey\":\"race$i\"}" "$VL_TMP/office" >"$VL_TMP/redeem.$i" &
	pids+=($!)
done
wait "${pids[@]}"
won=$(grep -l redemptionId "$VL_TMP"/redeem.* | wc -l)
short=$(grep -l '"code":"failed_precondition"' "$VL_TMP"/redeem.* | wc -l)
[ "$won" = 10 ] && [ "$short" = 40 ] || fail "50 racing redemptions: $won succeeded, $short refused (expected 10 and 40)"
grep -h '"message"' "$VL_TMP"/redeem.* | head -1 | grep -q 'points: the balance is 0' || fail "refusal message: $(grep -h message "$VL_TMP"/redeem.* | head -1)"
[ "$(balance)" = 0 ] && [ "$(balance redeemed)" = 100 ] || fail "after the race: balance $(balance), redeemed $(balance redeemed)"
[ "$(sql "SELECT count(*) FROM log_entries WHERE kind = 'points_redeemed'")" = 10 ] || fail "not 10 points_redeemed entries"
# A retry of a winner is answered from its record and spends nothing.
winner=$(grep -l redemptionId "$VL_TMP"/redeem.* | head -1 | sed 's/.*redeem\.//')
again=$(rpc PointsService/RedeemPoints "{\"volunteerId\":\"$vol\",\"points\":10,\"reason\":\"社区积分超市\",\"idempotencyKey\":\"race$winner\"}" "$VL_TMP/office")
[ "$(echo "$again" | field redemptionId)" = "$(field redemptionId <"$VL_TMP/redeem.$winner")" ] || fail "retry: $again"
[ "$(sql "SELECT count(*) FROM points_redemptions")" = 10 ] || fail "a retry redeemed again"
pass "50 concurrent redemptions of 10 against 100 points: exactly 10 succeed, the balance ends at 0"

# Refusals name the field and write nothing.
code() { field code; }
size=$(sql "SELECT count(*) FROM log_entries")
[ "$(rpc PointsService/RedeemPoints "{\"volunteerId\":\"$vol\",\"points\":0,\"reason\":\"x\",\"idempotencyKey\":\"z1\"}" | code)" = invalid_argument ] || fail "0 points"
[ "$(rpc PointsService/RedeemPoints "{\"volunteerId\":\"vol_000000000000000000000000\",\"points\":1,\"reason\":\"x\",\"idempotencyKey\":\"z2\"}" | code)" = not_found ] || fail "unknown volunteer"
[ "$(rpc PointsService/RedeemPoints "{\"volunteerId\":\"$vol\",\"points\":1,\"reason\":\"\",\"idempotencyKey\":\"z3\"}" | code)" = invalid_argument ] || fail "no reason"
[ "$(sql "SELECT count(*) FROM log_entries")" = "$size" ] || fail "a refused redemption wrote to the log"
pass "refused redemptions name the field and write nothing"
vl_stop main

# A changed policy is recorded once, as version 2; an unchanged one is not.
sed -i 's/"default": 10/"default": 12/' "$VL_TMP/policy.json"
vl_start again --database-url "$PG_TEST_URL" "${keys[@]}" --points-policy "$VL_TMP/policy.json"
vl_wait_ready again
vl_stop again
vl_start third --database-url "$PG_TEST_URL" "${keys[@]}" --points-policy "$VL_TMP/policy.json"
vl_wait_ready third
vl_stop third
[ "$(sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM points_policies")" = 1,2 ] || fail "policy versions: $(sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM points_policies")"
echo '{"pointsPerHour": {"gardening": 5}}' >"$VL_TMP/bad.json"
status=0
timeout 30 "$VLEDGER_BIN/vledgerd" --listen 127.0.0.1:0 --state-dir "$VL_TMP/bad" --database-url "$PG_TEST_URL" "${keys[@]}" \
	--points-policy "$VL_TMP/bad.json" >"$VL_TMP/bad.log" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q "pointsPerHour.gardening" "$VL_TMP/bad.log" || fail "a bad policy was accepted: $(tail -1 "$VL_TMP/bad.log")"
pass "a changed policy becomes version 2 once; a bad policy stops startup naming the key"

# A time-bank policy: a cap of 100 and points that expire after 12 months.
echo '{"pointsPerHour": {"default": 60}, "cap": 100, "expiryMonths": 12}' >"$VL_TMP/timebank.json"
vl_start bank --database-url "$PG_TEST_URL" "${keys[@]}" --points-policy "$VL_TMP/timebank.json"
vl_wait_ready bank
url=$(vl_url bank)
vol=$(rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$c\",\"personalData\":{\"name\":\"孙八\"},\"idempotencyKey\":\"v2\"}" | field volunteer.id)
a=$(record OTHER '-30 hours' '-29 hours' a)
b=$(record OTHER '-28 hours' '-27 hours' b)
[ "$(balance)" = 100 ] || fail "the cap: two hours at 60 give $(balance), expected 100"
rpc PointsService/RedeemPoints "{\"volunteerId\":\"$vol\",\"points\":30,\"reason\":\"时间银行兑换\",\"idempotencyKey\":\"bank1\"}" >/dev/null
[ "$(balance)" = 70 ] || fail "after redeeming 30 under the cap: $(balance), expected 70"
# Move the first shift's points 13 months back (and the policy with them):
# they expired before the redemption, which then spent the second's.
sql "UPDATE points_policies SET effective_time = now() - interval '2 years';
     UPDATE shifts SET decide_time = now() - interval '13 months' WHERE id = '$a'"
[ "$(balance)" = 30 ] || fail "with the first 60 points expired: $(balance), expected 30"
[ "$(rpc RecordsService/GetVolunteerSummary "{\"volunteerId\":\"$vol\"}" | field summary.pointsBalance)" = 30 ] ||
	fail "the summary disagrees with the balance"
pass "a policy's cap keeps the balance at 100, and points expire 12 months after they were earned, oldest spent first"
vl_stop bank

