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
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
DURATION=${BENCH_DURATION:-15}
SHORT=${BENCH_SHORT:-5}
CLIENTS=${BENCH_CLIENTS:-10}
# The local stack gives each instance CPU in proportion to its memory (1769 MB = one vCPU) where cgroups
# allow. At the tutorial's 128 MB ten instances would share 0.7 of a core and the figures would show
# that quota, not the gateway; 1769 MB lets each instance use a whole core when it needs one.
MEMORY=${BENCH_MEMORY:-1769}
BENCH_HTTP=$ROOT/scripts/bench_http.py

build_lab release
build_handler lambda
isolate_aws_env
start_stack

# The default stack's names, so the tutorial's list event (tableName lambda-apigateway) runs unchanged.
say "lab up (memory $MEMORY MB)"
lab -o json up --bootstrap "$BOOTSTRAP" --memory "$MEMORY" >"$WORK/up.json"
URL=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["invoke_url"])' "$WORK/up.json")

# Events. ten items in the table, so `list` returns a realistic small page.
echo "$PING" >"$WORK/ping.json"
cp assets/events/list.json "$WORK/list.json"
for i in $(seq 1 10); do
    curl -fsS -o /dev/null -X POST "$URL" \
        -d "{\"operation\":\"create\",\"tableName\":\"lambda-apigateway\",\"payload\":{\"Item\":{\"id\":\"$i\",\"name\":\"user $i\",\"age\":$((20 + i))}}}"
done

# The trivial peer server.
start_listener echo python3 "$BENCH_HTTP" echo-server
ECHO_PID=$LISTEN_PID
ECHO_URL=http://127.0.0.1:$LISTEN_PORT/DynamoDBManager

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

T_START=$(now)
LOADAVG=$(loadavg)
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
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before the runs $LOADAVG, after $(loadavg)"
echo "lab: $LAB_BIN"
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
echo "load phase: $(since "$T_START" 0) s (${DURATION} s per ${CLIENTS}-client run, ${SHORT} s per 1-client run)"

# --- on record -------------------------------------------------------------------------------------------
python3 - "$WORK" "$CLIENTS" "$DURATION" "$SHORT" "$MEMORY" "$LOADAVG" "$LAB_BIN" "$BOOTSTRAP" <<'PY' >"$WORK/record.json"
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
record_bench gateway <"$WORK/record.json"
