#!/usr/bin/env python3
"""A first, rough scale check (the full benchmark is its own issue).

Starts the demo API and `watchkeeper serve` (release builds) on 127.0.0.1,
with N HTTP monitors at a 10 s interval, each with a status and a JSON-field
condition, all against the demo API (distinct URLs by query string). After a
warm-up it measures, over a fixed window: CPU of the watchkeeper process (% of
one core, from /proc), RSS, scheduler lag quantiles (from our own
/metrics histogram), results written per second against probes due, and
the latency of GET /api/v1/monitors and of one monitor's detail (measured
after the window, 40 sequential requests each).
Everything binds to 127.0.0.1 and stops by itself.

usage: bench/quick_scale.py N [N…]   (build first: cargo build --release -p watchkeeper -p watchkeeper-demo)
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WK = os.path.join(ROOT, "target/release/watchkeeper")
DEMO = os.path.join(ROOT, "target/release/watchkeeper-demo")
DEMO_PORT, WK_PORT = 9301, 9300
WARMUP, WINDOW = 25, 60
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid):
    status = open(f"/proc/{pid}/status").read()
    get = lambda key: int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024
    return get("VmRSS"), get("VmHWM")


def scrape():
    text = urllib.request.urlopen(f"http://127.0.0.1:{WK_PORT}/metrics", timeout=30).read().decode()
    buckets, values = [], {}
    for line in text.splitlines():
        m = re.match(r'watchkeeper_scheduler_lag_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), float(m.group(2))))
        m = re.match(r"(watchkeeper_(?:results_written_total|probes_skipped_total|store_errors_total|probes_started_total)) (\S+)", line)
        if m:
            values[m.group(1)] = float(m.group(2))
    return buckets, values


def api_latency_ms(path, requests=40):
    """Median and p95 wall time of GET path, sequential requests."""
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        urllib.request.urlopen(f"http://127.0.0.1:{WK_PORT}{path}", timeout=30).read()
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95) - 1]


def quantile(before, after, q):
    """Upper bound of the bucket holding quantile q of the window's lags."""
    counts = [(le, a - b) for (le, a), (_, b) in zip(after, before)]
    total = counts[-1][1]
    if total <= 0:
        return float("nan")
    for le, c in counts:
        if c >= q * total:
            return le
    return float("inf")


def run(n):
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "watchkeeper.toml")
        with open(config, "w") as f:
            f.write(f'[server]\nlisten = "127.0.0.1:{WK_PORT}"\n\n[probes]\nconcurrency = 2048\n\n')
            for i in range(n):
                f.write(
                    f'[[monitor]]\nid = "m{i}"\ninterval = "10s"\ntimeout = "5s"\n'
                    f'http = {{ url = "http://127.0.0.1:{DEMO_PORT}/health?n={i}" }}\n'
                    "expect = ['status == 200', 'json.status == \"ok\"']\n\n"
                )
        demo = subprocess.Popen([DEMO, "--listen", f"127.0.0.1:{DEMO_PORT}"], stderr=subprocess.DEVNULL)
        wk = subprocess.Popen([WK, "--config", config, "serve"], stderr=open(os.path.join(tmp, "wk.log"), "w"))
        try:
            time.sleep(WARMUP)
            lag0, val0 = scrape()
            cpu0, demo_cpu0, t0 = cpu_seconds(wk.pid), cpu_seconds(demo.pid), time.monotonic()
            time.sleep(WINDOW)
            lag1, val1 = scrape()
            cpu1, demo_cpu1, t1 = cpu_seconds(wk.pid), cpu_seconds(demo.pid), time.monotonic()
            rss, peak = rss_mib(wk.pid)
            list_p50, list_p95 = api_latency_ms("/api/v1/monitors")
            one_p50, one_p95 = api_latency_ms(f"/api/v1/monitors/m{n // 2}")
            elapsed = t1 - t0
            written = (val1["watchkeeper_results_written_total"] - val0["watchkeeper_results_written_total"]) / elapsed
            skipped = val1.get("watchkeeper_probes_skipped_total", 0) - val0.get("watchkeeper_probes_skipped_total", 0)
            cpu = 100 * (cpu1 - cpu0) / elapsed
            row = (
                f"| {n:>6} | {n / 10:>7.0f} | {written:>8.1f} | {int(skipped):>7} | {cpu:>6.1f} % | "
                f"{1e6 * (cpu1 - cpu0) / max(written * elapsed, 1):>6.0f} µs | {rss:>6.1f} | {peak:>6.1f} | "
                f"≤ {1000 * quantile(lag0, lag1, 0.5):g} ms | ≤ {1000 * quantile(lag0, lag1, 0.99):g} ms | "
                f"{100 * (demo_cpu1 - demo_cpu0) / elapsed:>5.1f} % | "
                f"{list_p50:.0f} / {list_p95:.0f} ms | {one_p50:.1f} / {one_p95:.1f} ms |"
            )
            return row
        finally:
            wk.send_signal(signal.SIGTERM)
            try:
                wk.wait(timeout=30)
            except subprocess.TimeoutExpired:
                wk.kill()
            demo.terminate()
            demo.wait(timeout=10)


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1000]
    print(f"warm-up {WARMUP} s, window {WINDOW} s, nproc {os.cpu_count()}")
    print("| monitors | due/s | written/s | skipped | CPU (1 core) | CPU/probe | RSS MiB | peak MiB | lag p50 | lag p99 | target CPU | list p50/p95 | detail p50/p95 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        print(run(n), flush=True)


if __name__ == "__main__":
    main()
