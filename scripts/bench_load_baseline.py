"""bench-load-baseline.sh's Python (standard library only).

    bench_load_baseline.py memory PORT FUNCTION MB
        sets FUNCTION's memory on the local stack at PORT and waits until the update is Successful
    bench_load_baseline.py report WORK RUNS BASE_MB LOW_MB REGRESSION LOAD_AFTER LAB_BIN > record.json
        reads WORK/codes ("kind run exit" lines) and WORK/KIND-RUN.json (`lab load -o json`), prints the
        figures on stderr and the record on stdout
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


def report(work, runs, base_mb, low_mb, regression, load_after, lab_bin):
    runs = int(runs)
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
    detected, false_alarms = failed("lower"), failed("same")
    figures = {k: {m: changes(k, m) for m in ("p50", "p95")} for k in ("same", "lower")}
    med = lambda k, m: round(statistics.median(figures[k][m]), 1)
    print(f"at {low_mb} MB: {detected}/{runs} caught (p50 changes {figures['lower']['p50']})", file=sys.stderr)
    print(f"unchanged: {false_alarms}/{runs} failed (p50 changes {figures['same']['p50']})", file=sys.stderr)
    json.dump({
        "settings": {"runs": runs, "baseline_mb": int(base_mb), "regressed_mb": int(low_mb),
                     "regression_pct": float(regression.rstrip("%")), "test": "2 VUs, 6 s, fixed, list",
                     "lab_bin": lab_bin, "load_after": load_after},
        "lab": {"name": f"runs at {low_mb} MB", "runs": runs, "detected": detected,
                "median_p50_change_pct": med("lower", "p50"), "median_p95_change_pct": med("lower", "p95"),
                "p50_changes_pct": [round(x, 1) for x in figures["lower"]["p50"]]},
        "peer": {"name": "unchanged reruns (false positives)", "runs": runs, "false_positives": false_alarms,
                 "median_p50_change_pct": med("same", "p50"), "median_p95_change_pct": med("same", "p95"),
                 "p50_changes_pct": [round(x, 1) for x in figures["same"]["p50"]]},
    }, sys.stdout)


{"memory": memory, "report": report}[sys.argv[1]](*sys.argv[2:])
