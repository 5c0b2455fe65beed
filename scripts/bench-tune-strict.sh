#!/usr/bin/env bash
# The tutorial's tune (assets/events/power-tuning-input.json: 4 powers x 10 invocations, parallel) on the
# strict local stack at AWS's own delays (time scale 1.0: an update of $LATEST stays InProgress for 2 s),
# against a sequential sweep (the same input with "parallelInvocation": false) measured in the same run,
# alternated. Prints the wall times, their ratio (the goal is 0.5 or less) and where the time goes, from
# each run's own phase timings: publishing (one $LATEST update per version, waited out before
# PublishVersion, as Lambda requires), measuring, cleaning up. The floor both modes share is those
# updates at AWS's 2 s each. Figures only, no pass/fail; recorded in bench/results/tune-strict.json.
#
# The function is the handler as it is deployed to AWS (profile lambda: a parallel run starts an instance
# per invocation, and a debug bootstrap's start-up would dominate). lab itself is the dev build, as
# scripts/run and scripts/test use: its own time is small beside Lambda's updates.
# Knobs (environment): BENCH_RUNS (3 runs of each mode), BENCH_TIME_SCALE (1.0), BENCH_ITEMS (3 items in
# the table), LAB_BIN and BOOTSTRAP (skip building).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-3}
SCALE=${BENCH_TIME_SCALE:-1.0}
ITEMS=${BENCH_ITEMS:-3}
build_lab dev
build_handler lambda
start_stack --strict --time-scale "$SCALE"

say "lab up on the strict stack at time scale $SCALE (IAM's propagation delay alone is 10 s)"
up_with_items "$ITEMS"
tune_inputs
show_wall() { printf '    %-10s run %s: %s s wall\n' "$1" "$2" "$(elapsed "$3" "$4" 2)" >&2; } # mode run t0 t1
tune_alternated "$RUNS" show_wall

py "$ROOT/scripts/bench_tune_strict.py" "$WORK" "$RUNS" "$SCALE" "$LAB_BIN" "$BOOTSTRAP" >"$WORK/record.json"
record_bench tune-strict <"$WORK/record.json"
