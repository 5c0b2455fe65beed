#!/usr/bin/env bash
# Does `lab tune` pick the same memory size when the same tune is run again? RUNS repeats of the same
# tune (the tutorial's list event, 128-1024 MB, strategy cost, sequential) with `--num auto` against the
# same with a fixed `--num 10`, alternated so a busy spell on the machine falls on both alike, on the
# local stack with the handler lab runs there. Records how often the most frequent winner won in each
# mode, what aws-lambda-power-tuning's pick on the same fixed runs (its point estimates) did, and what
# auto spent to get there (invocations per size, how many runs reached ±5%). Figures only, no
# pass/fail; recorded in bench/results/tune-stability.json.
# Knobs (environment): BENCH_RUNS (10 of each), BENCH_ITEMS (3 items in the table), BENCH_MAX_NUM (100),
# LAB_BIN and BOOTSTRAP (skip building).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-10}
ITEMS=${BENCH_ITEMS:-3}
MAX_NUM=${BENCH_MAX_NUM:-100}
scripts/install-deps >/dev/null
build_lab dev -p lab -p handler --bin bootstrap
build_handler dev
start_stack
up_with_items "$ITEMS"
say "load average before measuring: $(loadavg)"
for run in $(seq "$RUNS"); do
    lab tune --num 10 -o json >"$WORK/fixed-$run.json"
    lab tune --num auto --max-num "$MAX_NUM" -o json >"$WORK/auto-$run.json"
    say "run $run: fixed $(json_field "$WORK/fixed-$run.json" winner.memory_mb) MB, auto $(json_field "$WORK/auto-$run.json" winner.memory_mb) MB"
done
py "$ROOT/scripts/bench_tune_stability.py" "$WORK" "$RUNS" "$MAX_NUM" "$(loadavg)" "$LAB_BIN" "$BOOTSTRAP" >"$WORK/record.json"
record_bench tune-stability <"$WORK/record.json"
