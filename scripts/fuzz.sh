#!/usr/bin/env bash
# Longer fuzzing run of the input parsers (tests/fuzz.rs, proptest): the mapping TOML, CSV and
# NDJSON rows through the load path, the pages' and the API's query strings, and the body of
# POST /api/v1/events. Not in the default suite, which runs a few cases of each.
#
#   scripts/fuzz.sh [CASES=500]        # cases per property (PROPTEST_CASES)
#
# Prints the cases each property ran; a failure prints the smallest input found (proptest
# shrinks it): add it to tests/fuzz.rs as a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-${PROPTEST_CASES:-500}}
log=${FUZZ_LOG:-fuzz-$(date -u +%Y%m%dT%H%M%S).log}
start=$(date +%s)
set +e
PROPTEST_CASES=$cases cargo test --features ssr --test fuzz -- --nocapture --test-threads=1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
echo "cases per property: $cases; $(( $(date +%s) - start )) s; log in $log"
grep -E '^fuzz [a-z]+: [0-9]+ cases' "$log" || true
grep -E '^test .* (ok|FAILED)$' "$log" || true
exit "$status"
