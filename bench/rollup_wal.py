#!/usr/bin/env python3
"""WAL bytes written by each minute's rollups as the rollups table grows.

Upserts one row per monitor per minute (10,000 monitors, 120 minutes) into a
table shaped like `rollups` (clustered by `(monitor, minute)`, 1 KiB pages,
WAL), one transaction per minute as `serve` does, and prints the WAL bytes
of that minute's transaction every ten minutes. Each minute touches every
monitor's last leaf page, and once a monitor's rows fill pages of their own
that is one dirty page per monitor per minute.

Standard library only; about a minute. Usage: bench/rollup_wal.py [MONITORS]
"""

import os
import random
import sqlite3
import sys
import tempfile

MINUTES = 120


def main():
    monitors = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    histogram = bytes(random.Random(1).randrange(256) for _ in range(12))
    with tempfile.TemporaryDirectory(prefix="wk-rollup-wal-") as tmp:
        path = os.path.join(tmp, "rollups.db")
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA page_size = 1024")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA wal_autocheckpoint = 0")
        db.execute(
            "CREATE TABLE rollups (monitor INTEGER NOT NULL, minute INTEGER NOT NULL, "
            "count INTEGER NOT NULL, failures INTEGER NOT NULL, degraded INTEGER NOT NULL, "
            "latency_min_us INTEGER NOT NULL, latency_max_us INTEGER NOT NULL, "
            "latency_sum_us INTEGER NOT NULL, p50_us INTEGER NOT NULL, p95_us INTEGER NOT NULL, "
            "p99_us INTEGER NOT NULL, histogram BLOB NOT NULL, PRIMARY KEY (monitor, minute)) WITHOUT ROWID"
        )
        print(f"| minute | WAL bytes of that minute's rollups ({monitors:,} monitors) |")
        print("|---|---|")
        for minute in range(MINUTES):
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO rollups VALUES (?, ?, 6, 0, 0, 20000, 25000, 130000, 21000, 24000, 25000, ?)",
                [(monitor, minute * 60, histogram) for monitor in range(monitors)],
            )
            db.execute("COMMIT")
            if minute % 10 == 0 or minute == MINUTES - 1:
                print(f"| {minute + 1} | {os.path.getsize(path + '-wal') / 2**20:.1f} MiB |", flush=True)
        db.close()


if __name__ == "__main__":
    main()
