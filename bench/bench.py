#!/usr/bin/env python3
"""Watchkeeper's benchmark: probes at scale, beside Prometheus + blackbox_exporter
on the same target fleet, in the same run.

Subcommands (see bench/README.md):

  scale      N HTTP monitors at a 10 s interval against an nginx fleet on
             loopback, for each N: Watchkeeper, then Prometheus +
             blackbox_exporter, each for a warm-up and a fixed window.
             With --vigil, Vigil runs third on the same fleet. With
             --storage postgres (or sqlite,postgres) Watchkeeper stores in a
             PostgreSQL the benchmark starts itself (initdb and postgres in
             a temporary directory on a loopback port, as the tests do), and
             its CPU and RSS are reported beside Watchkeeper's.
  detection  100 monitors; one target is broken at a random moment; the time
             from the outage to the stored state change, and to the first
             notification a webhook receiver (in this script) is sent,
             with each monitor's own alert at threshold 1 and a route
             with group_wait 0.
  soak       one long run of Watchkeeper alone, sampling store size every
             minute, to show that growth stays flat.
  all        scale, then detection; writes bench/RESULTS.md.

Everything binds to 127.0.0.1, every run is bounded in time and stops by
itself, and every process the benchmark starts is stopped when it ends.
Standard library only. Needs release builds of `watchkeeper` and
`watchkeeper-demo`, and Debian's nginx, libnginx-mod-http-echo, prometheus,
prometheus-blackbox-exporter and wrk; Vigil (`cargo install vigil-server`)
only for --vigil; postgresql and psql only for --storage postgres.
"""

import argparse
import datetime
import json
import glob
import os
import pwd
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# WATCHKEEPER_BIN: another build of the same binary (e.g. one with debug
# symbols, for perf).
WK = os.environ.get("WATCHKEEPER_BIN", os.path.join(ROOT, "target/release/watchkeeper"))
DEMO = os.path.join(ROOT, "target/release/watchkeeper-demo")
FLEET_PORT = int(os.environ.get("BENCH_FLEET_PORT", "18080"))
WK_PORT = 18686
PROM_PORT = 19090
VIGIL_PORT = 19292
BLACKBOX_PORT = 19115
DEMO_PORT = 18090
INTERVAL_S = 10
TIMEOUT_S = 5
TICK = os.sysconf("SC_CLK_TCK")

# The fleet's mix, by monitor number modulo 100: most answer fast, some
# slowly (1–2 s, still within the 5 s timeout), some with a 500, some accept
# the connection and never answer.
KINDS = (("ok", 90), ("slow", 5), ("fail", 3), ("hang", 2))
EXPECTED_UP = {"ok": True, "slow": True, "fail": False, "hang": False}
# A hanging target holds the connection this long (nginx does not notice that
# the prober gave up): "never" for a 5 s probe, yet short enough that the
# connections of abandoned probes do not pile up past nginx's limit.
HANG_S = 30
# The body condition, in each tool's language.
BODY_REGEXP = r'"status":\s*"ok"'


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


class Process:
    """A started program, with CPU and memory read from /proc."""

    def __init__(self, name, argv, log_path, **kwargs):
        self.name = name
        self.log_path = log_path
        self.log_file = open(log_path, "w")
        log(f"  start {name}: {' '.join(argv)}")
        self.popen = subprocess.Popen(argv, stdout=self.log_file, stderr=subprocess.STDOUT, **kwargs)

    @property
    def pid(self):
        return self.popen.pid

    def pids(self):
        """The process and its children (nginx's workers)."""
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.pid:
                    children.append(int(entry))
        return [self.pid] + children

    def cpu_seconds(self):
        """User + system CPU of the process and its children."""
        total = 0
        for pid in self.pids():
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / TICK
        return total

    def memory_mib(self):
        """(current RSS, peak RSS) in MiB of the process and its children."""
        current = peak = 0
        for pid in self.pids():
            try:
                status = open(f"/proc/{pid}/status").read()
            except OSError:
                continue

            def kib(key):
                return int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024

            current += kib("VmRSS")
            peak += kib("VmHWM")
        return current, peak

    def disk_writes(self):
        """Bytes the process and its children sent towards the disk
        (`write_bytes` in /proc/PID/io)."""
        total = 0
        for pid in self.pids():
            try:
                io = open(f"/proc/{pid}/io").read()
            except OSError:
                continue
            match = re.search(r"^write_bytes:\s+(\d+)", io, re.M)
            total += int(match.group(1)) if match else 0
        return total

    def alive(self):
        return self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, wait=30):
        """Stops the process; returns the seconds it took."""
        started = time.monotonic()
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                log(f"  {self.name} did not stop within {wait} s; killed")
                self.popen.kill()
                self.popen.wait()
        self.log_file.close()
        return time.monotonic() - started


class Meter:
    """CPU and memory of a set of processes over a window."""

    def __init__(self, processes):
        self.processes = processes
        self.cpu0 = [p.cpu_seconds() for p in processes]
        self.written0 = sum(p.disk_writes() for p in processes)
        self.t0 = time.monotonic()
        self.rss_samples = []

    def sample(self):
        self.rss_samples.append(sum(p.memory_mib()[0] for p in self.processes))

    def finish(self):
        elapsed = time.monotonic() - self.t0
        cpu = [p.cpu_seconds() - c for p, c in zip(self.processes, self.cpu0)]
        written = sum(p.disk_writes() for p in self.processes) - self.written0
        self.sample()
        return {
            "elapsed": elapsed,
            "disk_write_bytes": written,
            "disk_write_mib_per_s": written / 2**20 / elapsed,
            "cpu_seconds": sum(cpu),
            "cpu_percent": 100 * sum(cpu) / elapsed,
            "cpu_percent_each": {p.name: 100 * c / elapsed for p, c in zip(self.processes, cpu)},
            "rss_steady_mib": statistics.median(self.rss_samples),
            "rss_peak_mib": sum(p.memory_mib()[1] for p in self.processes),
        }


def wait_http(url, deadline_s, process=None):
    """Polls url until it answers 200; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if process is not None and not process.alive():
            raise SystemExit(f"{process.name} exited during start-up; see {process.log_path}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {deadline_s} s")


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def sleep_sampling(seconds, meter, every=5.0, others=()):
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(every, left))
        for m in (meter, *others):
            m.sample()


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def timed_gets(url, count):
    """Wall times (ms) of `count` sequential GETs of url, sorted."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        get(url)
        times.append(1000 * (time.perf_counter() - start))
    return sorted(times)


# ---------------------------------------------------------------- the fleet


def kind_of(i):
    bucket = i % 100
    for kind, share in KINDS:
        if bucket < share:
            return kind
        bucket -= share
    raise AssertionError("KINDS must add up to 100")


def fleet_url(i):
    kind = kind_of(i)
    base = f"http://127.0.0.1:{FLEET_PORT}"
    if kind == "slow":
        # 1.000–1.999 s, fixed per target.
        return f"{base}/slow/{1 + (i * 7919 % 1000) / 1000:.3f}/{i}"
    return f"{base}/{kind}/{i}"


NGINX_CONF = """\
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
worker_rlimit_nofile {nofile};
events {{ worker_connections {connections}; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/nginx-tmp;
  proxy_temp_path {tmp}/nginx-tmp;
  fastcgi_temp_path {tmp}/nginx-tmp;
  uwsgi_temp_path {tmp}/nginx-tmp;
  scgi_temp_path {tmp}/nginx-tmp;
  default_type application/json;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location /ok/ {{ return 200 '{{"status":"ok","service":"fleet"}}\\n'; }}
    location /fail/ {{ return 500 '{{"status":"error","service":"fleet"}}\\n'; }}
    location ~ ^/slow/(?<secs>[0-9.]+)/ {{ echo_sleep $secs; echo '{{"status":"ok","service":"fleet"}}'; }}
    location /hang/ {{ echo_sleep {hang}; }}
  }}
}}
"""


def start_fleet(tmp):
    os.makedirs(os.path.join(tmp, "nginx-tmp"), exist_ok=True)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, port=FLEET_PORT, nofile=20000, connections=16000, hang=HANG_S))
    nginx = Process("nginx", ["nginx", "-c", conf, "-g", "daemon off;"], os.path.join(tmp, "nginx.log"))
    wait_http(f"http://127.0.0.1:{FLEET_PORT}/ok/0", 10, nginx)
    return nginx


def fleet_alerts(tmp):
    """nginx's own complaints during a run (e.g. running out of connections),
    which would make the fleet, not the prober, the bottleneck."""
    path = os.path.join(tmp, "nginx-error.log")
    if not os.path.exists(path):
        return 0
    return sum(1 for line in open(path) if "[alert]" in line or "[crit]" in line or "[emerg]" in line)


def fleet_capacity(seconds=5):
    """Requests per second the fleet serves with a new connection per request
    (wrk, 64 connections, `Connection: close`), or None without wrk."""
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{seconds}s", "-H", "Connection: close", f"http://127.0.0.1:{FLEET_PORT}/ok/0"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(match.group(1)) if match else None


# ---------------------------------------------------------------- Watchkeeper


# Alerting in the benchmark's config: "own" (the default: every monitor's
# own threshold alert), "none" (`alert = false` on every monitor), or
# "rule" (its own alert plus one `[[alert]]` with a CEL `when` per
# monitor). bench/alert_cost.py sets it.
ALERTS = "own"
ALERT_RULE_WHEN = "error_rate > 0.05 && samples >= 3"


def write_watchkeeper_config(path, n, monitor_urls=None, raw_retention=None, storage_url=None, extra=""):
    with open(path, "w") as f:
        f.write(extra)
        # No rate limit: the API figures and board_reads.py ask in a loop.
        f.write(f'[server]\nlisten = "127.0.0.1:{WK_PORT}"\nregion = "bench"\nrequests_per_second = 0\n\n')
        # Loopback only: the API latency figures read without a token, as
        # the quickstart does (docs/api.md).
        f.write("[api]\npublic_read = true\n\n")
        if raw_retention or storage_url:
            f.write("[storage]\n")
            if raw_retention:
                f.write(f'raw_retention = "{raw_retention}"\n')
            if storage_url:
                f.write(f'url = "{storage_url}"\n')
            f.write("\n")
        for i in range(n):
            url = monitor_urls(i) if monitor_urls else fleet_url(i)
            f.write(
                f'[[monitor]]\nid = "m{i}"\ninterval = "{INTERVAL_S}s"\ntimeout = "{TIMEOUT_S}s"\n'
                f'http = {{ url = "{url}" }}\n'
                "expect = ['status == 200', 'json.status == \"ok\"']\n"
                + ("alert = false\n" if ALERTS == "none" else "")
                + "\n"
            )
            if ALERTS == "rule":
                f.write(f'[[alert]]\nid = "errors-m{i}"\nmonitors = ["m{i}"]\nwindow = "1m"\nwhen = \'{ALERT_RULE_WHEN}\'\n\n')


def start_watchkeeper(tmp, n, monitor_urls=None, raw_retention=None, storage_url=None, extra=""):
    config = os.path.join(tmp, "watchkeeper.toml")
    write_watchkeeper_config(config, n, monitor_urls, raw_retention, storage_url, extra)
    wk = Process("watchkeeper", [WK, "--config", config, "--log-format", "json", "serve"], os.path.join(tmp, "watchkeeper.log"))
    startup = wait_http(f"http://127.0.0.1:{WK_PORT}/health", 300, wk)
    return wk, startup, os.path.join(tmp, "watchkeeper.db")


def store_bytes(db):
    """The database's logical size (pages in use, as a reader sees them, WAL
    included) and the size of the files on disk (database, WAL, shm)."""
    con = open_store(db)
    pages = con.execute("PRAGMA page_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    files = sum(os.path.getsize(db + suffix) for suffix in ("", "-wal", "-shm") if os.path.exists(db + suffix))
    return pages, files


def store_contents(db):
    """Raw results held, and the bytes of free pages waiting for reuse."""
    con = open_store(db)
    results = con.execute("SELECT count(*) FROM results").fetchone()[0]
    free = con.execute("PRAGMA freelist_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    return results, free


def open_store(db):
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)


# ------------------------------------------------------------- PostgreSQL

PG_PORT = 18543
PG_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/watchkeeper?sslmode=disable"
PG_TABLES = ("monitors", "results", "state_changes", "rollups", "recent_results", "meta")


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
    """A throwaway cluster in `tmp` on PG_PORT with an empty database
    `watchkeeper`; stop it with .stop()."""
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
    pg = Process(
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
        pg.stop()
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


def pg_rows(sql):
    """Rows of a query on the benchmark's database, as tuples of ints (or
    strings where a field is not a number)."""

    def field(text):
        try:
            return int(text)
        except ValueError:
            return text

    return [tuple(field(f) for f in line.split(",")) for line in psql("watchkeeper", sql).splitlines() if line]


def pg_size():
    """Bytes of our tables, indexes and TOAST included."""
    return int(psql("watchkeeper", "SELECT " + " + ".join(f"pg_total_relation_size('{t}')" for t in PG_TABLES)))


def pg_database_size():
    return int(psql("watchkeeper", "SELECT pg_database_size('watchkeeper')"))


def scrape_metrics(port):
    text = get(f"http://127.0.0.1:{port}/metrics").decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"(\S+?)(\{[^}]*\})? (\S+)", line)
        if match:
            values[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return values


def run_watchkeeper(n, tmp, warmup, window, storage="sqlite"):
    pg = start_postgres(tmp) if storage == "postgres" else None
    try:
        return measure_watchkeeper(n, tmp, warmup, window, pg)
    finally:
        if pg:
            pg.stop()


def measure_watchkeeper(n, tmp, warmup, window, pg):
    wk, startup, db = start_watchkeeper(tmp, n, storage_url=PG_URL if pg else None)
    store = PostgresFigures() if pg else SqliteFigures(db)
    try:
        time.sleep(warmup)
        metrics0 = scrape_metrics(WK_PORT)
        (bytes0, _), wall0 = store.size(), time.time()
        meter, pg_meter = Meter([wk]), Meter([pg]) if pg else None
        sleep_sampling(window, meter, others=[pg_meter] if pg_meter else [])
        (bytes1, files1), wall1 = store.size(), time.time()
        metrics1 = scrape_metrics(WK_PORT)
        figures = meter.finish()
        if pg_meter:
            figures["postgres"] = pg_meter.finish()
        # Measured while the probes keep running, as a user would see it.
        figures["api_list_ms"] = timed_gets(f"http://127.0.0.1:{WK_PORT}/api/v1/monitors", 40)
        figures["api_detail_ms"] = timed_gets(f"http://127.0.0.1:{WK_PORT}/api/v1/monitors/m{n // 2}", 40)
        # Probes that started in the window finish (at the latest at their
        # timeout) before the stop, so none of them is abandoned.
        time.sleep(max(0.0, wall1 + TIMEOUT_S + 1 - time.time()))
        stop_s = wk.stop()
        figures.update(store_figures(store, n, wall0, wall1, bytes1 - bytes0))
        figures["store_files_mib"] = files1 / 2**20
    finally:
        wk.stop()
    elapsed = figures["elapsed"]
    written = metrics1.get("watchkeeper_results_written_total", 0) - metrics0.get("watchkeeper_results_written_total", 0)
    skipped = metrics1.get("watchkeeper_probes_skipped_total", 0) - metrics0.get("watchkeeper_probes_skipped_total", 0)
    figures.update(
        storage="postgres" if pg else "sqlite",
        startup_s=startup,
        stop_s=stop_s,
        due_per_s=n / INTERVAL_S,
        written_per_s=written / elapsed,
        skipped=skipped,
        store_errors=metrics1.get("watchkeeper_store_errors_total", 0),
        cpu_us_per_probe=1e6 * figures["cpu_seconds"] / max(figures["completed"], 1),
        disk_write_bytes_per_probe=figures["disk_write_bytes"] / max(figures["completed"], 1),
    )
    return figures


class SqliteFigures:
    """What store_figures reads, from the SQLite file (read-only)."""

    def __init__(self, db):
        self.db = db

    def size(self):
        return store_bytes(self.db)

    def rows(self, sql, params=()):
        con = open_store(self.db)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def table_bytes(self):
        return dict(self.rows("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))


class PostgresFigures:
    """The same figures from the benchmark's PostgreSQL. Sizes are
    pg_total_relation_size of our tables (the database's files also hold
    the catalog)."""

    def size(self):
        return pg_size(), pg_database_size()

    def rows(self, sql, params=()):
        for value in params:
            sql = sql.replace("?", str(int(value)), 1)
        return pg_rows(sql)

    def table_bytes(self):
        return {t: int(psql("watchkeeper", f"SELECT pg_total_relation_size('{t}')")) for t in ("results", "rollups")}


def store_figures(store, n, wall0, wall1, grown_bytes):
    """Lag, throughput and verdicts of the results that started in the window,
    read back from the store (SqliteFigures or PostgresFigures); table sizes
    from dbstat or pg_total_relation_size."""
    keys = {key: int(mid[1:]) for key, mid in store.rows("SELECT key, id FROM monitors") if mid.startswith("m")}
    lags, completed = [], 0
    wrong = {kind: [0, 0] for kind, _ in KINDS}
    rows = store.rows(
        "SELECT monitor, lag_ms, health FROM results WHERE started_at >= ? AND started_at < ?",
        (int(wall0 * 1000), int(wall1 * 1000)),
    )
    for key, lag_ms, health in rows:
        completed += 1
        lags.append(lag_ms)
        kind = kind_of(keys[key])
        wrong[kind][1] += 1
        if (health != 2) != EXPECTED_UP[kind]:
            wrong[kind][0] += 1
    lags.sort()
    sizes = store.table_bytes()
    result_rows = store.rows("SELECT COUNT(*) FROM results")[0][0]
    rollup_rows = store.rows("SELECT COUNT(*) FROM rollups")[0][0]
    window = wall1 - wall0
    raw_bytes_per_result = sizes.get("results", 0) / max(result_rows, 1)
    rollup_bytes_per_row = sizes.get("rollups", 0) / rollup_rows if rollup_rows else float("nan")
    per_day = 86_400 / INTERVAL_S
    return {
        "completed": completed,
        "completed_per_s": completed / window,
        "lag_ms": {"p50": percentile(lags, 0.5), "p99": percentile(lags, 0.99), "max": lags[-1] if lags else float("nan")},
        "wrong": wrong,
        "store_growth_mib_per_hour": grown_bytes / window * 3600 / 2**20,
        "raw_bytes_per_result": raw_bytes_per_result,
        "rollup_bytes_per_row": rollup_bytes_per_row,
        # Steady state at the default retention: 48 h of raw results, 90
        # days of per-minute rollups, the rollups still growing by a day's
        # worth a day until their own retention.
        "raw_gib_at_retention": n * per_day * 2 * raw_bytes_per_result / 2**30,
        "rollup_gib_per_day": n * 1440 * rollup_bytes_per_row / 2**30,
    }


# ------------------------------------------------- Prometheus + blackbox_exporter


BLACKBOX_CONF = """\
modules:
  http_json:
    prober: http
    timeout: {timeout}s
    http:
      preferred_ip_protocol: ip4
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp:
        - '{regexp}'
"""


def write_prometheus_config(path, n):
    groups = {kind: [] for kind, _ in KINDS}
    for i in range(n):
        groups[kind_of(i)].append(fleet_url(i))
    static = [{"targets": urls, "labels": {"kind": kind}} for kind, urls in groups.items() if urls]
    config = {
        "global": {"scrape_interval": f"{INTERVAL_S}s", "scrape_timeout": f"{TIMEOUT_S}s", "evaluation_interval": "1m"},
        "scrape_configs": [
            {
                "job_name": "blackbox",
                "metrics_path": "/probe",
                "params": {"module": ["http_json"]},
                "static_configs": static,
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": f"127.0.0.1:{BLACKBOX_PORT}"},
                ],
            }
        ],
    }
    # JSON is YAML.
    with open(path, "w") as f:
        json.dump(config, f)


def prometheus_query(expr, at):
    query = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    body = json.loads(get(f"http://127.0.0.1:{PROM_PORT}/api/v1/query?{query}", timeout=120))
    return {r["metric"].get("kind", ""): float(r["value"][1]) for r in body["data"]["result"]}


def run_prometheus(n, tmp, warmup, window):
    bb_conf = os.path.join(tmp, "blackbox.yml")
    with open(bb_conf, "w") as f:
        f.write(BLACKBOX_CONF.format(timeout=TIMEOUT_S, regexp=BODY_REGEXP))
    prom_conf = os.path.join(tmp, "prometheus.yml")
    write_prometheus_config(prom_conf, n)
    blackbox = Process(
        "blackbox_exporter",
        ["prometheus-blackbox-exporter", f"--config.file={bb_conf}", f"--web.listen-address=127.0.0.1:{BLACKBOX_PORT}"],
        os.path.join(tmp, "blackbox.log"),
    )
    prometheus = Process(
        "prometheus",
        [
            "prometheus",
            f"--config.file={prom_conf}",
            f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{PROM_PORT}",
            "--web.enable-lifecycle",
        ],
        os.path.join(tmp, "prometheus.log"),
    )
    try:
        wait_http(f"http://127.0.0.1:{BLACKBOX_PORT}/metrics", 30, blackbox)
        startup = wait_http(f"http://127.0.0.1:{PROM_PORT}/-/ready", 120, prometheus)
        time.sleep(warmup)
        metrics0 = scrape_metrics(PROM_PORT)
        meter = Meter([prometheus, blackbox])
        wall0 = time.time()
        sleep_sampling(window, meter)
        wall1 = time.time()
        metrics1 = scrape_metrics(PROM_PORT)
        figures = meter.finish()
        # Let the last scrapes of the window land before querying them.
        time.sleep(TIMEOUT_S + 1)
        span = f"{int(wall1 - wall0)}s"
        samples = prometheus_query(f"sum by (kind) (count_over_time(probe_success[{span}]))", wall1)
        successes = prometheus_query(f"sum by (kind) (sum_over_time(probe_success[{span}]))", wall1)
        scrapes = prometheus_query(f"sum by (kind) (count_over_time(up[{span}]))", wall1)
    finally:
        prometheus.stop()
        blackbox.stop()
    elapsed = wall1 - wall0
    wrong = {}
    for kind, _ in KINDS:
        due = sum(1 for i in range(n) if kind_of(i) == kind) * elapsed / INTERVAL_S
        done, good = samples.get(kind, 0), successes.get(kind, 0)
        # A probe that never reported (its scrape timed out) counts as a
        # wrong verdict for a target that is up, and is missing for one
        # that is down.
        if EXPECTED_UP[kind]:
            wrong[kind] = [round(max(due, done) - good), round(due)]
        else:
            wrong[kind] = [round(good), round(due)]
    key = f'prometheus_target_interval_length_seconds{{interval="{INTERVAL_S}s",quantile="%s"}}'
    count_key = f'prometheus_target_interval_length_seconds_count{{interval="{INTERVAL_S}s"}}'
    completed = sum(samples.values())
    figures.update(
        startup_s=startup,
        due_per_s=n / INTERVAL_S,
        completed=completed,
        completed_per_s=completed / elapsed,
        scrapes_per_s=(metrics1.get(count_key, 0) - metrics0.get(count_key, 0)) / elapsed,
        scrapes_in_window=sum(scrapes.values()),
        interval_s={q: metrics1.get(key % q, float("nan")) for q in ("0.5", "0.99")},
        wrong=wrong,
        cpu_us_per_probe=1e6 * figures["cpu_seconds"] / max(completed, 1),
        disk_write_bytes_per_probe=figures["disk_write_bytes"] / max(completed, 1),
    )
    return figures


# ---------------------------------------------------------------- Vigil


def vigil_binary():
    return os.environ.get("VIGIL_BIN") or shutil.which("vigil")


def vigil_assets():
    """Vigil reads its page templates at start-up: from VIGIL_ASSETS, or
    from the crate's sources that `cargo install` left in the registry."""
    if os.environ.get("VIGIL_ASSETS"):
        return os.environ["VIGIL_ASSETS"]
    registry = os.path.join(os.path.expanduser("~"), ".cargo/registry/src")
    found = sorted(
        os.path.join(registry, index, crate, "res/assets")
        for index in (os.listdir(registry) if os.path.isdir(registry) else [])
        for crate in os.listdir(os.path.join(registry, index))
        if crate.startswith("vigil-server-")
    )
    return found[-1] if found else None


def write_vigil_config(path, n, parallelism):
    """The same checks as ours: status 200 and the body regexp, a 5 s
    timeout (`poll_delay_dead`), no retries (`poll_retry = 0`, as ours), and
    a slow answer under 5 s counted healthy."""
    with open(path, "w") as f:
        f.write(
            f'[server]\nlog_level = "info"\ninet = "127.0.0.1:{VIGIL_PORT}"\nworkers = 1\n'
            'manager_token = "bench"\nreporter_token = "bench"\n\n'
            f'[assets]\npath = "{vigil_assets()}/"\n\n'
            '[branding]\npage_title = "bench"\npage_url = "http://127.0.0.1/"\ncompany_name = "bench"\n'
            'icon_color = "#000000"\nicon_url = "http://127.0.0.1/i.png"\nlogo_color = "#000000"\n'
            'logo_url = "http://127.0.0.1/l.svg"\nwebsite_url = "http://127.0.0.1/"\nsupport_url = "http://127.0.0.1/"\n\n'
            f"[metrics]\npoll_interval = {INTERVAL_S}\npoll_retry = 0\n"
            "poll_http_status_healthy_above = 200\npoll_http_status_healthy_below = 201\n"
            f"poll_delay_dead = {TIMEOUT_S}\npoll_delay_sick = {TIMEOUT_S}\npoll_parallelism = {parallelism}\n\n"
            '[probe]\n\n[[probe.service]]\nid = "bench"\nlabel = "bench"\n\n'
        )
        for i in range(n):
            f.write(
                f'[[probe.service.node]]\nid = "m{i}"\nlabel = "m{i}"\nmode = "poll"\n'
                f'replicas = ["{fleet_url(i)}"]\nhttp_body_healthy_match = \'{BODY_REGEXP}\'\n\n'
            )


def vigil_cycles(text):
    """Durations in seconds of Vigil's poll cycles, from its log."""
    units = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}
    return [
        float(value) * units[unit]
        for value, unit in re.findall(r"replicas have been probed with \d+/\d+ threads in ([\d.]+)(s|ms|µs|ns)\b", text)
    ]


def vigil_wrong_verdicts(page, n):
    """Each node's state on Vigil's status page at the end of the window,
    against its target's kind: {kind: [wrong, nodes]}. A node missing from
    the page counts as wrong."""
    shown = {
        int(number): status
        for status, number in re.findall(r'<li class="status-(\w+)-background-before">\s*<label[^>]*>m(\d+)</label>', page)
    }
    wrong = {kind: [0, 0] for kind, _ in KINDS}
    for i in range(n):
        kind = kind_of(i)
        wrong[kind][1] += 1
        if shown.get(i) is None or (shown[i] == "healthy") != EXPECTED_UP[kind]:
            wrong[kind][0] += 1
    return wrong


def run_vigil(n, tmp, warmup, window, parallelism):
    conf = os.path.join(tmp, "vigil.cfg")
    write_vigil_config(conf, n, parallelism)
    log_path = os.path.join(tmp, "vigil.log")
    vigil = Process("vigil", [vigil_binary(), "--config", conf], log_path)
    try:
        startup = wait_http(f"http://127.0.0.1:{VIGIL_PORT}/status/text", 120, vigil)
        time.sleep(warmup)
        offset = os.path.getsize(log_path)
        meter = Meter([vigil])
        sleep_sampling(window, meter)
        figures = meter.finish()
        with open(log_path, errors="replace") as f:
            f.seek(offset)
            cycles = vigil_cycles(f.read())
        page = get(f"http://127.0.0.1:{VIGIL_PORT}/", timeout=120).decode(errors="replace")
    finally:
        vigil.stop()
    wrong = vigil_wrong_verdicts(page, n)
    # A cycle probes every target once, then Vigil sleeps poll_interval.
    period = (statistics.median(cycles) + INTERVAL_S) if cycles else float("nan")
    completed_per_s = n / period
    figures.update(
        startup_s=startup,
        parallelism=parallelism,
        due_per_s=n / INTERVAL_S,
        cycles=cycles,
        period_s=period,
        wrong=wrong,
        completed_per_s=completed_per_s,
        cpu_us_per_probe=1e6 * figures["cpu_seconds"] / max(completed_per_s * figures["elapsed"], 1),
    )
    return figures


# ---------------------------------------------------------------- scale


def wrong_total(figures):
    bad = sum(w[0] for w in figures["wrong"].values())
    total = sum(w[1] for w in figures["wrong"].values())
    return bad, total


# Watchkeeper's tool name in the runs, per storage engine.
OURS = {"sqlite": "ours", "postgres": "ours-pg"}
STORAGE_OF = {tool: storage for storage, tool in OURS.items()}


def scale(args):
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = {n: {"ours": [], "ours-pg": [], "theirs": [], "vigil": []} for n in sizes}
    ours = tuple(OURS[storage] for storage in args.storage.split(","))
    tools = ours + ("theirs",) + (("vigil",) if args.vigil or args.only == "vigil" else ())
    capacity = None
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
        nginx = start_fleet(tmp)
        try:
            capacity = fleet_capacity()
        finally:
            nginx.stop()
        log(f"fleet capacity (wrk, new connection per request): {capacity} req/s")
        for run in range(args.runs):
            for n in sizes:
                for tool in tools:
                    if args.only and tool != args.only and not (args.only == "ours" and tool in ours):
                        continue
                    work = tempfile.mkdtemp(dir=tmp, prefix=f"{tool}-{n}-")
                    log(f"run {run + 1}/{args.runs}: {tool}, {n} monitors")
                    # A fresh fleet for every run, so no run inherits another's
                    # connections.
                    nginx = start_fleet(work)
                    try:
                        fleet_meter = Meter([nginx])
                        if tool in ours:
                            figures = run_watchkeeper(n, work, args.warmup, args.window, STORAGE_OF[tool])
                        elif tool == "theirs":
                            figures = run_prometheus(n, work, args.warmup, args.window)
                        else:
                            figures = run_vigil(n, work, args.warmup, args.window, args.vigil_parallelism)
                        figures["fleet_cpu_percent"] = fleet_meter.finish()["cpu_percent"]
                        figures["fleet_alerts"] = fleet_alerts(work)
                    finally:
                        nginx.stop()
                    runs[n][tool].append(figures)
                    log("  " + summary_line(tool, n, figures))
                    shutil.rmtree(work, ignore_errors=True)
    return {"sizes": sizes, "runs": runs, "fleet_capacity": capacity}


def summary_line(tool, n, f):
    line = (
        f"{tool} n={n}: fleet alerts {f.get('fleet_alerts', 0)}, cpu {f['cpu_percent']:.1f} % ({f['cpu_us_per_probe']:.0f} µs/probe), "
        f"rss {f['rss_steady_mib']:.0f}/{f['rss_peak_mib']:.0f} MiB, "
        f"completed {f['completed_per_s']:.0f}/s of {f['due_per_s']:.0f}/s"
    )
    bad, total = wrong_total(f)
    line += f", wrong {bad}/{total}"
    if tool == "vigil":
        cycles = ", ".join(f"{c:.1f}" for c in f["cycles"])
        return line + f", cycles [{cycles}] s, period {f['period_s']:.1f} s"
    if tool in STORAGE_OF:
        if "postgres" in f:
            line += f", postgres cpu {f['postgres']['cpu_percent']:.1f} % rss {f['postgres']['rss_steady_mib']:.0f} MiB"
        line += (
            f", lag p50/p99/max {f['lag_ms']['p50']}/{f['lag_ms']['p99']}/{f['lag_ms']['max']} ms"
            f", list p95 {percentile(f['api_list_ms'], 0.95):.1f} ms"
            f", store {f['store_growth_mib_per_hour']:.0f} MiB/h"
        )
    else:
        line += f", interval p50/p99 {f['interval_s']['0.5']:.3f}/{f['interval_s']['0.99']:.3f} s"
    return line


# ---------------------------------------------------------------- detection


class WebhookSink:
    """A webhook receiver on 127.0.0.1: records the wall time and type of
    every notification it is sent, answers 204."""

    def __init__(self):
        import http.server
        import threading

        sink = self
        self.received = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                at = time.time()
                try:
                    kind = json.loads(body).get("type", "")
                except ValueError:
                    kind = ""
                with sink.lock:
                    sink.received.append((at, kind, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, kind):
        with self.lock:
            return sum(1 for _, k, _ in self.received if k == kind)

    def wait_for(self, kind, index, deadline_s):
        """The wall time of the `index`-th notification of `kind` (0-based)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            with self.lock:
                times = [at for at, k, _ in self.received if k == kind]
            if len(times) > index:
                return times[index]
            time.sleep(0.01)
        raise SystemExit(f"no {kind} notification #{index + 1} within {deadline_s} s")

    def stop(self):
        self.server.shutdown()


def detection(args):
    """One monitor of `monitors` watches a demo API that is broken at a random
    moment; the time until its state change to down is in the store, and
    until its alert's first notification reaches a webhook receiver."""
    n = args.monitors
    watched = n - 1
    results = []
    with tempfile.TemporaryDirectory(prefix="wk-detect-") as tmp:
        nginx = start_fleet(tmp)
        sink = WebhookSink()
        demo = Process("demo", [DEMO, "--listen", f"127.0.0.1:{DEMO_PORT}"], os.path.join(tmp, "demo.log"))
        wk = None
        try:
            wait_http(f"http://127.0.0.1:{DEMO_PORT}/health", 10, demo)

            def urls(i):
                # Every other monitor watches a fast, healthy fleet target.
                return f"http://127.0.0.1:{DEMO_PORT}/health" if i == watched else f"http://127.0.0.1:{FLEET_PORT}/ok/{i}"

            # Threshold 1: the first failed probe fires; group_wait 0: the
            # dispatcher sends at once. group_interval 1s lets each trial's
            # resolution go out before the next trial.
            extra = (
                "[alerting]\nfailure_threshold = 1\nsuccess_threshold = 1\n\n"
                f'[[route]]\nnotify = ["sink"]\ngroup_by = ["monitor"]\ngroup_wait = "0s"\ngroup_interval = "1s"\n\n'
                f'[[notifier]]\nid = "sink"\nwebhook = {{ url = "{sink.url}" }}\n\n'
            )
            wk, _, db = start_watchkeeper(tmp, n, urls, extra=extra)
            con = open_store(db)
            key = wait_for_key(con, f"m{watched}")
            rng = random.Random(args.seed)
            for trial in range(args.trials):
                wait_for_state(con, key, 0, deadline_s=60)
                if trial > 0:
                    # the previous trial's resolution was sent
                    sink.wait_for("alert.resolved", trial - 1, 4 * INTERVAL_S)
                time.sleep(rng.uniform(0, INTERVAL_S))
                last_id = con.execute("SELECT COALESCE(MAX(id), 0) FROM state_changes").fetchone()[0]
                firing_before = sink.count("alert.firing")
                outage = time.time()
                control(f"/control/mode/fail")
                stored, at = wait_for_change(con, key, 2, last_id, deadline_s=4 * INTERVAL_S)
                notified = sink.wait_for("alert.firing", firing_before, 4 * INTERVAL_S)
                results.append({"stored_s": stored - outage, "probed_s": at / 1000 - outage, "notified_s": notified - outage})
                log(
                    f"  trial {trial + 1}: stored after {stored - outage:.2f} s, notified after {notified - outage:.2f} s "
                    f"(the probe that saw it started after {at / 1000 - outage:.2f} s)"
                )
                control("/control/mode/ok")
            con.close()
        finally:
            if wk is not None:
                wk.stop()
            demo.stop()
            nginx.stop()
            sink.stop()
    return {"monitors": n, "trials": results}


def control(path):
    request = urllib.request.Request(f"http://127.0.0.1:{DEMO_PORT}{path}", method="POST")
    urllib.request.urlopen(request, timeout=5).read()


def wait_for_key(con, monitor_id, deadline_s=60):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        row = con.execute("SELECT key FROM monitors WHERE id = ?", (monitor_id,)).fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise SystemExit(f"monitor {monitor_id} never appeared in the store")


def wait_for_state(con, key, health, deadline_s):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        row = con.execute(
            "SELECT to_health FROM state_changes WHERE monitor = ? ORDER BY id DESC LIMIT 1", (key,)
        ).fetchone()
        if row and row[0] == health:
            return
        time.sleep(0.05)
    raise SystemExit(f"monitor key {key} did not reach health {health} within {deadline_s} s")


def wait_for_change(con, key, health, after_id, deadline_s):
    """Polls every 10 ms for a state change to `health` newer than after_id;
    returns (wall time it was seen, its `at` in ms)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        row = con.execute(
            "SELECT at FROM state_changes WHERE monitor = ? AND to_health = ? AND id > ? ORDER BY id LIMIT 1",
            (key, health, after_id),
        ).fetchone()
        if row:
            return time.time(), row[0]
        time.sleep(0.01)
    raise SystemExit(f"no state change to health {health} within {deadline_s} s")


# ---------------------------------------------------------------- soak


class IdlePages:
    """What this machine charges for touching memory that sat idle for 10 s,
    the way every monitor's state sits idle between probes: a 32 MiB buffer,
    one byte written per 4 KiB page every 10 s, and again at once (hot).
    Cheap (a few ms every 10 s); tells the machine's share of a CPU change
    apart from ours (bench/idle_memory.py has the whole picture)."""

    SIZE = 32 * 2**20
    PAGE = 4096
    EVERY_S = 10

    def __init__(self):
        self.buffer = bytearray(self.SIZE)
        self._touch()
        self.idle_ns, self.hot_ns = [], []

    def _touch(self):
        started = time.perf_counter()
        for offset in range(0, self.SIZE, self.PAGE):
            self.buffer[offset] = (self.buffer[offset] + 1) & 0xFF
        return (time.perf_counter() - started) / (self.SIZE // self.PAGE) * 1e9

    def wait(self, seconds):
        """Sleeps `seconds`, touching the buffer every 10 s meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(self.EVERY_S, left))
            self.idle_ns.append(self._touch())
            self.hot_ns.append(self._touch())

    def minute(self):
        """Medians since the last call, in ns per page."""
        figures = {"idle_page_ns": med(self.idle_ns), "hot_page_ns": med(self.hot_ns)}
        self.idle_ns, self.hot_ns = [], []
        return figures


def soak(args):
    """Watchkeeper alone for a long window; store, rows, RSS and CPU every
    minute."""
    n, samples = args.monitors, []
    with tempfile.TemporaryDirectory(prefix="wk-soak-") as tmp:
        nginx = start_fleet(tmp)
        try:
            wk, _, db = start_watchkeeper(tmp, n, raw_retention=args.raw_retention)
            started = time.monotonic()
            try:
                time.sleep(args.warmup)
                meter = Meter([wk])
                end = time.monotonic() + args.window
                cpu_before, written_before, t_before = wk.cpu_seconds(), wk.disk_writes(), time.monotonic()
                idle_pages = IdlePages()
                while time.monotonic() < end:
                    idle_pages.wait(min(60, max(0, end - time.monotonic())))
                    if not wk.alive():
                        raise SystemExit(f"watchkeeper exited during the soak; see {wk.log_path}")
                    cpu_now, written_now, t_now = wk.cpu_seconds(), wk.disk_writes(), time.monotonic()
                    rss, _ = wk.memory_mib()
                    meter.sample()
                    pages, files = store_bytes(db)
                    results, free = store_contents(db)
                    samples.append(
                        {
                            "t": t_now - started,
                            "bytes": pages,
                            "free": free,
                            "files": files,
                            "results": results,
                            "rss_mib": rss,
                            "cpu_percent": 100 * (cpu_now - cpu_before) / (t_now - t_before),
                            "disk_write_mib_per_s": (written_now - written_before) / 2**20 / (t_now - t_before),
                            **idle_pages.minute(),
                        }
                    )
                    cpu_before, written_before, t_before = cpu_now, written_now, t_now
                    last = samples[-1]
                    log(
                        f"  t={last['t']:.0f} s store {last['bytes'] / 2**20:.1f} MiB "
                        f"(free {free / 2**20:.1f}) results {results:,} rss {rss:.0f} MiB cpu {last['cpu_percent']:.1f} % "
                        f"idle/hot page {last['idle_page_ns']:,.0f}/{last['hot_page_ns']:,.0f} ns"
                    )
                figures = meter.finish()
            finally:
                wk.stop()
        finally:
            nginx.stop()
    return {"monitors": n, "raw_retention": args.raw_retention or "48h (default)", "samples": samples, "figures": figures}


# ---------------------------------------------------------------- report


def med(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def machine():
    mem = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1)) / 2**20
    model = re.search(r"model name\s*:\s*(.+)", open("/proc/cpuinfo").read())
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "nproc": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "cpu": model.group(1).strip() if model else "unknown",
        "kernel": os.uname().release,
    }


def versions():
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not found"

    return {
        "watchkeeper": first_line([WK, "--version"]),
        "nginx": first_line(["nginx", "-v"]),
        "prometheus": first_line(["prometheus", "--version"]),
        "blackbox_exporter": first_line(["prometheus-blackbox-exporter", "--version"]),
        "vigil": first_line([vigil_binary(), "--version"]) if vigil_binary() else "not installed",
    }


def scale_tables(data):
    lines = []
    runs = data["runs"]
    count = max(max(len(r[tool]) for tool in r) for r in runs.values())
    lines.append(f"Medians of {count} run(s) per row; the range over runs is in brackets where it matters.\n")
    alerts = sum(f.get("fleet_alerts", 0) for r in runs.values() for tool in r for f in r[tool])
    lines.append(f"Each run has its own fresh nginx; nginx logged {alerts} alert(s) over all runs.\n")
    ran = {tool: any(runs[n][tool] for n in data["sizes"]) for tool in ("ours", "ours-pg", "theirs", "vigil")}
    if ran["ours"]:
        lines += watchkeeper_tables(data, "ours")
    if ran["ours-pg"]:
        lines += watchkeeper_tables(data, "ours-pg")
    if ran["theirs"]:
        lines += prometheus_table(data)
    if ran["vigil"]:
        lines += vigil_table(data)
    if (ran["ours"] or ran["ours-pg"]) and (ran["theirs"] or ran["vigil"]):
        lines += ratio_table(data)
    return "\n".join(lines)


def cost_cells(runs):
    """CPU (median and range), CPU per probe, and RSS steady / peak: three
    table cells."""
    cpu = [f["cpu_percent"] for f in runs]
    return (
        f"{med(cpu):.1f} % [{min(cpu):.1f}–{max(cpu):.1f}] | {med([f['cpu_us_per_probe'] for f in runs]):.0f} µs | "
        f"{med([f['rss_steady_mib'] for f in runs]):.0f} / {med([f['rss_peak_mib'] for f in runs]):.0f} MiB"
    )


def disk_writes(runs):
    """Median bytes written towards the disk, per second and per probe."""
    rate = med([f["disk_write_mib_per_s"] for f in runs])
    per_probe = med([f["disk_write_bytes_per_probe"] for f in runs])
    return f"{rate:.1f} MiB/s ({per_probe / 1024:.1f} KiB per probe)"


def watchkeeper_tables(data, tool):
    runs, lines = data["runs"], []
    pg = tool == "ours-pg"
    lines.append("\n### Watchkeeper on PostgreSQL\n" if pg else "### Watchkeeper\n")
    if pg:
        lines.append(
            "PostgreSQL (started by the benchmark, default settings) is measured beside it: the postmaster and "
            "its backends. Store growth is pg_total_relation_size of our tables, indexes and TOAST included.\n"
        )
    lines.append(
        "| monitors | probes due/s | completed/s | wrong verdicts | CPU (% of one core) | CPU per probe | RSS steady / peak | "
        + ("PostgreSQL CPU / RSS | " if pg else "")
        + "lag p50 / p99 / max | `GET /api/v1/monitors` p50 / p95 | one monitor p50 / p95 | store growth | disk writes | fleet CPU |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if pg else ""))
    for n in data["sizes"]:
        ours = runs[n][tool]
        if not ours:
            continue
        postgres = (
            f"{med([f['postgres']['cpu_percent'] for f in ours]):.1f} % / {med([f['postgres']['rss_steady_mib'] for f in ours]):.0f} MiB | "
            if pg
            else ""
        )
        bad = med([wrong_total(f)[0] for f in ours])
        total = med([wrong_total(f)[1] for f in ours])
        lines.append(
            f"| {n:,} | {n // INTERVAL_S:,} | {med([f['completed_per_s'] for f in ours]):,.0f} | {bad:,.0f} of {total:,.0f} | "
            f"{cost_cells(ours)} | {postgres}"
            f"{med([f['lag_ms']['p50'] for f in ours]):.0f} / {med([f['lag_ms']['p99'] for f in ours]):.0f} / {med([f['lag_ms']['max'] for f in ours]):.0f} ms | "
            f"{med([percentile(f['api_list_ms'], 0.5) for f in ours]):.1f} / {med([percentile(f['api_list_ms'], 0.95) for f in ours]):.1f} ms | "
            f"{med([percentile(f['api_detail_ms'], 0.5) for f in ours]):.1f} / {med([percentile(f['api_detail_ms'], 0.95) for f in ours]):.1f} ms | "
            f"{med([f['store_growth_mib_per_hour'] for f in ours]):,.0f} MiB/h | {disk_writes(ours)} | "
            f"{med([f['fleet_cpu_percent'] for f in ours]):.0f} % |"
        )
    engine = "PostgreSQL" if pg else "SQLite"
    lines.append(f"\n### Store size on {engine} at the default retention (48 h raw, per-minute rollups)\n")
    lines.append("| monitors | bytes per raw result | bytes per rollup row | raw results at 48 h | rollups per day kept |")
    lines.append("|---|---|---|---|---|")
    for n in data["sizes"]:
        ours = runs[n][tool]
        if not ours:
            continue
        lines.append(
            f"| {n:,} | {med([f['raw_bytes_per_result'] for f in ours]):.1f} | {med([f['rollup_bytes_per_row'] for f in ours]):.1f} | "
            f"{med([f['raw_gib_at_retention'] for f in ours]):.2f} GiB | {med([f['rollup_gib_per_day'] for f in ours]):.2f} GiB |"
        )
    return lines


def prometheus_table(data):
    runs, lines = data["runs"], []
    lines.append("\n### Prometheus + blackbox_exporter, same fleet, same run\n")
    lines.append(
        "| monitors | probes due/s | completed/s | wrong verdicts | CPU (% of one core) | CPU per probe | RSS steady / peak | scrape interval p50 / p99 | disk writes | fleet CPU |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for n in data["sizes"]:
        theirs = runs[n]["theirs"]
        if not theirs:
            continue
        bad = med([wrong_total(f)[0] for f in theirs])
        total = med([wrong_total(f)[1] for f in theirs])
        lines.append(
            f"| {n:,} | {n // INTERVAL_S:,} | {med([f['completed_per_s'] for f in theirs]):,.0f} | {bad:,.0f} of {total:,.0f} | "
            f"{cost_cells(theirs)} | "
            f"{med([f['interval_s']['0.5'] for f in theirs]):.3f} / {med([f['interval_s']['0.99'] for f in theirs]):.3f} s | "
            f"{disk_writes(theirs)} | "
            f"{med([f['fleet_cpu_percent'] for f in theirs]):.0f} % |"
        )
    return lines


def vigil_table(data):
    runs, lines = data["runs"], []
    lines.append("\n### Vigil, same fleet, same run\n")
    lines.append(
        "Vigil probes every target once per cycle, split over `poll_parallelism` threads, then sleeps "
        "`poll_interval` (10 s): its period is the cycle plus 10 s. Completed/s is N ÷ that period. "
        "Wrong verdicts: nodes whose state on Vigil's status page at the end of the window does not "
        "match their target (one verdict per node, not per probe).\n"
    )
    lines.append(
        "| monitors | poll_parallelism | probes due/s | completed/s | wrong verdicts | cycle p50 / max | period | CPU (% of one core) | CPU per probe | RSS steady / peak | fleet CPU |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in data["sizes"]:
        vigil = runs[n]["vigil"]
        if not vigil:
            continue
        cycles = [c for f in vigil for c in f["cycles"]]
        lines.append(
            f"| {n:,} | {vigil[0]['parallelism']} | {n // INTERVAL_S:,} | {med([f['completed_per_s'] for f in vigil]):,.0f} | "
            f"{med([wrong_total(f)[0] for f in vigil]):,.0f} of {n:,} nodes | "
            f"{med(cycles):.1f} / {max(cycles, default=float('nan')):.1f} s | {med([f['period_s'] for f in vigil]):.1f} s | "
            f"{cost_cells(vigil)} | "
            f"{med([f['fleet_cpu_percent'] for f in vigil]):.0f} % |"
        )
    return lines


def ratio_table(data):
    runs, lines = data["runs"], []
    lines.append("\n### Ratios, ours / theirs (same run)\n")
    lines.append("| monitors | Watchkeeper on | against | CPU | CPU per probe | RSS (steady) | RSS (peak) | completed probes |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for n in data["sizes"]:
        for ours_tool, engine in (("ours", "SQLite"), ("ours-pg", "PostgreSQL")):
            ratio_rows(lines, n, runs[n][ours_tool], engine, runs[n])
    return lines


def ratio_rows(lines, n, ours, engine, runs):
    """Watchkeeper's figures over each peer's (Watchkeeper's CPU only: a
    PostgreSQL beside it is in its own table)."""
    if ours:
        for tool, name in (("theirs", "Prometheus + blackbox_exporter"), ("vigil", "Vigil")):
            theirs = runs[tool]
            if not theirs:
                continue

            def ratio(key):
                return med([f[key] for f in ours]) / med([f[key] for f in theirs])

            lines.append(
                f"| {n:,} | {engine} | {name} | {ratio('cpu_percent'):.2f} | {ratio('cpu_us_per_probe'):.2f} | {ratio('rss_steady_mib'):.2f} | "
                f"{ratio('rss_peak_mib'):.2f} | {ratio('completed_per_s'):.2f} |"
            )


def detection_table(data):
    rows = [("the probe that saw it started", "probed_s"), ("its state change stored", "stored_s"), ("the first notification received", "notified_s")]
    lines = [
        f"{data['monitors']} monitors at a {INTERVAL_S} s interval; one target (a demo API) starts answering 500 at a random moment, "
        f"{len(data['trials'])} trials; its own alert at threshold 1, a route with group_wait 0 to a webhook receiver on loopback. Time from the outage to:\n",
        "| | p50 | p90 | p99 | max | mean |",
        "|---|---|---|---|---|---|",
    ]
    for label, key in rows:
        values = sorted(t[key] for t in data["trials"] if key in t)
        if not values:
            continue
        lines.append(
            f"| {label} | {percentile(values, 0.5):.2f} s | {percentile(values, 0.9):.2f} s | {percentile(values, 0.99):.2f} s | "
            f"{values[-1]:.2f} s | {statistics.mean(values):.2f} s |"
        )
    return "\n".join(lines)


def write_results(path, command, scale_data=None, detection_data=None, soak_data=None):
    m, v = machine(), versions()
    out = [
        "# Benchmark results\n",
        f"- date: {m['date']}",
        f"- commit: {m['commit']}",
        f"- machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}",
        f"- versions: {v['watchkeeper']}; {v['nginx']}; {v['prometheus']}; {v['blackbox_exporter']}",
        f"- command: `{command}`",
        "",
        "How to read and reproduce this: [bench/README.md](README.md).",
    ]
    if scale_data:
        cap = scale_data["fleet_capacity"]
        out += ["\n## Scale: HTTP monitors at a 10 s interval\n"]
        if cap:
            out.append(
                f"The fleet (one nginx worker) serves {cap:,.0f} requests/s with a new connection per request "
                "(wrk, 64 connections, `Connection: close`), before the runs.\n"
            )
        out.append(scale_tables(scale_data))
    if detection_data:
        out += ["\n## Detection time\n", detection_table(detection_data)]
    if soak_data:
        out += ["\n## Soak\n", soak_table(soak_data)]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    log(f"wrote {path}")


def soak_table(data):
    samples, figures = data["samples"], data["figures"]
    lines = [
        f"{data['monitors']:,} monitors at 10 s, raw retention {data['raw_retention']}; one row a minute "
        "since start-up. Store: the database's pages (WAL included), of which free pages are waiting "
        "for reuse. CPU: % of one core over that minute. Idle page: what this machine charged the "
        "benchmark script for writing a page of memory that sat idle for 10 s (as each monitor's state "
        "does between probes), against one touched a moment before (hot); median ns per page over the minute.\n"
    ]
    lines.append("| minute | store | of which free | growth over the minute | raw results held | files on disk | RSS | CPU | disk writes | idle page / hot |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for previous, sample in zip([None] + samples, samples):
        grown = "" if previous is None else f"{(sample['bytes'] - previous['bytes']) / 2**20:+.1f} MiB"
        lines.append(
            f"| {sample['t'] / 60:.0f} | {sample['bytes'] / 2**20:.1f} MiB | {sample['free'] / 2**20:.1f} MiB | {grown} | "
            f"{sample['results']:,} | {sample['files'] / 2**20:.1f} MiB | {sample['rss_mib']:.0f} MiB | {sample['cpu_percent']:.1f} % | "
            f"{sample['disk_write_mib_per_s']:.2f} MiB/s | "
            f"{sample.get('idle_page_ns', float('nan')):,.0f} / {sample.get('hot_page_ns', float('nan')):,.0f} ns |"
        )
    rss = [s["rss_mib"] for s in samples]
    if rss:
        lines.append(
            f"\nOver the window: CPU {figures['cpu_percent']:.1f} % of one core, RSS {min(rss):.0f}–{max(rss):.0f} MiB "
            f"(peak {figures['rss_peak_mib']:.0f} MiB)."
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("scale", "all"):
        p = sub.add_parser(name)
        p.add_argument("--sizes", default="1000,5000,10000,20000,50000")
        p.add_argument("--runs", type=int, default=3)
        p.add_argument("--warmup", type=int, default=30, help="seconds after start-up before the window")
        p.add_argument("--window", type=int, default=60, help="seconds measured")
        p.add_argument("--only", choices=("ours", "theirs", "vigil"), help="ours: Watchkeeper on every --storage")
        p.add_argument("--storage", default="sqlite", choices=("sqlite", "postgres", "sqlite,postgres", "postgres,sqlite"), help="Watchkeeper's store engine(s)")
        p.add_argument("--vigil", action="store_true", help="also run Vigil (VIGIL_BIN or `vigil` on PATH)")
        p.add_argument("--vigil-parallelism", type=int, default=1024, help="Vigil's poll_parallelism (threads)")
        p.add_argument("--monitors", type=int, default=100, help="detection: monitors")
        p.add_argument("--trials", type=int, default=20, help="detection: trials")
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--out", default=os.path.join(ROOT, "bench/RESULTS.md"))
    p = sub.add_parser("detection")
    p.add_argument("--monitors", type=int, default=100)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None)
    p = sub.add_parser("soak")
    p.add_argument("--monitors", type=int, default=10000)
    p.add_argument("--warmup", type=int, default=60)
    p.add_argument("--window", type=int, default=3600)
    p.add_argument("--raw-retention", default=None, help='e.g. "1h" (the minimum) to see pruning within the run')
    p.add_argument("--out", default=None)
    args = parser.parse_args()

    for binary in (WK, DEMO):
        if not os.path.exists(binary):
            raise SystemExit(f"{binary} is missing: cargo build --release -p watchkeeper -p watchkeeper-demo")
    for tool in ("nginx", "prometheus", "prometheus-blackbox-exporter"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: see bench/README.md for the Debian packages")
    if not os.path.exists("/usr/lib/nginx/modules/ngx_http_echo_module.so"):
        raise SystemExit("nginx's echo module is missing: apt-get install libnginx-mod-http-echo")

    if "postgres" in getattr(args, "storage", ""):
        pg_bin("postgres")
        if shutil.which("psql") is None:
            raise SystemExit("psql is missing: apt-get install postgresql-client")

    if getattr(args, "vigil", False) or getattr(args, "only", None) == "vigil":
        if vigil_binary() is None:
            raise SystemExit("vigil is missing: cargo install vigil-server, then put it on PATH or set VIGIL_BIN")
        if vigil_assets() is None:
            raise SystemExit("Vigil's res/assets are missing: set VIGIL_ASSETS to the directory")

    command = "bench/bench.py " + " ".join(sys.argv[1:])
    if args.command == "scale":
        data = scale(args)
        write_results(args.out, command, scale_data=data)
    elif args.command == "detection":
        data = detection(args)
        print(detection_table(data))
        if args.out:
            write_results(args.out, command, detection_data=data)
    elif args.command == "soak":
        data = soak(args)
        print(soak_table(data))
        if args.out:
            write_results(args.out, command, soak_data=data)
    else:
        scale_data = scale(args)
        detection_data = detection(args)
        write_results(args.out, command, scale_data=scale_data, detection_data=detection_data)
    if os.path.exists(args.out or ""):
        print(open(args.out).read())


if __name__ == "__main__":
    main()
