"""scripts/bench-cpu-memory.sh's Python: the REPORT lines of a function's log group on the local
stack, and the record (each memory size's mean Duration beside 1769/memory's prediction).

    bench_cpu_memory.py logs ENDPOINT GROUP        -> {"MB": [Duration ms, ...]} on stdout
    bench_cpu_memory.py record WORK SPIN BUILD CORES -> the record on stdout
"""

import json
import re
import sys
import urllib.request

from bench_lib import dispatch, load_json, r3

REPORT = re.compile(r"^REPORT .*?\tDuration: ([0-9.]+) ms.*?\tMemory Size: (\d+) MB")


def logs(endpoint, group):
    """Every REPORT line's Duration in GROUP, by Memory Size (CloudWatch Logs' FilterLogEvents)."""
    out, token = {}, None
    while True:
        body = {"logGroupName": group}
        if token:
            body["nextToken"] = token
        request = urllib.request.Request(endpoint, data=json.dumps(body).encode(), method="POST", headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Logs_20140328.FilterLogEvents",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=x",
        })
        page = json.load(urllib.request.urlopen(request))
        for event in page.get("events", []):
            m = REPORT.match(event["message"])
            if m:
                out.setdefault(m.group(2), []).append(float(m.group(1)))
        token = page.get("nextToken")
        if not token:
            break
    json.dump(out, sys.stdout)


def side(work, name):
    """One side's figures: per size the mean Duration, its prediction from 1769 MB's, and the error."""
    reports = load_json(f"{work}/reports-{name}.json")
    tune = load_json(f"{work}/tune-{name}.json")
    means = {int(mb): sum(d) / len(d) for mb, d in reports.items()}
    top = max(means)
    figures = {"host_cpu": tune.get("host_cpu")}
    worst = 0.0
    for mb in sorted(means):
        predicted = means[top] * top / mb
        off = means[mb] / predicted - 1
        worst = max(worst, abs(off))
        figures[f"duration_{mb}_mb_ms"] = r3(means[mb])
        figures[f"predicted_{mb}_mb_ms"] = r3(predicted)
        figures[f"off_{mb}_mb_pct"] = round(off * 100, 1)
    figures["worst_off_pct"] = round(worst * 100, 1)
    figures["reports"] = sum(len(d) for d in reports.values())
    return figures


def record(work, spin, build, cores):
    lab, peer = side(work, "lab"), side(work, "peer")
    for name, f in (("lab (CPU budget)", lab), ("peer (no budget)", peer)):
        sizes = sorted(int(k.split("_")[1]) for k in f if k.startswith("duration_"))
        cells = ", ".join(f"{mb} MB {f[f'duration_{mb}_mb_ms']:.0f} ms ({f[f'off_{mb}_mb_pct']:+.0f}%)" for mb in sizes)
        print(f"{name}: {cells}; worst {f['worst_off_pct']:.0f}% off 1769/memory", file=sys.stderr)
    json.dump({
        "settings": {"spin_s": float(spin), "num": 10, "parallel": True, "build": build, "cores": int(cores)},
        "lab": lab,
        "peer": dict(name="the same stack without the CPU budget (LAB_LOCAL_CPU_BUDGET=1000)", **peer),
    }, sys.stdout)


if __name__ == "__main__":
    dispatch({"logs": logs, "record": record}, __doc__)
