#!/usr/bin/env bash
# Dependency audit: checks Cargo.lock against the RustSec advisory database with cargo-audit
# (install it once with `cargo install cargo-audit --locked`). See docs/security.md.
#
#   scripts/audit.sh                       # with internet: fetches the database from GitHub
#   ADVISORY_DB=/srv/advisory-db scripts/audit.sh
#                                          # offline: a local git checkout of
#                                          # https://github.com/rustsec/advisory-db
#
# Advisories that do not apply to omnikpi are listed, each with its reason, in
# .cargo/audit.toml; anything else fails the audit (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo-audit >/dev/null 2>&1; then
  echo "cargo-audit is not installed: cargo install cargo-audit --locked" >&2
  exit 2
fi
args=()
if [ -n "${ADVISORY_DB:-}" ]; then
  if [ ! -d "$ADVISORY_DB/crates" ]; then
    echo "ADVISORY_DB=$ADVISORY_DB is not a checkout of the advisory database (no crates/)" >&2
    exit 2
  fi
  # A local snapshot is as fresh as its last commit: say how old it is, and accept it even
  # when cargo-audit would call it stale (older than 90 days).
  echo "advisory database: $ADVISORY_DB, last commit $(git -C "$ADVISORY_DB" log -1 --format='%h %cI' 2>/dev/null || echo unknown)"
  args+=(--db "$ADVISORY_DB" --no-fetch --stale)
fi
exec cargo audit "${args[@]}" "$@"
