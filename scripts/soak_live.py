#!/usr/bin/env python3
"""Live soak driver (issue #24): readers on pages and the API while a writer posts a batch
every second and a file arrives every few minutes, against a running omnikpi server.

Started by scripts/soak-live.sh, which prepares the database, the accounts and the server and
passes everything through the environment:

  SOAK_URL        the server, e.g. http://127.0.0.1:3204
  SOAK_PID        the server's process id (its resident memory is sampled)
  SOAK_COOKIE     a signed-in session cookie (pages)
  SOAK_TOKEN      an API token with a reading role
  SOAK_INGEST     an API token with the ingest role
  SOAK_FROM/TO    the period the readers ask for; the writer's events fall on its last day
  SOAK_DAYS       spread the writes over the period's last N days, one day per batch in
                  turn (1: every batch on the last day, as a shop's live feed of today)
  SOAK_MINUTES    how long (30)
  SOAK_READERS    concurrent readers (50)
  SOAK_BATCH      events per batch (1000), posted every second
  SOAK_FILE       events per file (10000, the events API's most per request), posted
                  every SOAK_FILE_EVERY seconds (300)
  SOAK_CSV        where the 10-second samples go
  SOAK_ADMIN      an API token with the admin role (optional): each sample also reads
                  /metrics for the memory DuckDB's buffer manager holds (`duckdb_mib`)

Every request's end time, kind, status and latency is kept in memory; every 10 s the sampler
writes one CSV row (resident memory, requests answered in the window, failures, p50/p95/max
of the reads and of the batches). At the end it prints a Markdown table per minute and the
verdicts the issue asks for: errors, RSS within 5 % over the second half, latency growth.
"""

import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse
from datetime import date, timedelta

URL = urllib.parse.urlparse(os.environ["SOAK_URL"])
PID = int(os.environ["SOAK_PID"])
COOKIE = os.environ["SOAK_COOKIE"]
TOKEN = os.environ["SOAK_TOKEN"]
INGEST = os.environ["SOAK_INGEST"]
ADMIN = os.environ.get("SOAK_ADMIN", "")
FROM = os.environ["SOAK_FROM"]
TO = os.environ["SOAK_TO"]
DAYS = max(1, int(os.environ.get("SOAK_DAYS", "1")))
MINUTES = float(os.environ.get("SOAK_MINUTES", "30"))
READERS = int(os.environ.get("SOAK_READERS", "50"))
BATCH = int(os.environ.get("SOAK_BATCH", "1000"))
FILE = int(os.environ.get("SOAK_FILE", "10000"))
FILE_EVERY = float(os.environ.get("SOAK_FILE_EVERY", "300"))
CSV = os.environ.get("SOAK_CSV", "soak-live.csv")
RUN = str(int(time.time()))
TIMEOUT = 300

PERIOD = f"from={FROM}&to={TO}&lang=en"
# What a reader asks for, in turn: three pages and three API calls.
READS = [
    ("page", f"/?{PERIOD}", "cookie"),
    ("page", f"/dept/sales?{PERIOD}", "cookie"),
    ("page", f"/kpi/gross_revenue?{PERIOD}", "cookie"),
    ("api", f"/api/v1/kpis?from={FROM}&to={TO}&kpi=gross_revenue,orders,active_customers,aov", "token"),
    ("api", f"/api/v1/kpis/gross_revenue/series?from={FROM}&to={TO}&grain=week", "token"),
    ("api", f"/api/v1/kpis/gross_revenue/breakdown?from={FROM}&to={TO}&dimension=channel", "token"),
]

lock = threading.Lock()
done = []  # (end time, kind, ok, seconds, detail)
stop = threading.Event()


def record(kind, ok, seconds, detail=""):
    with lock:
        done.append((time.time(), kind, ok, seconds, detail))


def request(method, path, headers, body=None):
    """(status, seconds); status 0 when no answer came."""
    start = time.time()
    conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.time() - start
    except (OSError, http.client.HTTPException) as e:
        return 0, time.time() - start
    finally:
        conn.close()


def reader(n):
    i = n
    while not stop.is_set():
        kind, path, auth = READS[i % len(READS)]
        i += 1
        headers = {"Cookie": COOKIE} if auth == "cookie" else {"Authorization": f"Bearer {TOKEN}"}
        status, seconds = request("GET", path, headers)
        record(kind, 200 <= status < 300, seconds, "" if 200 <= status < 300 else f"{status} {path}")


def events(prefix, count, day):
    """`count` events on `day`: visits, carts, web orders of two lines that link a cookie to a
    new e-mail, app orders, chats (the bench's live batch)."""
    lines = []
    for i in range(count):
        k, m = divmod(i, 10)
        at = f"{day}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z"
        who = f"soak-{prefix}-{k}"
        e = {"event_id": f"soak-{prefix}-{i}", "occurred_at": at}
        if m < 4:
            e.update(event_type="visit", channel="web", cookie_id=who)
        elif m < 6:
            e.update(event_type="add_to_cart", channel="web", cookie_id=who)
        elif m < 8:
            e.update(event_type="purchase", channel="web", cookie_id=who, email=f"{who}@example.it",
                     order_id=f"{who}-web", amount="20.00")
        elif m < 9:
            e.update(event_type="chat_start", channel="chat", email=f"{who}@example.it")
        else:
            e.update(event_type="purchase", channel="app", email=f"{who}@example.it",
                     order_id=f"{who}-app", amount="25.00")
        lines.append(json.dumps(e))
    return ("\n".join(lines) + "\n").encode()


def day_of(n):
    """The day of the n-th write: the period's last day, or with SOAK_DAYS the days before it
    in turn, so the data grows over many days rather than piling onto one."""
    return (date.fromisoformat(TO) - timedelta(days=n % DAYS)).isoformat()


def post(kind, prefix, count, source, n):
    body = events(prefix, count, day_of(n))
    headers = {"Authorization": f"Bearer {INGEST}", "Content-Type": "application/x-ndjson"}
    status, seconds = request("POST", f"/api/v1/events?source={source}", headers, body)
    record(kind, 200 <= status < 300, seconds, "" if 200 <= status < 300 else f"{status} {kind}")


def writer():
    """A batch every second; one that takes longer delays the next (writes never overlap)."""
    n = 0
    next_at = time.time()
    while not stop.is_set():
        now = time.time()
        if now < next_at:
            time.sleep(next_at - now)
            continue
        n += 1
        post("batch", f"{RUN}-b{n}", BATCH, "soak-live", n)
        next_at += 1.0
        if next_at < time.time() - 60:
            next_at = time.time()


def loader():
    """A file every FILE_EVERY seconds, through the events API (the server holds the
    database; a file arrives as one NDJSON upload and loads in one transaction)."""
    n = 0
    while not stop.wait(FILE_EVERY):
        n += 1
        post("file", f"{RUN}-f{n}", FILE, "soak-file", n)


def rss_mib():
    try:
        with open(f"/proc/{PID}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def duckdb_mib():
    """The sum of /metrics' omnikpi_duckdb_memory_bytes: what DuckDB's buffer manager holds
    (tables, hash tables, indexes...). The rest of the resident memory is the allocator's
    and the server's own."""
    if not ADMIN:
        return float("nan")
    conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
        response = conn.getresponse()
        text = response.read().decode()
    except (OSError, http.client.HTTPException):
        return float("nan")
    finally:
        conn.close()
    total = sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith("omnikpi_duckdb_memory_bytes{"))
    return total / 1024 / 1024


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def window(rows, kind):
    return [r for r in rows if r[1] in kind]


def main():
    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    threads += [threading.Thread(target=writer, daemon=True), threading.Thread(target=loader, daemon=True)]
    start = time.time()
    for t in threads:
        t.start()
    samples = []
    seen = 0
    with open(CSV, "w") as out:
        out.write("seconds,rss_mib,reads,read_errors,read_p50_ms,read_p95_ms,read_max_ms,"
                  "batches,batch_errors,batch_p50_ms,batch_max_ms,files,file_errors,file_ms,"
                  "duckdb_mib\n")
        while time.time() - start < MINUTES * 60:
            time.sleep(10)
            with lock:
                rows = done[seen:]
                seen = len(done)
            reads = window(rows, ("page", "api"))
            batches = window(rows, ("batch",))
            files = window(rows, ("file",))
            ms = lambda rs: [r[3] * 1000 for r in rs]
            sample = {
                "t": time.time() - start,
                "rss": rss_mib(),
                "duckdb": duckdb_mib(),
                "reads": len(reads),
                "read_errors": sum(not r[2] for r in reads),
                "read_p50": pct(ms(reads), 0.5),
                "read_p95": pct(ms(reads), 0.95),
                "read_max": max(ms(reads), default=float("nan")),
                "batches": len(batches),
                "batch_errors": sum(not r[2] for r in batches),
                "batch_p50": pct(ms(batches), 0.5),
                "batch_max": max(ms(batches), default=float("nan")),
                "files": len(files),
                "file_errors": sum(not r[2] for r in files),
                "file_ms": max(ms(files), default=float("nan")),
                "rows": rows,
            }
            samples.append(sample)
            out.write(",".join(f"{sample[k]:.0f}" if isinstance(sample[k], float) else str(sample[k])
                               for k in ("t", "rss", "reads", "read_errors", "read_p50", "read_p95",
                                         "read_max", "batches", "batch_errors", "batch_p50",
                                         "batch_max", "files", "file_errors", "file_ms", "duckdb")) + "\n")
            out.flush()
            print(f"{sample['t']:5.0f} s  rss {sample['rss']:7.1f} MiB (DuckDB {sample['duckdb']:6.1f})  reads {sample['reads']:4d} "
                  f"(p50 {sample['read_p50']:6.0f} ms, p95 {sample['read_p95']:6.0f} ms)  "
                  f"batches {sample['batches']:2d} (p50 {sample['batch_p50']:5.0f} ms)  "
                  f"files {sample['files']}  errors {sample['read_errors'] + sample['batch_errors'] + sample['file_errors']}",
                  flush=True)
    stop.set()
    report(samples)


def report(samples):
    print()
    print("| minute | RSS MiB (end) | reads | read errors | read p50 ms | read p95 ms | "
          "batches | batch errors | batch p50 ms | batch max ms | files (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    per_minute = {}
    for s in samples:
        per_minute.setdefault(int((s["t"] - 1) // 60), []).append(s)
    for minute, group in sorted(per_minute.items()):
        rows = [r for s in group for r in s["rows"]]
        reads = window(rows, ("page", "api"))
        batches = window(rows, ("batch",))
        files = window(rows, ("file",))
        ms = lambda rs: [r[3] * 1000 for r in rs]
        print(f"| {minute}-{minute + 1} | {group[-1]['rss']:.0f} | {len(reads)} | "
              f"{sum(not r[2] for r in reads)} | {pct(ms(reads), 0.5):.0f} | {pct(ms(reads), 0.95):.0f} | "
              f"{len(batches)} | {sum(not r[2] for r in batches)} | {pct(ms(batches), 0.5):.0f} | "
              f"{max(ms(batches), default=float('nan')):.0f} | "
              f"{', '.join(f'{m:.0f}' + ('' if r[2] else ' failed') for r, m in zip(files, ms(files))) or '-'} |")
    rows = [r for s in samples for r in s["rows"]]
    errors = [r for r in rows if not r[2]]
    print()
    print(f"requests: {len(rows)}; reads {len(window(rows, ('page', 'api')))}, "
          f"batches {len(window(rows, ('batch',)))} ({sum(r[1] == 'batch' for r in rows) * BATCH:,} events), "
          f"files {len(window(rows, ('file',)))}")
    print(f"errors: {len(errors)}")
    for r in errors[:20]:
        print(f"  {r[1]}: {r[4]} after {r[3]:.1f} s")
    half = samples[len(samples) // 2:]
    rss = [s["rss"] for s in half]
    if rss:
        mean = statistics.fmean(rss)
        spread = max(abs(x - mean) for x in rss) / mean * 100
        print(f"RSS over the second half: {min(rss):.0f}-{max(rss):.0f} MiB, mean {mean:.0f}, "
              f"largest deviation {spread:.1f} % ({'within' if spread <= 5 else 'outside'} 5 %)")
    thirds = len(samples) // 3
    if thirds:
        first = [r[3] * 1000 for s in samples[thirds:2 * thirds] for r in window(s["rows"], ("page", "api"))]
        last = [r[3] * 1000 for s in samples[2 * thirds:] for r in window(s["rows"], ("page", "api"))]
        if first and last:
            print(f"read p50, middle third {pct(first, 0.5):.0f} ms, last third {pct(last, 0.5):.0f} ms; "
                  f"p95 {pct(first, 0.95):.0f} ms, {pct(last, 0.95):.0f} ms")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
