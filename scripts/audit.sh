#!/usr/bin/env bash
# Dependency audit: checks Cargo.lock against the RustSec advisory database with cargo-audit,
# offline, using the snapshot of the database kept in .cargo/advisory-db (see its README.md and
# docs/security.md). scripts/setup.sh installs cargo-audit; `make test` runs this script.
#
#   scripts/audit.sh                  # audit Cargo.lock against the snapshot (2-4 s)
#   scripts/audit.sh --lock FILE      # audit another lock file (the suite's planted one)
#   scripts/audit.sh --refresh        # where the internet is reachable: download the current
#                                     # database, replace the snapshot with it, then audit
#   ADVISORY_DB=DIR scripts/audit.sh  # a local checkout of the database instead of the snapshot
#   ADVISORY_DB_URL=URL scripts/audit.sh --refresh   # refresh from a mirror instead
#
# Every finding fails the audit (exit 1): vulnerabilities, and "unmaintained" or "unsound"
# notices, except those listed with their reason in .cargo/audit.toml. Exit 2: the audit
# could not run (cargo-audit missing, no snapshot, refresh impossible).
set -euo pipefail
cd "$(dirname "$0")/.."

SNAPSHOTS=.cargo/advisory-db
# ADVISORY_DB_URL: another clone source (a mirror, or a local repository to try --refresh).
UPSTREAM=${ADVISORY_DB_URL:-https://github.com/rustsec/advisory-db.git}
CARGO_AUDIT=${CARGO_AUDIT:-$HOME/.cache/omnikpi/audit-venv/bin/cargo-audit}

lock=Cargo.lock
refresh=false
while [ $# -gt 0 ]; do
  case "$1" in
    --lock) lock=${2:?--lock needs a file}; shift 2 ;;
    --refresh) refresh=true; shift ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "audit.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "audit.sh: $*" >&2; exit 2; }

if [ ! -x "$CARGO_AUDIT" ]; then
  CARGO_AUDIT=$(command -v cargo-audit || true)
  [ -n "$CARGO_AUDIT" ] || fail "cargo-audit is not installed: run scripts/setup.sh"
fi
[ -f "$lock" ] || fail "no lock file $lock"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Replaces the snapshot with the database's current main branch: its crates/ and rust/ folders
# packed as advisory-db-<commit>.tar.gz, and the README's snapshot line rewritten.
refresh_snapshot() {
  command -v git >/dev/null 2>&1 || fail "--refresh needs git"
  echo "downloading the advisory database from $UPSTREAM"
  if ! GIT_TERMINAL_PROMPT=0 timeout 300 git clone --quiet --depth 1 "$UPSTREAM" "$work/upstream" 2>"$work/clone.err"; then
    sed 's/^/  /' "$work/clone.err" >&2
    fail "cannot download the advisory database from $UPSTREAM (is the internet reachable from here?); the snapshot in $SNAPSHOTS is unchanged"
  fi
  [ -d "$work/upstream/crates" ] || fail "the download has no crates/ folder; the snapshot is unchanged"
  local commit short date count
  commit=$(git -C "$work/upstream" log -1 --format=%H)
  short=${commit:0:7}
  date=$(git -C "$work/upstream" log -1 --format=%cs)
  count=$(find "$work/upstream/crates" -name 'RUSTSEC-*.md' | wc -l)
  tar -C "$work/upstream" --sort=name --owner=0 --group=0 --numeric-owner \
    -czf "$work/advisory-db-$short.tar.gz" crates rust
  rm -f "$SNAPSHOTS"/advisory-db-*.tar.gz
  mv "$work/advisory-db-$short.tar.gz" "$SNAPSHOTS/"
  sed -i "s|^Snapshot: .*|Snapshot: \`advisory-db-$short.tar.gz\`, commit $commit of $date, $count crate advisories.|" \
    "$SNAPSHOTS/README.md"
  echo "snapshot replaced: $SNAPSHOTS/advisory-db-$short.tar.gz ($date, $count crate advisories); commit it"
}

if $refresh; then
  refresh_snapshot
fi

if [ -n "${ADVISORY_DB:-}" ]; then
  [ -d "$ADVISORY_DB/crates" ] || fail "ADVISORY_DB=$ADVISORY_DB is not a checkout of the advisory database (no crates/)"
  db=$ADVISORY_DB
  echo "advisory database: $db, last commit $(git -C "$db" log -1 --format='%h %cs' 2>/dev/null || echo unknown)"
else
  shopt -s nullglob
  snapshots=("$SNAPSHOTS"/advisory-db-*.tar.gz)
  shopt -u nullglob
  [ ${#snapshots[@]} -eq 1 ] || fail "expected one advisory-db-*.tar.gz in $SNAPSHOTS, found ${#snapshots[@]}"
  # cargo-audit writes a lock file beside the database folder, so it is unpacked one level
  # down in a folder of our own.
  db=$work/advisory-db
  mkdir -p "$db"
  tar -C "$db" -xzf "${snapshots[0]}"
  # A snapshot is only as good as its date: say it on every run.
  echo "advisory database: $(sed -n 's/^Snapshot: //p' "$SNAPSHOTS/README.md")"
fi

# -n: never fetch (the database is the one above); --no-yanked: no query of the crate index;
# --stale: a snapshot older than cargo-audit's 90 days is still used (its date is printed).
"$CARGO_AUDIT" audit --no-fetch --no-yanked --stale --color never --db "$db" --file "$lock"
