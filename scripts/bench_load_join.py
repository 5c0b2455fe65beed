#!/usr/bin/env python3
"""Figures of scripts/bench-load-join.sh: per join (the stage URL's by time as lab's side, Invoke's log
tail as the peer), the coverage and cold starts joined, with the memory set and without, and the
seconds lab ran past the test's planned length (reading the log and pairing).

    bench_load_join.py WORK DURATION VUS LAB_BUILD HANDLER_BUILD > record.json
"""

import json
import os
import sys



def seconds(text):
    """`20s`, `2m`, `1m30s` as seconds (lab's duration syntax, the forms the bench uses)."""
    total, number = 0.0, ""
    for ch in text:
        if ch.isdigit() or ch == ".":
            number += ch
        else:
            total += float(number) * {"s": 1, "m": 60, "h": 3600}[ch]
            number = ""
    return total + (float(number) if number else 0.0)


def side(work, via, planned_s):
    figures = {}
    for memory in ("none", "1024"):
        with open(os.path.join(work, f"{via}-{memory}.json")) as f:
            doc = json.load(f)
        with open(os.path.join(work, f"{via}-{memory}.wall")) as f:
            wall = float(f.read())
        runs = doc["runs"]
        lam = [r["lambda"] for r in runs]
        requests = sum(f["requests"] for f in lam)
        joined = sum(f["joined"] for f in lam)
        key = "cold" if memory == "none" else "warmed"
        figures[f"{key}_requests"] = requests
        figures[f"{key}_coverage"] = joined / requests if requests else None
        figures[f"{key}_cold_starts"] = sum(f["cold"]["count"] for f in lam)
        # Setting the memory and warming up take time too: the join's own cost is measured on the
        # run without --memory.
        if memory == "none":
            figures["seconds_past_planned"] = wall - planned_s * len(runs)
            figures["requests_per_s"] = runs[0]["summary"]["throughput_rps"]
    return figures


def main(argv):
    work, duration, vus, lab_build, handler_build = argv[1:6]
    planned = seconds(duration)
    record = {
        "lab": {"name": "the stage URL, joined by time with the function's log", **side(work, "http", planned)},
        "peer": {"name": "--via lambda, Invoke's log tail (exact)", **side(work, "lambda", planned)},
        "settings": {"duration": duration, "vus": int(vus), "lab_build": lab_build, "handler": handler_build},
    }
    json.dump(record, sys.stdout, indent=2)


if __name__ == "__main__":
    main(sys.argv)
