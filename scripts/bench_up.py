"""bench-up.sh's record: `lab up`/`down` against the same steps with the AWS CLI (standard library only).

    bench_up.py WORK RUNS UP_CALLS DOWN_CALLS AWSCLI ZIP_BYTES LOADAVG LAB_BIN BOOTSTRAP > record.json

WORK/t-NAME holds the wall times (s, one a line, bench-lib.sh's `timed`) of lab-up, lab-down,
lab-again, cli-up, cli-down and aws-one.
"""

import json
import sys

from bench_lib import median, read_floats


def main(work, runs, up_calls, down_calls, awscli, zip_bytes, load_before, lab_bin, bootstrap):
    def runs_of(name):
        return read_floats(f"{work}/t-{name}")

    def med(name):
        return median(runs_of(name), 3)

    json.dump({
        "settings": {"runs": int(runs), "zip_bytes": int(zip_bytes), "load_average_before": load_before,
                     "lab_bin": lab_bin, "bootstrap": bootstrap},
        "lab": {"up_s": med("lab-up"), "down_s": med("lab-down"), "up_again_s": med("lab-again"),
                "up_runs_s": runs_of("lab-up"), "down_runs_s": runs_of("lab-down"),
                "up_again_runs_s": runs_of("lab-again")},
        "peer": {"name": f"the same steps scripted with the AWS CLI ({awscli}, PyPI)",
                 "up_s": med("cli-up"), "down_s": med("cli-down"),
                 "up_runs_s": runs_of("cli-up"), "down_runs_s": runs_of("cli-down"),
                 "up_calls": int(up_calls), "down_calls": int(down_calls), "one_call_s": med("aws-one")},
    }, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:])
