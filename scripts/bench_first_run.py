"""bench-first-run.sh's figures, from the logs and times its two clean clones left (standard library only).

    bench_first_run.py LOGS REV PEER_REV CHROMIUM LOADAVG > record.json

LOGS/NAME.times holds "run_s S" and "test_s S" lines, LOGS/NAME.run.log and LOGS/NAME.test.log the
output of scripts/run and scripts/test, for NAME lab (REV) and peer (PEER_REV; empty: no peer).
Prints one line per side on stderr and the record (scripts/bench_record.py's input) on stdout.
"""

import json
import os
import re
import sys


def side(work, name):
    times = dict(line.split() for line in open(f"{work}/{name}.times"))
    figures = {k: float(v) for k, v in times.items()}
    figures["total_s"] = round(figures["run_s"] + figures["test_s"], 1)
    built = re.search(r"built in (\d+) s", open(f"{work}/{name}.run.log").read())
    if built:
        figures["build_s"] = float(built.group(1))
    test_log = open(f"{work}/{name}.test.log").read()
    totals = re.findall(r"(\d+) passed, (\d+) failed", test_log) or []
    results = re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed", test_log)
    if results and not totals:
        totals = [(str(sum(int(p) for p, _ in results)), str(sum(int(f) for _, f in results)))]
    if totals:
        figures["tests_passed"], figures["tests_failed"] = (int(x) for x in totals[-1])
    # Which crates scripts/test compiled: the dependencies scripts/run had already built must not be among them.
    compiled = re.findall(r"Compiling (\S+) v", test_log)
    figures["test_compiled_crates"] = sorted(set(compiled))
    return figures


def main(work, rev, peer_rev, chromium, load):
    lab = side(work, "lab")
    peer = side(work, "peer") if peer_rev else None
    for label, f in (("lab " + rev, lab), ("peer " + peer_rev, peer)):
        if f:
            print(file=sys.stderr, end=f"{label}: scripts/run {f['run_s']:.0f} s (build {f.get('build_s', float('nan')):.0f} s), "
                  f"scripts/test {f['test_s']:.0f} s, total {f['total_s']:.0f} s; "
                  f"{f.get('tests_passed', '?')} passed, {f.get('tests_failed', '?')} failed\n")
    json.dump({
        "settings": {"duration": "20s", "chromium_preinstalled": chromium == "true", "budget_s": int(os.environ.get("BUDGET_S", "480"))},
        "extra": {"load_average_after": load},
        "lab": lab,
        "peer": dict(name=f"the same commands at {peer_rev}", revision=peer_rev, **peer) if peer else None,
    }, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:6])
