"""bench-local-handler.sh's record: the driver's figures for the local (dev profile) and the shipped
(lambda profile) bootstrap, from its JSON lines.

    bench_local_handler.py DRIVER_OUT DEV_BOOTSTRAP LAMBDA_BOOTSTRAP INVOCATIONS COLD_RUNS SIZES
"""

import json
import os
import sys

from bench_handler import key
from bench_lib import r3


def main(out, dev, shipped, invocations, cold_runs, sizes):
    by_fn = {}
    for line in open(out):
        if line.startswith("{"):
            d = json.loads(line)
            by_fn[d["function"]] = {key(m): r3(v) for m, v in d["figures"].items()}
    if not by_fn.get("local") or not by_fn.get("lambda"):
        sys.exit("bench-local-handler: the driver measured only " + ", ".join(by_fn))
    lab = {**by_fn["local"], "code_bytes": os.path.getsize(dev)}
    peer = {"name": "the bootstrap as it ships (profile lambda: fat LTO, stripped)", **by_fn["lambda"],
            "code_bytes": os.path.getsize(shipped)}
    json.dump({"settings": {"invocations": int(invocations), "cold_runs": int(cold_runs),
                            "sizes": [int(x) for x in sizes.split(",")], "local": dev, "shipped": shipped},
               "lab": lab, "peer": peer}, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:7])
