#!/usr/bin/env bash
# Benchmark: does a local tune show what Lambda would? A CPU-bound function (0.1 s of CPU per call,
# the fixture below) is tuned with `lab tune --parallel --num 10` at 128, 256, 512, 1024 and 1769 MB on
# the local stack: 50 invocations at once, ten at a time (the account's concurrency), on this host.
# On Lambda each REPORT Duration is the work over the memory's share of a CPU, so Duration x memory /
# 1769 is the same at every size. lab's stack keeps the running shares within the host's cores (its
# CPU budget); the peer is the same stack with the budget lifted (LAB_LOCAL_CPU_BUDGET=1000 CPUs), as
# the stack was before it, measured in the same run. Prints each size's mean REPORT Duration beside
# 1769/memory's prediction and records them in bench/results/cpu-memory.json.
#
# Knobs (environment): SPIN_S (0.1), LAB_BIN (default: target/debug/lab, built).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
SPIN=${SPIN_S:-0.1}
scripts/install-deps >/dev/null
build_lab dev
export NO_COLOR=1
mkdir -p "$WORK/fn"
cat >"$WORK/fn/bootstrap" <<'PY'
#!/usr/bin/env python3
# A Lambda custom runtime that burns the event's "spin" seconds of CPU, then answers.
import json, os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    until = time.process_time() + event.get("spin", 0)
    while time.process_time() < until:
        pass
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=b"{}", method="POST")).read()
PY
make_zip "$WORK/fn.zip" "$WORK/fn/bootstrap" 755

# One stack per side, one after the other (each needs the whole host): up, tune, its REPORT lines.
measure() { # name [env...]
    local name=$1
    shift
    PORT=$(free_port)
    ENDPOINT=http://127.0.0.1:$PORT
    say "$name: stack on $ENDPOINT ${*:-}"
    spawn env "$@" "$LAB_BIN" local serve --local-port "$PORT" >"$WORK/serve-$name.log" 2>&1
    local pid=$!
    wait_for "$ENDPOINT/_lab/health" "$WORK/serve-$name.log" "$pid"
    lab --stack cpu up --zip "$WORK/fn.zip" --memory 1024 --timeout 60 >"$WORK/up-$name.log" 2>&1
    say "$name: lab tune --parallel --num 10 (spin $SPIN s)"
    lab -o json tune --function cpu-fn --parallel --num 10 --powers 128,256,512,1024,1769 \
        --payload "{\"spin\": $SPIN}" >"$WORK/tune-$name.json" 2>"$WORK/tune-$name.err"
    sleep 2 # the stack ships logs in the background
    py "$ROOT/scripts/bench_cpu_memory.py" logs "$ENDPOINT" /aws/lambda/cpu-fn >"$WORK/reports-$name.json"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
measure lab
measure peer LAB_LOCAL_CPU_BUDGET=1000
py "$ROOT/scripts/bench_cpu_memory.py" record "$WORK" "$SPIN" "$(lab_build)" "$(nproc)" >"$WORK/record.json"
record_bench cpu-memory <"$WORK/record.json"
