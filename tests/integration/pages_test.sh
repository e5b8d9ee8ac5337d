#!/usr/bin/env bash
# The public certificate pages over plain HTTP (curl), against a real
# PostgreSQL: the certificate page and its security headers, the credential
# download and status resources, the verification form's submissions in
# every accepted encoding, redirects, 404/405/410/415, a hostile name
# rendered as text, and GET /credentials/did. The browser side (rendering,
# QR decoding, form clicks) is tests/e2e/certificate_pages.test.mjs.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

vl_start main --database-url "$PG_TEST_URL"
vl_wait_ready main
url=$(vl_url main)
admin="$VL_TMP/main/state/admin.token"
rpc() {
	curl -sS -H "Authorization: Bearer $(cat "$admin")" -H 'Content-Type: application/json' -d "$2" \
		"$url/vledger.v1.$1"
}
field() { node -e 'let v=JSON.parse(require("fs").readFileSync(0));for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v??""))' "$1"; }
# get PATH [curl args...] -> "STATUS" on the first line, headers, body in $VL_TMP/body
get() {
	local path=$1
	shift
	curl -sS -o "$VL_TMP/body" -D "$VL_TMP/headers" -w '%{http_code}' "$@" "$url$path"
}
header() { grep -i "^$1:" "$VL_TMP/headers" | head -n 1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'; }
body_has() { grep -qF -- "$1" "$VL_TMP/body" || fail "${2:-body} lacks: $1"; }
body_lacks() { ! grep -qF -- "$1" "$VL_TMP/body" || fail "${2:-body} has: $1"; }
# req WANT-CODE PATH [curl args...]: get, failing unless the HTTP status is WANT-CODE
req() {
	local want=$1 got
	shift
	got=$(get "$@")
	[ "$got" = "$want" ] || fail "$* answered $got, want $want"
}
status_is() { # WANT (VALID|REVOKED|INVALID|NOT_FOUND) CONTEXT
	grep -qF "data-testid=\"status\" data-status=\"$1\"" "$VL_TMP/body" || fail "$2: status is not $1"
}

# A volunteer with two approved shifts (3.5 hours) and one whose name is markup.
org() { # NAME KIND [PARENT]
	local id
	id=$(rpc AdminService/CreateOrganization "{\"name\":\"$1\",\"kind\":\"ORGANIZATION_KIND_$2\"${3:+,\"parentId\":\"$3\"},\"idempotencyKey\":\"org-$1\"}" |
		field organization.id)
	[ -n "$id" ] || fail "organisation $1"
	echo "$id"
}
d=$(org 海曙区 DISTRICT)
s=$(org 白云街道 SUBDISTRICT "$d")
c=$(org 望春社区 COMMUNITY "$s")
t=$(org 服务队 TEAM "$c")
volunteer() { # NAME-JSON KEY [ID-NUMBER]
	rpc VolunteerService/RegisterVolunteer "{\"organizationId\":\"$t\",\"personalData\":{\"name\":$1${3:+,\"idNumber\":\"$3\"}},\"idempotencyKey\":\"vol-$2\"}" |
		field volunteer.id
}
v1=$(volunteer '"张伟明"' 1 330203199001011236)
v2=$(volunteer '"<script>alert(1)</script>李"' 2)
[ -n "$v1" ] && [ -n "$v2" ] || fail "volunteers"
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
shift_for() { # VOLUNTEER CATEGORY START MINUTES KEY
	rpc RecordsService/RecordShift "{\"volunteerId\":\"$1\",\"organizationId\":\"$t\",\"category\":\"SHIFT_CATEGORY_$2\",\"startTime\":\"$(iso "$3")\",\"endTime\":\"$(iso $(($3 + $4 * 60)))\",\"activity\":\"探访 <b>老人</b>\",\"place\":\"服务站\",\"idempotencyKey\":\"shf-$5\"}" |
		field shift.minutes | grep -qx "$4" || fail "shift $5"
}
shift_for "$v1" ELDERLY_CARE $((now - 5 * 86400)) 150 1
shift_for "$v1" DISINFECTION $((now - 3 * 86400)) 60 2
shift_for "$v2" OTHER $((now - 2 * 86400)) 30 3
issue() { # VOLUNTEER KEY -> the IssueCertificate response
	rpc CertificateService/IssueCertificate "{\"volunteerId\":\"$1\",\"from\":\"$(iso $((now - 10 * 86400)))\",\"to\":\"$(iso $((now - 60)))\",\"title\":\"志愿服务证明 Volunteer Service Certificate\",\"organizationId\":\"$c\",\"idempotencyKey\":\"crt-$2\"}"
}
r1=$(issue "$v1" 1)
n1=$(field certificate.number <<<"$r1")
[[ $n1 =~ ^VLC-[0-9]{4}(-[0-9A-Z]{4}){3}$ ]] || fail "IssueCertificate: $r1"
field certificate.credential <<<"$r1" >"$VL_TMP/cred1.json"
n2=$(issue "$v2" 2 | field certificate.number)
[ -n "$n2" ] || fail "second certificate"

# The certificate page.
req 200 "/certificates/$n1"
[ "$(header content-type)" = "text/html; charset=utf-8" ] || fail "content type $(header content-type)"
csp=$(header content-security-policy)
[[ $csp == *"default-src 'none'"* && $csp == *"form-action 'self'"* && $csp != *script-src* ]] || fail "CSP: $csp"
[ "$(header x-content-type-options)" = nosniff ] || fail "nosniff"
[ "$(header referrer-policy)" = no-referrer ] || fail "referrer policy"
[ "$(header cache-control)" = no-store ] || fail "cache control"
status_is VALID "certificate page"
body_has '<strong data-testid="volunteer-name">张伟明</strong>'
body_has 'data-testid="total-hours">3.5 小时'
body_has "data-testid=\"certificate-number\">$n1<"
body_has '关爱老人'
body_has '探访 &lt;b&gt;老人&lt;/b&gt;'
body_has "1236</span>" "masked id"
body_has "$url/verify/$n1" "QR caption"
body_has '<svg xmlns="http://www.w3.org/2000/svg" class="qr" data-testid="qr"'
body_has "href=\"/certificates/$n1/credential.json\""
body_lacks '<script'
pass "certificate page: the credential's facts, escaped, with security headers"

req 200 "/certificates/$n2"
body_has '&lt;script&gt;alert(1)&lt;/script&gt;李'
body_lacks '<script'
req 200 "/verify/$n2"
body_has '&lt;script&gt;alert(1)&lt;/script&gt;李'
body_lacks '<script'
pass "a name holding <script> is text on both pages"

# credential.json and status.
req 200 "/certificates/$n1/credential.json"
[ "$(header content-disposition)" = "attachment; filename=\"$n1.json\"" ] || fail "disposition $(header content-disposition)"
[[ $(header content-type) == *json* ]] || fail "credential content type"
cmp -s "$VL_TMP/body" "$VL_TMP/cred1.json" || fail "credential.json differs from IssueCertificate's credential"
req 200 "/certificates/$n1/status"
[ "$(cat "$VL_TMP/body")" = "{\"number\":\"$n1\",\"status\":\"VALID\"}" ] || fail "status body $(cat "$VL_TMP/body")"
pass "credential.json (attachment) and status"

# Unknown, malformed and wrong methods.
for p in /certificates/VLC-2026-0000-0000-0000 /certificates/nonsense "/certificates/$n1/other" \
	/certificates/VLC-2026-0000-0000-0000/credential.json /verify/VLC-2026-0000-0000-0000 /verify/x%3Cy; do
	req 404 "$p"
done
req 404 /certificates/nonsense/status
[ "$(cat "$VL_TMP/body")" = '{"number":"nonsense","status":"NOT_FOUND"}' ] || fail "malformed status body"
req 404 /verify/x%3Cy
status_is NOT_FOUND "malformed verify"
body_lacks 'x<y'
req 405 "/certificates/$n1" -X POST
[ "$(header allow)" = GET ] || fail "POST certificate: 405 Allow GET"
req 405 /verify -X PUT
[ "$(header allow)" = "GET, POST" ] || fail "PUT /verify: 405 Allow GET, POST"
req 405 "/verify/$n1" -X POST
[ "$(header allow)" = GET ] || fail "POST /verify/n: 405"
pass "404 for unknown and malformed numbers, 405 with Allow"

# The form and its submissions.
req 200 /verify
for id in verify-number-input verify-file-input verify-submit-number verify-submit-file; do
	body_has "data-testid=\"$id\""
done
lower=$(tr 'A-Z' 'a-z' <<<"$n1")
req 303 "/verify?number=+$lower+"
[ "$(header location)" = "/verify/$n1" ] || fail "number redirect"
req 303 "/verify?number=$url/verify/$n1"
[ "$(header location)" = "/verify/$n1" ] || fail "URL redirect"
req 404 "/verify?number=garbage"
status_is NOT_FOUND "garbage number"
req 400 "/verify?number="
req 200 "/verify/$n1"
status_is VALID "verify page"
body_has '<strong data-testid="volunteer-name">张伟明</strong>'
req 200 /verify -F "credential=@$VL_TMP/cred1.json"
status_is VALID "multipart"
req 200 /verify -H 'Content-Type: application/json' --data-binary "@$VL_TMP/cred1.json"
status_is VALID "raw JSON"
req 200 /verify --data-binary "@$VL_TMP/cred1.json"
status_is VALID "curl --data-binary"
req 200 /verify --data-urlencode "credential@$VL_TMP/cred1.json"
status_is VALID "urlencoded"
sed 's/"totalMinutes":210/"totalMinutes":211/' "$VL_TMP/cred1.json" >"$VL_TMP/altered.json"
! cmp -s "$VL_TMP/cred1.json" "$VL_TMP/altered.json" || fail "the alteration did not apply"
req 200 /verify -F "credential=@$VL_TMP/altered.json"
status_is INVALID "altered"
body_lacks 'data-testid="volunteer-name"'
req 400 /verify -F 'other=1'
req 415 /verify -H 'Content-Type: text/plain' -d x
req 303 /verify -F "number=$n1"
pass "the verification form: numbers, files in every encoding, altered files INVALID"

# Revoked, then erased.
rpc CertificateService/RevokeCertificate "{\"number\":\"$n1\",\"reason\":\"记录有误 <wrong>\",\"idempotencyKey\":\"rvk-1\"}" |
	field certificate.status | grep -qx CERTIFICATE_STATUS_REVOKED || fail "revoke"
req 200 "/certificates/$n1"
status_is REVOKED "revoked page"
body_has '已撤销 REVOKED'
body_has '记录有误 &lt;wrong&gt;'
req 200 "/verify/$n1"
status_is REVOKED "revoked verify"
req 200 /verify -F "credential=@$VL_TMP/cred1.json"
status_is REVOKED "revoked file"
get "/certificates/$n1/status" >/dev/null
node -e 'const s=JSON.parse(require("fs").readFileSync(0));if(s.status!=="REVOKED"||!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(s.revokeTime)||s.revokeReason!=="记录有误 <wrong>")process.exit(1)' \
	<"$VL_TMP/body" || fail "revoked status $(cat "$VL_TMP/body")"
pass "revoked: banner, reason escaped, status JSON"

rpc VolunteerService/EraseVolunteerPersonalData "{\"volunteerId\":\"$v1\",\"reason\":\"request\",\"idempotencyKey\":\"er-1\"}" |
	field volunteer.eraseTime | grep -q . || fail "erase"
req 200 "/certificates/$n1"
status_is REVOKED "erased page"
body_has 'personal data was erased'
body_lacks '张伟明'
req 410 "/certificates/$n1/credential.json"
pass "after erasure: status and number only, credential.json 410"

req 200 /credentials/did
[ "$(cat "$VL_TMP/body")" = "$(cat "$VL_TMP/main/state/credential.did")" ] || fail "did differs from credential.did"
req 405 /credentials/did -X POST
pass "GET /credentials/did"

vl_stop main
