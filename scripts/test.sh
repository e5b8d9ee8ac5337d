#!/usr/bin/env bash
# Runs every test: unit (C, under AddressSanitizer and
# UndefinedBehaviorSanitizer), integration (the daemon against a real
# PostgreSQL the tests start) and end-to-end (Connect for Node and buf curl
# against the running daemon). This is what .ci/run calls.
#
#   scripts/test.sh [ctest args...]    e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test
# The optimised build that scripts/run.sh uses: -O2 finds warnings (and so,
# with -Werror, errors) that the sanitizer build does not.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cmake -S . -B build-test -DVLEDGER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-test -j"$(nproc)"
# Leak reports fail the run; ASan's own messages name the test that leaked.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build-test --output-on-failure --timeout 600 -j2 "$@"
