#!/usr/bin/env python3
"""How many bytes SQLite writes to the WAL per result, by table layout and
page size: the experiment behind the store's page size (docs/storage.md).

A table shaped like `results` is filled with 30 minutes of results from
10,000 monitors at a 10 s interval (1,000 a second), then one more minute is
written as one transaction a second, as `serve` does, and the WAL's growth
is measured. Layouts:

  by-monitor   PRIMARY KEY (monitor, started_at), as the store has it
  by-time      PRIMARY KEY (started_at, monitor)
  by-time+idx  by-time, plus an index on (monitor, started_at)

Standard library only; works in a temporary directory and prints a table.
Takes about a minute.
"""

import os
import sqlite3
import tempfile

MONITORS = 10_000
PER_SECOND = 1_000
PREFILL_S = 1_800
MEASURED_S = 60
CHECKPOINT_EVERY_S = 10
T0_MS = 1_700_000_000_000

COLUMNS = (
    "monitor INTEGER NOT NULL, started_at INTEGER NOT NULL, lag_ms INTEGER NOT NULL, "
    "latency_us INTEGER NOT NULL, health INTEGER NOT NULL, reason TEXT"
)
LAYOUTS = {
    "by-monitor": ("monitor, started_at", False),
    "by-time": ("started_at, monitor", False),
    "by-time+idx": ("started_at, monitor", True),
}


def second_of_results(second):
    """The results that start in one second: monitor i is due at i ms into
    its 10 s period."""
    first = (second % (MONITORS // PER_SECOND)) * PER_SECOND
    return [
        (first + j, T0_MS + second * 1000 + j, 1, 2000 + j, 0, None)
        for j in range(PER_SECOND)
    ]


def wal_size(path):
    return os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0


def measure(directory, layout, page_size):
    key, index = LAYOUTS[layout]
    path = os.path.join(directory, f"{layout}-{page_size}.db")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(f"PRAGMA page_size = {page_size}")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA wal_autocheckpoint = 0")
    con.execute(f"CREATE TABLE results ({COLUMNS}, PRIMARY KEY ({key})) WITHOUT ROWID")
    if index:
        con.execute("CREATE INDEX results_by_monitor ON results (monitor, started_at)")
    insert = "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)"

    con.execute("BEGIN")
    for second in range(PREFILL_S):
        con.executemany(insert, second_of_results(second))
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    written = 0
    for second in range(PREFILL_S, PREFILL_S + MEASURED_S):
        before = wal_size(path)
        con.execute("BEGIN")
        con.executemany(insert, second_of_results(second))
        con.execute("COMMIT")
        written += wal_size(path) - before
        if second % CHECKPOINT_EVERY_S == CHECKPOINT_EVERY_S - 1:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return written / (MEASURED_S * PER_SECOND), os.path.getsize(path)


def main():
    runs = [
        ("by-monitor", 4096),
        ("by-monitor", 2048),
        ("by-monitor", 1024),
        ("by-monitor", 512),
        ("by-time", 4096),
        ("by-time+idx", 4096),
        ("by-time+idx", 1024),
    ]
    print("| layout | page size | WAL bytes per result | database after 31 min |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="wk-wal-") as directory:
        for layout, page_size in runs:
            per_result, size = measure(directory, layout, page_size)
            print(f"| {layout} | {page_size} | {per_result:,.0f} | {size / 2**20:.1f} MiB |", flush=True)


if __name__ == "__main__":
    main()
