"""bench-tune.sh's Python (standard library only): the function's REPORT lines, memory changes timed
alone, and the figures.

    bench_tune.py reports PORT SEEN EXPECTED OUT FUNCTION
        every REPORT line of /aws/lambda/FUNCTION not listed in SEEN, read through the Logs API on the
        local stack at PORT, written to OUT as JSON (waiting up to 15 s for EXPECTED of them: the stack
        writes logs asynchronously); their request ids are appended to SEEN
    bench_tune.py memchange PORT FUNCTION SAMPLES > memchange.json
        SAMPLES memory changes timed as lab does them (Get, Update, Get until Successful)
    bench_tune.py report WORK RUNS UP_S HANDLER_BUILD LOAD_AFTER ITEMS MEM_SAMPLES LAB_BIN BOOTSTRAP
        the figures on stdout, the record in WORK/record.json

The local stack's APIs check no signature; they read only the region and service from the credential
scope.
"""

import json
import re
import statistics
import time
import urllib.request

from bench_lib import dispatch, load_json, middle, r3, read_floats, walls

REPORT = re.compile(r"REPORT RequestId: (\S+)\s+Duration: ([\d.]+) ms\s+Billed Duration: (\d+) ms\s+"
                    r"Memory Size: (\d+) MB.*?(?:Init Duration: ([\d.]+) ms)?\s*$")


def call(url, service, method="POST", body=None, headers=None, timeout=10):
    """One call to the local stack's API for SERVICE, its JSON answer."""
    auth = (f"AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0")
    req = urllib.request.Request(url, method=method, headers={**(headers or {}), "Authorization": auth},
                                 data=json.dumps(body).encode() if body else None)
    return json.load(urllib.request.urlopen(req, timeout=timeout))


def reports(port, seen_path, expected, out_path, function):
    expected = int(expected)
    try:
        seen = set(open(seen_path).read().split())
    except FileNotFoundError:
        seen = set()

    def fetch():
        events, token = [], None
        while True:
            body = {"logGroupName": f"/aws/lambda/{function}"}
            if token:
                body["nextToken"] = token
            page = call(f"http://127.0.0.1:{port}/", "logs", body=body,
                        headers={"X-Amz-Target": "Logs_20140328.FilterLogEvents",
                                 "Content-Type": "application/x-amz-json-1.1"})
            events += page.get("events", [])
            token = page.get("nextToken")
            if not token:
                return events

    deadline = time.time() + 15
    while True:
        new = {}
        for e in fetch():
            m = REPORT.search(e["message"])
            if m and m.group(1) not in seen:
                new[m.group(1)] = dict(duration_ms=float(m.group(2)), billed_ms=int(m.group(3)),
                                       memory_mb=int(m.group(4)), init_ms=float(m.group(5) or 0))
        if len(new) >= expected or time.time() > deadline:
            break
        time.sleep(0.2)
    if expected == 0:
        time.sleep(0.5)  # nothing to wait for: just let stragglers of earlier calls land and be marked seen
    with open(seen_path, "a") as f:
        f.write("".join(k + "\n" for k in new))
    json.dump(list(new.values()), open(out_path, "w"))


def memchange(port, fn, samples):
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/{fn}/configuration"

    def configuration(method, body=None):
        return call(url, "lambda", method, body, {"Content-Type": "application/json"}, timeout=30)

    original = configuration("GET")["MemorySize"]
    times = []
    for i in range(int(samples)):
        t0 = time.perf_counter()
        configuration("GET")  # lab waits until the function is ready before changing it
        configuration("PUT", {"MemorySize": 256 if i % 2 == 0 else 128})
        while configuration("GET").get("LastUpdateStatus", "Successful") != "Successful":
            time.sleep(0.05)
        times.append(time.perf_counter() - t0)
    configuration("PUT", {"MemorySize": original})
    print(json.dumps({"samples_s": times}))


def report(work, runs, up_s, handler_build, load_after, items, mem_samples, lab_bin, bootstrap):
    runs, items, mem_samples = int(runs), int(items), int(mem_samples)
    medians = {}
    wall = walls(work)
    mem = load_json(f"{work}/memchange.json")["samples_s"]
    mem_ms = statistics.mean(mem) * 1e3

    def analyse(mode, run):
        d = load_json(f"{work}/{mode}-{run}.json")
        reps = load_json(f"{work}/{mode}-{run}.reports.json")
        fn = [r["duration_ms"] + r["init_ms"] for r in reps]
        approx = sum(p["stats"]["duration_ms"]["mean"] * p["stats"]["invocations"]
                     for p in d["powers"] if p.get("stats"))
        by_power = {}
        for r in reps:
            by_power.setdefault(r["memory_mb"], []).append(r["duration_ms"] + r["init_ms"])
        # Parallel: each power's batch lasts as long as its slowest invocation, so that is the function's
        # share of the wall time (the critical path), not the sum.
        crit = sum(max(v) for v in by_power.values())
        n = d["invocations"]
        updates = d["plan"]["configuration_updates"]
        wall_ms = wall[(mode, run)] * 1e3
        mem_total = updates * mem_ms
        return dict(d=d, reps=reps, by_power=by_power, n=n, updates=updates, wall_ms=wall_ms, fn_sum=sum(fn),
                    fn_approx=approx, crit=crit, mem_total=mem_total,
                    over_sum=(wall_ms - sum(fn) - mem_total) / n, over_crit=(wall_ms - crit - mem_total) / n)

    print()
    print("lab tune on the local stack, the tutorial's input (assets/events/power-tuning-input.json):")
    print(f"4 powers x 10 invocations of the list event over the table's items; {runs} runs of each mode, alternated.")
    print(f"handler: {handler_build}; lab up on a fresh local stack: {up_s} s")
    print(f"memory change (Get + Update + Get until Successful), timed alone: mean {mem_ms:.1f} ms "
          f"(min {min(mem) * 1e3:.1f}, max {max(mem) * 1e3:.1f}, {len(mem)} samples)")
    starts = read_floats(f"{work}/starts")
    start_s = middle(starts)
    print(f"lab process start + exit (lab --version), median of {len(starts)}: {start_s * 1e3:.1f} ms "
          "(inside each wall time and so inside the overhead below)")
    print("function time = Duration + Init Duration from each invocation's REPORT line (exact);")
    print("sum(mean x count) from the tune JSON is the approximation (trimmed means: fastest/slowest 20% left out).")
    for mode in ("parallel", "sequential"):
        all_runs = [analyse(mode, r) for r in range(1, runs + 1)]
        med = middle(all_runs, key=lambda a: a["wall_ms"])
        medians[mode] = (med, all_runs)
        print()
        print(f"== {mode} (\"parallelInvocation\": {'true' if mode == 'parallel' else 'false'}) ==")
        print(f"wall time, median run (the run shown below): {med['wall_ms'] / 1e3:.3f} s   all runs: "
              + ", ".join(f"{a['wall_ms'] / 1e3:.3f}" for a in all_runs) + " s")
        print(f"invocations: {med['n']} (REPORT lines read back: {len(med['reps'])});  memory changes "
              f"(plan.configuration_updates): {med['updates']} x {mem_ms:.1f} ms = {med['mem_total']:.0f} ms")
        print(f"function time, sum over invocations: {med['fn_sum']:.0f} ms (REPORT)   "
              f"sum(mean x count): {med['fn_approx']:.0f} ms (JSON, approximate)")
        print(f"overhead per invocation = (wall - function sum - memory changes) / invocations: "
              f"{med['over_sum']:.1f} ms")
        if mode == "parallel":
            print(f"  (negative: a power's 10 invocations overlap, so their sum overstates the function's share; against the critical path instead, "
                  f"sum over powers of the slowest invocation = {med['crit']:.0f} ms:)")
            print(f"overhead per invocation, critical path = (wall - critical path - memory changes) / invocations: "
                  f"{med['over_crit']:.1f} ms  (= {med['over_crit'] * med['n'] / len(med['by_power']):.1f} ms per power's batch)")
        print("all runs, overhead per invocation: "
              + ", ".join(f"{(a['over_crit'] if mode == 'parallel' else a['over_sum']):.1f}" for a in all_runs) + " ms"
              + (" (critical path)" if mode == "parallel" else ""))
        hdr = (f"{'memory':>7} {'invoc':>5} {'cold':>4} {'mean ms':>8} {'p50 ms':>7} {'max ms':>7} "
               f"{'mean x n':>9} {'REPORT sum':>10} {'retries':>7}  {'$/invoke':>10}  verdict")
        print(hdr)
        print("-" * len(hdr))
        for p in med["d"]["powers"]:
            s = p.get("stats")
            if not s:
                print(f"{p['memory_mb']:>7} {p['status']}: {p.get('error')}")
                continue
            dm = s["duration_ms"]
            got = med["by_power"].get(p["memory_mb"], [])
            print(f"{p['memory_mb']:>7} {s['invocations']:>5} {s['cold_starts']:>4} {dm['mean']:>8.2f} {dm['p50']:>7.2f} "
                  f"{dm['max']:>7.2f} {dm['mean'] * s['invocations']:>9.1f} {sum(got):>10.1f} {p['retries']:>7}  "
                  f"{s['cost_per_invoke']:>10.3e}  {p.get('verdict') or ''}")
        w = med["d"]["winner"]
        print(f"winner ({w['strategy']}): {w['memory_mb']} MB, {w['avg_duration_ms']:.2f} ms, "
              f"${w['cost_per_invoke']:.3e} per invoke")
    print()
    print("Function instances get CPU in proportion to memory (1769 MB = 1 vCPU) where cgroups allow, and the")
    print("machine's 2 cores are shared by lab, the gateway, moto and the instances: parallel cold starts compete.")
    print(f"load average after the run: {load_after}")

    # On record: the median run of each mode, and the floor of that same run (function time on the critical
    # path, or in sum when sequential, plus the memory changes): what a tuner that cost nothing would take.
    par, par_runs = medians["parallel"]
    seq, seq_runs = medians["sequential"]
    json.dump({
        "settings": {"runs": runs, "items": items, "memory_change_samples": mem_samples, "lab_bin": lab_bin,
                     "bootstrap": bootstrap},
        "lab": {"parallel_wall_s": r3(par["wall_ms"] / 1e3), "parallel_invocations": par["n"],
                "parallel_overhead_ms": r3(par["over_crit"]), "parallel_memory_changes": par["updates"],
                "parallel_wall_runs_s": [r3(a["wall_ms"] / 1e3) for a in par_runs],
                "sequential_wall_s": r3(seq["wall_ms"] / 1e3), "sequential_invocations": seq["n"],
                "sequential_overhead_ms": r3(seq["over_sum"]),
                "sequential_wall_runs_s": [r3(a["wall_ms"] / 1e3) for a in seq_runs],
                "memory_change_ms": r3(mem_ms), "process_start_ms": r3(start_s * 1e3),
                "up_s": float(up_s)},
        "peer": {"name": "the floor: the function's own time (REPORT lines) on the critical path, or in sum when "
                         "sequential, plus the memory changes",
                 "parallel_s": r3((par["crit"] + par["mem_total"]) / 1e3),
                 "sequential_s": r3((seq["fn_sum"] + seq["mem_total"]) / 1e3),
                 "parallel_function_ms": r3(par["crit"]), "sequential_function_ms": r3(seq["fn_sum"]),
                 "parallel_memory_changes_ms": r3(par["mem_total"]),
                 "sequential_memory_changes_ms": r3(seq["mem_total"])},
    }, open(f"{work}/record.json", "w"))


if __name__ == "__main__":
    dispatch({"reports": reports, "memchange": memchange, "report": report}, __doc__)
