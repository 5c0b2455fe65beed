#!/usr/bin/env bash
# Benchmark the local stack's stage URL: invocations per second and p50/p90/p99 latency with 10
# concurrent clients on warm instances, and the gateway's own share of each request (latency minus the
# time spent in the function, which the gateway reports in `x-lab-function-us`; moto's time, as the
# function's DynamoDB calls go straight to moto, is inside the function's time).
#
# Workloads, all POSTs through the deployed stage URL of `lab up` on `lab local serve` (127.0.0.1 only):
#   ping   {"operation":"ping"}: gateway + function, no DynamoDB
#   list   the tutorial's list event (assets/events/list.json) over 10 items: gateway + function + moto
# and, as a peer in the same run with the same client, a trivial loopback server (asyncio, answers a
# fixed pong at once) to show what the client and loopback alone cost; overheads are also printed net of
# that baseline. A short single-client run of each shows the cost without queueing for the 2 cores.
# Prints figures only, no pass/fail, and records them, the gateway's beside the bare server's, in
# bench/results/gateway.json (scripts/bench_record.py).
#
# Knobs (environment): BENCH_DURATION (15 s per 10-client run), BENCH_SHORT (5 s per 1-client run),
# BENCH_CLIENTS (10), BENCH_MEMORY (1769 MB: see below), LAB_BIN (default: build target/release/lab),
# BENCH_REBUILD_HANDLER=1 (rebuild target/lambda/bootstrap even if present),
# BOOTSTRAP (another prebuilt handler, e.g. a dev build for a quick check; recorded in the settings).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_DURATION:-15}
SHORT=${BENCH_SHORT:-5}
CLIENTS=${BENCH_CLIENTS:-10}
# The local stack gives each instance CPU in proportion to its memory (1769 MB = one vCPU) where cgroups
# allow. At the tutorial's 128 MB ten instances would share 0.7 of a core and the figures would show
# that quota, not the gateway; 1769 MB lets each instance use a whole core when it needs one.
MEMORY=${BENCH_MEMORY:-1769}
BENCH_HTTP=$ROOT/scripts/bench_http.py

WORK=$(mktemp -d)
SERVE_PID=
ECHO_PID=
cleanup() {
    # SIGTERM lets `lab local serve` stop moto and every function instance it started.
    if [ -n "$ECHO_PID" ]; then kill "$ECHO_PID" 2>/dev/null || true; wait "$ECHO_PID" 2>/dev/null || true; fi
    if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '==> %s\n' "$*" >&2; }
now_ns() { date +%s%N; }

cd "$ROOT"

# --- lab and the handler -------------------------------------------------------------------------------
if [ -n "${LAB_BIN:-}" ]; then
    LAB=$LAB_BIN
else
    say "building lab (release)"
    cargo build -q --release --bin lab
    LAB=$ROOT/target/release/lab
fi
BOOTSTRAP=${BOOTSTRAP:-$ROOT/target/lambda/bootstrap}
HANDLER_BUILD="$BOOTSTRAP (already built)"
if [ ! -x "$BOOTSTRAP" ] || [ "${BENCH_REBUILD_HANDLER:-0}" = 1 ]; then
    say "building the handler (profile lambda: fat LTO, as it ships)"
    t0=$(now_ns)
    cargo build -q --profile lambda -p handler --bin bootstrap
    HANDLER_BUILD="$BOOTSTRAP (built in $(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s)"
fi

# --- the local stack, private state, free port ----------------------------------------------------------
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
unset AWS_PROFILE AWS_ENDPOINT_URL LAB_STACK
export LAB_HOME=$WORK/lab-home
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
ENDPOINT=http://127.0.0.1:$PORT
say "starting lab local serve on $ENDPOINT"
"$LAB" local serve --local-port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$ENDPOINT/_lab/health" 2>/dev/null; then break; fi
    sleep 0.2
done
curl -fsS -o /dev/null "$ENDPOINT/_lab/health" || { cat "$WORK/serve.log" >&2; exit 1; }

# The default stack's names, so the tutorial's list event (tableName lambda-apigateway) runs unchanged.
say "lab up (memory $MEMORY MB)"
"$LAB" --local --local-port "$PORT" -o json up --bootstrap "$BOOTSTRAP" --memory "$MEMORY" >"$WORK/up.json"
URL=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["invoke_url"])' "$WORK/up.json")

# Events. ten items in the table, so `list` returns a realistic small page.
echo '{"operation":"ping"}' >"$WORK/ping.json"
cp assets/events/list.json "$WORK/list.json"
for i in $(seq 1 10); do
    curl -fsS -o /dev/null -X POST "$URL" \
        -d "{\"operation\":\"create\",\"tableName\":\"lambda-apigateway\",\"payload\":{\"Item\":{\"id\":\"$i\",\"name\":\"user $i\",\"age\":$((20 + i))}}}"
done

# The trivial peer server.
python3 "$BENCH_HTTP" echo-server "$WORK/echo.port" &
ECHO_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/echo.port" ] && break; sleep 0.1; done
ECHO_URL=http://127.0.0.1:$(cat "$WORK/echo.port")/DynamoDBManager

run() { # name url body clients seconds pid
    say "$1: $4 clients for $5 s"
    python3 "$BENCH_HTTP" client "$2" "$3" --clients "$4" --duration "$5" --pid "$6" >"$WORK/r-$1.json"
}

# Warm-up (untimed): ten clients make the gateway start ten instances (each serves one request at a time);
# a few seconds of each workload also warm moto's scan path and the page cache.
say "warm-up: $CLIENTS clients, ping then list"
python3 "$BENCH_HTTP" client "$URL" "$WORK/ping.json" --clients "$CLIENTS" --duration 3 >/dev/null
python3 "$BENCH_HTTP" client "$URL" "$WORK/list.json" --clients "$CLIENTS" --duration 2 >/dev/null
curl -fsS "$ENDPOINT/_lab/status" >"$WORK/status-warm.json"

T_START=$(now_ns)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)  # the machine may be shared: say how busy it was
run baseline-c "$ECHO_URL" "$WORK/ping.json" "$CLIENTS" "$DURATION" "$ECHO_PID"
run ping-c "$URL" "$WORK/ping.json" "$CLIENTS" "$DURATION" "$SERVE_PID"
run list-c "$URL" "$WORK/list.json" "$CLIENTS" "$DURATION" "$SERVE_PID"
run baseline-1 "$ECHO_URL" "$WORK/ping.json" 1 "$SHORT" "$ECHO_PID"
run ping-1 "$URL" "$WORK/ping.json" 1 "$SHORT" "$SERVE_PID"
run list-1 "$URL" "$WORK/list.json" 1 "$SHORT" "$SERVE_PID"
curl -fsS "$ENDPOINT/_lab/status" >"$WORK/status-end.json"

# --- figures ----------------------------------------------------------------------------------------------
echo
echo "## Stage URL through lab's local gateway: throughput, latency, and time outside the function"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before the runs $LOADAVG, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo "lab: $LAB"
echo "handler: $HANDLER_BUILD; memory $MEMORY MB"
python3 - "$WORK" "$CLIENTS" <<'PY'
import json, sys
work, clients = sys.argv[1], sys.argv[2]
load = lambda n: json.load(open(f"{work}/{n}"))
warm, end = load("status-warm.json"), load("status-end.json")
print(f"gateway: cpu {warm['cpu']}; concurrency limit {warm['concurrency_limit']}; "
      f"idle instances after warm-up {warm['idle_instances']}, at the end {end['idle_instances']}")
print("client: one process per client, one keep-alive HTTP/1.1 socket each, closed loop "
      "(scripts/bench_http.py); 127.0.0.1 only")
print("overhead = latency - x-lab-function-us (the function's own time; for list it includes moto's)")
print("net = overhead minus the baseline's latency at the same percentile (client + loopback removed; a")
print("      difference of percentiles, not per request: negative when the baseline's tail was the noisier)")
print("server CPU = the gateway process's CPU per request (the echo server's for the baseline), function and moto not included")
print()
hdr = ("workload", "clients", "req/s", "errors", "p50 ms", "p90 ms", "p99 ms", "fn p50", "ovh p50", "ovh p99",
       "net p50", "net p99", "srv CPU us")
fmt = "{:<10}{:>8}{:>10}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>11}"
print(fmt.format(*hdr))
for c in ("c", "1"):
    base = load(f"r-baseline-{c}.json")
    for name in ("baseline", "ping", "list"):
        r = load(f"r-{name}-{c}.json")
        errors = r["requests"] - r["statuses"].get("200", 0) + r["reconnects"]
        lat, ovh = r["latency_ms"], r["overhead_ms"] or {}
        fn = (r["function_ms"] or {}).get("p50", 0.0)
        if name == "baseline" or not ovh:  # no x-lab-function-us header: a lab without it
            ovh_p50, ovh_p99, net50, net99 = "-", "-", "-", "-"
        else:
            ovh_p50, ovh_p99 = f"{ovh['p50']:.3f}", f"{ovh['p99']:.3f}"
            net50 = f"{ovh['p50'] - base['latency_ms']['p50']:.3f}"
            net99 = f"{ovh['p99'] - base['latency_ms']['p99']:.3f}"
        print(fmt.format(name, r["clients"], f"{r['req_per_s']:.0f}", errors, f"{lat['p50']:.3f}",
                         f"{lat['p90']:.3f}", f"{lat['p99']:.3f}", f"{fn:.3f}" if name != "baseline" else "-",
                         ovh_p50, ovh_p99, net50, net99, r["server_cpu_us_per_req"]))
for c in ("c", "1"):
    for name in ("ping", "list"):
        r = load(f"r-{name}-{c}.json")
        if r["statuses"].get("200", 0) != r["requests"] or r["reconnects"]:
            print(f"note: {name} with {r['clients']} clients: statuses {r['statuses']}, "
                  f"reconnects {r['reconnects']}, e.g. {r['sample']}")
PY
echo "load phase: $(awk -v a="$T_START" -v b="$(now_ns)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }') s (${DURATION} s per ${CLIENTS}-client run, ${SHORT} s per 1-client run)"

# --- on record -------------------------------------------------------------------------------------------
python3 - "$WORK" "$CLIENTS" "$DURATION" "$SHORT" "$MEMORY" "$LOADAVG" "$LAB" "$BOOTSTRAP" <<'PY' >"$WORK/record.json"
import json, sys
work, clients, duration, short, memory, load_before, lab_bin, bootstrap = sys.argv[1:]
load = lambda n: json.load(open(f"{work}/r-{n}.json"))
lab = {}
for suffix, c in (("", "c"), ("_1", "1")):
    base = load(f"baseline-{c}")
    for name in ("ping", "list"):
        r = load(f"{name}-{c}")
        lab[f"{name}{suffix}_rps"] = r["req_per_s"]
        lab[f"{name}{suffix}_p50_ms"] = r["latency_ms"]["p50"]
        lab[f"{name}{suffix}_p99_ms"] = r["latency_ms"]["p99"]
        lab[f"{name}{suffix}_errors"] = r["requests"] - r["statuses"].get("200", 0) + r["reconnects"]
        lab[f"{name}{suffix}_server_cpu_us_per_req"] = r["server_cpu_us_per_req"]
        if r["overhead_ms"] is None:  # a lab whose gateway does not send x-lab-function-us
            sys.exit("bench-gateway: no x-lab-function-us in the answers, no overhead to record")
        lab[f"{name}{suffix}_function_p50_ms"] = r["function_ms"]["p50"]
        lab[f"{name}{suffix}_overhead_p50_ms"] = r["overhead_ms"]["p50"]
        lab[f"{name}{suffix}_overhead_p99_ms"] = r["overhead_ms"]["p99"]
        # Net of the client and loopback: a difference of percentiles, as printed above.
        lab[f"{name}{suffix}_net_p50_ms"] = round(r["overhead_ms"]["p50"] - base["latency_ms"]["p50"], 3)
        lab[f"{name}{suffix}_net_p99_ms"] = round(r["overhead_ms"]["p99"] - base["latency_ms"]["p99"], 3)
peer = {"name": "a bare loopback server (asyncio, fixed pong; scripts/bench_http.py), same client"}
for suffix, c in (("", "c"), ("_1", "1")):
    r = load(f"baseline-{c}")
    peer[f"rps{suffix}"] = r["req_per_s"]
    peer[f"p50{suffix}_ms"] = r["latency_ms"]["p50"]
    peer[f"p99{suffix}_ms"] = r["latency_ms"]["p99"]
    peer[f"server_cpu_us_per_req{suffix}"] = r["server_cpu_us_per_req"]
json.dump({"settings": {"clients": int(clients), "duration_s": float(duration), "short_s": float(short),
                        "memory_mb": int(memory), "load_average_before": load_before,
                        "lab_bin": lab_bin, "bootstrap": bootstrap},
           "lab": lab, "peer": peer}, sys.stdout)
PY
python3 "$ROOT/scripts/bench_record.py" gateway <"$WORK/record.json"
