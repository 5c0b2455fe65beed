#!/usr/bin/env bash
# The regression detector of `lab load --baseline`: its power and its false-positive rate, on the local
# stack. RUNS repeats of: a baseline test with the function at BASELINE_MB, then a rerun unchanged (a
# false alarm if it fails) and a run with the function lowered to each of REGRESSED_MB (a detection if it
# fails; several sizes, so the power is seen against more than one size of slowdown), all against that
# baseline. A fresh baseline per repeat, as a build compares with the build before
# it: on a shared machine whose load drifts over minutes, one baseline for every rerun would measure the
# drift. Each run is the same short test (2 VUs for 6 s, fixed, the list event over ITEMS items) with
# --baseline and --regression REGRESSION.
# Records the counts and the median change each kind of run showed (the effect the detector had to see).
# Figures only, no pass/fail; recorded in bench/results/load-baseline.json.
# Knobs (environment): BENCH_RUNS (20 of each), BENCH_BASELINE_MB (1769), BENCH_REGRESSED_MB (512,256),
# BENCH_REGRESSION (10%), BENCH_ITEMS (20), LAB_BIN and BOOTSTRAP (skip building).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-20}
BASE_MB=${BENCH_BASELINE_MB:-1769}
LOW_MB=${BENCH_REGRESSED_MB:-512,256}
REGRESSION=${BENCH_REGRESSION:-10%}
ITEMS=${BENCH_ITEMS:-20}
TEST=(load --vus 2 --duration 6s --load-profile fixed)
scripts/install-deps >/dev/null
build_lab dev -p lab -p handler --bin bootstrap
build_handler dev
start_stack
up_with_items "$ITEMS"
memory() { py "$ROOT/scripts/bench_load_baseline.py" memory "$PORT" LambdaFunctionOverHttps "$1"; }
say "load average before measuring: $(loadavg)"
for run in $(seq "$RUNS"); do
    memory "$BASE_MB"
    lab "${TEST[@]}" -o json >"$WORK/baseline.json"
    for mb in "$BASE_MB" ${LOW_MB//,/ }; do
        kind=same
        [ "$mb" = "$BASE_MB" ] || kind=$mb
        memory "$mb"
        code=0
        lab "${TEST[@]}" --baseline "$WORK/baseline.json" --regression "$REGRESSION" -o json \
            >"$WORK/$kind-$run.json" || code=$?
        echo "$kind $run $code" >>"$WORK/codes"
        say "run $run at $mb MB: exit $code"
    done
done
memory "$BASE_MB"
py "$ROOT/scripts/bench_load_baseline.py" report "$WORK" "$RUNS" "$BASE_MB" "$LOW_MB" "$REGRESSION" "$(loadavg)" \
    "$LAB_BIN" >"$WORK/record.json"
record_bench load-baseline <"$WORK/record.json"
