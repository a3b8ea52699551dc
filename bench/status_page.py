#!/usr/bin/env python3
"""What the public status page costs at scale: N HTTP monitors at 10 s
against bench.py's nginx fleet, in C components (N/C monitors each, in
groups of ten components), with Watchkeeper probing as usual. After a
warm-up it measures, while probing goes on:

  cached   GET / answered from the 5 s page cache (sequential GETs);
  render   GET / each a fresh rendering (one every 5.2 s, past the cache);
  json     GET /api/v2/summary.json (each a fresh model, no page cache);
  lag      the scheduler's lag p99 and probes skipped over the same span,
           from /metrics, to show the page does not hold up probing.

Prints a table (p50 / p95 / max per kind, bytes sent gzipped and not).
Usage (release build first):
    bench/status_page.py [--monitors 10000] [--components 50] [--warmup 60] [--renders 12] [--runs 3]
Standard library only; binds 127.0.0.1; stops what it started.
"""

import argparse
import gzip
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

BASE = f"http://127.0.0.1:{bench.WK_PORT}"


def write_config(path, n, components):
    bench.write_watchkeeper_config(path, n)
    text = open(path).read()
    # Each monitor joins a component: m{i} → c{i % components}.
    text = re.sub(
        r'^id = "m(\d+)"$',
        lambda m: f'id = "m{m.group(1)}"\ncomponent = "c{int(m.group(1)) % components}"',
        text,
        flags=re.M,
    )
    head = "".join(
        f'[[component]]\nid = "c{c}"\nname = "Component {c}"\ngroup = "Group {c // 10}"\n\n' for c in range(components)
    )
    with open(path, "w") as f:
        f.write('[status_page]\ntitle = "Bench status"\n\n' + head + text)


def timed(url, gzip_ok=False):
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
        encoding = response.headers.get("Content-Encoding")
    ms = 1000 * (time.perf_counter() - start)
    raw = gzip.decompress(body) if encoding == "gzip" else body
    return ms, len(body), len(raw)


def lag_p99_and_skipped():
    metrics = bench.scrape_metrics(bench.WK_PORT)
    skipped = metrics.get("watchkeeper_probes_skipped_total", 0)
    buckets = sorted(
        (float(m.group(1)) if m.group(1) != "+Inf" else float("inf"), v)
        for k, v in metrics.items()
        if (m := re.match(r'watchkeeper_scheduler_lag_seconds_bucket\{le="([^"]+)"\}', k))
    )
    return buckets, skipped


def quantile_between(before, after, q):
    """The q quantile (upper bucket bound, s) of the lag observed between two scrapes."""
    counts = [(le, a - b) for (le, a), (_, b) in zip(after, before)]
    total = counts[-1][1] if counts else 0
    if total <= 0:
        return None
    for le, c in counts:
        if c >= q * total:
            return le
    return None


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def run(n, components, warmup, renders, tmp):
    config = os.path.join(tmp, "watchkeeper.toml")
    write_config(config, n, components)
    wk = bench.Process("watchkeeper", [bench.WK, "--config", config, "--log-format", "json", "serve"], os.path.join(tmp, "watchkeeper.log"))
    try:
        bench.wait_http(f"{BASE}/health", 300, wk)
        time.sleep(warmup)
        first = timed(f"{BASE}/", gzip_ok=True)  # starts the background read of the daily counts
        lag0, skipped0 = lag_p99_and_skipped()
        cached = [timed(f"{BASE}/", gzip_ok=True) for _ in range(200)]
        fresh, json_times = [], []
        for _ in range(renders):
            time.sleep(5.2)
            fresh.append(timed(f"{BASE}/", gzip_ok=True))
            json_times.append(timed(f"{BASE}/api/v2/summary.json"))
        lag1, skipped1 = lag_p99_and_skipped()
        return {
            "first_ms": first[0],
            "cached": [t[0] for t in cached],
            "render": [t[0] for t in fresh],
            "json": [t[0] for t in json_times],
            "sent": fresh[-1][1],
            "raw": fresh[-1][2],
            "lag_p99_s": quantile_between(lag0, lag1, 0.99),
            "skipped": skipped1 - skipped0,
        }
    finally:
        wk.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monitors", type=int, default=10000)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--renders", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="wk-status-page-") as tmp:
        for r in range(args.runs):
            work = tempfile.mkdtemp(dir=tmp, prefix=f"run{r}-")
            bench.log(f"run {r + 1}/{args.runs}: {args.monitors} monitors in {args.components} components")
            nginx = bench.start_fleet(work)
            try:
                results.append(run(args.monitors, args.components, args.warmup, args.renders, work))
            finally:
                nginx.stop()
    print(f"\n{args.monitors} monitors at 10 s in {args.components} components, {args.runs} runs (medians of the runs' figures)\n")
    print("| run | first GET / (starts the daily-counts read) | cached GET / p50 / p95 | rendered GET / p50 / p95 / max | summary.json p50 / p95 | sent (gzip) / markup | lag p99 during | probes skipped |")
    print("|---|---|---|---|---|---|---|---|")
    for i, f in enumerate(results, 1):
        lag = f"{f['lag_p99_s'] * 1000:.0f} ms" if f["lag_p99_s"] not in (None, float("inf")) else "n/a"
        print(
            f"| {i} | {f['first_ms']:.0f} ms | {percentile(f['cached'], .5):.1f} / {percentile(f['cached'], .95):.1f} ms"
            f" | {percentile(f['render'], .5):.1f} / {percentile(f['render'], .95):.1f} / {max(f['render']):.1f} ms"
            f" | {percentile(f['json'], .5):.1f} / {percentile(f['json'], .95):.1f} ms"
            f" | {f['sent'] / 1024:.0f} KiB / {f['raw'] / 1024:.0f} KiB | {lag} | {f['skipped']:.0f} |"
        )
    med = lambda key, p: statistics.median(percentile(f[key], p) for f in results)  # noqa: E731
    print(
        f"| median | {statistics.median(f['first_ms'] for f in results):.0f} ms | {med('cached', .5):.1f} / {med('cached', .95):.1f} ms"
        f" | {med('render', .5):.1f} / {med('render', .95):.1f} ms | {med('json', .5):.1f} / {med('json', .95):.1f} ms | | | |"
    )


if __name__ == "__main__":
    main()
