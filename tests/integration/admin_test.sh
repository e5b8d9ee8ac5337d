#!/usr/bin/env bash
# Tokens and organisations against a real PostgreSQL, seen from the
# database side: secrets never stored or logged, admin.token 0600, one row
# for many concurrent retries of one idempotency key, the tree constraints,
# readiness following the database, and HTTPS.
set -euo pipefail
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
source "$VLEDGER_SOURCE_DIR/tests/integration/lib.sh"
trap 'vl_cleanup; pg_stop_throwaway' EXIT
pg_start_throwaway

vl_start main --database-url "$PG_TEST_URL"
vl_wait_ready main
url=$(vl_url main)
token_file="$VL_TMP/main/state/admin.token"
admin=$(cat "$token_file")
cli() { "$VLEDGER_BIN/vledger" --url "$url" --token-file "$token_file" "$@"; }
call() { # call METHOD JSON -> prints "HTTP-status body"
	curl -sS -o "$VL_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $admin" \
		-H 'Content-Type: application/json' -d "$2" "$url/vledger.v1.AdminService/$1"
	echo " $(cat "$VL_TMP/body")"
}

# admin.token: mode 0600, a 256-bit secret, stored only as a hash.
[ "$(stat -c %a "$token_file")" = 600 ] || fail "admin.token mode is $(stat -c %a "$token_file")"
[[ "$admin" =~ ^vlt_[A-Za-z0-9_-]{43}$ ]] || fail "admin token does not look like vlt_ + 43 base64url characters"
pass "admin.token is 0600 and holds a 256-bit secret"

# A token made through the API: its secret is in the answer only.
district=$(cli call AdminService/CreateOrganization \
	'{"name":"海曙区","kind":"ORGANIZATION_KIND_DISTRICT","idempotencyKey":"it-d1"}' |
	sed -n 's/.*"id": "\(org_[0-9a-f]*\)".*/\1/p' | head -1)
[ -n "$district" ] || fail "CreateOrganization through the CLI returned no id"
out=$(cli call AdminService/CreateToken \
	"{\"organizationId\":\"$district\",\"role\":\"ROLE_OFFICE\",\"idempotencyKey\":\"it-t1\"}")
secret=$(echo "$out" | sed -n 's/.*"secret": "\(vlt_[^"]*\)".*/\1/p')
[ -n "$secret" ] || fail "CreateToken returned no secret: $out"
dump=$(runuser -u postgres -- pg_dump -h "$PG_TEST_DIR" -p 5432 -U vledger vledger_test 2>/dev/null ||
	pg_dump -h "$PG_TEST_DIR" -p 5432 -U vledger vledger_test)
hex_secret=$(printf '%s' "$secret" | od -An -tx1 | tr -d ' \n')
hex_admin=$(printf '%s' "$admin" | od -An -tx1 | tr -d ' \n')
for s in "$secret" "$admin" "$hex_secret" "$hex_admin"; do
	if grep -qF "$s" <<<"$dump"; then fail "a token secret is stored in the database"; fi
	if grep -qF "$s" "$VL_TMP/main/log"; then fail "a token secret is in the log"; fi
done
[ "$(sql "SELECT count(*) FROM tokens WHERE secret_hash = sha256('$secret'::bytea)")" = 1 ] ||
	fail "the token's SHA-256 is not what is stored"
# A retry of CreateToken answers the same token, without the secret.
again=$(cli call AdminService/CreateToken \
	"{\"organizationId\":\"$district\",\"role\":\"ROLE_OFFICE\",\"idempotencyKey\":\"it-t1\"}")
if grep -q '"secret"' <<<"$again"; then fail "a retried CreateToken returned a secret"; fi
[ "$(echo "$again" | grep -o 'tok_[0-9a-f]*' | head -1)" = "$(echo "$out" | grep -o 'tok_[0-9a-f]*' | head -1)" ] ||
	fail "a retried CreateToken made another token"
pass "secrets are neither stored (pg_dump) nor logged; only SHA-256 is kept; a retry does not reveal it"

# The new office token works; revoked, it is refused.
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' \
	-d "{\"id\":\"$district\"}" "$url/vledger.v1.AdminService/GetOrganization")
[ "$status" = 200 ] || fail "office token cannot read its own organisation: $status"
tok=$(echo "$out" | grep -o 'tok_[0-9a-f]*' | head -1)
cli call AdminService/RevokeToken "{\"id\":\"$tok\",\"idempotencyKey\":\"it-r1\"}" >/dev/null
status=$(curl -s -o "$VL_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' \
	-d "{\"id\":\"$district\"}" "$url/vledger.v1.AdminService/GetOrganization")
[ "$status" = 401 ] && grep -q unauthenticated "$VL_TMP/body" || fail "revoked token: $status $(cat "$VL_TMP/body")"
[ "$(sql "SELECT revoke_time IS NOT NULL FROM tokens WHERE id = '$tok'")" = t ] || fail "revoke_time not set"
pass "a revoked token is refused with unauthenticated"

# Twenty concurrent requests with one key: one organisation, one answer.
body='{"name":"Concurrent","kind":"ORGANIZATION_KIND_EMPLOYER","idempotencyKey":"it-same-key"}'
pids=()
for i in $(seq 1 20); do
	curl -sS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d "$body" \
		"$url/vledger.v1.AdminService/CreateOrganization" >"$VL_TMP/conc.$i" &
	pids+=($!)
done
wait "${pids[@]}"
ids=$(cat "$VL_TMP"/conc.* | grep -o 'org_[0-9a-f]*' | sort -u | wc -l)
[ "$ids" = 1 ] || fail "20 concurrent retries answered with $ids different ids: $(cat "$VL_TMP"/conc.1)"
[ "$(sql "SELECT count(*) FROM organizations WHERE name = 'Concurrent'")" = 1 ] || fail "concurrent retries wrote more than one row"
pass "20 concurrent requests with one idempotency key write one organisation"

# The database refuses a tree the API would refuse too (last line of defence).
if sql "INSERT INTO organizations (id, name, kind, created_by) VALUES ('org_x', 'x', 'team', 'tok')" 2>/dev/null; then
	fail "the database accepted a team without a parent"
fi
pass "the organizations table rejects a team without a parent"

# Readiness follows the database: down -> 503, back -> 200.
_pg_run pg_ctl -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null
status=$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")
[ "$status" = 503 ] || fail "/readyz answered $status with the database down"
status=$(curl -s -o "$VL_TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$url/grpc.health.v1.Health/Check")
grep -q -E 'NOT_SERVING|unavailable' "$VL_TMP/body" || fail "Health/Check with the database down: $status $(cat "$VL_TMP/body")"
_pg_run pg_ctl -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/postgres.log" -w -t 60 \
	-o "-c listen_addresses='' -p 5432 -k '$PG_TEST_DIR' -c unix_socket_permissions=0700 -c fsync=off" start >/dev/null
ready=no
for _ in $(seq 1 50); do
	if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; then ready=yes; break; fi
	sleep 0.2
done
[ "$ready" = yes ] || fail "/readyz did not recover after the database came back"
pass "/readyz is 503 while the database is down and 200 once it is back"
vl_stop main

# HTTPS with --tls-cert/--tls-key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-keyout "$VL_TMP/key.pem" -out "$VL_TMP/cert.pem" 2>/dev/null
vl_start tls --database-url "$PG_TEST_URL" --log-key "$VL_TMP/main/state/log.key" --pii-key "$VL_TMP/main/state/pii.key" --tls-cert "$VL_TMP/cert.pem" --tls-key "$VL_TMP/key.pem"
for _ in $(seq 1 100); do
	curl -sk "https://127.0.0.1:${VL_PORT[tls]}/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
[ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:${VL_PORT[tls]}/readyz")" = 200 ] || fail "no HTTPS"
"$VLEDGER_BIN/vledger" --insecure --url "https://127.0.0.1:${VL_PORT[tls]}" health >/dev/null || fail "vledger health over HTTPS"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${VL_PORT[tls]}/readyz" || true)" != 200 ] ||
	fail "plain HTTP answered on the TLS port"
pass "HTTPS with --tls-cert/--tls-key"
vl_stop tls
