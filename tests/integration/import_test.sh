#!/usr/bin/env bash
# `vledger import-shifts` against a real PostgreSQL: the sample spreadsheet
# export (Chinese header, BOM, quoted commas, quotes and line breaks) records
# its good rows and says why each bad one was refused; importing it again
# (CRLF, or other spellings in another column order) records nothing twice
# and adds nothing to the log; a changed row is a new request; a bad header
# sends nothing.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

vl_start main --database-url "$PG_TEST_URL"
vl_wait_ready main
url=$(vl_url main)
token_file="$VL_TMP/main/state/admin.token"
rpc() {
	curl -sS -H "Authorization: Bearer $(cat "$token_file")" -H 'Content-Type: application/json' -d "$2" \
		"$url/vledger.v1.$1"
}
field() { node -e 'let v=JSON.parse(require("fs").readFileSync(0));for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v??""))' "$1"; }
size() { rpc LogService/GetCheckpoint '{}' | field treeSize; }
# RecordShift requests the daemon has seen (its request log)
sent() { grep -c 'rpc=vledger.v1.RecordsService/RecordShift' "$VL_TMP/main/log" || true; }
# import FILE [flags...]: stdout to $VL_TMP/out, stderr to $VL_TMP/err, status in $rc
import() {
	local file=$1
	shift
	rc=0
	"$VLEDGER_BIN/vledger" --url "$url" --token-file "$token_file" import-shifts "$@" "$file" \
		>"$VL_TMP/out" 2>"$VL_TMP/err" || rc=$?
}
expect_line() { grep -qxE -- "$1" "$VL_TMP/out" || fail "no line /$1/ in: $(cat "$VL_TMP/out" "$VL_TMP/err")"; }

d=$(rpc AdminService/CreateOrganization '{"name":"海曙区","kind":"ORGANIZATION_KIND_DISTRICT","idempotencyKey":"d"}' | field organization.id)
s=$(rpc AdminService/CreateOrganization "{\"name\":\"南门街道\",\"kind\":\"ORGANIZATION_KIND_SUBDISTRICT\",\"parentId\":\"$d\",\"idempotencyKey\":\"s\"}" | field organization.id)
c=$(rpc AdminService/CreateOrganization "{\"name\":\"幸福里社区\",\"kind\":\"ORGANIZATION_KIND_COMMUNITY\",\"parentId\":\"$s\",\"idempotencyKey\":\"c\"}" | field organization.id)
team=$(rpc AdminService/CreateOrganization "{\"name\":\"幸福里志愿服务队\",\"kind\":\"ORGANIZATION_KIND_TEAM\",\"parentId\":\"$c\",\"idempotencyKey\":\"t\"}" | field organization.id)
v1=$(rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$team\",\"personalData\":{\"name\":\"王五\"},\"idempotencyKey\":\"v1\"}" | field volunteer.id)
v2=$(rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$team\",\"personalData\":{\"name\":\"李梅\"},\"idempotencyKey\":\"v2\"}" | field volunteer.id)
[ -n "$team" ] && [ -n "$v1" ] && [ -n "$v2" ] || fail "setup: team=$team v1=$v1 v2=$v2"

csv="$VL_TMP/shifts.csv"
sed -e "s/{VOL1}/$v1/g" -e "s/{VOL2}/$v2/g" -e "s/{TEAM}/$team/g" "$VLEDGER_SOURCE_DIR/tests/data/shifts_sample.csv" >"$csv"
[ "$(head -c 3 "$csv" | od -An -tx1 | tr -d ' ')" = efbbbf ] || fail "the sample lost its BOM"

# A dry run checks locally and sends nothing.
before_sent=$(sent)
import "$csv" --dry-run
[ "$rc" = 1 ] || fail "dry run: exit $rc"
expect_line 'row 2: valid \(270 minutes\)'
expect_line 'row 8: rejected: invalid_argument: category: unknown category "扫雪".*'
expect_line '12 rows: 10 valid, 2 rejected \(dry run: nothing sent\)'
[ "$(sent)" = "$before_sent" ] || fail "a dry run sent requests"
pass "--dry-run checks categories and times locally and sends nothing"

before=$(size)
import "$csv"
[ "$rc" = 1 ] || fail "first import: exit $rc, want 1: $(cat "$VL_TMP/out" "$VL_TMP/err")"
for rm in 2:270 3:180 4:120 5:150 7:90 9:120 10:120 12:90; do
	expect_line "row ${rm%:*}: recorded shf_[0-9a-f]{24} \\(${rm#*:} minutes\\)"
done
expect_line 'row 6: rejected: invalid_argument: endTime: must be after startTime'
expect_line 'row 8: rejected: invalid_argument: category: unknown category "扫雪".*'
expect_line 'row 11: rejected: not_found: volunteerId: no such volunteer'
expect_line 'row 13: rejected: failed_precondition: startTime: overlaps shift shf_[0-9a-f]+ .*'
expect_line '12 rows: 8 recorded, 4 rejected'
[ "$(grep -c '^row ' "$VL_TMP/out")" = 12 ] || fail "not one line per row: $(cat "$VL_TMP/out")"
first_ids=$(grep -E '^row [0-9]+: recorded' "$VL_TMP/out" | grep -oE 'shf_[0-9a-f]{24}' | LC_ALL=C sort)
row2=$(sed -n 's/^row 2: recorded \(shf_[0-9a-f]*\).*/\1/p' "$VL_TMP/out")
grep -q "^row 13: .*overlaps shift $row2 " "$VL_TMP/out" || fail "row 13 should overlap row 2's $row2"
pass "first import: 8 rows recorded with their minutes; rows 6, 8, 11, 13 rejected with code and field"

listing() {
	sql "SELECT string_agg(format('%s|%s|%s|%s|%s', CASE volunteer_id WHEN '$v1' THEN 'V1' WHEN '$v2' THEN 'V2' END,
		category, to_char(start_time AT TIME ZONE INTERVAL '08:00', 'MM-DD HH24:MI'), minutes, activity),
		E'\n' ORDER BY start_time) FROM shifts"
}
want="V1|testing_site|04-06 07:00|270|全员核酸检测
V1|supply_delivery|04-06 14:00|180|蔬菜包配送，1-5号楼
V2|elderly_care|04-07 09:00|120|独居老人上门探访
V2|disinfection|04-07 14:00|150|公共区域消杀
V2|building_sweep|04-08 08:00|120|楼栋清扫
V1|publicity|04-08 09:00|90|防疫知识宣传
V1|psychological_support|04-09 09:00|120|隔离居民电话疏导
V2|mediation|04-09 19:00|90|邻里噪音纠纷调解"
[ "$(listing)" = "$want" ] || fail "the database holds: $(listing)"
[ "$(sql "SELECT string_agg(id, E'\n' ORDER BY id) FROM shifts")" = "$first_ids" ] ||
	fail "the ids printed are not the ids stored"
[ "$(sql "SELECT note FROM shifts WHERE activity = '蔬菜包配送，1-5号楼'")" = '共送出120份, 其中"爱心菜"20份' ] ||
	fail "quoted field with a comma and \"\": $(sql "SELECT note FROM shifts WHERE activity = '蔬菜包配送，1-5号楼'")"
[ "$(sql "SELECT note = E'量血压、代买药品\\n下次带老花镜' AND grid = '第二网格' AND beneficiary = '张奶奶' AND role = '探访员'
	FROM shifts WHERE activity = '独居老人上门探访'")" = t ] || fail "quoted field with a line break"
after=$(size)
[ "$after" = $((before + 8)) ] || fail "the log grew from $before to $after, want 8 entries"
pass "the database holds exactly the 8 good rows (CST times, quoted text intact); the log grew by 8"

# The same file again, with CRLF line ends (inside the quotes too).
sed 's/$/\r/' "$csv" >"$VL_TMP/crlf.csv"
sent_before=$(sent)
import "$VL_TMP/crlf.csv"
[ "$rc" = 1 ] || fail "second import: exit $rc"
for r in 2 3 4 5 7 9 10 12; do
	expect_line "row $r: already recorded shf_[0-9a-f]{24} \\([0-9]+ minutes\\)"
done
expect_line 'row 11: rejected: not_found: volunteerId: no such volunteer'
expect_line 'row 13: rejected: failed_precondition: startTime: overlaps shift .*'
expect_line '12 rows: 0 recorded, 8 already recorded, 4 rejected'
[ "$(grep -E 'already recorded' "$VL_TMP/out" | grep -oE 'shf_[0-9a-f]{24}' | LC_ALL=C sort)" = "$first_ids" ] ||
	fail "the re-run answered other shifts: $(cat "$VL_TMP/out")"
[ "$(listing)" = "$want" ] || fail "after the re-run the database holds: $(listing)"
[ "$(size)" = "$after" ] || fail "the re-run grew the log from $after to $(size)"
[ "$(($(sent) - sent_before))" = 10 ] || fail "the re-run sent $(($(sent) - sent_before)) requests, want 10"
pass "re-run (CRLF): every good row 'already recorded' with its first id; nothing recorded twice, the log did not grow"

# Rows 3 and 10 again, in English columns in another order, other spellings
# of category and time (UTC, CST with seconds), the token from the
# environment and the flags after the command; row 3 twice.
cat >"$VL_TMP/english.csv" <<EOF
note,activity,place,startTime,endTime,category,volunteerId,organizationId,grid,beneficiary,role
"共送出120份, 其中""爱心菜""20份",蔬菜包配送，1-5号楼,幸福里小区1-5号楼,2022-04-06T06:00:00Z,2022-04-06T09:00:00.000Z,supply_delivery,$v1,$team,第一网格,居民,配送员
,隔离居民电话疏导,社区居委会,2022-04-09 09:00:00,2022-04-09T11:00:00+08:00,SHIFT_CATEGORY_PSYCHOLOGICAL_SUPPORT,$v1,$team,,隔离居民,
,,,,,,,,,,
"共送出120份, 其中""爱心菜""20份",  蔬菜包配送，1-5号楼 ,幸福里小区1-5号楼,2022/4/6 14:00,2022-04-06 17:00,物资配送,$v1,$team,第一网格,居民,配送员
EOF
rc=0
VLEDGER_TOKEN=$(cat "$token_file") "$VLEDGER_BIN/vledger" import-shifts --url "$url" "$VL_TMP/english.csv" \
	>"$VL_TMP/out" 2>"$VL_TMP/err" || rc=$?
[ "$rc" = 0 ] || fail "English header: exit $rc: $(cat "$VL_TMP/out" "$VL_TMP/err")"
row3=$(sql "SELECT id FROM shifts WHERE activity = '蔬菜包配送，1-5号楼'")
row10=$(sql "SELECT id FROM shifts WHERE activity = '隔离居民电话疏导'")
expect_line "row 2: already recorded $row3 \\(180 minutes\\)"
expect_line "row 3: already recorded $row10 \\(120 minutes\\)"
expect_line "row 5: already recorded $row3 \\(the same as row 2\\)"
expect_line '3 rows: 0 recorded, 3 already recorded, 0 rejected'
[ "$(size)" = "$after" ] && [ "$(listing)" = "$want" ] || fail "other spellings recorded something"
pass "the same rows in English columns, other order and spellings get the same keys; blank rows are skipped"

# A changed row is a new request (here refused: it overlaps the original);
# a row that is not UTF-8 (a GBK export) is refused by the tool.
{
	printf '志愿者编号,组织编号,服务类别,开始时间,结束时间,活动名称,服务地点,备注\n'
	printf '%s,%s,调解,2022-04-09 19:00,2022-04-09 20:30,邻里噪音纠纷调解,幸福里小区4号楼,已和解\n' "$v2" "$team"
	printf '%s,%s,宣传,2022-04-10 09:00,2022-04-10 10:00,\xd5\xc5\xcc\xf9\xcd\xa8\xd6\xaa,社区广场,\n' "$v2" "$team"
} >"$VL_TMP/changed.csv"
import "$VL_TMP/changed.csv"
[ "$rc" = 1 ] || fail "changed row: exit $rc"
expect_line 'row 2: rejected: failed_precondition: startTime: overlaps shift shf_[0-9a-f]+ .*'
expect_line 'row 3: rejected: invalid_argument: activity: not valid UTF-8.*'
[ "$(size)" = "$after" ] || fail "a refused row grew the log"
pass "a changed row gets a new key (and meets the overlap check); invalid UTF-8 is refused per row"

# Header errors: exit 2 before anything is sent.
printf 'volunteerId,organizationId,category,startTime,endTime,activity,place,颜色\n%s,%s,消杀,2022-04-11 09:00,2022-04-11 10:00,消杀,楼道,红\n' \
	"$v1" "$team" >"$VL_TMP/unknown.csv"
sent_before=$(sent)
import "$VL_TMP/unknown.csv"
[ "$rc" = 2 ] || fail "unknown column: exit $rc"
grep -q 'unknown column "颜色"' "$VL_TMP/err" || fail "unknown column not named: $(cat "$VL_TMP/err")"
[ ! -s "$VL_TMP/out" ] || fail "unknown column: printed $(cat "$VL_TMP/out")"
printf '志愿者编号,组织编号,开始时间,结束时间,活动名称,服务地点\n' >"$VL_TMP/missing.csv"
import "$VL_TMP/missing.csv"
[ "$rc" = 2 ] && grep -q 'missing required column category (服务类别)' "$VL_TMP/err" ||
	fail "missing column: exit $rc: $(cat "$VL_TMP/err")"
printf 'volunteerId,organizationId,category,startTime,endTime,activity,place\n%s,%s,消杀,2022-04-11 09:00,2022-04-11 10:00,"消杀,楼道\n' \
	"$v1" "$team" >"$VL_TMP/open.csv"
import "$VL_TMP/open.csv"
[ "$rc" = 2 ] && grep -q 'unterminated quoted field starting on line 2' "$VL_TMP/err" ||
	fail "unterminated quote: exit $rc: $(cat "$VL_TMP/err")"
[ "$(sent)" = "$sent_before" ] && [ "$(size)" = "$after" ] || fail "a file with a bad header sent requests"
pass "an unknown or missing column, or an unterminated quote: exit 2, nothing sent"

rc=0
VLEDGER_TOKEN=vlt_not-a-token "$VLEDGER_BIN/vledger" --url "$url" import-shifts "$csv" >"$VL_TMP/out" 2>"$VL_TMP/err" ||
	rc=$?
[ "$rc" = 2 ] && [ "$(grep -c '^row ' "$VL_TMP/out")" = 1 ] && expect_line 'row 2: rejected: unauthenticated: .*' ||
	fail "unknown token: exit $rc: $(cat "$VL_TMP/out" "$VL_TMP/err")"
pass "a refused token stops the import after the first row: exit 2"
vl_stop main
