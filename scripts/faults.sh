#!/usr/bin/env bash
# Faults, backup and restore at scale (issue #24; docs/soak.md has a run's figures): writes
# the demo's export files for about EVENTS events, loads every source but the e-mail export,
# kills -9 the e-mail load KILL_AFTER seconds in, checks that the database opens with nothing
# of it (events, amounts, distinct event ids) and that `rollup verify` is clean, loads it
# again, verifies again, then backs the database up, restores it into a new file and compares
# the two (events, amounts, and every KPI of the last 12 months). Every step prints its time
# and peak memory.
#
#   scripts/faults.sh [EVENTS=10000000] [WORK=a new temporary folder]
#   env: OMNIKPI_BIN (default $CARGO_TARGET_DIR/debug/omnikpi), KILL_AFTER (60),
#        OMNIKPI_MEMORY_LIMIT (6GB)
#
# Needs the binary, python3 with the duckdb module (to count rows without omnikpi's own
# start-up) and about 2.5 GB of disk per 10M events.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000}
work=${2:-$(mktemp -d)}
bin=${OMNIKPI_BIN:-${CARGO_TARGET_DIR:-target}/debug/omnikpi}
kill_after=${KILL_AFTER:-60}
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
    SELECT format('events {} (distinct ids {}), amount {}, loads running {}',
                  count(*), count(DISTINCT (source, event_id)), sum(amount),
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
echo "the e-mail load again: $(timed "$bin" --db "$db" load --source email "$email_file")"
echo "after it: $(counts "$db")"
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
