# omnikpi: the two commands of the README's quick start, and their parts.
#   make demo   set up, build, load the demo data set and serve it on http://127.0.0.1:3000
#   make test   set up and run the whole test suite (what CI runs)
#   make bench  the benchmark at 10M events against raw DuckDB and PostgreSQL 15 (EVENTS=N to
#               change; writes bench/results/<date>-<events>.json)

SHELL := /bin/bash
# Outside the clone, so a fresh clone on the same machine reuses the compiled dependencies.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/omnikpi/target
BIN := $(CARGO_TARGET_DIR)/debug/omnikpi
DEMO_DB ?= data/demo.duckdb
ADDR ?= 127.0.0.1:3000

.PHONY: demo test setup build serve bench clean-demo

setup:
	scripts/setup.sh

build: setup
	cargo leptos build

demo: build
	rm -f $(DEMO_DB) $(DEMO_DB).wal
	$(BIN) --db $(DEMO_DB) demo
	@echo
	@echo "omnikpi demo: open http://$(ADDR)/ (Ctrl-C stops the server)"
	$(BIN) --db $(DEMO_DB) serve --addr $(ADDR)

serve:
	$(BIN) --db $(DEMO_DB) serve --addr $(ADDR)

test:
	scripts/test.sh

EVENTS ?= 10000000
# Release build in the clone's own target/ by default (bench/run.sh builds it).
bench: setup
	bench/run.sh --events $(EVENTS)

clean-demo:
	rm -rf data/demo.duckdb data/demo.duckdb.wal data/demo
