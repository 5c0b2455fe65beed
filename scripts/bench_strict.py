"""bench-strict.sh's figures: `lab up` and `lab down` on the strict stack against the floor AWS's delays set
(standard library only).

    bench_strict.py STATUS SCALE UP_TIMES DOWN_TIMES RECORD LAB_BIN BOOTSTRAP

STATUS is the stack's /_lab/status (its strict figures in ms), UP_TIMES and DOWN_TIMES the rounds' wall
times in seconds ("1.2 3.4"). Prints the medians and writes the record to RECORD.
"""

import json
import sys

from bench_lib import floats, median, r3


def main(status, scale, ups, downs, record, lab_bin, bootstrap):
    f = {k: v / 1000 for k, v in json.loads(status)["strict"]["figures_ms"].items()}
    ups, downs = floats(ups), floats(downs)
    floor_up = max(f["role_not_assumable"], f["table_creating"], f["policy_not_attachable"]) + f["function_pending"]
    floor_down = max(f["table_deleting"], f["role_delete_conflict"] + f["iam_read_after_delete"])
    up, down = median(ups), median(downs)
    print(f"strict stack, time scale {scale}, median of {len(ups)}:")
    print(f"  lab up   {up:6.2f} s   floor {floor_up:6.2f} s   ratio {up / floor_up:.2f}x")
    print(f"  lab down {down:6.2f} s   floor {floor_down:6.2f} s   ratio {down / floor_down:.2f}x")
    json.dump({
        "settings": {"runs": len(ups), "lab_bin": lab_bin, "bootstrap": bootstrap},
        "extra": {"time_scale": float(scale), "figures_s": f},
        "lab": {"up_s": r3(up), "down_s": r3(down), "up_runs_s": ups, "down_runs_s": downs},
        "peer": {"name": "floor set by AWS's delays", "up_s": r3(floor_up), "down_s": r3(floor_down)},
    }, open(record, "w"))


if __name__ == "__main__":
    main(*sys.argv[1:8])
