#!/usr/bin/env bash
# Faults, backup and restore at scale (issue #24; docs/soak.md has a run's figures): writes
# the demo's export files for about EVENTS events, loads every source but the e-mail export,
# then kills -9:
#   1. the e-mail load KILL_AFTER seconds in;
#   2. the e-mail load at the fault point `rollup.merged` (its rollup rows merged, not yet
#      committed: the kill lands inside rollup maintenance, whatever the machine's speed);
#   3. a full identity rebuild at `identity.events_moved` (events moved to their new customers
#      and the rollups patched half-way);
#   4. a `rollup rebuild` KILL_REBUILD_AFTER seconds in.
# After each kill it checks that the database opens as it was before the write (events,
# amounts, distinct event ids, identified events, customers) and that `rollup verify` is clean.
# Then it loads the e-mail export for real, verifies again, backs the database up, restores it
# into a new file and compares the two (events, amounts, and every KPI of the last 12 months).
# Every step prints its time and peak memory.
#
#   scripts/faults.sh [EVENTS=10000000] [WORK=a new temporary folder]
#   env: OMNIKPI_BIN (default $CARGO_TARGET_DIR/debug/omnikpi), KILL_AFTER (60),
#        KILL_REBUILD_AFTER (5), OMNIKPI_MEMORY_LIMIT (6GB)
#
# Needs the binary, python3 with the duckdb module (to count rows without omnikpi's own
# start-up) and about 2.5 GB of disk per 10M events.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000}
work=${2:-$(mktemp -d)}
bin=${OMNIKPI_BIN:-${CARGO_TARGET_DIR:-target}/debug/omnikpi}
kill_after=${KILL_AFTER:-60}
kill_rebuild_after=${KILL_REBUILD_AFTER:-5}
export OMNIKPI_MEMORY_LIMIT=${OMNIKPI_MEMORY_LIMIT:-6GB} OMNIKPI_LOG=${OMNIKPI_LOG:-warn}
db=$work/faults.duckdb
files=$work/files
mkdir -p "$work"

# The command's last line of output, then its time and peak memory.
timed() { /usr/bin/time -f "(%e s, peak RSS %M KB)" "$@" 2>&1 | tail -2 | tr '\n' ' '; }
counts() {
  python3 - "$1" <<'PY'
import sys
import duckdb
c = duckdb.connect(sys.argv[1], read_only=True)
print(c.execute("""
    SELECT format('events {} (distinct ids {}), amount {}, identified {}, customers {}, loads running {}',
                  count(*), count(DISTINCT (source, event_id)), sum(amount),
                  count(customer_id), (SELECT count(*) FROM customers),
                  (SELECT count(*) FROM loads WHERE status = 'running'))
    FROM events""").fetchone()[0])
PY
}
kpis() { "$bin" --db "$1" kpi --from "$from" --to "$to" --json; }

echo "== demo files for about $events events in $files"
"$bin" --db "$work/files.duckdb" demo --files-only --scale "$events" --end 2026-06-30 \
  --dir "$files" | tee "$work/files.txt"
from=2025-07-01
to=2026-06-30
"$bin" --db "$db" migrate >/dev/null
# One "  source rows path  (mapping file)" line per source.
mapfile -t lines < <(grep '(mapping ' "$work/files.txt")
for line in "${lines[@]}"; do
  read -r source _ _ path _ mapping <<<"$line"
  mapping=${mapping%)}
  "$bin" --db "$db" source add --name "$source" --mapping "$mapping" >/dev/null
  [ "$source" = email ] && { email_file=$path; continue; }
  echo "load $source: $(timed "$bin" --db "$db" load --source "$source" "$path")"
done
before=$(counts "$db")
echo "before the e-mail load: $before"

echo "== kill -9 of the e-mail load after $kill_after s"
"$bin" --db "$db" load --source email "$email_file" >"$work/killed.log" 2>&1 &
loader=$!
sleep "$kill_after"
if kill -KILL "$loader" 2>/dev/null; then
  wait "$loader" || true
  after=$(counts "$db")
  echo "after the kill: $after"
  if [ "${after%, loads*}" = "${before%, loads*}" ]; then
    echo "nothing of the killed load is in the database"
  else
    echo "FAILED: the killed load left part of itself"
  fi
else
  echo "the load had finished before the kill: lower KILL_AFTER"
fi
echo "rollup verify: $(timed "$bin" --db "$db" rollup verify)"
# Compares the counts with those before the write; the "loads running" part differs when a
# killed load is left marked as running until the next start marks it interrupted.
same_as_before() { # what
  local now
  now=$(counts "$db")
  echo "after the kill: $now"
  if [ "${now%, loads*}" = "${before%, loads*}" ]; then
    echo "$1: nothing of it is in the database"
  else
    echo "FAILED: $1 left part of itself"
  fi
}
echo "== kill -9 of the e-mail load inside rollup maintenance (OMNIKPI_FAULT_AT=rollup.merged)"
echo "load: $(OMNIKPI_FAULT_AT=rollup.merged timed "$bin" --db "$db" load --source email "$email_file" || true)"
same_as_before "the load killed in rollup maintenance"
echo "rollup verify: $(timed "$bin" --db "$db" rollup verify)"

echo "== the e-mail load again, to the end"
echo "load: $(timed "$bin" --db "$db" load --source email "$email_file")"
before=$(counts "$db")
echo "after it: $before"
echo "rollup verify: $(timed "$bin" --db "$db" rollup verify)"

echo "== kill -9 of an identity rebuild while it moves events (OMNIKPI_FAULT_AT=identity.events_moved)"
echo "identity rebuild: $(OMNIKPI_FAULT_AT=identity.events_moved timed "$bin" --db "$db" identity rebuild || true)"
same_as_before "the killed identity rebuild"
echo "rollup verify: $(timed "$bin" --db "$db" rollup verify)"

echo "== kill -9 of a rollup rebuild after $kill_rebuild_after s"
"$bin" --db "$db" rollup rebuild >"$work/rebuild.log" 2>&1 &
rebuilder=$!
sleep "$kill_rebuild_after"
if kill -KILL "$rebuilder" 2>/dev/null; then
  wait "$rebuilder" || true
  same_as_before "the killed rollup rebuild"
else
  echo "the rollup rebuild had finished before the kill: lower KILL_REBUILD_AFTER"
fi
echo "rollup verify: $(timed "$bin" --db "$db" rollup verify)"

echo "== backup and restore"
echo "backup: $(timed "$bin" --db "$db" backup "$work/backup")"
du -sh "$work/backup" "$db"
echo "restore: $(timed "$bin" --db "$work/restored.duckdb" restore "$work/backup")"
echo "original: $(counts "$db")"
echo "restored: $(counts "$work/restored.duckdb")"
python3 - <(kpis "$db") <(kpis "$work/restored.duckdb") <<'PY'
import json
import sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
kb = {k["key"]: k for k in b["kpis"]}
diff = [k["key"] for k in a["kpis"] if k != kb.get(k["key"])]
print(f"KPIs: {len(a['kpis']) - len(diff)} of {len(a['kpis'])} identical; different: {diff}")
PY
