#!/usr/bin/env python3
"""Figures of scripts/bench-handlers-local.sh from `lab -o json tutorial --compare-handlers`'s stream:
the comparison document's cells, the Rust handler as lab's side and the Python one as the peer.

    bench_handlers_local.py COMPARE.json DURATION NUM VUS LAB_BUILD HANDLER_BUILD > record.json
"""

import json
import sys


def documents(text):
    """Every JSON document of a stream printed one after another."""
    decoder, at, docs = json.JSONDecoder(), 0, []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return docs
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)


def side(comparison, index):
    """One handler's figures: per size, tune's duration, init and cost; under load, latency and rate."""
    figures = {}
    for row in comparison["sizes"]:
        mb = row["memory_mb"]
        cell = row["cells"][index]
        if cell.get("avg_duration_ms") is not None:
            figures[f"tune_{mb}_mb_ms"] = cell["avg_duration_ms"]
            figures[f"cost_{mb}_mb_usd"] = cell["cost_per_invoke"]
        if cell.get("avg_init_ms") is not None:
            figures[f"init_{mb}_mb_ms"] = cell["avg_init_ms"]
        if cell.get("load_latency_ms") is not None:
            figures[f"load_{mb}_mb_{comparison['stat']}_ms"] = cell["load_latency_ms"]
            figures[f"load_{mb}_mb_rps"] = cell["load_rps"]
    verdict = comparison["verdicts"][index]
    figures["meets_target_from_mb"] = verdict["meets_target_from_mb"]
    return figures


def main(argv):
    path, duration, num, vus, lab_build, handler_build = argv[1:7]
    with open(path) as f:
        docs = documents(f.read())
    comparison = next(d["comparison"] for d in reversed(docs) if "comparison" in d)
    handlers = [c["handler"] for c in comparison["sizes"][0]["cells"]]
    record = {
        "lab": {"name": handlers[0], **side(comparison, 0)},
        "peer": {"name": f"{handlers[1]} (the tutorial's lambda_function.py, awslambdaric on the host's Python)",
                 **side(comparison, 1)},
        "settings": {"duration": duration, "num": int(num), "vus": int(vus), "target": comparison["target"],
                     "lab_build": lab_build, "rust_bootstrap": handler_build},
        "extra": {"caveat": comparison["caveat"]},
    }
    json.dump(record, sys.stdout, indent=2)


if __name__ == "__main__":
    main(sys.argv)
