#!/usr/bin/env bash
# Quickstart: build Watchkeeper and the demo API, start the demo API twice
# (primary on 127.0.0.1:9001, fallback on 127.0.0.1:9002), then run
# `watchkeeper serve` on 127.0.0.1:8686 with examples/quickstart/watchkeeper.toml.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --locked -p watchkeeper -p watchkeeper-demo

demo_pids=()
cleanup() {
  for pid in "${demo_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

target/release/watchkeeper-demo --listen 127.0.0.1:9001 --region primary &
demo_pids+=($!)
target/release/watchkeeper-demo --listen 127.0.0.1:9002 --region fallback &
demo_pids+=($!)

target/release/watchkeeper --config examples/quickstart/watchkeeper.toml serve
