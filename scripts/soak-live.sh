#!/usr/bin/env bash
# Live soak at scale (issue #24, not in the default suite): a copy of a large database served
# by a release build, 50 readers on pages and the API, a writer posting a 1,000-event batch
# every second, and a 10,000-event file (the most the events API takes at once) every 5
# minutes, for 30 minutes. scripts/soak_live.py drives the traffic, samples the server's
# memory every 10 s into a CSV and prints the per-minute table and verdicts of docs/soak.md.
#
#   scripts/soak-live.sh DATABASE [MINUTES=30]
#   env: OMNIKPI_BIN (default $CARGO_TARGET_DIR/release/omnikpi), SOAK_READERS (50),
#        SOAK_BATCH (1000), SOAK_FILE (10000), SOAK_FILE_EVERY (300 s), SOAK_FROM and
#        SOAK_TO (the period read; batches land on its last day: 2025-07-01..2026-06-30),
#        SOAK_DAYS (1; N spreads the batches over the period's last N days, one each in turn),
#        OMNIKPI_MEMORY_LIMIT (768MB), SOAK_CSV (soak-live-<time>.csv), SOAK_PORT (3204),
#        SOAK_LOG (a file to keep the server's log in, written after it stopped)
#
# The database is copied first (the soak adds events). Needs the binary, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source_db=${1:?usage: scripts/soak-live.sh DATABASE [MINUTES]}
export SOAK_MINUTES=${2:-30}
bin=${OMNIKPI_BIN:-${CARGO_TARGET_DIR:-target}/release/omnikpi}
port=${SOAK_PORT:-3204}
export SOAK_FROM=${SOAK_FROM:-2025-07-01} SOAK_TO=${SOAK_TO:-2026-06-30}
export SOAK_CSV=${SOAK_CSV:-$PWD/soak-live-$(date -u +%Y%m%dT%H%M%S).csv}
export OMNIKPI_MEMORY_LIMIT=${OMNIKPI_MEMORY_LIMIT:-768MB}
work=$(mktemp -d)
db=$work/soak.duckdb
server=""
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "${SOAK_LOG:-}" ] && cp "$work/server.log" "$SOAK_LOG" || true
  rm -rf "$work"
}
trap cleanup EXIT
echo "copying $source_db"
cp "$source_db" "$db"
password=soak-password-$RANDOM$RANDOM
email=soak-$RANDOM@example.it
echo "$password" | "$bin" --db "$db" user add --email "admin-$email" --role admin --password-stdin >/dev/null
echo "$password" | "$bin" --db "$db" user add --email "$email" --role executive --password-stdin >/dev/null
export SOAK_TOKEN SOAK_INGEST SOAK_ADMIN
SOAK_TOKEN=$("$bin" --db "$db" token create --name "soak-$RANDOM" --role executive 2>/dev/null | tail -1)
SOAK_INGEST=$("$bin" --db "$db" token create --name "soak-shop-$RANDOM" 2>/dev/null | tail -1)
# The sampler reads /metrics (an admin's) for DuckDB's own share of the memory.
SOAK_ADMIN=$("$bin" --db "$db" token create --name "soak-metrics-$RANDOM" --role admin 2>/dev/null | tail -1)
"$bin" --db "$db" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 240); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && break
  sleep 0.5
done
cookie_of() { tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: *\(omnikpi_session=[^;]*\).*/\1/p' | tail -1; }
curl -s -D "$work/get.headers" -o "$work/login.html" "http://127.0.0.1:$port/login?lang=en"
visitor=$(cookie_of <"$work/get.headers")
csrf=$(grep -o 'name="csrf"[^>]*' "$work/login.html" | grep -o 'value="[^"]*"' | head -1 | cut -d'"' -f2)
curl -s -o /dev/null -D "$work/post.headers" -H "Cookie: $visitor" \
  --data-urlencode "email=$email" --data-urlencode "password=$password" \
  --data-urlencode "csrf=$csrf" "http://127.0.0.1:$port/login"
export SOAK_COOKIE SOAK_URL=http://127.0.0.1:$port SOAK_PID=$server
SOAK_COOKIE=$(cookie_of <"$work/post.headers")
[ -n "$SOAK_COOKIE" ] || { echo "sign-in failed" >&2; exit 1; }
echo "soak: $SOAK_MINUTES min, ${SOAK_READERS:-50} readers, a batch every second, samples in $SOAK_CSV"
status=0
python3 scripts/soak_live.py || status=$?
panics=$(grep -c 'panicked at' "$work/server.log" || true)
echo "server panics: $panics"
grep -E ' ERROR ' "$work/server.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -n 10 || true
[ "$panics" = 0 ] || status=1
exit "$status"
