#!/usr/bin/env bash
# Benchmark the DynamoDB data plane of the local stack: the tutorial's item operations through the
# stage URL at 10 concurrent clients (lab's own generator), with lab's native item store serving items (`lab local serve
# --dynamodb native`, the default) against moto serving them (`--dynamodb moto`, the path before the
# native store) in the same run, on the same machine, with the same client (`lab load --url`).
#
# Workloads, all POSTs of the tutorial's events through the deployed stage URL of `lab up`:
#   read    GetItem of one of ten items      list    Scan of the ten items (assets/events/list.json)
#   create  PutItem (one item, overwritten)  update  UpdateItem SET age = age + :one
# each at 1769 MB (a whole vCPU per instance: the data plane sets the pace) and at 128 MB (the
# function's CPU share sets it). Then each data plane alone, without the function: GetItem sent
# straight to the gateway, which serves it from its store (native) or forwards it to moto (moto).
# Then scripts/run's load comparison, `lab load --memory 128,1024` at as many VUs, on each plane: the
# emulator's own share of the mean latency (the gateway in front plus the data plane inside the
# function, from the local stack's x-lab-* headers; goal <= 20% at 1024 MB).
# Prints figures only, and records them in bench/results/dataplane.json (scripts/bench_record.py).
#
# Knobs (environment): BENCH_DURATION (10 s per run), BENCH_CLIENTS (10), BENCH_MEMORIES ("1769 128"),
# LAB_BIN (default: build target/release/lab), BOOTSTRAP (default: target/release/bootstrap, built with
# lab; the figures are the data plane's, not the handler's build).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
DURATION=${BENCH_DURATION:-10}
CLIENTS=${BENCH_CLIENTS:-10}
MEMORIES=${BENCH_MEMORIES:-1769 128}
SHARE_MEMORIES=128,1024
BENCH_HTTP=$ROOT/scripts/bench_http.py

if [ -z "${LAB_BIN:-}" ]; then
    build_lab release -p lab -p handler --bin bootstrap
    BOOTSTRAP=${BOOTSTRAP:-$TARGET/release/bootstrap}
fi
BOOTSTRAP=${BOOTSTRAP:-$TARGET/release/bootstrap}
[ -x "$BOOTSTRAP" ] || { echo "no handler at $BOOTSTRAP (cargo build --release -p handler --bin bootstrap)" >&2; exit 1; }
isolate_aws_env
export NO_COLOR=1

T=lambda-apigateway
echo "{\"operation\":\"read\",\"tableName\":\"$T\",\"payload\":{\"Key\":{\"id\":\"1\"}}}" >"$WORK/read.json"
cp assets/events/list.json "$WORK/list.json"
echo "{\"operation\":\"create\",\"tableName\":\"$T\",\"payload\":{\"Item\":{\"id\":\"bench\",\"name\":\"bench user\",\"age\":30}}}" >"$WORK/create.json"
echo "{\"operation\":\"update\",\"tableName\":\"$T\",\"payload\":{\"Key\":{\"id\":\"2\"},\"UpdateExpression\":\"SET age = age + :one\",\"ExpressionAttributeValues\":{\":one\":1}}}" >"$WORK/update.json"
echo "{\"TableName\":\"$T\",\"Key\":{\"id\":{\"S\":\"1\"}}}" >"$WORK/getitem.json"
DDB_HEADERS=(--header "Content-Type: application/x-amz-json-1.0" --header "X-Amz-Target: DynamoDB_20120810.GetItem"
    --header "Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")

# Through the stage URL the client is lab's own generator (`lab load --url`, a closed loop of
# $CLIENTS VUs): on two cores the client's CPU is taken from the stack it measures, and a Python
# client (10 processes) cost the stack a fifth of its throughput. Its JSON carries the local stack's
# own split of each request's time (function, data plane, gateway, CPU wait).
load_url() { # url body seconds: `lab load -o json` of $CLIENTS VUs on stdout
    "$LAB_BIN" -o json load --url "$1" --payload "$(cat "$2")" --vus "$CLIENTS" --duration "${3}s" \
        --load-profile fixed
}
run() { # name url body
    say "$1: $CLIENTS VUs for $DURATION s"
    load_url "$2" "$3" "$DURATION" >"$WORK/r-$1.json"
}
# GetItem straight to the gateway (signed headers, no function): the standard-library client.
run_direct() { # name url body pid [headers...]
    local name=$1 url=$2 body=$3 pid=$4
    shift 4
    say "$name: $CLIENTS clients for $DURATION s"
    python3 "$BENCH_HTTP" client "$url" "$body" --clients "$CLIENTS" --duration "$DURATION" --pid "$pid" "$@" >"$WORK/r-$name.json"
}

measure() { # plane (native or moto)
    local plane=$1 mem first=1 w
    start_stack --dynamodb "$plane"
    for mem in $MEMORIES; do
        say "$plane: lab up (memory $mem MB)"
        lab -o json up --bootstrap "$BOOTSTRAP" --memory "$mem" >"$WORK/up-$plane-$mem.json"
        URL=$(json_field "$WORK/up-$plane-$mem.json" invoke_url)
        if [ "$first" = 1 ]; then
            for i in $(seq 1 10); do
                curl -fsS -o /dev/null -X POST "$URL" \
                    -d "{\"operation\":\"create\",\"tableName\":\"$T\",\"payload\":{\"Item\":{\"id\":\"$i\",\"name\":\"user $i\",\"age\":$((20 + i))}}}"
            done
            first=0
        fi
        # Untimed: ten clients start ten instances at this memory size.
        load_url "$URL" "$WORK/read.json" 3 >/dev/null 2>&1
        for w in read list create update; do
            run "$plane-$mem-$w" "$URL" "$WORK/$w.json"
        done
    done
    # scripts/run's load comparison (`lab load --memory 128,1024`, the tutorial's `list`), with the
    # emulator's own share of each request's latency (the gateway in front, the data plane inside).
    say "$plane: lab load --memory $SHARE_MEMORIES ($CLIENTS VUs, $DURATION s each)"
    lab -o json load --vus "$CLIENTS" --duration "${DURATION}s" --memory "$SHARE_MEMORIES" >"$WORK/load-$plane.json"
    # The data plane alone, without the function: GetItem sent straight to the gateway, which serves
    # it from its store (native) or forwards it to moto (moto).
    python3 "$BENCH_HTTP" client "$ENDPOINT/" "$WORK/getitem.json" --clients "$CLIENTS" --duration 2 "${DDB_HEADERS[@]}" >/dev/null
    run_direct "$plane-getitem" "$ENDPOINT/" "$WORK/getitem.json" "$SERVE_PID" "${DDB_HEADERS[@]}"
    curl -fsS "$ENDPOINT/_lab/status" >"$WORK/status-$plane.json"
    kill "$SERVE_PID"
    wait "$SERVE_PID" 2>/dev/null || true
}

T_START=$(now)
LOADAVG=$(loadavg)
measure native
measure moto

echo
echo "## DynamoDB data plane: lab's native item store vs moto, through the stage URL ($CLIENTS clients)"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before $LOADAVG, after $(loadavg)"
echo "lab: $LAB_BIN; handler: $BOOTSTRAP"
py "$ROOT/scripts/bench_dataplane.py" report "$WORK" "$MEMORIES"
echo "load phase: $(since "$T_START" 0) s (${DURATION} s per run)"

py "$ROOT/scripts/bench_dataplane.py" record "$WORK" "$MEMORIES" "$CLIENTS" "$DURATION" "$LOADAVG" "$LAB_BIN" \
    "$BOOTSTRAP" >"$WORK/record.json"
record_bench dataplane <"$WORK/record.json"
