#!/usr/bin/env bash
# Builds vledger and runs vledgerd with its embedded PostgreSQL.
#
#   scripts/run.sh [vledgerd flags...]
#
# Installs missing Debian packages (as root; otherwise prints the command),
# builds into build/, starts vledgerd (default state dir ./var, reused on
# every run, never wiped) and prints where it listens and where the admin
# token is. Ctrl-C stops it gracefully (and the embedded PostgreSQL with it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh run
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

export VLEDGER_LISTEN=${VLEDGER_LISTEN:-127.0.0.1:8080}
state_dir=${VLEDGER_STATE_DIR:-$root/var}
# As root, the embedded PostgreSQL runs as the `postgres` user, which must
# be able to reach the state directory. A checkout under /root is not
# reachable; then use /var/lib/vledger instead, and say so.
if [ "$(id -u)" -eq 0 ] && [ -z "${VLEDGER_DATABASE_URL:-}" ] && [ -z "${VLEDGER_STATE_DIR:-}" ]; then
	mkdir -p "$state_dir"
	if ! runuser -u "${VLEDGER_EMBEDDED_PG_USER:-postgres}" -- test -x "$state_dir"; then
		echo "note: $state_dir is not reachable by the postgres user; using /var/lib/vledger" >&2
		state_dir=/var/lib/vledger
	fi
fi
export VLEDGER_STATE_DIR=$state_dir

build/bin/vledgerd "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM

url="http://$VLEDGER_LISTEN"
for _ in $(seq 1 120); do
	if curl -fsS "$url/readyz" >/dev/null 2>&1; then
		cat <<MSG

vledgerd is ready at $url
  admin token:  $state_dir/admin.token   (mode 0600; send it as "Authorization: Bearer <token>")
  log vkey:     $(cat "$state_dir/log.vkey" 2>/dev/null)
                (verify checkpoints and receipts with it; also at $url/log/vkey)
  credentials:  $(cat "$state_dir/credential.did" 2>/dev/null)
                (signs certificates; verify-certificate --key takes it; also at $url/credentials/did)
  verify page:  $url/verify   (certificates: $url/certificates/<number>)
  health:       build/bin/vledger --url $url health
  try:          build/bin/vledger --url $url --token-file $state_dir/admin.token call AdminService/ListOrganizations
  stop:         Ctrl-C (or kill -TERM $pid)

MSG
		break
	fi
	if ! kill -0 $pid 2>/dev/null; then
		wait $pid
		exit $?
	fi
	sleep 0.5
done
wait $pid
