#!/usr/bin/env bash
# The join of `lab load` with Lambda's REPORT lines, on the local stack: its coverage (the share of
# requests that reached the function matched to a REPORT line; goal 100% locally) and what it costs
# (lab's wall time past the test's planned length: the log read and the pairing), through the stage
# URL (the function's log, paired by time) vs `--via lambda` (Invoke's log tail, exact) in the same
# run, at VUS VUs for DURATION each, with the memory set (so the warm-up's instances serve the run)
# and without (cold starts inside it). Records bench/results/load-join.json.
# Knobs (environment): BENCH_DURATION (20s), BENCH_VUS (10), LAB_BIN and BOOTSTRAP (skip building).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
DURATION=${BENCH_DURATION:-20s}
VUS=${BENCH_VUS:-10}
scripts/install-deps >/dev/null
build_lab release
build_handler dev
export NO_COLOR=1
start_stack
lab --stack join up --bootstrap "$BOOTSTRAP" >/dev/null
say "load average before measuring: $(loadavg)"
for via in http lambda; do
    for memory in none 1024; do
        args=(--stack join -o json load --via "$via" --vus "$VUS" --duration "$DURATION" --load-profile fixed)
        [ "$memory" = none ] || args+=(--memory "$memory")
        say "lab load --via $via (memory: $memory)"
        start=$(date +%s.%N)
        lab "${args[@]}" >"$WORK/$via-$memory.json"
        echo "$(date +%s.%N) - $start" | bc >"$WORK/$via-$memory.wall"
    done
done
py "$ROOT/scripts/bench_load_join.py" "$WORK" "$DURATION" "$VUS" "$(lab_build)" "$HANDLER_BUILD" >"$WORK/record.json"
record_bench load-join <"$WORK/record.json"
