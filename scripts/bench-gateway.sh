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
URL=$(json_field "$WORK/up.json" invoke_url)

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
py "$ROOT/scripts/bench_gateway.py" report "$WORK" "$CLIENTS"
echo "load phase: $(since "$T_START" 0) s (${DURATION} s per ${CLIENTS}-client run, ${SHORT} s per 1-client run)"

# --- on record -------------------------------------------------------------------------------------------
py "$ROOT/scripts/bench_gateway.py" record "$WORK" "$CLIENTS" "$DURATION" "$SHORT" "$MEMORY" "$LOADAVG" "$LAB_BIN" \
    "$BOOTSTRAP" >"$WORK/record.json"
record_bench gateway <"$WORK/record.json"
