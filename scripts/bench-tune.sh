#!/usr/bin/env bash
# Benchmark `lab tune` on the local stack with the tutorial's exact input
# (assets/events/power-tuning-input.json: 4 powers x 10 invocations, parallel, the list event), and the
# time lab itself adds per invocation: wall time minus the time attributable to the function and to the
# memory changes, divided by the invocations. The same input with "parallelInvocation": false runs too,
# for comparison. Prints figures only, no pass/fail, and records them in bench/results/tune.json
# (scripts/bench_record.py) beside the floor of the same runs: the function's own time on the critical
# path (parallel) or in sum (sequential) plus the memory changes, what a tuner that cost nothing would take.
#
# Function time comes from the REPORT lines the local stack writes to /aws/lambda/<fn> (Duration + Init
# Duration of every invocation, read back through the Logs API), so it is exact per invocation; the tune
# JSON alone only has each power's trimmed mean and count, and sum(mean x count) is printed beside it as
# the approximation it is (the trimmed mean leaves out the fastest and slowest 20%).
# Memory-change time is not in the JSON either: it is measured separately, on the same stack, as lab
# does a change (GetFunctionConfiguration, UpdateFunctionConfiguration, GetFunctionConfiguration until
# Successful), and multiplied by plan.configuration_updates.
#
# Everything runs on 127.0.0.1 with a throwaway LAB_HOME; the stack is stopped on exit.
# Knobs (environment): BENCH_RUNS (10 runs of each mode, alternated), BENCH_ITEMS (3 items in the table),
# BENCH_MEM_SAMPLES (10 timed memory changes), LAB_BIN (skip building lab),
# BENCH_REBUILD_HANDLER=1 (rebuild target/lambda/bootstrap even if present),
# BOOTSTRAP (another prebuilt handler, e.g. a dev build for a quick check; recorded in the settings).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-10}
ITEMS=${BENCH_ITEMS:-3}
MEM_SAMPLES=${BENCH_MEM_SAMPLES:-10}
FUNCTION=LambdaFunctionOverHttps
START_ALL=$(now)

# --- build (before anything is timed), local stack ------------------------------------------------------
build_lab release
build_handler lambda
start_stack
say "deploying on 127.0.0.1:$PORT"
up_with_items "$ITEMS"
tune_inputs

# Reads every REPORT line of the function's log group through the Logs API (moto behind the gateway;
# it checks no signature, only reads the region from the credential scope) and writes those not seen
# before to OUT as JSON, waiting until at least EXPECTED have arrived: the stack writes logs asynchronously.
reports() { py "$ROOT/scripts/bench_tune.py" reports "$PORT" "$WORK/seen" "$1" "$2" "$FUNCTION"; } # expected out
reports 0 "$WORK/baseline-reports.json"

# --- the tune runs -----------------------------------------------------------------------------------
# After each run: its function time from the REPORT lines, and a line of progress.
read_reports() { # mode run t0 t1
    local n
    n=$(json_field "$WORK/$1-$2.json" invocations)
    reports "$n" "$WORK/$1-$2.reports.json"
    printf '    %-10s run %s: %s s wall, %s invocations\n' "$1" "$2" "$(elapsed "$3" "$4")" "$n" >&2
}
say "load average before measuring: $(loadavg) (other work on the machine skews every figure)"
tune_alternated "$RUNS" read_reports

# A fixed cost inside every wall time above, whatever the invocations: starting and ending the process.
for _ in $(seq 10); do TIMED_DECIMALS=6 timed "$WORK/starts" "$LAB_BIN" --version >/dev/null; done

# --- memory changes, timed alone ---------------------------------------------------------------------
say "timing $MEM_SAMPLES memory changes as lab does them"
py "$ROOT/scripts/bench_tune.py" memchange "$PORT" "$FUNCTION" "$MEM_SAMPLES" >"$WORK/memchange.json"

# --- report ------------------------------------------------------------------------------------------
LOAD_AFTER=$(loadavg)
py "$ROOT/scripts/bench_tune.py" report "$WORK" "$RUNS" "$UP_S" "$HANDLER_BUILD" "$LOAD_AFTER" "$ITEMS" "$MEM_SAMPLES" \
    "$LAB_BIN" "$BOOTSTRAP"
record_bench tune <"$WORK/record.json"
say "bench-tune took $(since "$START_ALL" 0) s"
