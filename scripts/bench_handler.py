"""bench-handler.sh's record, from the benchmark driver's output and the sizes it printed (standard library only).

    bench_handler.py DRIVER_OUT RUST_BIN RUST_ZIP PY_SRC PY_ZIP INVOCATIONS WARMUP COLD_RUNS SIZES RECORD

The driver (handler/examples/runtime_bench.rs) ends with one JSON line per handler ({"function",
"figures"}); the sizes are in bytes, SIZES as the driver got them ("10,100,1000"). Writes the record
(scripts/bench_record.py's input) to RECORD.
"""

import json
import re
import sys

from bench_lib import r3


def key(metric):
    m = re.fullmatch(r"warm (read|list),\s*(\d+) items \((median|p90|CPU)\)", metric)
    if m:
        suffix = {"median": "ms", "p90": "p90_ms", "CPU": "cpu_ms"}[m[3]]
        return f"warm_{m[1]}_{m[2]}_items_{suffix}"
    return {"cold start to first response (median)": "cold_start_ms", "init to first poll (median)": "init_ms",
            "peak RSS (MiB)": "peak_rss_mib"}[metric]


def main(out, rust_bin, rust_zip, py_src, py_zip, invocations, warmup, cold_runs, sizes, record):
    by_fn = {}
    for line in open(out):
        if line.startswith("{"):
            d = json.loads(line)
            by_fn[d["function"]] = {key(m): r3(v) for m, v in d["figures"].items()}
    if not by_fn.get("rust"):
        sys.exit("bench-handler: no figures for the Rust handler, nothing to record")
    lab = {**by_fn["rust"], "code_bytes": int(rust_bin), "zip_bytes": int(rust_zip)}
    peer = None
    if by_fn.get("python"):
        peer = {"name": "the tutorial's Python handler (awslambdaric, boto3)", **by_fn["python"],
                "code_bytes": int(py_src), "zip_bytes": int(py_zip)}
    json.dump({"settings": {"invocations": int(invocations), "warmup": int(warmup), "cold_runs": int(cold_runs),
                            "sizes": [int(x) for x in sizes.split(",")], "bootstrap": "target/lambda/bootstrap"},
               "lab": lab, "peer": peer}, open(record, "w"))


if __name__ == "__main__":
    main(*sys.argv[1:])
