"""Times each company-view statement of a benchmark run on its database and prints DuckDB's
EXPLAIN ANALYZE of the two slowest.

usage: python3 bench/explain.py DB STATEMENTS_SQL TIME_ZONE
  DB              the run's omnikpi.duckdb ($BENCH_DIR/omnikpi.duckdb)
  STATEMENTS_SQL  $BENCH_DIR/pg/company.duckdb.sql (written by `omnikpi bench`)
  TIME_ZONE       the run's time zone (core.json's time_zone)
Needs Python's duckdb module at the version omnikpi links (1.5.6).
"""
import json
import re
import sys
import time

import duckdb

db, sql_file, zone = sys.argv[1], sys.argv[2], sys.argv[3]
blocks = re.split(r"^-- ", open(sql_file).read(), flags=re.M)[1:]
con = duckdb.connect(db, read_only=True)
con.execute("SET TimeZone = '" + zone.replace("'", "''") + "'")
timed = []
for block in blocks:
    head, sql = block.split("\n", 1)
    label, params = head.split(" ", 1)
    params = json.loads(params)
    sql = sql.strip().rstrip(";")
    start = time.time()
    con.execute(sql, params).fetchall()
    timed.append((time.time() - start, label, params, sql))
for seconds, label, params, _ in timed:
    print(f"{label:32s} {params} {seconds * 1000:10.1f} ms")
for seconds, label, params, sql in sorted(timed, key=lambda t: -t[0])[:2]:
    print(f"\n==== EXPLAIN ANALYZE {label} {params} ({seconds * 1000:.0f} ms)")
    for row in con.execute("EXPLAIN ANALYZE " + sql, params).fetchall():
        print(row[1])
