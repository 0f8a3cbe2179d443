#!/usr/bin/env bash
# The Spark part of the benchmark (issue #23), on the database `omnikpi bench` left in a work
# folder: exports the lake, starts the loopback cluster of scripts/spark.sh (one master, two
# 1-core workers, Spark Connect), and times
#   - the company view's KPIs for its year (core.json's company_view) through
#     `omnikpi kpi --engine spark` against `omnikpi kpi` on DuckDB (both whole commands, from
#     process start to JSON; every value checked equal to 1e-9 relative);
#   - `omnikpi rollup build --engine spark` on a copy of the database, then `rollup verify`.
# Writes WORK/spark.json as each step ends, so a step that fails leaves the ones before it
# (bench/run.sh merges it into its result as `spark` when BENCH_SPARK=1), and stops the
# cluster by PID on exit.
#
#   bench/spark.sh [WORK]   WORK: the bench work folder (default $BENCH_DIR, else
#                           $CARGO_TARGET_DIR/bench); it holds core.json and omnikpi.duckdb
# Environment: BENCH_BIN (default $CARGO_TARGET_DIR/release/omnikpi), SPARK_VENV (see
# scripts/spark.sh), SPARK_MASTER_PORT (7077), SPARK_CONNECT_PORT (15002), and the cluster's
# memory (SPARK_WORKER_MEMORY, SPARK_EXECUTOR_MEMORY, SPARK_SHUFFLE_PARTITIONS: see
# scripts/spark.sh; 10M events need more than the defaults).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(cd "${1:-${BENCH_DIR:-$CARGO_TARGET_DIR/bench}}" && pwd)
BIN=${BENCH_BIN:-$CARGO_TARGET_DIR/release/omnikpi}
DB=$WORK/omnikpi.duckdb
LAKE=$WORK/lake
CLUSTER=$WORK/spark-cluster
URL=sc://127.0.0.1:${SPARK_CONNECT_PORT:-15002}
say() { printf '\n== %s\n' "$*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
[ -f "$WORK/core.json" ] && [ -f "$DB" ] || {
    echo "bench/spark.sh: $WORK has no core.json and omnikpi.duckdb (run omnikpi bench first)" >&2
    exit 1
}
export OMNIKPI_LOG=warn

FROM=$(jq -r '.company_view.period[0]' "$WORK/core.json")
TO=$(jq -r '.company_view.period[1]' "$WORK/core.json")
KPI_ARGS=()
for key in $(jq -r '.company_view.kpis[]' "$WORK/core.json"); do KPI_ARGS+=(--kpi "$key"); done

scripts/spark.sh install
PYSPARK=$("${SPARK_VENV:-$HOME/.cache/omnikpi/spark-venv}/bin/python" -c 'import pyspark; print(pyspark.__version__)')
OUT=$WORK/spark.json
jq -n --arg pyspark "$PYSPARK" --arg worker "${SPARK_WORKER_MEMORY:-1g}" \
    --arg executor "${SPARK_EXECUTOR_MEMORY:-512m}" \
    --argjson partitions "${SPARK_SHUFFLE_PARTITIONS:-4}" \
    '{pyspark: $pyspark, workers: 2, cores_per_worker: 1, worker_memory: $worker,
      executor_memory: $executor, shuffle_partitions: $partitions}' >"$OUT"
# record JQ_FILTER [jq args...]: merges the filter's object into spark.json.
record() {
    local filter=$1; shift
    jq "$@" ". + ($filter)" "$OUT" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
}

say "lake export of $DB"
rm -rf "$LAKE" "$LAKE-rollup-build"
t0=$(now_ms)
"$BIN" --db "$DB" export --lake "$LAKE" >&2
EXPORT_MS=$(($(now_ms) - t0))
EVENTS=$(jq .events.rows "$LAKE/manifest.json")
record '{events: $events, lake_export_ms: $export}' --argjson events "$EVENTS" \
    --argjson export "$EXPORT_MS"

say "loopback Spark cluster"
scripts/spark.sh stop "$CLUSTER"
trap 'scripts/spark.sh stop "$CLUSTER"' EXIT
t0=$(now_ms)
scripts/spark.sh start "$CLUSTER" >&2
CLUSTER_MS=$(($(now_ms) - t0))
record '{cluster_start_ms: $cluster}' --argjson cluster "$CLUSTER_MS"

kpis() { "$BIN" --db "$DB" kpi --from "$FROM" --to "$TO" "${KPI_ARGS[@]}" --json "$@"; }
say "company KPIs $FROM..$TO: DuckDB, then Spark (twice each, the second kept)"
for engine in duckdb spark; do
    args=()
    [ "$engine" = spark ] && args=(--engine spark --spark "$URL" --lake "$LAKE")
    for run in 1 2; do
        t0=$(now_ms)
        kpis "${args[@]}" >"$WORK/spark-kpis-$engine.json"
        ms=$(($(now_ms) - t0))
        [ "$run" = 1 ] && first=$ms
    done
    declare "${engine^^}_FIRST_MS=$first" "${engine^^}_MS=$ms"
done
# Every value, comparison value and change equal to 1e-9 relative.
DIFFERENT=$(jq -n --slurpfile d "$WORK/spark-kpis-duckdb.json" \
    --slurpfile s "$WORK/spark-kpis-spark.json" '
    def close(a; b): (a == null and b == null) or (a != null and b != null and
        ((a - b) | fabs) <= 1e-9 * ([(a | fabs), (b | fabs), 1] | max));
    [range(0; $d[0].kpis | length) as $i | $d[0].kpis[$i] as $a | $s[0].kpis[$i] as $b
     | select($a.key != $b.key or ([("value", "previous", "change") as $f
                                    | close($a[$f]; $b[$f])] | all | not))
     | $a.key]')
record '{company_kpis: {period: [$from, $to], kpis: $kpis,
                        duckdb_ms: $d, duckdb_first_ms: $d1, spark_ms: $s, spark_first_ms: $s1,
                        spark_vs_duckdb: (($s / ([$d, 1] | max)) * 100 | round / 100),
                        kpis_different: $different}}' \
    --arg from "$FROM" --arg to "$TO" \
    --argjson kpis "$(jq '.company_view.kpis | length' "$WORK/core.json")" \
    --argjson d1 "$DUCKDB_FIRST_MS" --argjson d "$DUCKDB_MS" \
    --argjson s1 "$SPARK_FIRST_MS" --argjson s "$SPARK_MS" --argjson different "$DIFFERENT"

say "rollup build on Spark (on a copy of the database)"
cp "$DB" "$WORK/spark-rollups.duckdb"
t0=$(now_ms)
"$BIN" --db "$WORK/spark-rollups.duckdb" rollup build --engine spark --spark "$URL" \
    --lake "$LAKE" | tee "$WORK/spark-rollup-build.txt" >&2
BUILD_MS=$(($(now_ms) - t0))
record '{rollup_build: {spark_ms: $build, report: $built}}' --argjson build "$BUILD_MS" \
    --arg built "$(cat "$WORK/spark-rollup-build.txt")"
t0=$(now_ms)
VERIFY=clean
"$BIN" --db "$WORK/spark-rollups.duckdb" rollup verify >"$WORK/spark-rollup-verify.txt" 2>&1 ||
    VERIFY=differs
VERIFY_MS=$(($(now_ms) - t0))
t0=$(now_ms)
"$BIN" --db "$WORK/spark-rollups.duckdb" rollup rebuild >/dev/null
REBUILD_MS=$(($(now_ms) - t0))
rm -f "$WORK/spark-rollups.duckdb" "$WORK/spark-rollups.duckdb.wal"

record '{rollup_build: {spark_ms: $build, report: $built, verify: $verify,
                       verify_ms: $verify_ms, local_rebuild_ms: $rebuild}}' \
    --argjson build "$BUILD_MS" --arg verify "$VERIFY" --argjson verify_ms "$VERIFY_MS" \
    --argjson rebuild "$REBUILD_MS" --arg built "$(cat "$WORK/spark-rollup-build.txt")"
cat "$OUT"
