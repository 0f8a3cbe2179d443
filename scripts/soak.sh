#!/usr/bin/env bash
# Soak test (not in the default suite): serves a demo database and sends mixed traffic (a page,
# three KPI API calls and, every tenth round, a load of 500 new events through the API) from
# SOAK_WORKERS concurrent clients for a while. Every 10 s it samples the server's resident
# memory, open files and threads, and the requests answered since the last sample: how many,
# how many failed (no answer or a status other than 2xx) and their latency (median, 95th
# percentile, maximum). Samples go to a CSV; at the end a table every SOAK_EVERY minutes is
# printed in Markdown (the one in docs/soak.md), with the RSS trend.
#
#   scripts/soak.sh [MINUTES=30] [PORT=3203]
#   env: OMNIKPI_BIN (default $CARGO_TARGET_DIR/debug/omnikpi), SOAK_WORKERS (2),
#        SOAK_CSV (soak-<time>.csv), SOAK_EVERY (3)
#
# Needs the binary, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
port=${2:-3203}
workers=${SOAK_WORKERS:-2}
every=${SOAK_EVERY:-3}
bin=${OMNIKPI_BIN:-${CARGO_TARGET_DIR:-target}/debug/omnikpi}
work=$(mktemp -d)
db=$work/soak.duckdb
csv=${SOAK_CSV:-soak-$(date -u +%Y%m%dT%H%M%S).csv}
traffic=()
cleanup() {
  for pid in "${traffic[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "${server:-}" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "preparing a demo database in $work"
"$bin" --db "$db" demo --end 2026-06-30 >/dev/null
reader=$("$bin" --db "$db" token create --name soak-reader --role executive | grep -Eo 'okpi_[A-Za-z0-9_-]+' | tail -1)
ingest=$("$bin" --db "$db" token create --name soak-shop | grep -Eo 'okpi_[A-Za-z0-9_-]+' | tail -1)
[ -n "$reader" ] && [ -n "$ingest" ] || { echo "could not create the API tokens" >&2; exit 1; }
OMNIKPI_LOG=warn "$bin" --db "$db" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 240); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.5; done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

base="http://127.0.0.1:$port"
# One line per request: epoch seconds, status (000 = no answer), seconds taken, what.
log=$work/requests.log
: >"$log"
call() { # what, curl arguments...
  local what=$1
  shift
  local out
  out=$(curl -s -o /dev/null -m 60 -w '%{http_code} %{time_total}' "$@" 2>/dev/null) || true
  [ -n "$out" ] || out="000 60"
  echo "$(date +%s) $out $what" >>"$log"
}
worker() {
  local id=$1 round=0
  while true; do
    round=$((round + 1))
    call page -H "Authorization: Bearer $reader" "$base/"
    call kpis -H "Authorization: Bearer $reader" "$base/api/v1/kpis?from=2026-01-01&to=2026-06-30"
    call series -H "Authorization: Bearer $reader" "$base/api/v1/kpis/gross_revenue/series?from=2026-01-01&to=2026-06-30&grain=week"
    call breakdown -H "Authorization: Bearer $reader" "$base/api/v1/kpis/gross_revenue/breakdown?from=2026-01-01&to=2026-06-30&dimension=channel"
    if [ $((round % 10)) -eq 0 ]; then
      seq 1 500 | awk -v w="$id" -v r="$round" '{printf "{\"event_id\":\"soak-%d-%d-%d\",\"occurred_at\":\"2026-06-%02dT10:00:00Z\",\"event_type\":\"purchase\",\"channel\":\"web\",\"amount\":\"3.00\"}\n", w, r, $1, 1 + $1 % 28}' \
        >"$work/batch-$id.ndjson"
      call load -X POST -H "Authorization: Bearer $ingest" -H 'Content-Type: application/x-ndjson' \
        --data-binary "@$work/batch-$id.ndjson" "$base/api/v1/events?source=soak"
    fi
    echo "$round" >"$work/rounds-$id"
  done
}
for id in $(seq 1 "$workers"); do
  worker "$id" &
  traffic+=($!)
done

echo "seconds,rss_kb,open_files,threads,rounds,requests,errors,p50_ms,p95_ms,max_ms" >"$csv"
end=$(($(date +%s) + minutes * 60))
start=$(date +%s)
last=$start
while [ "$(date +%s)" -lt "$end" ]; do
  sleep 10
  kill -0 "$server" 2>/dev/null || { echo "the server died" >&2; tail -20 "$work/server.log" >&2; exit 1; }
  now=$(date +%s)
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
  threads=$(awk '/^Threads/ {print $2}' "/proc/$server/status")
  files=$(ls "/proc/$server/fd" | wc -l)
  rounds=$(cat "$work"/rounds-* 2>/dev/null | awk '{s += $1} END {print s + 0}')
  window=$(awk -v from="$last" -v to="$now" '$1 >= from && $1 < to {
      n++; if ($2 !~ /^2/) e++; print $3 * 1000 > "/dev/stderr" }
      END {printf "%d,%d", n, e}' "$log" 2>"$work/lat")
  lat=$(sort -n "$work/lat" | awk '{v[NR] = $1} END {
      if (NR == 0) { print ",,"; exit }
      printf "%.0f,%.0f,%.0f", v[int((NR + 1) / 2)], v[int(NR * 0.95 + 0.999)], v[NR] }')
  echo "$((now - start)),$rss,$files,$threads,$rounds,$window,$lat" >>"$csv"
  last=$now
done
echo "samples in $csv"
python3 - "$csv" "$every" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
every = int(sys.argv[2]) * 60
if not rows:
    sys.exit("no samples")
print(f"samples {len(rows)}, rounds {rows[-1]['rounds']}")
print()
print("| minutes | RSS MB (end) | open files | threads | requests | errors | p50 ms | p95 ms | max ms |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
bucket, start = [], 0
def flush(bucket, start):
    last = bucket[-1]
    n = sum(int(r["requests"]) for r in bucket)
    e = sum(int(r["errors"]) for r in bucket)
    # Medians and 95th percentiles of the 10 s windows (a close enough summary of the bucket).
    p50 = sorted(float(r["p50_ms"]) for r in bucket if r["p50_ms"])
    p95 = sorted(float(r["p95_ms"]) for r in bucket if r["p95_ms"])
    mx = max((float(r["max_ms"]) for r in bucket if r["max_ms"]), default=0)
    mid = lambda v: v[len(v) // 2] if v else 0
    print(f"| {start // 60}-{int(last['seconds']) // 60 + (1 if int(last['seconds']) % 60 else 0)} "
          f"| {int(last['rss_kb']) / 1024:.1f} | {last['open_files']} | {last['threads']} "
          f"| {n} | {e} | {mid(p50):.0f} | {mid(p95):.0f} | {mx:.0f} |")
for r in rows:
    if bucket and int(r["seconds"]) > start + every:
        flush(bucket, start)
        start += every
        bucket = []
    bucket.append(r)
if bucket:
    flush(bucket, start)
# RSS trend: least-squares slope over the second half (after warm-up), MB per 10 minutes.
half = rows[len(rows) // 2:]
if len(half) > 2:
    xs = [int(r["seconds"]) for r in half]
    ys = [int(r["rss_kb"]) / 1024 for r in half]
    mx_, my_ = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx_) * (y - my_) for x, y in zip(xs, ys)) / max(1, sum((x - mx_) ** 2 for x in xs))
    print()
    print(f"RSS trend over the second half: {slope * 600:+.2f} MB per 10 minutes")
total = sum(int(r["requests"]) for r in rows)
errors = sum(int(r["errors"]) for r in rows)
peak = max(rows, key=lambda r: int(r["rss_kb"]))
print(f"requests {total}, errors {errors}, peak RSS {int(peak['rss_kb']) / 1024:.1f} MB at {peak['seconds']} s")
PY
