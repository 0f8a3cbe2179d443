#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, formatting, clippy (ssr and hydrate), the
# dependency audit, cargo tests (ssr and hydrate builds), the site build, and Playwright
# end-to-end tests in Debian's chromium, hydrated and with JavaScript disabled, against the
# demo data set.
#
# Every step runs even when an earlier one failed, so one run shows every problem; the last
# line is "N passed, N failed" over cargo tests, Playwright tests and the lint steps, and the
# exit code is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/omnikpi/target}"
export CARGO_TERM_COLOR=never

passed=0
failed=0
failures=()
logs=$(mktemp -d)
started=$(date +%s)

note_fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAILED: $1"; }

# A lint-like step counts as one test.
check() {
  local name=$1; shift
  echo; echo "==> $name"
  if "$@"; then passed=$((passed + 1)); else note_fail "$name"; fi
}

# Adds the counts of every "test result:" line of a cargo test log.
count_cargo() {
  local p f
  read -r p f < <(awk '/^test result:/ {
      for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
    } END { print p + 0, f + 0 }' "$1")
  passed=$((passed + p))
  failed=$((failed + f))
}

cargo_tests() {
  local name=$1; shift
  echo; echo "==> $name"
  local log="$logs/$name.log" status
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  count_cargo "$log"
  if grep -E '^test .* FAILED$' "$log" | sed 's/^/  /'; then
    failures+=("$name")
  elif [ "$status" -ne 0 ]; then
    # A crash (a test binary that aborts, a library that does not load) prints no FAILED
    # line; the exit code still tells.
    note_fail "$name (exit $status)"
  fi
}

echo "==> set-up"
if ! scripts/setup.sh --browser; then
  echo "set-up failed; nothing can be tested"; echo "0 passed, 1 failed"; exit 1
fi

check "cargo fmt --check" cargo fmt --all -- --check
# The spark feature adds the Spark engine and tests/spark.rs (a loopback Spark cluster).
check "clippy (ssr)" cargo clippy --features ssr,spark --all-targets -- -D warnings
check "clippy (hydrate)" cargo clippy --lib --no-default-features --features hydrate \
  --target wasm32-unknown-unknown -- -D warnings
# Known vulnerabilities in the dependencies (docs/security.md), against the advisory database
# snapshot kept in .cargo/advisory-db (set-up installed cargo-audit), then proof that the
# audit can fail: a lock file with a planted vulnerability must be refused, naming it.
check "cargo audit" scripts/audit.sh
audit_refuses_a_vulnerable_lock() {
  local out
  if out=$(scripts/audit.sh --lock tests/fixtures/audit/vulnerable.lock 2>&1); then
    echo "$out"; echo "the audit passed a lock file with smallvec 1.6.0 (RUSTSEC-2021-0003)"
    return 1
  fi
  if ! grep -q 'RUSTSEC-2021-0003' <<<"$out"; then
    echo "$out"; echo "the audit failed without naming RUSTSEC-2021-0003"
    return 1
  fi
  echo "refused, naming RUSTSEC-2021-0003 (smallvec 1.6.0)"
}
check "cargo audit refuses a planted vulnerability" audit_refuses_a_vulnerable_lock
# A hung test must fail the run, not eat CI's time limit. The ssr tests take about 25 min on
# 2 cores (their build included); 40 min leaves room for a slow machine inside CI's 90.
cargo_tests "cargo test (ssr)" timeout 2400 cargo test --features ssr,spark --no-fail-fast
cargo_tests "cargo test (hydrate)" cargo test --lib --no-default-features --features hydrate

echo; echo "==> cargo leptos build"
if cargo leptos build; then
  e2e_dir=$(mktemp -d)
  export OMNIKPI_E2E_DB="$e2e_dir/e2e.duckdb"
  export OMNIKPI_BIN="$CARGO_TARGET_DIR/debug/omnikpi"
  echo; echo "==> demo data for the end-to-end tests"
  if "$OMNIKPI_BIN" --db "$OMNIKPI_E2E_DB" demo --end 2026-06-30 --dir "$e2e_dir/demo" >"$logs/demo.log" 2>&1; then
    tail -n 5 "$logs/demo.log"
    echo; echo "==> Playwright (hydrated and no-JS)"
    json=end2end/test-results/results.json
    rm -f "$json"
    # The config's reporters: a list on the terminal and JSON for the counts below.
    npx playwright test --config end2end/playwright.config.ts >"$logs/e2e.out" 2>"$logs/e2e.err"
    e2e_status=$?
    grep -E '✓|✘|passed|failed|flaky|skipped|Error' "$logs/e2e.out" | tail -n 80
    # A panic in a request drops its connection: the browser sees an empty response, and a
    # test that happens to retry or not look would pass. Any server panic fails the suite.
    panics=$(grep -c 'panicked at' "$logs/e2e.err" || true)
    if [ "$panics" -gt 0 ]; then
      grep -A1 'panicked at' "$logs/e2e.err" | grep -v -- '^--$' | head -n 20
      note_fail "server panicked $panics times during Playwright"
    fi
    if [ -s "$json" ]; then
      read -r p f errors < <(node -e '
        const r = require(process.argv[1]);
        const s = r.stats || {};
        console.log((s.expected || 0) + (s.flaky || 0), s.unexpected || 0, (r.errors || []).length);
      ' "$PWD/$json")
      passed=$((passed + p)); failed=$((failed + f))
      [ "$f" -eq 0 ] || failures+=("Playwright")
      [ "$errors" -eq 0 ] || note_fail "Playwright: $errors errors outside tests (see above)"
      [ "$p" -gt 0 ] || note_fail "Playwright ran no test"
      if [ "$e2e_status" -ne 0 ] && [ "$f" -eq 0 ] && [ "$errors" -eq 0 ]; then
        note_fail "Playwright (exit $e2e_status)"
      fi
    else
      tail -n 40 "$logs/e2e.out"; cat "$logs/e2e.err"; note_fail "Playwright (no results)"
    fi
  else
    cat "$logs/demo.log"; note_fail "demo data set"
  fi
else
  note_fail "cargo leptos build"
fi

echo
echo "==> summary ($(( $(date +%s) - started )) s)"
if [ ${#failures[@]} -gt 0 ]; then
  printf '  failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
