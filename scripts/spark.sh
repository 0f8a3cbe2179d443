#!/usr/bin/env bash
# A loopback Apache Spark cluster for the Spark engine's test (tests/spark.rs) and for trying
# `omnikpi kpi --engine spark` by hand (docs/scaling.md, README "Past one machine").
#
#   scripts/spark.sh install     pyspark (with Spark's jars) into a venv outside the clone;
#                                re-runnable, does nothing when the pinned version is there
#   scripts/spark.sh start DIR   a standalone master, two workers (1 core, 1 GiB each) and the
#                                Spark Connect server on sc://127.0.0.1:$SPARK_CONNECT_PORT, all
#                                bound to 127.0.0.1; logs and PIDs go to DIR
#   scripts/spark.sh stop DIR    stops what `start DIR` started, by PID, newest first
#
# Java 17 (Debian's openjdk-17-jre-headless) is what Spark 4 runs on; set-up installs it.
set -euo pipefail

PYSPARK_VERSION=4.3.0
SPARK_VENV="${SPARK_VENV:-$HOME/.cache/omnikpi/spark-venv}"
MASTER_PORT="${SPARK_MASTER_PORT:-7077}"
CONNECT_PORT="${SPARK_CONNECT_PORT:-15002}"
# Memory per worker and per executor: enough for the tests' data; a benchmark at millions of
# events needs more (docs/scaling.md), e.g. SPARK_WORKER_MEMORY=4g SPARK_EXECUTOR_MEMORY=3g.
WORKER_MEMORY="${SPARK_WORKER_MEMORY:-1g}"
EXECUTOR_MEMORY="${SPARK_EXECUTOR_MEMORY:-512m}"
SHUFFLE_PARTITIONS="${SPARK_SHUFFLE_PARTITIONS:-4}"

die() { echo "spark.sh: $*" >&2; exit 1; }

install() {
  if "$SPARK_VENV/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$PYSPARK_VERSION')" 2>/dev/null; then
    return 0
  fi
  echo "installing pyspark $PYSPARK_VERSION (Spark's jars, ~1 GB) into $SPARK_VENV"
  python3 -m venv --clear "$SPARK_VENV"
  # pandas 3 makes pyspark print a FutureWarning on every import.
  "$SPARK_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "pyspark[connect]==$PYSPARK_VERSION" "pandas<3"
}

spark_env() {
  [ -x "$SPARK_VENV/bin/python" ] || die "no pyspark in $SPARK_VENV: run scripts/spark.sh install"
  SPARK_HOME=$("$SPARK_VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
  export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$1" SPARK_WORKER_DIR="$1/work"
  export PYSPARK_PYTHON="$SPARK_VENV/bin/python"
}

# file pattern seconds pid: waits for a line in a daemon's log, failing early if it died.
wait_log() {
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || { tail -n 30 "$1" >&2; die "process $4 died (log $1)"; }
    sleep 0.2
  done
  tail -n 30 "$1" >&2
  die "timeout waiting for '$2' in $1"
}

start() {
  local dir=$1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ ! -s "$dir/pids" ] || die "$dir/pids exists: a cluster from this folder is running (stop it first)"
  spark_env "$dir"
  : >"$dir/pids"
  # A failed start leaves nothing running.
  trap 'stop "$dir"' ERR
  local pid
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$MASTER_PORT" --webui-port 0 >"$dir/master.log" 2>&1 &
  pid=$!; echo "$pid" >>"$dir/pids"
  wait_log "$dir/master.log" "I have been elected leader" 120 "$pid"
  for n in 1 2; do
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
      "spark://127.0.0.1:$MASTER_PORT" --host 127.0.0.1 --cores 1 --memory "$WORKER_MEMORY" \
      --webui-port 0 --work-dir "$dir/work$n" >"$dir/worker$n.log" 2>&1 &
    pid=$!; echo "$pid" >>"$dir/pids"
  done
  wait_log "$dir/worker1.log" "Successfully registered with master" 120 "$(sed -n 2p "$dir/pids")"
  wait_log "$dir/worker2.log" "Successfully registered with master" 120 "$(sed -n 3p "$dir/pids")"
  # The Connect server is the one application: its executors take both workers' cores.
  # Its response streams are never cut (0: unlimited; by default after 2 min or 1 GB the
  # client must reattach, which the Rust client does not do on a stream that ends cleanly:
  # a long statement would come back empty or short). Set both on an existing cluster too.
  "$SPARK_HOME/bin/spark-submit" --class org.apache.spark.sql.connect.service.SparkConnectServer \
    --name "omnikpi Spark Connect" --master "spark://127.0.0.1:$MASTER_PORT" \
    --driver-memory 512m --conf spark.executor.memory="$EXECUTOR_MEMORY" --conf spark.ui.enabled=false \
    --conf spark.sql.shuffle.partitions="$SHUFFLE_PARTITIONS" \
    --conf spark.connect.execute.reattachable.senderMaxStreamDuration=0 \
    --conf spark.connect.execute.reattachable.senderMaxStreamSize=0 \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf spark.connect.grpc.binding.port="$CONNECT_PORT" >"$dir/connect.log" 2>&1 &
  pid=$!; echo "$pid" >>"$dir/pids"
  wait_log "$dir/connect.log" "Spark Connect server started at" 180 "$pid"
  trap - ERR
  echo "spark cluster up: sc://127.0.0.1:$CONNECT_PORT (PIDs in $dir/pids)"
}

stop() {
  local dir=$1 pids p i
  [ -f "$dir/pids" ] || return 0
  mapfile -t pids <"$dir/pids"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    [ -n "$p" ] || continue
    kill "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -f "$dir/pids"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 2 ] || die "usage: spark.sh start DIR"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: spark.sh stop DIR"; stop "$2" ;;
  *) die "usage: spark.sh install | start DIR | stop DIR" ;;
esac
