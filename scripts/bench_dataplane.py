#!/usr/bin/env python3
"""Figures of scripts/bench-dataplane.sh (standard library only).

    bench_dataplane.py report WORK MEMORIES     prints a table of the runs
    bench_dataplane.py record WORK MEMORIES CLIENTS DURATION LOADAVG LAB_BIN BOOTSTRAP
                                                prints the record for scripts/bench_record.py

WORK holds r-PLANE-MEMORY-WORKLOAD.json (`lab load -o json`) and r-PLANE-getitem.json (a bench_http.py client result).
"""

import json
import sys
from pathlib import Path

WORKLOADS = ("read", "list", "create", "update")


def load(work, name):
    """One client result in bench_http.py's shape; a `lab load -o json` result is read into it."""
    doc = json.loads((Path(work) / f"r-{name}.json").read_text())
    if "runs" not in doc:
        return doc
    run = doc["runs"][0]
    s, split = run["summary"], run.get("emulator") or {}
    return {
        "req_per_s": round(s["throughput_rps"], 1),
        "latency_ms": {"p50": s["p50_ms"], "p99": s["p99_ms"]},
        "statuses": {"200": s["ok"], "other": s["errors"]},
        "function_ms": {"mean": split["function_ms"]} if split.get("function_ms") is not None else None,
    }


def errors(r):
    return sum(v for k, v in r["statuses"].items() if k != "200")


def figures(work, plane, memories):
    """One plane's figures: WORKLOAD_rps... at the first memory, WORKLOAD_MEM_rps at the others."""
    out = {}
    for i, mem in enumerate(memories):
        for w in WORKLOADS:
            r = load(work, f"{plane}-{mem}-{w}")
            key = w if i == 0 else f"{w}_{mem}"
            out[f"{key}_rps"] = r["req_per_s"]
            out[f"{key}_p50_ms"] = r["latency_ms"]["p50"]
            out[f"{key}_p99_ms"] = r["latency_ms"]["p99"]
            out[f"{key}_errors"] = errors(r)
            if r["function_ms"]:
                # lab's generator gives the function's mean (its REPORT Duration + Init), not a p50.
                out[f"{key}_function_mean_ms"] = r["function_ms"]["mean"]
    g = load(work, f"{plane}-getitem")
    out["getitem_rps"] = g["req_per_s"]
    out["getitem_p50_ms"] = g["latency_ms"]["p50"]
    out["getitem_errors"] = errors(g)
    for run in json.loads((Path(work) / f"load-{plane}.json").read_text())["runs"]:
        mb, share = run["memory_mb"], run.get("emulator") or {}
        out[f"load_{mb}_p50_ms"] = run["summary"]["p50_ms"]
        out[f"load_{mb}_rps"] = run["summary"]["throughput_rps"]
        for k in ("share", "latency_ms", "emulator_ms", "dataplane_ms", "function_ms", "host_cpu_wait_ms"):
            out[f"load_{mb}_emulator_{k}"] = share.get(k)
    return out


def report(work, memories):
    print(f"{'run':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for plane in ("native", "moto"):
        for mem in memories:
            for w in WORKLOADS:
                r = load(work, f"{plane}-{mem}-{w}")
                print(f"{plane + ' ' + mem + ' MB ' + w:<28} {r['req_per_s']:>8} {r['latency_ms']['p50']:>8} "
                      f"{r['latency_ms']['p99']:>8} {errors(r):>7}")
        g = load(work, f"{plane}-getitem")
        alone = "gateway GetItem, " + ("native store" if plane == "native" else "forwarded to moto")
        print(f"{alone:<28} {g['req_per_s']:>8} {g['latency_ms']['p50']:>8} {g['latency_ms']['p99']:>8} {errors(g):>7}")
    for plane in ("native", "moto"):
        for run in json.loads((Path(work) / f"load-{plane}.json").read_text())["runs"]:
            share = run.get("emulator") or {}
            print(f"{plane} lab load {run['memory_mb']} MB: {run['summary']['throughput_rps']:.0f} req/s, "
                  f"p50 {run['summary']['p50_ms']:.2f} ms; {share.get('share', 0) * 100:.0f}% emulator "
                  f"({share.get('emulator_ms')} of {share.get('latency_ms')} ms; data plane "
                  f"{share.get('dataplane_ms')} ms, CPU wait {share.get('host_cpu_wait_ms')} ms)")
    for mem in memories:
        for w in WORKLOADS:
            n, m = load(work, f"native-{mem}-{w}"), load(work, f"moto-{mem}-{w}")
            if m["req_per_s"]:
                print(f"native/moto {mem} MB {w}: {n['req_per_s'] / m['req_per_s']:.2f}x")


def record(work, memories, clients, duration, loadavg, lab_bin, bootstrap):
    root = Path(__file__).resolve().parent.parent
    rel = lambda p: str(Path(p).resolve().relative_to(root)) if Path(p).resolve().is_relative_to(root) else p
    doc = {
        "lab": figures(work, "native", memories),
        "peer": {"name": "moto (--dynamodb moto: items served by moto, as before the native store)",
                 **figures(work, "moto", memories)},
        "settings": {"clients": int(clients), "duration_s": float(duration), "memories_mb": [int(m) for m in memories],
                     "load_average_before": loadavg, "lab_bin": rel(lab_bin), "bootstrap": rel(bootstrap)},
    }
    print(json.dumps(doc))


def main():
    cmd, work, memories = sys.argv[1], sys.argv[2], sys.argv[3].split()
    if cmd == "report":
        report(work, memories)
    else:
        record(work, memories, *sys.argv[4:9])


if __name__ == "__main__":
    main()
