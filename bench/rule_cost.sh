#!/usr/bin/env bash
# What an alert rule costs the recorder per result, in-process (no fleet,
# no HTTP): crates/engine/examples/rule_cost.rs feeds N monitors' results
# through engine::alerts with no alert, each monitor's own alert, and its
# own alert plus one CEL [[alert]], and prints CPU time per result (median
# of RUNS). The fleet measurement of the same thing is bench/alert_cost.py.
#   bench/rule_cost.sh [MONITORS=10000] [RESULTS_EACH=60] [RUNS=7]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --locked -p watchkeeper-engine --example rule_cost -- "${1:-10000}" "${2:-60}" "${3:-7}"
