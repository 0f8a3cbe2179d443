#!/usr/bin/env bash
# The benchmark of issue #10, in one run on this machine (`make bench`, or
# `bench/run.sh --events 1000000`):
#   1. generation, omnikpi's load (by phase) vs DuckDB's read_csv + INSERT, the company view
#      cold and warm vs its SQL run directly in DuckDB, journeys + pain points
#      (`omnikpi bench`, release build);
#   2. the same company view SQL in PostgreSQL 15 (a throwaway cluster on 127.0.0.1, default
#      settings plus indexes, loaded with COPY);
#   3. HTTP: the company page and /api/v1/kpis with 50 clients for 30 s (wrk), peak RSS;
#   4. sizes: the release wasm bundle (raw, gzip) and the server binary.
# Prints a table and writes bench/results/<date>-<events>.json. Safe to re-run.
#
# Environment: BENCH_DIR (work folder, default $CARGO_TARGET_DIR/bench), BENCH_PORT (3204),
# BENCH_PG_PORT (5433), BENCH_SECONDS (30), BENCH_CLIENTS (50), BENCH_SKIP_BUILD=1,
# BENCH_REUSE_CORE=1 (keep the work folder's core.json and databases from an earlier run of
# `omnikpi bench`: only PostgreSQL, HTTP and sizes are measured again), BENCH_SKIP_PG=1 (leave
# PostgreSQL and its copy of the events out, as the 100M run may), BENCH_LIVE_ROUNDS (20),
# BENCH_LIVE_PAGE_ROUNDS (5), BENCH_BIN (the omnikpi binary, default the release build's),
# BENCH_MEMORY_LIMIT (768MB: the server's OMNIKPI_MEMORY_LIMIT), BENCH_SPARK=1 (also the
# Spark engine on a loopback cluster, bench/spark.sh, recorded under `spark`; BENCH_SPARK=reuse
# records the work folder's spark.json of an earlier bench/spark.sh run instead), BENCH_NAME
# (added to the result's file name), BENCH_WASM=0 (leave the wasm bundle out of the sizes,
# e.g. when only a debug one is built).
set -euo pipefail

EVENTS=10000000
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS="$2"; shift 2 ;;
        --events=*) EVENTS="${1#*=}"; shift ;;
        *) echo "usage: bench/run.sh [--events N]" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${BENCH_DIR:-$CARGO_TARGET_DIR/bench}
PORT=${BENCH_PORT:-3204}
PG_PORT=${BENCH_PG_PORT:-5433}
SECONDS_HTTP=${BENCH_SECONDS:-30}
CLIENTS=${BENCH_CLIENTS:-50}
# DuckDB's memory_limit for the served database (the live goal: peak RSS < 1 GiB with it set).
MEMORY_LIMIT=${BENCH_MEMORY_LIMIT:-768MB}
PG_BIN=/usr/lib/postgresql/15/bin
BIN=${BENCH_BIN:-$CARGO_TARGET_DIR/release/omnikpi}
DB=$WORK/omnikpi.duckdb
say() { printf '\n== %s\n' "$*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

SERVER=""
pg_stop() { :; }
trap 'pg_stop; [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true' EXIT

# --- tools -----------------------------------------------------------------------------------
need=()
[ -x "$PG_BIN/initdb" ] || need+=(postgresql-15)
command -v psql >/dev/null || need+=(postgresql-client-15)
command -v wrk >/dev/null || need+=(wrk)
command -v wasm-opt >/dev/null || need+=(binaryen)
command -v jq >/dev/null || need+=(jq)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    # The package's own cluster is not used: the benchmark starts a throwaway one.
    $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi

# --- build -----------------------------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    say "release build (cargo leptos build --release)"
    [ -f scripts/setup.sh ] && scripts/setup.sh >/dev/null
    cargo leptos build --release
fi
mkdir -p "$WORK" bench/results

# --- 1. omnikpi bench (in-process measurements) ----------------------------------------------
if [ "${BENCH_REUSE_CORE:-0}" = 1 ] && [ -f "$WORK/core.json" ]; then
    say "reusing $WORK/core.json"
else
    say "omnikpi bench --events $EVENTS"
    NO_PG=()
    [ "${BENCH_SKIP_PG:-0}" = 1 ] && NO_PG=(--no-postgres)
    OMNIKPI_LOG=warn "$BIN" --db "$WORK/cli.duckdb" bench --events "$EVENTS" --dir "$WORK" \
        --out "$WORK/core.json" "${NO_PG[@]}"
fi
TZ_NAME=$(jq -r .time_zone "$WORK/core.json")

# --- 2. PostgreSQL 15 ------------------------------------------------------------------------
if [ "${BENCH_SKIP_PG:-0}" = 1 ]; then
    say "PostgreSQL left out (BENCH_SKIP_PG=1)"
    echo null >"$WORK/postgres.json"
else
say "PostgreSQL 15 on 127.0.0.1:$PG_PORT"
PGDATA=$WORK/pgdata
PG_LOG=$WORK/postgres.log
AS=()
if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: its server runs as the postgres user, who cannot
    # enter root's home (where the work folder usually is), so its cluster lives in /tmp.
    AS=(runuser -u postgres --)
    PGDATA=/tmp/omnikpi-bench-pg-$PG_PORT/data
    PG_LOG=/tmp/omnikpi-bench-pg-$PG_PORT/postgres.log
fi
pg_ctl() { "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG_LOG" -w "$@"; }
pg_stop() { [ -f "$PGDATA/postmaster.pid" ] && pg_ctl stop -m fast >/dev/null 2>&1 || true; }
pg_stop
rm -rf "$PGDATA"
mkdir -p "$PGDATA"
touch "$PG_LOG"
if [ "$(id -u)" = 0 ]; then chown -R postgres "$(dirname "$PGDATA")"; fi
"${AS[@]}" "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust >/dev/null
PG_OPTS="-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PGDATA"
pg_ctl -o "$PG_OPTS" start >/dev/null
export PGTZ=$TZ_NAME
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
"${PSQL[@]}" -f bench/postgres-schema.sql
t0=$(now_ms)
for table in events event_types settings; do
    "${PSQL[@]}" -c "\\copy $table FROM '$WORK/pg/$table.csv' WITH (FORMAT csv, HEADER true)"
done
t1=$(now_ms)
"${PSQL[@]}" -f bench/postgres-indexes.sql
t2=$(now_ms)
# The CTEs ev and pe are read twice in some statements, which makes PostgreSQL materialise
# them (no index use, nested loops over the copy); NOT MATERIALIZED lets it inline them as
# DuckDB does. omnikpi bench writes it already; this is for scripts from older binaries.
sed -i -e 's/ev AS (SELECT \* FROM events/ev AS NOT MATERIALIZED (SELECT * FROM events/' \
    -e 's/pe AS (SELECT ev\.\*/pe AS NOT MATERIALIZED (SELECT ev.*/' "$WORK/pg/company.sql"
# A statement past PG_TIMEOUT_S seconds is cancelled and counted; the time is then a floor.
PG_TIMEOUT_S=${BENCH_PG_TIMEOUT:-300}
pg_run() { # wall time in ms of the company view statements in a new psql session
    local s e
    s=$(now_ms)
    PGOPTIONS="-c statement_timeout=${PG_TIMEOUT_S}s" \
        psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
        -f "$WORK/pg/company.sql" >"$WORK/pg/company.out" 2>"$WORK/pg/company.err" || true
    e=$(now_ms)
    echo $((e - s))
}
pg_timeouts() { grep -c 'statement timeout' "$WORK/pg/company.err" || true; }
pg_ctl -o "$PG_OPTS" restart >/dev/null
PG_COLD=$(pg_run)
PG_COLD_TIMEOUTS=$(pg_timeouts)
PG_WARM_ALL=()
for _ in 1 2 3; do PG_WARM_ALL+=("$(pg_run)"); done
PG_WARM=$(printf '%s\n' "${PG_WARM_ALL[@]}" | sort -n | sed -n 2p)
PG_WARM_TIMEOUTS=$(pg_timeouts)
PG_VERSION=$("${PSQL[@]}" -At -c "SHOW server_version")
jq -n --argjson copy $((t1 - t0)) --argjson index $((t2 - t1)) --argjson cold "$PG_COLD" \
    --argjson warm "$PG_WARM" --arg version "$PG_VERSION" --argjson t1 "$PG_COLD_TIMEOUTS" \
    --argjson t2 "$PG_WARM_TIMEOUTS" --argjson limit "$PG_TIMEOUT_S" \
    '{version: $version, copy_ms: $copy, index_ms: $index, company_cold_ms: $cold,
      company_warm_ms: $warm, statement_timeout_s: $limit,
      statements_timed_out_cold: $t1, statements_timed_out_warm: $t2}' >"$WORK/postgres.json"
pg_stop
fi

# --- 3. HTTP ---------------------------------------------------------------------------------
say "HTTP: $CLIENTS clients for $SECONDS_HTTP s per URL on 127.0.0.1:$PORT"
PASSWORD=benchmark-password-$RANDOM$RANDOM
EMAIL=bench-$RANDOM@example.it
# Pages stay closed until an administrator exists; the measuring account is an executive.
echo "$PASSWORD" | "$BIN" --db "$DB" user add --email "admin-$EMAIL" --role admin --password-stdin >/dev/null
echo "$PASSWORD" | "$BIN" --db "$DB" user add --email "$EMAIL" --role executive --password-stdin >/dev/null
TOKEN=$("$BIN" --db "$DB" token create --name "bench-$RANDOM" --role executive 2>/dev/null | tail -1)
INGEST=$("$BIN" --db "$DB" token create --name "bench-shop-$RANDOM" 2>/dev/null | tail -1)
OMNIKPI_MEMORY_LIMIT=$MEMORY_LIMIT "$BIN" --db "$DB" serve --addr "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 120); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/login" && break
    sleep 0.5
done
# Sign in as a browser does: the login form's anti-forgery token (tied to the visitor's
# session cookie), then the form; success is a 303 to the page asked for with a new session
# cookie. The cookie is read from the answer's headers, not from a cookie jar: curl does not
# keep a Secure cookie received over plain http (the default `secure_cookie`).
cookie_of() { tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: *\(omnikpi_session=[^;]*\).*/\1/p' | tail -1; }
curl -s -D "$WORK/login-get.headers" -o "$WORK/login.html" "http://127.0.0.1:$PORT/login?lang=en"
VISITOR=$(cookie_of <"$WORK/login-get.headers")
CSRF=$(grep -o 'name="csrf"[^>]*' "$WORK/login.html" | grep -o 'value="[^"]*"' | head -1 | cut -d'"' -f2)
login_status=$(curl -s -o /dev/null -D "$WORK/login-post.headers" -w '%{http_code}' \
    -H "Cookie: $VISITOR" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "csrf=$CSRF" "http://127.0.0.1:$PORT/login")
COOKIE=$(cookie_of <"$WORK/login-post.headers")
[ -n "$COOKIE" ] || COOKIE=$VISITOR
if [ "$login_status" != 303 ] || grep -qi '^location: */login' "$WORK/login-post.headers"; then
    echo "sign-in failed ($login_status); see $WORK/login-post.headers" >&2
    exit 1
fi
FROM=$(jq -r '.company_view.period[0]' "$WORK/core.json")
TO=$(jq -r '.company_view.period[1]' "$WORK/core.json")
KEYS=$(jq -r '.company_view.kpis | join(",")' "$WORK/core.json")
# With its language: the page answers a URL without it with a redirect to the one with it.
PAGE_URL="http://127.0.0.1:$PORT/?from=$FROM&to=$TO&lang=en"
API_URL="http://127.0.0.1:$PORT/api/v1/kpis?from=$FROM&to=$TO&kpi=$KEYS"
page_status=$(curl -s -o "$WORK/page.html" -w '%{http_code}' -H "Cookie: $COOKIE" "$PAGE_URL")
api_status=$(curl -s -o "$WORK/api.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API_URL")
if [ "$page_status" != 200 ] || [ "$api_status" != 200 ] || ! grep -q 'name="from"' "$WORK/page.html"; then
    echo "the page answered $page_status and the API $api_status; see $WORK/page.html, $WORK/api.json" >&2
    exit 1
fi
# Page weight (the light pages issue): the HTML bytes of every page the executive opens, for
# the period of the company view, each with its status (a page that fails weighs nothing).
page_sizes() {
    local page sep code bytes
    for page in / /dept/marketing /dept/sales /dept/stores /dept/online /dept/customer_service \
        /dept/logistics /kpi/gross_revenue /journeys /journeys/pain/non_shoppable_landing \
        /journeys/funnel /insights/tree /insights/changed /alerts /tv; do
        sep='?'
        [[ $page == *\?* ]] && sep='&'
        read -r code bytes < <(curl -s -o /dev/null -w '%{http_code} %{size_download}' \
            -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$page${sep}from=$FROM&to=$TO&lang=en")
        jq -n --arg page "$page" --argjson code "$code" --argjson bytes "$bytes" \
            '{($page): {status: $code, bytes: $bytes}}'
    done | jq -s 'add'
}
PAGES_JSON=$(page_sizes)
wrk_json() { grep '^WRKJSON ' | sed 's/^WRKJSON //'; }
PAGE_JSON=$(BENCH_COOKIE=$COOKIE wrk -t2 -c"$CLIENTS" -d"${SECONDS_HTTP}s" --timeout 60s \
    -s bench/wrk-report.lua "$PAGE_URL" | wrk_json)
API_JSON=$(BENCH_TOKEN=$TOKEN wrk -t2 -c"$CLIENTS" -d"${SECONDS_HTTP}s" --timeout 60s \
    -s bench/wrk-report.lua "$API_URL" | wrk_json)
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
SERVER=""

# --- 3b. live: pages right after a write (the live-at-scale issue) ----------------------------
# Each round posts a 1,000-event NDJSON batch through the API (visits and carts of new cookies,
# web orders that link a cookie to a new e-mail, app orders, chats) on the last day of the
# period, then fetches one page: the company page LIVE_ROUNDS times, each other page
# LIVE_PAGE_ROUNDS times. The server logs the company view's profile (its laps) at debug level.
# The orders of the period are read through the API before and after, to check that every
# batch was counted.
LIVE_ROUNDS=${BENCH_LIVE_ROUNDS:-20}
LIVE_PAGE_ROUNDS=${BENCH_LIVE_PAGE_ROUNDS:-5}
say "live: $LIVE_ROUNDS rounds of a 1,000-event batch and the company page, $LIVE_PAGE_ROUNDS per other page"
OMNIKPI_LOG=omnikpi=debug,info OMNIKPI_MEMORY_LIMIT=$MEMORY_LIMIT "$BIN" --db "$DB" serve --addr "127.0.0.1:$PORT" >"$WORK/server-live.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 240); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
    sleep 0.5
done
live_batch() { # round -> NDJSON on stdout; 200 orders (100 web of two lines, 100 app), 6,500.00
    awk -v r="$LIVE_RUN-$1" -v day="$TO" 'BEGIN {
        for (i = 0; i < 1000; i++) {
            k = int(i / 10); m = i % 10
            at = sprintf("%sT12:%02d:%02dZ", day, int(i / 60) % 60, i % 60)
            id = sprintf("\"event_id\":\"live-%s-%d\",\"occurred_at\":\"%s\"", r, i, at)
            who = sprintf("live-%s-%d", r, k)
            if (m < 4)
                printf "{%s,\"event_type\":\"visit\",\"channel\":\"web\",\"cookie_id\":\"%s\"}\n", id, who
            else if (m < 6)
                printf "{%s,\"event_type\":\"add_to_cart\",\"channel\":\"web\",\"cookie_id\":\"%s\"}\n", id, who
            else if (m < 8)
                printf "{%s,\"event_type\":\"purchase\",\"channel\":\"web\",\"cookie_id\":\"%s\",\"email\":\"%s@example.it\",\"order_id\":\"%s-web\",\"amount\":\"20.00\"}\n", id, who, who, who
            else if (m < 9)
                printf "{%s,\"event_type\":\"chat_start\",\"channel\":\"chat\",\"email\":\"%s@example.it\"}\n", id, who
            else
                printf "{%s,\"event_type\":\"purchase\",\"channel\":\"app\",\"email\":\"%s@example.it\",\"order_id\":\"%s-app\",\"amount\":\"25.00\"}\n", id, who, who
        }
    }'
}
live_orders() {
    curl -s -m 300 -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$PORT/api/v1/kpis?from=$FROM&to=$TO&kpi=orders" | jq '[.. | objects | select(.key? == "orders") | .value][0]'
}
timed_get() { # url -> "status seconds"
    curl -s -o /dev/null -m 300 -w '%{http_code} %{time_total}\n' -H "Cookie: $COOKIE" "$1" || true
}
LIVE_ROUND=0
LIVE_RUN=$(date +%s) # event ids and e-mails new in every run, also on a reused database
: >"$WORK/live-errors"
live_error() { echo "$*" | tee -a "$WORK/live-errors" >&2; }
live_post() { # round -> "status seconds" of the POST of that round's batch
    live_batch "$1" >"$WORK/live-batch.ndjson"
    curl -s -o "$WORK/live-post.json" -m 300 -w '%{http_code} %{time_total}\n' -X POST \
        -H "Authorization: Bearer $INGEST" -H 'Content-Type: application/x-ndjson' \
        --data-binary "@$WORK/live-batch.ndjson" "http://127.0.0.1:$PORT/api/v1/events?source=bench-live" || true
}
ORDERS_BEFORE=$(live_orders)
: >"$WORK/live.tsv"
live_page() { # name path rounds
    local name=$1 path=$2 rounds=$3 sep='?' post_code post page_code page
    [[ $path == *\?* ]] && sep='&'
    for _ in $(seq 1 "$rounds"); do
        LIVE_ROUND=$((LIVE_ROUND + 1))
        read -r post_code post < <(live_post "$LIVE_ROUND")
        [[ $post_code == 2* ]] || live_error "live: the POST of round $LIVE_ROUND answered $post_code"
        read -r page_code page < <(timed_get "http://127.0.0.1:$PORT$path${sep}from=$FROM&to=$TO&lang=en")
        [ "$page_code" = 200 ] || live_error "live: $path answered $page_code"
        printf '%s\t%s\t%s\n' "$name" "$post" "$page" >>"$WORK/live.tsv"
    done
}
live_page company / "$LIVE_ROUNDS"
ORDERS_AFTER_COMPANY=$(live_orders)
live_page department /dept/sales "$LIVE_PAGE_ROUNDS"
live_page kpi_detail /kpi/gross_revenue "$LIVE_PAGE_ROUNDS"
live_page journeys /journeys "$LIVE_PAGE_ROUNDS"
live_page pain /journeys/pain/non_shoppable_landing "$LIVE_PAGE_ROUNDS"
LIVE_PROFILE=$(grep 'company view profile' "$WORK/server-live.log" | tail -1 | sed 's/\x1b\[[0-9;]*m//g' |
    grep -o 'laps=.*' | sed 's/^laps=//; s/ company view profile$//' || true)
RSS_LIVE_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
SERVER=""
# p50 (and p95) in ms of a column of live.tsv for one page: 2 = the POST, 3 = the page.
live_ms() { # name column quantile
    awk -F'\t' -v n="$1" -v c="$2" '$1 == n {print $c * 1000}' "$WORK/live.tsv" | sort -n |
        awk -v q="$3" '{v[NR] = $1} END {if (NR == 0) {print "null"; exit}
            i = int(NR * q + 0.999); if (i < 1) i = 1; printf "%.1f", v[i]}'
}
# From the POST to the company page that counts it: the POST plus the next page, per round.
BATCH_VISIBLE=$(awk -F'\t' '$1 == "company" {print ($2 + $3) * 1000}' "$WORK/live.tsv" | sort -n |
    awk '{v[NR] = $1} END {if (NR == 0) {print "null"; exit} printf "%.1f", v[int((NR + 1) / 2)]}')
LIVE_JSON=$(jq -n --argjson rounds "$LIVE_ROUNDS" --argjson page_rounds "$LIVE_PAGE_ROUNDS" \
    --argjson errors "$(wc -l <"$WORK/live-errors")" --argjson before "${ORDERS_BEFORE:-null}" \
    --argjson after "${ORDERS_AFTER_COMPANY:-null}" --arg profile "$LIVE_PROFILE" \
    --argjson company "$(live_ms company 3 0.5)" --argjson company95 "$(live_ms company 3 0.95)" \
    --argjson post "$(live_ms company 2 0.5)" --argjson visible "$BATCH_VISIBLE" \
    --argjson dept "$(live_ms department 3 0.5)" --argjson detail "$(live_ms kpi_detail 3 0.5)" \
    --argjson journeys "$(live_ms journeys 3 0.5)" --argjson pain "$(live_ms pain 3 0.5)" \
    '{rounds: $rounds, page_rounds: $page_rounds, batch_events: 1000, errors: $errors,
      batch_post_ms: $post, company_page_after_batch_ms: $company,
      company_page_after_batch_p95_ms: $company95, batch_visible_ms: $visible,
      batches_counted: (if $before == null or $after == null then null
                        else ($after - $before) == 200 * $rounds end),
      department_page_after_batch_ms: $dept, kpi_detail_after_batch_ms: $detail,
      journeys_page_after_batch_ms: $journeys, pain_page_after_batch_ms: $pain,
      company_page_profile: $profile}')

# --- 4. sizes --------------------------------------------------------------------------------
WASM=$(ls "$ROOT"/target/site/pkg/*.wasm 2>/dev/null | head -1 || true)
[ -n "$WASM" ] || WASM=$(ls "$CARGO_TARGET_DIR"/site/pkg/*.wasm 2>/dev/null | head -1 || true)
WASM_RAW=null WASM_GZ=null JS_GZ=null
# BENCH_SKIP_BUILD may leave a debug bundle there: BENCH_WASM=0 leaves the bundle out of the
# sizes rather than record a figure that is not the release's.
if [ "${BENCH_WASM:-1}" = 0 ]; then
    echo "the wasm bundle is left out of the sizes (BENCH_WASM=0)" >&2
elif [ -n "$WASM" ]; then
    WASM_RAW=$(stat -c %s "$WASM")
    WASM_GZ=$(gzip -9 -c "$WASM" | wc -c)
    JS=$(ls "$(dirname "$WASM")"/*.js | head -1)
    JS_GZ=$(gzip -9 -c "$JS" | wc -c)
else
    echo "no wasm bundle found (BENCH_SKIP_BUILD without a release build?): sizes left out" >&2
fi
BIN_SIZE=$(stat -c %s "$BIN")

# --- results ---------------------------------------------------------------------------------
read -r L1 L5 L15 _ </proc/loadavg
OUT=bench/results/$(date -u +%Y-%m-%d)-$EVENTS${BENCH_NAME:+-$BENCH_NAME}.json
jq -n --slurpfile core "$WORK/core.json" --slurpfile pg "$WORK/postgres.json" \
    --argjson page "$PAGE_JSON" --argjson api "$API_JSON" --argjson rss "$RSS_KB" \
    --argjson wasm_raw "$WASM_RAW" --argjson wasm_gz "$WASM_GZ" --argjson js_gz "$JS_GZ" \
    --argjson bin "$BIN_SIZE" --argjson pages "$PAGES_JSON" --argjson live "$LIVE_JSON" --arg memory_limit "$MEMORY_LIMIT" --argjson rss_live "$RSS_LIVE_KB" --arg l1 "$L1" --arg l5 "$L5" --arg l15 "$L15" \
    --arg commit "$(git rev-parse --short HEAD)" --arg date "$(date -u +%FT%TZ)" \
    --argjson clients "$CLIENTS" --argjson seconds "$SECONDS_HTTP" \
    --arg cpus "$(nproc)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" '
    ($core[0]) as $c | ($pg[0]) as $p |
    $c + {
      date: $date, commit: $commit,
      machine: {cpus: ($cpus | tonumber), cpu: $cpu,
                load_average_at_end: [($l1|tonumber), ($l5|tonumber), ($l15|tonumber)]},
      postgres: (if $p == null then null else ($p + {
        cold_ratio_vs_omnikpi: (($p.company_cold_ms / $c.company_view.omnikpi_cold_ms) * 100 | round / 100),
        warm_ratio_vs_omnikpi: (($p.company_warm_ms / $c.company_view.omnikpi_warm_ms) * 100 | round / 100)}) end),
      live: ($live + {raw_company_sql_ms: $c.company_view.duckdb_raw_warm_ms,
        company_page_vs_raw_sql: (if $live.company_page_after_batch_ms == null then null
          else ($live.company_page_after_batch_ms / $c.company_view.duckdb_raw_warm_ms * 1000 | round / 1000) end),
        server_peak_rss_mib: (($rss_live / 1024) * 10 | round / 10), memory_limit: $memory_limit,
        load_ratio: $c.load.ratio}),
      http: {clients: $clients, seconds: $seconds, company_page: $page, api_kpis: $api,
             server_peak_rss_mib: (($rss / 1024) * 10 | round / 10)},
      sizes: {wasm_bytes: $wasm_raw, wasm_gzip_bytes: $wasm_gz, js_gzip_bytes: $js_gz,
              server_binary_bytes: $bin, company_page_bytes: $pages["/"].bytes,
              largest_page_bytes: ([$pages[].bytes] | max), pages: $pages}
    }' >"$OUT"

# --- 5. Spark (BENCH_SPARK=1; issue #23) ------------------------------------------------------
# The company KPIs on a loopback Spark cluster vs DuckDB and the rollup build on Spark
# (bench/spark.sh), merged into the result as `spark`.
# BENCH_SPARK=reuse merges the work folder's spark.json from an earlier bench/spark.sh run.
if [ "${BENCH_SPARK:-0}" = 1 ] || [ "${BENCH_SPARK:-0}" = reuse ]; then
    if [ "$BENCH_SPARK" = 1 ]; then
        say "Spark (bench/spark.sh)"
        BENCH_BIN=$BIN bench/spark.sh "$WORK" >&2
    fi
    jq --slurpfile spark "$WORK/spark.json" '. + {spark: $spark[0]}' "$OUT" >"$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
fi

jq -r '
  def f: if . == null then "-" else tostring end;
  "omnikpi benchmark: \(.events) events, \(.customers) customers, commit \(.commit), \(.date)",
  "machine: \(.machine.cpus) CPUs (\(.machine.cpu)), load average at end \(.machine.load_average_at_end | map(tostring) | join(" "))",
  "",
  "generation                       \(.generate_ms) ms (\(.csv_bytes / 1048576 | floor) MiB of CSV)",
  "load omnikpi                     \(.load.omnikpi_ms) ms (read \(.load.phases_ms.read), validate \(.load.phases_ms.validate), insert \(.load.phases_ms.insert), stitch \(.load.phases_ms.stitch))",
  "load DuckDB read_csv + INSERT    \(.load.duckdb_raw_ms) ms  ratio \(.load.ratio | f)  (goal <= 1.3)",
  "journeys rebuild                 \(.journeys.rebuild_ms) ms",
  "pain points (1 year)             \(.journeys.pain_points_ms) ms  total \(.journeys.total_ms) ms (goal < 3000)",
  "company view cold omnikpi        \(.company_view.omnikpi_cold_ms) ms (open \(.company_view.omnikpi_open_ms))",
  "company view cold raw DuckDB     \(.company_view.duckdb_raw_cold_ms) ms  ratio \(.company_view.cold_ratio | f) (goal <= 1.5)",
  (if .postgres == null then "company view PostgreSQL 15       left out (BENCH_SKIP_PG=1)" else
  "company view cold PostgreSQL 15  \(.postgres.company_cold_ms) ms  PG / omnikpi \(.postgres.cold_ratio_vs_omnikpi) (goal >= 10; \(.postgres.statements_timed_out_cold) statements cancelled at \(.postgres.statement_timeout_s) s)" end),
  "company view warm omnikpi        \(.company_view.omnikpi_warm_ms) ms (page \(.company_view.page_warm_ms) ms)",
  "company view warm raw DuckDB     \(.company_view.duckdb_raw_warm_ms) ms  ratio \(.company_view.warm_ratio | f)",
  (if .postgres == null then empty else
  "company view warm PostgreSQL 15  \(.postgres.company_warm_ms) ms  PG / omnikpi \(.postgres.warm_ratio_vs_omnikpi)" end),
  "HTTP company page (\(.http.clients) clients)  p50 \(.http.company_page.p50_ms) p95 \(.http.company_page.p95_ms) p99 \(.http.company_page.p99_ms) ms, \(.http.company_page.rps) req/s (goal p50 < 50, p95 < 200)",
  "HTTP /api/v1/kpis                p50 \(.http.api_kpis.p50_ms) p95 \(.http.api_kpis.p95_ms) p99 \(.http.api_kpis.p99_ms) ms, \(.http.api_kpis.rps) req/s",
  "server peak RSS under wrk        \(.http.server_peak_rss_mib) MiB with memory_limit \(.live.memory_limit) (goal < 1024)",
  "live: POST of 1,000 events       p50 \(.live.batch_post_ms) ms, \(.live.errors) errors, every batch counted: \(.live.batches_counted | f)",
  "live: company page after batch   p50 \(.live.company_page_after_batch_ms) p95 \(.live.company_page_after_batch_p95_ms) ms (goal < 500), \(.live.company_page_vs_raw_sql | f) x raw SQL \(.live.raw_company_sql_ms) ms (goal <= 0.1)",
  "live: batch visible              p50 \(.live.batch_visible_ms) ms (goal < 1000)",
  "live: department page            p50 \(.live.department_page_after_batch_ms) ms (goal < 500)",
  "live: KPI detail page            p50 \(.live.kpi_detail_after_batch_ms) ms (goal < 500)",
  "live: journeys page              p50 \(.live.journeys_page_after_batch_ms) ms (goal < 500)",
  "live: pain point page            p50 \(.live.pain_page_after_batch_ms) ms (goal < 500)",
  "live: company page profile       \(.live.company_page_profile)",
  "live: load ratio                 \(.live.load_ratio | f) (goal <= 1.5; against read_csv + INSERT without checks)",
  "live: server peak RSS            \(.live.server_peak_rss_mib) MiB, the server of the live rounds (goal < 1024)",
  "wasm bundle                      \(.sizes.wasm_bytes) B raw, \(.sizes.wasm_gzip_bytes) B gzip (goal < 409600)",
  "server binary                    \(.sizes.server_binary_bytes) B",
  "company page HTML                \(.sizes.company_page_bytes) B (goal < 102400)",
  "largest page HTML                \(.sizes.largest_page_bytes) B (goal < 153600; every page in sizes.pages)"
' "$OUT"
echo
echo "written to $OUT"
