#!/usr/bin/env python3
"""Watchkeeper on SQLite beside Watchkeeper on PostgreSQL, in the same run:
N HTTP monitors at 10 s against bench.py's nginx fleet, once per storage
engine per round (alternating, a fresh fleet and database each time). For
each run, over the window after a warm-up: CPU of Watchkeeper and of
PostgreSQL (the postmaster and its backends), RSS of each, the scheduler's
lag p50 / p99 of the results that started in the window (read back from
the database), probes completed per second, and the database's growth per
hour (SQLite: pages in use; PostgreSQL: pg_total_relation_size of our
tables) and per result.

PostgreSQL is started the way the tests start it: initdb and postgres in a
temporary directory on a loopback port, as the `postgres` user when run as
root (Debian's postgresql package: /usr/lib/postgresql/*/bin).

Usage (release build first):
    cargo build --release -p watchkeeper
    bench/storage.py [--monitors 10000] [--warmup 60] [--window 60] [--rounds 2] [--storage sqlite,postgres]
Standard library only (and nginx, and psql for reading PostgreSQL); binds
127.0.0.1; stops what it started.
"""

import argparse
import glob
import os
import pwd
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

PG_PORT = 18543
TABLES = ("monitors", "results", "state_changes", "rollups", "recent_results", "meta")


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"no {name}: install Debian's postgresql package (apt-get install postgresql)")
    return found[-1]


def as_postgres():
    """preexec_fn dropping to the postgres user when running as root."""
    if os.getuid() != 0:
        return None
    user = pwd.getpwnam("postgres")

    def drop():
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return drop


def start_postgres(tmp):
    data = os.path.join(tmp, "pgdata")
    os.makedirs(data)
    # The postgres user must reach the data directory.
    os.chmod(tmp, 0o755)
    os.chmod(os.path.dirname(tmp), 0o755)
    if os.getuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(data, user.pw_uid, user.pw_gid)
    subprocess.run(
        [pg_bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        stdout=subprocess.DEVNULL,
        preexec_fn=as_postgres(),
        cwd=data,
    )
    pg = bench.Process(
        "postgres",
        [pg_bin("postgres"), "-D", data, "-p", str(PG_PORT), "-k", data, "-c", "listen_addresses=127.0.0.1"],
        os.path.join(tmp, "postgres.log"),
        preexec_fn=as_postgres(),
        cwd=data,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if psql("postgres", "SELECT 1", check=False) == "1":
            break
        time.sleep(0.2)
    else:
        raise SystemExit(f"PostgreSQL did not start; see {pg.log_path}")
    psql("postgres", "CREATE DATABASE watchkeeper")
    return pg


def psql(database, sql, check=True):
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", database, "-At", "-F", ",", "-c", sql],
        capture_output=True,
        text=True,
    )
    if check and done.returncode != 0:
        raise SystemExit(f"psql failed: {done.stderr}")
    return done.stdout.strip()


def pg_size():
    return int(psql("watchkeeper", "SELECT " + " + ".join(f"pg_total_relation_size('{t}')" for t in TABLES)))


def pg_lags(wall0, wall1):
    out = psql(
        "watchkeeper",
        f"SELECT lag_ms FROM results WHERE started_at >= {int(wall0 * 1000)} AND started_at < {int(wall1 * 1000)} ORDER BY lag_ms",
    )
    return [int(line) for line in out.splitlines() if line]


def pg_results():
    return int(psql("watchkeeper", "SELECT count(*) FROM results"))


def write_config(path, n, storage):
    bench.write_watchkeeper_config(path, n)
    with open(path) as f:
        text = f.read()
    if storage == "postgres":
        head = f'[storage]\nurl = "postgres://postgres@127.0.0.1:{PG_PORT}/watchkeeper?sslmode=disable"\n\n'
        text = text.replace('region = "bench"\n\n', 'region = "bench"\n\n' + head, 1)
    with open(path, "w") as f:
        f.write(text)


def run(n, storage, tmp, warmup, window):
    nginx = bench.start_fleet(tmp)
    pg = start_postgres(tmp) if storage == "postgres" else None
    try:
        config = os.path.join(tmp, "watchkeeper.toml")
        write_config(config, n, storage)
        wk = bench.Process(
            "watchkeeper", [bench.WK, "--config", config, "--log-format", "json", "serve"], os.path.join(tmp, "watchkeeper.log")
        )
        try:
            bench.wait_http(f"http://127.0.0.1:{bench.WK_PORT}/health", 300, wk)
            time.sleep(warmup)
            db = os.path.join(tmp, "watchkeeper.db")
            size0 = pg_size() if pg else bench.store_bytes(db)[0]
            results0 = pg_results() if pg else bench.store_contents(db)[0]
            wall0 = time.time()
            meter_wk, meter_pg = bench.Meter([wk]), bench.Meter([pg]) if pg else None
            end = time.monotonic() + window
            while (left := end - time.monotonic()) > 0:
                time.sleep(min(5.0, left))
                meter_wk.sample()
                if meter_pg:
                    meter_pg.sample()
            wall1 = time.time()
            f_wk = meter_wk.finish()
            f_pg = meter_pg.finish() if meter_pg else None
            size1 = pg_size() if pg else bench.store_bytes(db)[0]
            results1 = pg_results() if pg else bench.store_contents(db)[0]
            time.sleep(bench.TIMEOUT_S + 2)
            if pg:
                lags = pg_lags(wall0, wall1)
                completed = len(lags)
            else:
                figures = bench.store_figures(db, n, wall0, wall1, 0)
                lags, completed = None, figures["completed"]
                lag = figures["lag_ms"]
        finally:
            wk.stop()
    finally:
        if pg:
            pg.stop()
        nginx.stop()
    elapsed = wall1 - wall0
    if lags is not None:
        lag = {"p50": bench.percentile(lags, 0.5), "p99": bench.percentile(lags, 0.99)}
    grown = size1 - size0
    written = max(results1 - results0, 1)
    return {
        "storage": storage,
        "wk_cpu": f_wk["cpu_percent"],
        "wk_us_per_probe": 1e6 * f_wk["cpu_seconds"] / max(completed, 1),
        "wk_rss": f_wk["rss_steady_mib"],
        "pg_cpu": f_pg["cpu_percent"] if f_pg else None,
        "pg_rss": f_pg["rss_steady_mib"] if f_pg else None,
        "lag": lag,
        "completed_per_s": completed / elapsed,
        "growth_mib_per_hour": grown / elapsed * 3600 / 2**20,
        "bytes_per_result": grown / written,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monitors", type=int, default=10000)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--storage", default="sqlite,postgres")
    args = parser.parse_args()
    engines = args.storage.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="wk-storage-") as tmp:
        for r in range(args.rounds):
            for storage in engines:
                work = tempfile.mkdtemp(dir=tmp, prefix=f"{storage}-")
                bench.log(f"round {r + 1}/{args.rounds}: {storage}, {args.monitors} monitors")
                row = run(args.monitors, storage, work, args.warmup, args.window)
                row["round"] = r + 1
                rows.append(row)
                bench.log(f"  {row}")

    def cell(value, fmt):
        return "—" if value is None else format(value, fmt)

    print(f"\n{args.monitors} HTTP monitors at {bench.INTERVAL_S} s, {args.window} s window after {args.warmup} s, {args.rounds} rounds\n")
    print("| run | Watchkeeper CPU | CPU per probe | Watchkeeper RSS | PostgreSQL CPU | PostgreSQL RSS | lag p50 / p99 | probes/s | growth per hour | per result |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['round']}: {row['storage']} | {row['wk_cpu']:.1f} % | {row['wk_us_per_probe']:.0f} µs | {row['wk_rss']:.0f} MiB | "
            f"{cell(row['pg_cpu'], '.1f')} % | {cell(row['pg_rss'], '.0f')} MiB | {row['lag']['p50']:.0f} / {row['lag']['p99']:.0f} ms | "
            f"{row['completed_per_s']:.0f} | {row['growth_mib_per_hour']:.1f} MiB | {row['bytes_per_result']:.0f} B |"
        )
    for storage in engines:
        mine = [row for row in rows if row["storage"] == storage]
        print(
            f"\nmedian {storage}: CPU per probe {statistics.median(r['wk_us_per_probe'] for r in mine):.0f} µs, "
            f"Watchkeeper RSS {statistics.median(r['wk_rss'] for r in mine):.0f} MiB, "
            f"growth {statistics.median(r['growth_mib_per_hour'] for r in mine):.1f} MiB/h"
        )


if __name__ == "__main__":
    main()
