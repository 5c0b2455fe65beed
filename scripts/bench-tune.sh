#!/usr/bin/env bash
# Benchmark `lab tune` on the local stack with the tutorial's exact input
# (assets/events/power-tuning-input.json: 4 powers x 10 invocations, parallel, the list event), and the
# time lab itself adds per invocation: wall time minus the time attributable to the function and to the
# memory changes, divided by the invocations. The same input with "parallelInvocation": false runs too,
# for comparison. Prints figures only, no pass/fail, and records them in bench/results/tune.json
# (scripts/bench_record.py) beside the floor of the same runs: the function's own time on the critical
# path (parallel) or in sum (sequential) plus the memory changes, what a tuner that cost nothing would take.
#
# Function time comes from the REPORT lines the local stack writes to /aws/lambda/<fn> (Duration + Init
# Duration of every invocation, read back through the Logs API), so it is exact per invocation; the tune
# JSON alone only has each power's trimmed mean and count, and sum(mean x count) is printed beside it as
# the approximation it is (the trimmed mean leaves out the fastest and slowest 20%).
# Memory-change time is not in the JSON either: it is measured separately, on the same stack, as lab
# does a change (GetFunctionConfiguration, UpdateFunctionConfiguration, GetFunctionConfiguration until
# Successful), and multiplied by plan.configuration_updates.
#
# Everything runs on 127.0.0.1 with a throwaway LAB_HOME; the stack is stopped on exit.
# Knobs (environment): BENCH_RUNS (10 runs of each mode, alternated), BENCH_ITEMS (3 items in the table),
# BENCH_MEM_SAMPLES (10 timed memory changes), LAB_BIN (skip building lab),
# BENCH_REBUILD_HANDLER=1 (rebuild target/lambda/bootstrap even if present),
# BOOTSTRAP (another prebuilt handler, e.g. a dev build for a quick check; recorded in the settings).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-10}
ITEMS=${BENCH_ITEMS:-3}
MEM_SAMPLES=${BENCH_MEM_SAMPLES:-10}
FUNCTION=LambdaFunctionOverHttps
START_ALL=$(now)

# --- build (before anything is timed), local stack ------------------------------------------------------
build_lab release
build_handler lambda
start_stack
say "deploying on 127.0.0.1:$PORT"
up_with_items "$ITEMS"
tune_inputs

# Reads every REPORT line of the function's log group through the Logs API (moto behind the gateway;
# it checks no signature, only reads the region from the credential scope) and writes those not seen
# before as JSON, waiting until at least EXPECTED have arrived: the stack writes logs asynchronously.
cat >"$WORK/reports.py" <<'PY'
import json, re, sys, time, urllib.request
port, seen_path, expected, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
try:
    seen = set(open(seen_path).read().split())
except FileNotFoundError:
    seen = set()
line = re.compile(r"REPORT RequestId: (\S+)\s+Duration: ([\d.]+) ms\s+Billed Duration: (\d+) ms\s+"
                  r"Memory Size: (\d+) MB.*?(?:Init Duration: ([\d.]+) ms)?\s*$")

def fetch():
    events, token = [], None
    while True:
        body = {"logGroupName": f"/aws/lambda/{sys.argv[5]}"}
        if token:
            body["nextToken"] = token
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(), method="POST",
            headers={"X-Amz-Target": "Logs_20140328.FilterLogEvents",
                     "Content-Type": "application/x-amz-json-1.1",
                     "Authorization": "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/logs/"
                                      "aws4_request, SignedHeaders=host, Signature=0"})
        page = json.load(urllib.request.urlopen(req, timeout=10))
        events += page.get("events", [])
        token = page.get("nextToken")
        if not token:
            return events

deadline = time.time() + 15
while True:
    new = {}
    for e in fetch():
        m = line.search(e["message"])
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
PY
reports() { python3 "$WORK/reports.py" "$PORT" "$WORK/seen" "$1" "$2" "$FUNCTION"; }
reports 0 "$WORK/baseline-reports.json"

# --- the tune runs -----------------------------------------------------------------------------------
# After each run: its function time from the REPORT lines, and a line of progress.
read_reports() { # mode run t0 t1
    local n
    n=$(python3 -c "import json; print(json.load(open('$WORK/$1-$2.json'))['invocations'])")
    reports "$n" "$WORK/$1-$2.reports.json"
    printf '    %-10s run %s: %s s wall, %s invocations\n' "$1" "$2" "$(elapsed "$3" "$4")" "$n" >&2
}
say "load average before measuring: $(loadavg) (other work on the machine skews every figure)"
tune_alternated "$RUNS" read_reports

# A fixed cost inside every wall time above, whatever the invocations: starting and ending the process.
for _ in $(seq 10); do TIMED_DECIMALS=6 timed "$WORK/starts" "$LAB_BIN" --version >/dev/null; done

# --- memory changes, timed alone ---------------------------------------------------------------------
say "timing $MEM_SAMPLES memory changes as lab does them"
python3 - "$PORT" "$FUNCTION" "$MEM_SAMPLES" >"$WORK/memchange.json" <<'PY'
import json, sys, time, urllib.request
port, fn, samples = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = f"http://127.0.0.1:{port}/2015-03-31/functions/{fn}/configuration"
auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/lambda/aws4_request, "
                         "SignedHeaders=host, Signature=0"}
def call(method, body=None):
    req = urllib.request.Request(url, method=method, headers={**auth, "Content-Type": "application/json"},
                                 data=json.dumps(body).encode() if body else None)
    return json.load(urllib.request.urlopen(req, timeout=30))
original = call("GET")["MemorySize"]
times = []
for i in range(samples):
    t0 = time.perf_counter()
    call("GET")  # lab waits until the function is ready before changing it
    call("PUT", {"MemorySize": 256 if i % 2 == 0 else 128})
    while call("GET").get("LastUpdateStatus", "Successful") != "Successful":
        time.sleep(0.05)
    times.append(time.perf_counter() - t0)
call("PUT", {"MemorySize": original})
print(json.dumps({"samples_s": times}))
PY

# --- report ------------------------------------------------------------------------------------------
LOAD_AFTER=$(loadavg)
py - "$WORK" "$RUNS" "$UP_S" "$HANDLER_BUILD" "$LOAD_AFTER" "$ITEMS" "$MEM_SAMPLES" "$LAB_BIN" "$BOOTSTRAP" <<'PY'
import json, statistics, sys
from bench_lib import floats, middle, r3, walls
work, runs, up_s, handler_build, load_after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
items, mem_samples, lab_bin, bootstrap = int(sys.argv[6]), int(sys.argv[7]), sys.argv[8], sys.argv[9]
medians = {}
walls = walls(work)
mem = json.load(open(f"{work}/memchange.json"))["samples_s"]
mem_ms = statistics.mean(mem) * 1e3

def analyse(mode, run):
    d = json.load(open(f"{work}/{mode}-{run}.json"))
    reps = json.load(open(f"{work}/{mode}-{run}.reports.json"))
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
    wall_ms = walls[(mode, run)] * 1e3
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
starts = sorted(floats(open(f"{work}/starts").read()))
print(f"lab process start + exit (lab --version), median of {len(starts)}: {starts[len(starts) // 2] * 1e3:.1f} ms "
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
    print(f"all runs, overhead per invocation: "
          + ", ".join(f"{(a['over_crit'] if mode == 'parallel' else a['over_sum']):.1f}" for a in all_runs) + " ms"
          + (" (critical path)" if mode == "parallel" else ""))
    hdr = (f"{'memory':>7} {'invoc':>5} {'cold':>4} {'mean ms':>8} {'p50 ms':>7} {'max ms':>7} "
           f"{'mean x n':>9} {'REPORT sum':>10} {'retries':>7}  {'$/invoke':>10}  verdict")
    print(hdr); print("-" * len(hdr))
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
            "memory_change_ms": r3(mem_ms), "process_start_ms": r3(starts[len(starts) // 2] * 1e3),
            "up_s": float(up_s)},
    "peer": {"name": "the floor: the function's own time (REPORT lines) on the critical path, or in sum when "
                     "sequential, plus the memory changes",
             "parallel_s": r3((par["crit"] + par["mem_total"]) / 1e3),
             "sequential_s": r3((seq["fn_sum"] + seq["mem_total"]) / 1e3),
             "parallel_function_ms": r3(par["crit"]), "sequential_function_ms": r3(seq["fn_sum"]),
             "parallel_memory_changes_ms": r3(par["mem_total"]),
             "sequential_memory_changes_ms": r3(seq["mem_total"])},
}, open(f"{work}/record.json", "w"))
PY
record_bench tune <"$WORK/record.json"
say "bench-tune took $(since "$START_ALL" 0) s"
