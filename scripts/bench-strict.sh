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
    window=$(curl -sf "$ENDPOINT/_lab/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["strict"]["figures_ms"]["delete_rest_api_window"] / 1000)')
    wait_s=$(awk -v last="$last_delete" -v w="$window" -v n="$(now)" 'BEGIN { d = last + w - n; print (d > 0 && last > 0) ? d + 0.2 : 0 }')
    sleep "$wait_s"
    say "round $run/$RUNS: down"
    last_delete=$(now)
    timed "$WORK/t-down" lab down --yes >"$WORK/down.log" 2>&1
done

STATUS=$(curl -sf "$ENDPOINT/_lab/status")
py - "$STATUS" "$SCALE" "$(cat "$WORK/t-up")" "$(cat "$WORK/t-down")" "$WORK/record.json" "$LAB_BIN" "$BOOTSTRAP" <<'PY'
import json, statistics, sys
from bench_lib import floats
status, scale, ups, downs, record, lab_bin, bootstrap = sys.argv[1:8]
f = {k: v / 1000 for k, v in json.loads(status)["strict"]["figures_ms"].items()}
ups, downs = floats(ups), floats(downs)
floor_up = max(f["role_not_assumable"], f["table_creating"], f["policy_not_attachable"]) + f["function_pending"]
floor_down = max(f["table_deleting"], f["role_delete_conflict"] + f["iam_read_after_delete"])
up, down = statistics.median(ups), statistics.median(downs)
print(f"strict stack, time scale {scale}, median of {len(ups)}:")
print(f"  lab up   {up:6.2f} s   floor {floor_up:6.2f} s   ratio {up / floor_up:.2f}x")
print(f"  lab down {down:6.2f} s   floor {floor_down:6.2f} s   ratio {down / floor_down:.2f}x")
json.dump({
    "settings": {"runs": len(ups), "lab_bin": lab_bin, "bootstrap": bootstrap},
    "extra": {"time_scale": float(scale), "figures_s": f},
    "lab": {"up_s": round(up, 3), "down_s": round(down, 3), "up_runs_s": ups, "down_runs_s": downs},
    "peer": {"name": "floor set by AWS's delays", "up_s": round(floor_up, 3), "down_s": round(floor_down, 3)},
}, open(record, "w"))
PY
record_bench strict-up-down <"$WORK/record.json"
