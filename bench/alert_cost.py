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
Standard library only; binds 127.0.0.1; stops what it started.
"""

import argparse
import os
import statistics
import sys
import tempfile

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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
