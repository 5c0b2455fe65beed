"""bench-iam.sh's figures: IAM actions per verb group, and `lab up` then the first successful `lab call`
on the strict stack under `lab policy`, against the floor AWS's delays set (standard library only).

    bench_iam.py STATUS SCALE TIMES WORK RECORD

STATUS is the stack's /_lab/status (its strict figures in ms, its IAM refusals), TIMES the rounds' wall
times in seconds ("1.2 3.4"), WORK the folder holding policy-VERBS.json. Writes the record to RECORD.
"""

import json
import sys
from pathlib import Path

from bench_lib import floats, median, r3

VERBS = ["up", "call", "invoke", "tune", "load", "load-workers"]


def actions(path):
    doc = json.loads(Path(path).read_text())
    found = set()
    for statement in doc["Statement"]:
        acts = statement["Action"]
        found.update([acts] if isinstance(acts, str) else acts)
    return len(found)


def main(status, scale, times, work, record):
    status = json.loads(status)
    f = {k: v / 1000 for k, v in status["strict"]["figures_ms"].items()}
    runs = floats(times)
    floor = (max(f["role_not_assumable"], f["table_creating"], f["policy_not_attachable"]) + f["function_pending"]
             + f["permission_propagation"])
    first = median(runs)
    per_verb = {v.replace("-", "_"): actions(f"{work}/policy-{v}.json") for v in VERBS}
    total = actions(f"{work}/policy.json")
    print(f"IAM actions per verb group: " + ", ".join(f"{k} {n}" for k, n in per_verb.items()) + f"; all {total}")
    print(f"strict stack, time scale {scale}, median of {len(runs)}: up + first call {first:.2f} s, "
          f"floor {floor:.2f} s, ratio {first / floor:.2f}x (goal <= 1.2x)")
    json.dump({
        "settings": {"runs": len(runs)},
        "extra": {"time_scale": float(scale), "figures_s": f,
                  "access_denied": status["strict"]["refusals"].get("access_denied")},
        "lab": {"first_call_s": r3(first), "first_call_runs_s": runs,
                "actions": {**per_verb, "all": total}},
        "peer": {"name": "floor set by AWS's delays", "first_call_s": r3(floor)},
    }, open(record, "w"))


if __name__ == "__main__":
    main(*sys.argv[1:6])
