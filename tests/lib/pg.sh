# shellcheck shell=bash
# tests/lib/pg.sh - a throwaway PostgreSQL cluster for test scripts.
#
# Usage (bash):
#     source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
#     trap pg_stop_throwaway EXIT
#     pg_start_throwaway
#     vledgerd --database-url "$PG_TEST_URL" ...
#
# pg_start_throwaway creates a cluster in a fresh `mktemp -d` directory,
# listening only on a Unix socket in that directory (no TCP:
# listen_addresses=''), with trust authentication, a superuser `vledger` and
# a database `vledger_test`. It exports
#     PG_TEST_DIR     the directory (data/, postgres.log, the socket)
#     PG_TEST_URL     a libpq URL for vledger_test, for --database-url and psql
#     PG_TEST_BINDIR  where the PostgreSQL programs are (psql is there too)
# pg_stop_throwaway stops the server and removes the directory; it is safe to
# call twice or when nothing was started, so it can be the EXIT trap. Set
# PG_TEST_KEEP=1 to keep the directory (and the server log) for debugging.
#
# As root the cluster runs as the `postgres` user (PostgreSQL refuses to run
# as root); the directory is created under /tmp so that user can reach it.

# Finds the server programs like services/store/embedded_pg.c does:
# $PG_BINDIR, /usr/lib/postgresql/15/bin, the highest
# /usr/lib/postgresql/<N>/bin, then PATH. (`pg_config --bindir` is the client
# directory on Debian, without `postgres`.)
pg_find_bindir() {
	local d best="" bestv=-1 v
	if [[ -n "${PG_BINDIR:-}" ]]; then
		printf '%s\n' "$PG_BINDIR"
		return 0
	fi
	if [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then
		printf '%s\n' /usr/lib/postgresql/15/bin
		return 0
	fi
	for d in /usr/lib/postgresql/*/bin; do
		v=${d#/usr/lib/postgresql/}
		v=${v%/bin}
		[[ "$v" =~ ^[0-9]+$ && -x "$d/postgres" ]] || continue
		if ((v > bestv)); then
			best=$d
			bestv=$v
		fi
	done
	if [[ -n "$best" ]]; then
		printf '%s\n' "$best"
		return 0
	fi
	d=$(command -v postgres 2>/dev/null) || true
	if [[ -n "$d" ]]; then
		dirname "$d"
		return 0
	fi
	echo "pg.sh: PostgreSQL server programs not found (apt-get install postgresql-15, or set PG_BINDIR)" >&2
	return 1
}

# Runs a PostgreSQL program from the bindir, as `postgres` when root.
_pg_run() {
	local prog=$1
	shift
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$PG_TEST_BINDIR/$prog" "$@"
	else
		"$PG_TEST_BINDIR/$prog" "$@"
	fi
}

# Percent-encodes a string for a URL query value.
_pg_urlencode() {
	local s=$1 out="" c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case "$c" in
		[A-Za-z0-9._~/-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s\n' "$out"
}

pg_start_throwaway() {
	local tmp
	PG_TEST_BINDIR=$(pg_find_bindir) || return 1
	export PG_TEST_BINDIR

	if [[ $(id -u) -eq 0 ]]; then
		if ! id postgres >/dev/null 2>&1; then
			echo "pg.sh: running as root needs the postgres user (apt-get install postgresql)" >&2
			return 1
		fi
		# $TMPDIR may be under /root (0700); /tmp is always reachable.
		tmp=/tmp
	else
		tmp=${TMPDIR:-/tmp}
	fi
	PG_TEST_DIR=$(mktemp -d "$tmp/vledger-pg.XXXXXX") || return 1
	export PG_TEST_DIR
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$PG_TEST_DIR"
		if ! runuser -u postgres -- test -x "$PG_TEST_DIR" -a -w "$PG_TEST_DIR"; then
			echo "pg.sh: user postgres cannot use $PG_TEST_DIR (is a parent directory 0700?)" >&2
			return 1
		fi
	fi

	# --no-sync and fsync=off: the cluster is thrown away, durability only
	# costs time here.
	if ! _pg_run initdb -D "$PG_TEST_DIR/data" -U vledger --auth=trust -E UTF8 \
		--locale=C.UTF-8 --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed:" >&2
		cat "$PG_TEST_DIR/initdb.log" >&2
		return 1
	fi
	# pg_ctl passes -o through /bin/sh, hence the quoting of the socket dir.
	if ! _pg_run pg_ctl -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/postgres.log" -w -t 60 \
		-o "-c listen_addresses='' -p 5432 -k '$PG_TEST_DIR' -c unix_socket_permissions=0700 -c fsync=off" \
		start >"$PG_TEST_DIR/pg_ctl.log" 2>&1; then
		echo "pg.sh: pg_ctl start failed:" >&2
		cat "$PG_TEST_DIR/pg_ctl.log" "$PG_TEST_DIR/postgres.log" >&2
		return 1
	fi
	if ! "$PG_TEST_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 \
		"host=$PG_TEST_DIR port=5432 user=vledger dbname=postgres" \
		-c 'CREATE DATABASE vledger_test' >/dev/null; then
		echo "pg.sh: CREATE DATABASE vledger_test failed" >&2
		return 1
	fi
	PG_TEST_URL="postgresql:///vledger_test?host=$(_pg_urlencode "$PG_TEST_DIR")&port=5432&user=vledger"
	export PG_TEST_URL
}

pg_stop_throwaway() {
	local dir=${PG_TEST_DIR:-}
	[[ -n "$dir" && -d "$dir" ]] || return 0
	if [[ -f "$dir/data/postmaster.pid" ]]; then
		# Immediate: nothing in a throwaway cluster is worth a checkpoint.
		_pg_run pg_ctl -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 ||
			echo "pg.sh: pg_ctl stop failed (server log: $dir/postgres.log)" >&2
	fi
	if [[ "${PG_TEST_KEEP:-}" == 1 ]]; then
		echo "pg.sh: kept $dir" >&2
	else
		rm -rf -- "$dir"
	fi
	unset PG_TEST_DIR PG_TEST_URL
	return 0
}
