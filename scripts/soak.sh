#!/usr/bin/env bash
# Soak test (not in the default suite): serves a demo database and sends mixed traffic (pages,
# the KPI API, event loads through the API) for a while, sampling the server's resident memory
# and open files every 10 s into a CSV, then prints the first, last and peak samples.
#
#   scripts/soak.sh [MINUTES=30] [PORT=3203]
#
# Needs the binary (target/debug/omnikpi or OMNIKPI_BIN) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
port=${2:-3203}
bin=${OMNIKPI_BIN:-${CARGO_TARGET_DIR:-target}/debug/omnikpi}
work=$(mktemp -d)
db=$work/soak.duckdb
csv=${SOAK_CSV:-soak-$(date -u +%Y%m%dT%H%M%S).csv}
cleanup() {
  [ -n "${server:-}" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "${traffic:-}" ] && kill "$traffic" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "preparing a demo database in $work"
"$bin" --db "$db" demo --end 2026-06-30 >/dev/null
reader=$("$bin" --db "$db" token create --name soak-reader --role executive | grep -Eo '[A-Za-z0-9_-]{32,}' | tail -1)
ingest=$("$bin" --db "$db" token create --name soak-shop | grep -Eo '[A-Za-z0-9_-]{32,}' | tail -1)
OMNIKPI_LOG=warn "$bin" --db "$db" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.5; done

# Traffic: a page, three API calls, and every tenth round a load of 500 new events.
(
  round=0
  while true; do
    round=$((round + 1))
    curl -s -o /dev/null -H "Authorization: Bearer $reader" "http://127.0.0.1:$port/" || true
    curl -s -o /dev/null -H "Authorization: Bearer $reader" "http://127.0.0.1:$port/api/v1/kpis?from=2026-01-01&to=2026-06-30" || true
    curl -s -o /dev/null -H "Authorization: Bearer $reader" "http://127.0.0.1:$port/api/v1/kpis/gross_revenue/series?from=2026-01-01&to=2026-06-30&grain=week" || true
    curl -s -o /dev/null -H "Authorization: Bearer $reader" "http://127.0.0.1:$port/api/v1/kpis/gross_revenue/breakdown?from=2026-01-01&to=2026-06-30&dimension=channel" || true
    if [ $((round % 10)) -eq 0 ]; then
      seq 1 500 | awk -v r="$round" '{printf "{\"event_id\":\"soak-%d-%d\",\"occurred_at\":\"2026-06-%02dT10:00:00Z\",\"event_type\":\"purchase\",\"channel\":\"web\",\"amount\":\"3.00\"}\n", r, $1, 1 + $1 % 28}' \
        | curl -s -o /dev/null -X POST -H "Authorization: Bearer $ingest" -H 'Content-Type: application/x-ndjson' \
            --data-binary @- "http://127.0.0.1:$port/api/v1/events?source=soak" || true
    fi
    echo "$round" >"$work/rounds"
  done
) &
traffic=$!

echo "seconds,rss_kb,open_files,threads,rounds" >"$csv"
end=$(( $(date +%s) + minutes * 60 ))
start=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
  threads=$(awk '/^Threads/ {print $2}' "/proc/$server/status")
  files=$(ls "/proc/$server/fd" | wc -l)
  echo "$(( $(date +%s) - start )),$rss,$files,$threads,$(cat "$work/rounds" 2>/dev/null || echo 0)" >>"$csv"
  sleep 10
done
echo "samples in $csv"
python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
if not rows:
    sys.exit("no samples")
first, last = rows[0], rows[-1]
peak = max(rows, key=lambda r: int(r["rss_kb"]))
half = rows[len(rows) // 2]
print(f"samples {len(rows)}, rounds {last['rounds']}")
for name, r in [("first", first), ("middle", half), ("last", last), ("peak rss", peak)]:
    print(f"{name:9} t={r['seconds']:>5}s rss={int(r['rss_kb'])/1024:7.1f} MB open_files={r['open_files']:>4} threads={r['threads']}")
PY
