#!/usr/bin/env bash
# store_test.sh - runs the store integration driver (tests/integration/
# store_test.c: the pool, SQLSTATE mapping, migrations, the embedded cluster)
# against a throwaway PostgreSQL. ctest sets VLEDGER_BIN and
# VLEDGER_SOURCE_DIR; the driver is built into $VLEDGER_BIN/../tests.
set -euo pipefail

: "${VLEDGER_BIN:?VLEDGER_BIN must point at the bin directory of the build}"
: "${VLEDGER_SOURCE_DIR:?VLEDGER_SOURCE_DIR must point at the source tree}"
driver="$VLEDGER_BIN/../tests/store_test"
if [[ ! -x "$driver" ]]; then
	echo "store_test.sh: $driver not built" >&2
	exit 1
fi

# shellcheck source=SCRIPTDIR/../lib/pg.sh
source "$VLEDGER_SOURCE_DIR/tests/lib/pg.sh"
trap pg_stop_throwaway EXIT
pg_start_throwaway

"$driver" "$PG_TEST_URL"
