"""bench-load-memory.sh's figures, gathered run by run in one JSON file (standard library only).

    bench_load_memory.py add FIGURES VUS LAB_KB OHA_KB LAB_REQUESTS    one VU count's peaks (OHA_KB "null": no oha)
    bench_load_memory.py record FIGURES DURATION BUILD VUS_LIST        the record, on stdout

FIGURES starts as {}; the peaks are GNU time's maximum RSS in KB, recorded in MB.
"""

import json

from bench_lib import dispatch, load_json


def add(path, vus, lab, oha, req):
    d = load_json(path)
    d.setdefault("lab", {})[f"rss_{vus}_vus_mb"] = int(lab) / 1024
    d["lab"][f"requests_{vus}_vus"] = int(req)
    if oha != "null":
        d.setdefault("peer", {"name": "oha"})[f"rss_{vus}_vus_mb"] = int(oha) / 1024
    json.dump(d, open(path, "w"))


def record(path, duration, build, vus):
    d = load_json(path)
    d.setdefault("peer", None)
    d["settings"] = {"duration": duration, "build": build, "vus": [int(v) for v in vus.split()],
                     "target": "examples/bench_target.rs, 2 threads", "model": "closed, fixed profile"}
    print(json.dumps(d))


if __name__ == "__main__":
    dispatch({"add": add, "record": record}, __doc__)
