"""bench-load-baseline.sh's Python (standard library only).

    bench_load_baseline.py memory PORT FUNCTION MB
        sets FUNCTION's memory on the local stack at PORT and waits until the update is Successful
    bench_load_baseline.py report WORK RUNS BASE_MB LOW_MBS REGRESSION LOAD_AFTER LAB_BIN > record.json
        reads WORK/codes ("kind run exit" lines; kind is `same` or the lowered size) and WORK/KIND-RUN.json
        (`lab load -o json`), prints the figures on stderr and the record on stdout
"""

import json
import statistics
import sys
import time

from bench_lib import load_json
from bench_tune import call


def memory(port, function, mb):
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/{function}/configuration"
    headers = {"Content-Type": "application/json"}
    call(url, "lambda", "PUT", {"MemorySize": int(mb)}, headers, timeout=30)
    while call(url, "lambda", "GET", None, headers, timeout=30).get("LastUpdateStatus", "Successful") != "Successful":
        time.sleep(0.05)


def report(work, runs, base_mb, low_mbs, regression, load_after, lab_bin):
    runs = int(runs)
    sizes = [m for m in low_mbs.split(",") if m]
    codes = {}
    for line in open(f"{work}/codes"):
        kind, run, code = line.split()
        codes[(kind, int(run))] = int(code)

    def changes(kind, metric):
        out = []
        for r in range(1, runs + 1):
            d = load_json(f"{work}/{kind}-{r}.json")
            m = next(m for m in d["baseline"]["runs"][0]["metrics"] if m["metric"] == metric)
            out.append(100 * m["change"])
        return out

    failed = lambda kind: sum(1 for r in range(1, runs + 1) if codes[(kind, r)] == 1)
    med = lambda kind, metric: round(statistics.median(changes(kind, metric)), 1)
    lab = {"name": "runs at a lowered memory", "runs": runs}
    for mb in sizes:
        lab[f"detected_{mb}"] = failed(mb)
        lab[f"median_p50_change_{mb}_pct"] = med(mb, "p50")
        lab[f"median_p95_change_{mb}_pct"] = med(mb, "p95")
        lab[f"p50_changes_{mb}_pct"] = [round(x, 1) for x in changes(mb, "p50")]
        print(f"at {mb} MB: {failed(mb)}/{runs} caught (p50 changes {lab[f'p50_changes_{mb}_pct']})", file=sys.stderr)
    same = [round(x, 1) for x in changes("same", "p50")]
    print(f"unchanged: {failed('same')}/{runs} failed (p50 changes {same})", file=sys.stderr)
    json.dump({
        "settings": {"runs": runs, "baseline_mb": int(base_mb), "regressed_mb": [int(m) for m in sizes],
                     "regression_pct": float(regression.rstrip("%")), "test": "2 VUs, 6 s, fixed, list",
                     "lab_bin": lab_bin, "load_after": load_after},
        "lab": lab,
        "peer": {"name": "unchanged reruns (false positives)", "runs": runs, "false_positives": failed("same"),
                 "median_p50_change_pct": med("same", "p50"), "median_p95_change_pct": med("same", "p95"),
                 "p50_changes_pct": same},
    }, sys.stdout)


{"memory": memory, "report": report}[sys.argv[1]](*sys.argv[2:])
