#!/usr/bin/env bash
# Benchmark: lab's Rust handler against the tutorial's own Python function, on the local stack, in
# one run: `lab tutorial --compare-handlers` (up, the sample calls, the tutorial's tune at 128-1024 MB
# parallel, the load test at every tuned size through the stage URL, for each handler on the same
# stack). Records per handler: cold start (tune's mean Init Duration at 128 and 1024 MB), tune's
# average duration and cost per invocation at each size, and latency and throughput under load at 128
# and 1024 MB; the peer is the Python handler, measured in the same run. Records
# bench/results/handlers-local.json.
#
# The Rust handler is the bootstrap as it ships (profile lambda); the Python one runs on this host's
# Python under awslambdaric (the report says so beside the figures).
#
# Knobs (environment): BENCH_DURATION (20s, per size and handler), BENCH_NUM (10), BENCH_VUS (10),
# LAB_BIN (default: target/release/lab, built).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
DURATION=${BENCH_DURATION:-20s}
NUM=${BENCH_NUM:-10}
VUS=${BENCH_VUS:-10}
scripts/install-deps >/dev/null
build_lab release
build_handler lambda
export NO_COLOR=1
start_stack
say "lab tutorial --compare-handlers: --num $NUM, load $DURATION x $VUS VUs at each size, each handler"
lab -o json tutorial --compare-handlers --num "$NUM" --vus "$VUS" --duration "$DURATION" \
    --bootstrap "$BOOTSTRAP" --report "$WORK/compare.html" >"$WORK/compare.json" 2>"$WORK/compare.err" || {
    tail -20 "$WORK/compare.err" >&2
    exit 1
}
py "$ROOT/scripts/bench_handlers_local.py" "$WORK/compare.json" "$DURATION" "$NUM" "$VUS" \
    "$(lab_build)" "$HANDLER_BUILD" >"$WORK/record.json"
record_bench handlers-local <"$WORK/record.json"
