#!/usr/bin/env bash
# Benchmark: IAM on the strict local stack at time scale 1.0 (AWS's own delays).
#   1. The IAM actions each verb group needs: the distinct actions of `lab policy --verbs V`.
#   2. `lab up` from nothing, then the first successful `lab call` through the stage URL, with the
#      operator held to `lab policy`'s output, against the floor the delays set on that path:
#      max(role not assumable, table CREATING, policy not attachable) + function Pending
#      + the permission's propagation to the stage URL (no call can succeed before it; the new stage's
#      own 5 s propagation starts earlier, at CreateDeployment, and ends before it). Goal <= 1.2x.
# Each round ends with `lab down` (not timed) and starts a DeleteRestApi window after the last one.
# Prints the figures and records them in bench/results/iam.json (scripts/bench_record.py).
#
# Knobs (environment): BENCH_RUNS (2), TIME_SCALE (1.0), LAB_BIN (default: target/debug/lab, built).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-2}
SCALE=${TIME_SCALE:-1.0}
start_strict_stack "$SCALE"

for verbs in up call invoke tune load load-workers; do
    lab --region us-east-1 policy --account 123456789012 --verbs "$verbs" >"$WORK/policy-$verbs.json"
done
lab --region us-east-1 policy --account 123456789012 >"$WORK/policy.json"
curl -sf -X PUT --data-binary @"$WORK/policy.json" "$ENDPOINT/_lab/iam/operator-policy" >/dev/null

last_delete=0
for run in $(seq 1 "$RUNS"); do
    window_ms=$(curl -sf "$ENDPOINT/_lab/status" | json_field - strict.figures_ms.delete_rest_api_window)
    wait_s=$(awk -v last="$last_delete" -v w="$window_ms" -v n="$(now)" 'BEGIN { d = last + w / 1000 - n; print (d > 0 && last > 0) ? d + 0.2 : 0 }')
    sleep "$wait_s"
    say "round $run/$RUNS: up, then the first call"
    t0=$(now)
    lab up --bootstrap "$BOOTSTRAP" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; exit 1; }
    lab call create --id "r$run" --name bench >"$WORK/call.log" 2>&1 || { cat "$WORK/call.log" >&2; exit 1; }
    since "$t0" >>"$WORK/t-first-call"
    echo >>"$WORK/t-first-call"
    last_delete=$(now)
    lab down --yes >"$WORK/down.log" 2>&1 || { cat "$WORK/down.log" >&2; exit 1; }
done

STATUS=$(curl -sf "$ENDPOINT/_lab/status")
py "$ROOT/scripts/bench_iam.py" "$STATUS" "$SCALE" "$(cat "$WORK/t-first-call")" "$WORK" "$WORK/record.json"
record_bench iam <"$WORK/record.json"
