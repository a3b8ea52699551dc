#!/usr/bin/env python3
"""Does reading the board hold up probing? N HTTP monitors at 10 s against
bench.py's nginx fleet; after a warm-up, alternating windows without and
with a client that calls `GET /api/v1/monitors` in a loop (one request at a
time, as fast as answers come). For each window: the scheduler's lag
p50 / p99 / max of the results that started in it (read back from the
store, as bench.py does), probes completed per second, and the list's own
latency.

Usage (release build first):
    cargo build --release -p watchkeeper
    bench/board_reads.py [--monitors 10000] [--warmup 60] [--window 60] [--rounds 3]
Standard library only (and nginx, as bench.py); binds 127.0.0.1; stops what
it started.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def read_in_a_loop(url, stop, times):
    while not stop.is_set():
        start = time.perf_counter()
        bench.get(url)
        times.append(1000 * (time.perf_counter() - start))


def window(db, n, seconds, reading):
    url = f"http://127.0.0.1:{bench.WK_PORT}/api/v1/monitors"
    stop, times = threading.Event(), []
    reader = threading.Thread(target=read_in_a_loop, args=(url, stop, times)) if reading else None
    wall0 = time.time()
    if reader:
        reader.start()
    time.sleep(seconds)
    wall1 = time.time()
    if reader:
        stop.set()
        reader.join()
    # Results of the window's last probes are written within a flush.
    time.sleep(bench.TIMEOUT_S + 2)
    figures = bench.store_figures(bench.SqliteFigures(db), n, wall0, wall1, 0)
    times.sort()
    return {
        "reading": reading,
        "lag": figures["lag_ms"],
        "completed_per_s": figures["completed_per_s"],
        "lists": len(times),
        "list_p50": bench.percentile(times, 0.5) if times else float("nan"),
        "list_p95": bench.percentile(times, 0.95) if times else float("nan"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monitors", type=int, default=10000)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.monitors
    rows = []
    with tempfile.TemporaryDirectory(prefix="wk-board-") as tmp:
        nginx = bench.start_fleet(tmp)
        try:
            wk, _, db = bench.start_watchkeeper(tmp, n)
            try:
                time.sleep(args.warmup)
                for r in range(args.rounds):
                    for reading in (False, True):
                        row = window(db, n, args.window, reading)
                        row["round"] = r + 1
                        rows.append(row)
                        bench.log(
                            f"round {r + 1} {'reading' if reading else 'quiet  '}: lag p50 {row['lag']['p50']:.1f} "
                            f"p99 {row['lag']['p99']:.1f} max {row['lag']['max']:.1f} ms, "
                            f"{row['completed_per_s']:.0f} probes/s, {row['lists']} lists "
                            f"(p50 {row['list_p50']:.1f} ms, p95 {row['list_p95']:.1f} ms)"
                        )
            finally:
                wk.stop()
        finally:
            nginx.stop()

    print(f"\n{n} HTTP monitors at {bench.INTERVAL_S} s, {args.window} s windows, {args.rounds} rounds\n")
    print("| window | lag p50 | lag p99 | lag max | probes/s | lists in the window | list p50 / p95 |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        kind = "reading the list in a loop" if row["reading"] else "no API reads"
        lists = f"{row['lists']}" if row["reading"] else "—"
        latency = f"{row['list_p50']:.1f} / {row['list_p95']:.1f} ms" if row["reading"] else "—"
        print(
            f"| {row['round']}: {kind} | {row['lag']['p50']:.1f} ms | {row['lag']['p99']:.1f} ms | "
            f"{row['lag']['max']:.0f} ms | {row['completed_per_s']:.0f} | {lists} | {latency} |"
        )
    for reading in (False, True):
        p99s = [row["lag"]["p99"] for row in rows if row["reading"] == reading]
        label = "reading" if reading else "quiet"
        print(f"\nmedian lag p99, {label}: {statistics.median(p99s):.1f} ms")


if __name__ == "__main__":
    main()
