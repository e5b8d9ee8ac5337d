#!/usr/bin/env bash
# Installs the Debian 12 packages vledger needs, only those missing.
#
#   scripts/install-deps.sh run    # build and run the service
#   scripts/install-deps.sh test   # also what the test suite needs
#
# As root it runs apt-get; otherwise it prints the exact command to run and
# exits 1, so nothing is half-installed behind your back.
set -euo pipefail

what=${1:-run}
packages=(
	gcc make cmake pkg-config libc6-dev
	libevent-dev libjansson-dev libssl-dev libpq-dev
	libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev libqrencode-dev
	postgresql-15 postgresql-client-15 curl ca-certificates
)
if [ "$what" = test ]; then
	packages+=(openssl procps util-linux)
	# Go's golang.org/x/mod/sumdb/{note,tlog}: an independent implementation
	# of signed notes and tiled logs that checks ours (tests/interop/).
	packages+=(golang-go golang-golang-x-mod-dev)
	# Node.js runs the end-to-end tests (Connect for Node, buf curl from
	# npm). Any Node >= 18 works; keep one that is already installed.
	command -v node >/dev/null 2>&1 || packages+=(nodejs)
	command -v npm >/dev/null 2>&1 || packages+=(npm)
	# Browser tests of the certificate pages: Debian's Chromium (driven by
	# playwright-core from npm), CJK fonts for it to render Chinese, and
	# zbarimg to decode the QR code in the screenshot.
	packages+=(chromium fonts-noto-cjk zbar-tools)
elif [ "$what" != run ]; then
	echo "usage: $0 run|test" >&2
	exit 2
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "vledger needs these Debian packages: ${missing[*]}" >&2
	echo "install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
