#!/usr/bin/env python3
"""What alert rules cost per probe: N HTTP monitors at 10 s against
bench.py's nginx fleet, alternating three configs in each round, in an
order rotated from round to round (a fresh fleet and database each run):

  none  every monitor says `alert = false`: no alert is evaluated;
  own   the default: every monitor's own alert (3 failures fire it,
        2 successes resolve it; counting, no CEL);
  rule  its own alert plus one `[[alert]]` per monitor whose CEL `when`
        (`error_rate > 0.05 && samples >= 3` over a 1 min window) is
        evaluated on every result.

Prints CPU per probe, RSS and lag per run and the medians, and the
difference of each config to `none`. Usage (release build first):
    bench/alert_cost.py [--monitors 10000] [--warmup 60] [--window 60] [--rounds 2] [--variants none,own,rule]

With --paired, each round runs `none` and `rule` at the same time instead,
two servers (ports 18686 and 18687, a database each) probing one fleet
(each server its own N monitors), metered over the same window: whatever
the machine does during a window, both runs see it, so the difference of
a round is the rules' cost and not the machine's drift from one run to
the next. The start order alternates per round. Prints each round's pair,
its difference, and the median difference:
    bench/alert_cost.py --paired [--monitors 10000] [--warmup 60] [--window 60] [--rounds 5]
Standard library only; binds 127.0.0.1; stops what it started.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

VARIANTS = ("none", "own", "rule")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monitors", type=int, default=10000)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="which configs to run, comma-separated (the rule bound compares rule with none)",
    )
    parser.add_argument("--paired", action="store_true", help="run none and rule side by side in each round")
    args = parser.parse_args()
    if args.paired:
        return paired(args)
    variants = tuple(v for v in args.variants.split(",") if v)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        parser.error(f"--variants: unknown {unknown}; choose from {', '.join(VARIANTS)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="wk-alert-cost-") as tmp:
        for r in range(args.rounds):
            # Rotated each round, so a machine that slows down over the run
            # does not count against one config alone.
            shift = r % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                work = tempfile.mkdtemp(dir=tmp, prefix=f"{variant}-")
                bench.log(f"round {r + 1}/{args.rounds}: alerts {variant}, {args.monitors} monitors")
                bench.ALERTS = variant
                nginx = bench.start_fleet(work)
                try:
                    figures = bench.run_watchkeeper(args.monitors, work, args.warmup, args.window)
                finally:
                    nginx.stop()
                row = {
                    "round": r + 1,
                    "variant": variant,
                    "us": figures["cpu_us_per_probe"],
                    "rss": figures["rss_steady_mib"],
                    "lag_p99": figures["lag_ms"]["p99"],
                    "completed": figures["completed_per_s"],
                    "wrong": bench.wrong_total(figures),
                }
                rows.append(row)
                bench.log(f"  {row}")

    print(f"\n{args.monitors} HTTP monitors at {bench.INTERVAL_S} s, {args.window} s window after {args.warmup} s, {args.rounds} rounds\n")
    print("| run | alerts | CPU per probe | RSS | lag p99 | completed/s | wrong verdicts |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['round']} | {row['variant']} | {row['us']:.0f} µs | {row['rss']:.0f} MiB | {row['lag_p99']:.0f} ms | "
            f"{row['completed']:,.0f} | {row['wrong'][0]} of {row['wrong'][1]} |"
        )
    medians = {v: statistics.median(r["us"] for r in rows if r["variant"] == v) for v in variants}
    print()
    for variant in variants:
        against = f" ({medians[variant] - medians['none']:+.1f} µs against none)" if "none" in medians else ""
        print(f"median {variant}: {medians[variant]:.0f} µs per probe{against}")


def start(variant, port, work, n):
    """One server of a pair: its config (the variant's alerts) on `port`."""
    bench.ALERTS = variant
    bench.WK_PORT = port
    wk, _, db = bench.start_watchkeeper(work, n)
    return wk, db


def paired(args):
    ports = {"none": bench.WK_PORT, "rule": bench.WK_PORT + 1}
    rows = []
    with tempfile.TemporaryDirectory(prefix="wk-alert-cost-") as tmp:
        for r in range(args.rounds):
            order = ("none", "rule") if r % 2 == 0 else ("rule", "none")
            bench.log(f"round {r + 1}/{args.rounds}: none and rule side by side, {args.monitors} monitors each")
            fleet_dir = tempfile.mkdtemp(dir=tmp, prefix="fleet-")
            nginx = bench.start_fleet(fleet_dir)
            servers = {}
            try:
                for variant in order:
                    work = tempfile.mkdtemp(dir=tmp, prefix=f"{variant}-")
                    servers[variant] = start(variant, ports[variant], work, args.monitors)
                time.sleep(args.warmup)
                meters = {v: bench.Meter([wk]) for v, (wk, _) in servers.items()}
                wall0 = time.time()
                bench.sleep_sampling(args.window, meters["none"], others=[meters["rule"]])
                wall1 = time.time()
                figures = {v: m.finish() for v, m in meters.items()}
                time.sleep(max(0.0, wall1 + bench.TIMEOUT_S + 1 - time.time()))
                for wk, _ in servers.values():
                    wk.stop()
                for variant, (_, db) in servers.items():
                    figures[variant].update(bench.store_figures(bench.SqliteFigures(db), args.monitors, wall0, wall1, 0))
            finally:
                for wk, _ in servers.values():
                    wk.stop()
                nginx.stop()
            row = {"round": r + 1, "first": order[0]}
            for variant, f in figures.items():
                row[variant] = {
                    "us": 1e6 * f["cpu_seconds"] / max(f["completed"], 1),
                    "rss": f["rss_steady_mib"],
                    "lag_p99": f["lag_ms"]["p99"],
                    "completed": f["completed_per_s"],
                    "wrong": bench.wrong_total(f),
                }
            row["diff"] = row["rule"]["us"] - row["none"]["us"]
            rows.append(row)
            bench.log(f"  {row}")

    print(
        f"\n{args.monitors} HTTP monitors at {bench.INTERVAL_S} s per server, none and rule side by side, "
        f"{args.window} s window after {args.warmup} s, {args.rounds} rounds\n"
    )
    print("| round | started first | none: CPU per probe | rule: CPU per probe | rule − none | RSS none / rule | lag p99 none / rule | completed/s none / rule | wrong verdicts none / rule |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        n, u = row["none"], row["rule"]
        print(
            f"| {row['round']} | {row['first']} | {n['us']:.1f} µs | {u['us']:.1f} µs | {row['diff']:+.1f} µs | "
            f"{n['rss']:.0f} / {u['rss']:.0f} MiB | {n['lag_p99']:.0f} / {u['lag_p99']:.0f} ms | "
            f"{n['completed']:,.0f} / {u['completed']:,.0f} | "
            f"{n['wrong'][0]} of {n['wrong'][1]} / {u['wrong'][0]} of {u['wrong'][1]} |"
        )
    diffs = [row["diff"] for row in rows]
    print(
        f"\nmedian rule − none: {statistics.median(diffs):+.1f} µs per probe "
        f"(rounds: {', '.join(f'{d:+.1f}' for d in diffs)}); "
        f"median none {statistics.median(r['none']['us'] for r in rows):.1f} µs, "
        f"rule {statistics.median(r['rule']['us'] for r in rows):.1f} µs"
    )


if __name__ == "__main__":
    main()
