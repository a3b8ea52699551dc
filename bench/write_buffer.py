#!/usr/bin/env python3
"""What the write buffer costs: memory of `serve` while another connection
holds the database's write lock, until the buffer reaches its bound.

Runs watchkeeper-demo as the target and `watchkeeper serve` with N tcp
monitors at one interval (by default 10,000 at 10 s: 1,000 results a
second, so the buffer's bound is 60,000 results). After a warm-up it samples
RSS and `/health` for a baseline, then holds the write lock (`BEGIN
IMMEDIATE` from Python's sqlite3) long enough to pass the bound, sampling
every second, releases it and waits until the buffer is written. It prints
one line per sample and the cost per buffered result:
(RSS at the bound - baseline RSS) / results buffered at the bound.

It also checks what the store's trial found wrong: no probe skipped while
the lock is held, and the process exits 0 at the end (nothing left
unwritten).

Usage (release build first):
    cargo build --release -p watchkeeper -p watchkeeper-demo
    bench/write_buffer.py [--monitors 10000] [--interval 10] [--lock 75]
Standard library only; binds 127.0.0.1; stops what it started.
"""

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def rss_mib(pid):
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def metric(text, name):
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def sample(base, pid):
    status, body = get(f"{base}/health")
    store = json.loads(body)["store"]
    _, metrics = get(f"{base}/metrics")
    return {
        "rss": rss_mib(pid),
        "code": status,
        "writing": store["writing"],
        "buffered": store["buffered_results"],
        "capacity": store["buffer_capacity"],
        "dropped": store["dropped_results"],
        "skipped": metric(metrics, "watchkeeper_probes_skipped_total") or 0,
        "written": metric(metrics, "watchkeeper_results_written_total") or 0,
    }


def show(label, elapsed, s):
    print(
        f"{label:8} {elapsed:6.1f}s  rss {s['rss']:7.1f} MiB  {s['code']} "
        f"{s['writing']:7}  buffered {s['buffered']:6}/{s['capacity']}  "
        f"dropped {s['dropped']:6}  skipped {s['skipped']:5.0f}  written {s['written']:8.0f}",
        flush=True,
    )


def wait_for(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=10, help="seconds")
    parser.add_argument("--warmup", type=int, default=30, help="seconds before the baseline")
    parser.add_argument("--lock", type=int, default=75, help="seconds the write lock is held")
    args = parser.parse_args()

    processes = []
    try:
        with tempfile.TemporaryDirectory(prefix="wk-write-buffer-") as tmp:
            demo_port, port = free_port(), free_port()
            demo = subprocess.Popen(
                [os.path.join(RELEASE, "watchkeeper-demo"), "--listen", f"127.0.0.1:{demo_port}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(demo)
            db = os.path.join(tmp, "watchkeeper.db")
            with open(os.path.join(tmp, "watchkeeper.toml"), "w") as config:
                config.write(f'[storage]\nurl = "sqlite://{db}"\n\n')
                for n in range(args.monitors):
                    config.write(
                        f'[[monitor]]\nid = "m{n}"\ninterval = "{args.interval}s"\n'
                        f'timeout = "2s"\ntcp = {{ address = "127.0.0.1:{demo_port}" }}\n\n'
                    )
            log = open(os.path.join(tmp, "serve.log"), "w")
            serve = subprocess.Popen(
                [
                    os.path.join(RELEASE, "watchkeeper"),
                    "--config",
                    os.path.join(tmp, "watchkeeper.toml"),
                    "serve",
                    "--listen",
                    f"127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes.append(serve)
            base = f"http://127.0.0.1:{port}"
            wait_for("/health", lambda: get(f"{base}/health")[0] == 200, 60)
            start = time.monotonic()
            wait_for("the warm-up", lambda: time.monotonic() - start >= args.warmup, args.warmup + 5)

            baseline = []
            for _ in range(10):
                s = sample(base, serve.pid)
                baseline.append(s)
                show("baseline", time.monotonic() - start, s)
                time.sleep(1)
            rss_before = statistics.median(s["rss"] for s in baseline)
            skipped_before = baseline[-1]["skipped"]

            lock = sqlite3.connect(db, isolation_level=None, timeout=10)
            lock.execute("BEGIN IMMEDIATE")
            locked_at = time.monotonic()
            during = []
            while time.monotonic() - locked_at < args.lock:
                s = sample(base, serve.pid)
                during.append(s)
                show("locked", time.monotonic() - start, s)
                time.sleep(1)
            lock.execute("ROLLBACK")
            lock.close()

            wait_for(
                "the buffer to be written",
                lambda: sample(base, serve.pid)["buffered"] < args.monitors // args.interval * 2
                and sample(base, serve.pid)["writing"] == "ok",
                120,
            )
            after = sample(base, serve.pid)
            show("after", time.monotonic() - start, after)

            serve.send_signal(signal.SIGTERM)
            code = serve.wait(timeout=60)
            processes.remove(serve)

            # The first sample at the bound: the buffer is full, nothing
            # dropped yet (dropping starts with the next result).
            at_bound = next((s for s in during if s["buffered"] >= s["capacity"]), during[-1])
            peak = max(during, key=lambda s: s["rss"])
            grown = (at_bound["rss"] - rss_before) * 1024 * 1024
            print()
            print(f"monitors {args.monitors} at {args.interval} s, buffer bound {at_bound['capacity']} results")
            print(f"baseline RSS {rss_before:.1f} MiB; at the bound {at_bound['rss']:.1f} MiB "
                  f"({at_bound['buffered']} buffered); peak while locked {peak['rss']:.1f} MiB")
            if at_bound["buffered"]:
                print(f"cost per buffered result: {grown / at_bound['buffered']:.0f} bytes "
                      f"(RSS growth {grown / 1024 / 1024:.1f} MiB)")
            print(f"probes skipped while locked: {during[-1]['skipped'] - skipped_before:.0f}; "
                  f"results dropped: {during[-1]['dropped']}")
            print(f"serve exit code after SIGTERM: {code}")
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
