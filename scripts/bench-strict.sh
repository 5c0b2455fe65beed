#!/usr/bin/env bash
# Benchmark: `lab up` from nothing and `lab down`, wall time on the strict local stack at time scale
# 1.0 (AWS's own delays), against the floor those delays set: the sum of the waits no client can
# avoid on the critical path, computed from the figures the running stack reports.
#   up floor   = max(role not assumable, table CREATING, policy not attachable) + function Pending
#                (CreateFunction needs the role and the table; the function is then Pending)
#   down floor = max(table DELETING, DeleteRole conflict after detach + IAM read-after-delete)
# Each down starts a full DeleteRestApi window (30 s) after the previous one, so every round pays
# the same account-wide quota (none). Prints the figures and records them in
# bench/results/strict-up-down.json (scripts/bench_record.py).
#
# Knobs (environment): BENCH_RUNS (3), TIME_SCALE (1.0), LAB_BIN (default: target/debug/lab, built;
# the figures are AWS's waits, not lab's CPU).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-3}
SCALE=${TIME_SCALE:-1.0}
start_strict_stack "$SCALE"

last_delete=0
for run in $(seq 1 "$RUNS"); do
    say "round $run/$RUNS: up"
    timed "$WORK/t-up" lab up --bootstrap "$BOOTSTRAP" >"$WORK/up.log" 2>&1
    window_ms=$(curl -sf "$ENDPOINT/_lab/status" | json_field - strict.figures_ms.delete_rest_api_window)
    wait_s=$(awk -v last="$last_delete" -v w="$window_ms" -v n="$(now)" 'BEGIN { d = last + w / 1000 - n; print (d > 0 && last > 0) ? d + 0.2 : 0 }')
    sleep "$wait_s"
    say "round $run/$RUNS: down"
    last_delete=$(now)
    timed "$WORK/t-down" lab down --yes >"$WORK/down.log" 2>&1
done

STATUS=$(curl -sf "$ENDPOINT/_lab/status")
py "$ROOT/scripts/bench_strict.py" "$STATUS" "$SCALE" "$(cat "$WORK/t-up")" "$(cat "$WORK/t-down")" "$WORK/record.json" \
    "$LAB_BIN" "$BOOTSTRAP"
record_bench strict-up-down <"$WORK/record.json"
