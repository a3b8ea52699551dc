#!/usr/bin/env bash
# Quickstart: build Watchkeeper and the demo API, start the demo API twice
# (primary on 127.0.0.1:9001, fallback on 127.0.0.1:9002, which also
# receives and prints the notifications), then run
# `watchkeeper serve` on 127.0.0.1:8686 with examples/quickstart/watchkeeper.toml.
#
# Ctrl-C, or SIGTERM to this script alone (`kill PID`), stops everything it
# started and waits for it to finish: `serve` flushes its results first.
# If a demo API cannot listen on its port, `serve` is not started and the
# script exits non-zero, naming the port.
#
# Environment (all optional):
#   QUICKSTART_PRIMARY_PORT, QUICKSTART_FALLBACK_PORT, QUICKSTART_PORT
#       the demo APIs' ports and Watchkeeper's (9001, 9002, 8686). With any
#       other port the config is copied, with the ports replaced, into
#       QUICKSTART_WORK_DIR (a new temporary directory by default), and the
#       database is kept there.
#   QUICKSTART_BIN_DIR
#       run `watchkeeper` and `watchkeeper-demo` from this directory instead
#       of building them (`cargo build --release`) first.
set -euo pipefail
cd "$(dirname "$0")/../.."

primary_port=${QUICKSTART_PRIMARY_PORT:-9001}
fallback_port=${QUICKSTART_FALLBACK_PORT:-9002}
serve_port=${QUICKSTART_PORT:-8686}
config=examples/quickstart/watchkeeper.toml

say() { echo "run.sh: $*" >&2; }

# Everything started in the background, stopped and waited for by `stop`.
children=()

stop() {
  # Once stopping, a second Ctrl-C does not cut the wait short.
  trap - EXIT
  trap '' INT TERM
  local pid
  for pid in "${children[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${children[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  children=()
}
# A signal stops the children, then exits as a shell killed by it would.
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

if [[ -n "${QUICKSTART_BIN_DIR:-}" ]]; then
  bin=$QUICKSTART_BIN_DIR
else
  cargo build --release --locked -p watchkeeper -p watchkeeper-demo
  bin=target/release
fi

if [[ "$primary_port:$fallback_port:$serve_port" != "9001:9002:8686" ]]; then
  work_dir=${QUICKSTART_WORK_DIR:-$(mktemp -d)}
  sed -e 's/127\.0\.0\.1:9001/@PRIMARY@/g' \
      -e 's/127\.0\.0\.1:9002/@FALLBACK@/g' \
      -e 's/127\.0\.0\.1:8686/@SERVE@/g' \
      -e "s/@PRIMARY@/127.0.0.1:$primary_port/g" \
      -e "s/@FALLBACK@/127.0.0.1:$fallback_port/g" \
      -e "s/@SERVE@/127.0.0.1:$serve_port/g" \
      "$config" > "$work_dir/watchkeeper.toml"
  config=$work_dir/watchkeeper.toml
  say "ports $primary_port, $fallback_port and $serve_port; config and database in $work_dir"
fi

# Something accepts connections on 127.0.0.1:$1.
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The webhook receiver's secret, the one the config's notifier signs with.
receiver_secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# Starts a demo API on port $1 (region $2, extra arguments after) and waits
# until it listens; exits non-zero (stopping what was started) if it cannot.
start_demo() {
  local port=$1 region=$2 pid
  shift 2
  if listening "$port"; then
    say "cannot start the $region demo API: port $port on 127.0.0.1 is already in use"
    exit 1
  fi
  "$bin/watchkeeper-demo" --listen "127.0.0.1:$port" --region "$region" "$@" &
  pid=$!
  children+=("$pid")
  # Bounded: 200 tries, 10 s.
  for _ in $(seq 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "cannot start the $region demo API: it could not listen on 127.0.0.1:$port (in use?)"
      exit 1
    fi
    if listening "$port"; then
      return 0
    fi
    sleep 0.05
  done
  say "the $region demo API did not listen on 127.0.0.1:$port within 10 s"
  exit 1
}

start_demo "$primary_port" primary
# The fallback also receives the notifications (it is not the one a
# person breaks), verifies them and prints each on stdout.
start_demo "$fallback_port" fallback --receiver-secret "$receiver_secret"

# In the background and waited for, so a signal to this script is handled
# at once (bash runs a trap only after a foreground command ends).
"$bin/watchkeeper" --config "$config" serve &
children+=("$!")
wait "$!"
