#!/usr/bin/env bash
# Benchmark: a new user's first run. A clean clone of HEAD with an empty target/ and an empty lab
# cache runs the README's two commands, scripts/run then scripts/test, timed apart (the build inside
# scripts/run as it prints it). The peer is the same two commands on PEER_REV, the revision the
# "one build" issue measured (661 s + 304 s there), cloned and run the same way in the same run.
# Prints the figures and records them in bench/results/first-run.json (scripts/bench_record.py).
#
# What is not fresh: cargo's registry (crates are not downloaded again) and pip's cache; Debian's
# chromium, which scripts/test installs when it is missing, is whatever the machine has (recorded).
# Each side gets its own XDG_CACHE_HOME (moto's venv, the local stack's state), so both install moto.
#
# Knobs (environment): PEER_REV (3993ee3; empty: no peer), DURATION (scripts/run's load tests, 20s).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
PEER_REV=${PEER_REV-3993ee3}
REV=$(git rev-parse --short HEAD)
# The clones go when the bench ends; their logs and times stay here.
LOGS=${BENCH_LOGS:-$TARGET/bench-first-run}
rm -rf "$LOGS" && mkdir -p "$LOGS"
unset CARGO_TARGET_DIR LAB_HOME

# Clones REV into WORK/NAME and times its scripts/run and scripts/test into LOGS/NAME.times (run_s,
# test_s), their output in LOGS/NAME.run.log and LOGS/NAME.test.log.
first_run() { # rev name
    local rev=$1 dir=$WORK/$2 log=$LOGS/$2 t0
    git clone -q "$ROOT" "$dir"
    git -C "$dir" checkout -q "$rev"
    mkdir -p "$dir.cache"
    say "$rev: scripts/run (clean clone, empty target/ and cache)"
    t0=$(now)
    (cd "$dir" && XDG_CACHE_HOME="$dir.cache" DURATION="${DURATION:-20s}" scripts/run) >"$log.run.log" 2>&1
    echo "run_s $(since "$t0" 1)" >"$log.times"
    say "$rev: scripts/test"
    t0=$(now)
    (cd "$dir" && XDG_CACHE_HOME="$dir.cache" scripts/test) >"$log.test.log" 2>&1 || true
    echo "test_s $(since "$t0" 1)" >>"$log.times"
    # scripts/run leaves the tutorial's local stack running: stop it before the other side starts one.
    pkill -f "$dir/target/.*/lab local serve" 2>/dev/null || true
    sleep 1
}

# Both sides start the tutorial's stack on 127.0.0.1:4566: one already there would be reused, not started.
if curl -sf -o /dev/null http://127.0.0.1:4566/_lab/status; then
    echo "a local stack already answers on 127.0.0.1:4566: stop it first (lab local stop)" >&2
    exit 1
fi
chromium=$(command -v chromium >/dev/null && echo true || echo false)
first_run HEAD lab
if [ -n "$PEER_REV" ]; then
    first_run "$PEER_REV" peer
fi

py - "$LOGS" "$REV" "${PEER_REV:-}" "$chromium" "$(loadavg)" >"$WORK/record.json" <<'PY'
import json, re, sys
work, rev, peer_rev, chromium, load = sys.argv[1:6]

def side(name):
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

lab = side("lab")
peer = side("peer") if peer_rev else None
for label, f in (("lab " + rev, lab), ("peer " + peer_rev, peer)):
    if f:
        print(file=sys.stderr, end=f"{label}: scripts/run {f['run_s']:.0f} s (build {f.get('build_s', float('nan')):.0f} s), "
              f"scripts/test {f['test_s']:.0f} s, total {f['total_s']:.0f} s; "
              f"{f.get('tests_passed', '?')} passed, {f.get('tests_failed', '?')} failed\n")
json.dump({
    "settings": {"duration": "20s", "chromium_preinstalled": chromium == "true", "budget_s": 540},
    "extra": {"load_average_after": load},
    "lab": lab,
    "peer": dict(name=f"the same commands at {peer_rev}", revision=peer_rev, **peer) if peer else None,
}, sys.stdout)
PY
BENCH_MEASURED_CLEAN_CLONE=1 record_bench first-run <"$WORK/record.json"
