#!/usr/bin/env bash
# `lab load`'s honest numbers against peers, in one run on this machine:
#   (a) closed model on the local stack's stage URL, 10 connections, ping: lab vs hey (Debian), same
#       connections and length; throughput and average latency (goal: within 5%);
#   (b) open model on a target that stalls 500 ms once a second (scripts/bench_stall.py): lab --rate vs
#       oha -q --latency-correction, both timing from the intended send; p99 (goal: within 10%);
#   (c) --workers 1, 2 and 4 (the generator in Lambda invocations, here the local stack's Lambda) vs
#       lab in this process, same VUs: merged counts exact (series, histogram and totals agree) and
#       throughput, as far as 2 cores shared by generator, gateway and handler allow.
# Prints the figures and records them (scripts/bench_record.py) in bench/results/load-peers.json.
# Knobs: BENCH_DURATION (10s), BENCH_CONNECTIONS (10), BENCH_ROUNDS (3, for (a)), BENCH_RATE (200), BENCH_WORKER_VUS (8),
# LAB_BIN (skip the build; the handler's bootstrap is built in debug beside it).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
DURATION=${BENCH_DURATION:-10s}
CONN=${BENCH_CONNECTIONS:-10}
RATE=${BENCH_RATE:-200}
ROUNDS=${BENCH_ROUNDS:-3}
WVUS=${BENCH_WORKER_VUS:-8}

apt_install hey hey
need_oha
build_lab release -p lab -p lab-load --bin lab-load-worker
BUILD=$(lab_build)
# The generator built beside lab, in its profile: named, since on the local stack lab would otherwise
# build one from the sources in the dev profile (as `up --local` builds the handler).
WORKER=$(dirname "$LAB_BIN")/lab-load-worker
cargo build -q -p handler --bin bootstrap
BOOTSTRAP=$TARGET/debug/bootstrap

# --- the local stack (no strict mode: the figures are the generator's, not AWS's delays) ------------
export LAB_STACK=bench
start_stack --concurrency 24
URL=$(lab up --bootstrap "$BOOTSTRAP" -o json | json_field - invoke_url)
lab call ping >/dev/null

# --- (a) closed model vs hey ---------------------------------------------------------------------------
# Rounds in alternating order, medians reported: the machine is shared, so neither tool always runs
# first or in the same moment's load.
say "(a) closed model, $CONN connections, $DURATION, on $URL, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
    for tool in $( [ $((r % 2)) -eq 1 ] && echo "lab hey" || echo "hey lab" ); do
        # GNU time records each generator's own CPU (user + system): what it takes from the target.
        if [ "$tool" = lab ]; then
            /usr/bin/time -f '%U %S' -o "$WORK/a-lab-$r.cpu" "$LAB_BIN" --local --local-port "$PORT" \
                load --vus "$CONN" --duration "$DURATION" --load-profile fixed --payload "$PING" -o json >"$WORK/a-lab-$r.json"
        else
            /usr/bin/time -f '%U %S' -o "$WORK/a-hey-$r.cpu" \
                hey -z "$DURATION" -c "$CONN" -m POST -T application/json -d "$PING" "$URL" >"$WORK/a-hey-$r.txt"
        fi
    done
done

# --- (b) the stall vs oha --latency-correction ----------------------------------------------------------
start_listener stall python3 "$ROOT/scripts/bench_stall.py" 0
STALL=http://127.0.0.1:$LISTEN_PORT/
say "(b) open model, $RATE/s, on a target stalling 500 ms once a second"
"$LAB_BIN" load --url "$STALL" --rate "$RATE" --vus 200 --duration "$DURATION" --payload "$PING" -o json >"$WORK/b-lab.json"
oha -z "$DURATION" -c 200 -q "$RATE" --latency-correction -m POST -d "$PING" -H 'content-type: application/json' \
    --no-tui --output-format json "$STALL" >"$WORK/b-oha.json"

# --- (c) workers -----------------------------------------------------------------------------------------
say "(c) $WVUS VUs in this process, then from 1, 2 and 4 Lambda workers"
lab load --vus "$WVUS" --duration "$DURATION" --load-profile fixed --payload "$PING" -o json >"$WORK/c-0.json"
for n in 1 2 4; do
    lab load --workers "$n" --worker-bootstrap "$WORKER" --vus "$WVUS" --duration "$DURATION" --load-profile fixed --payload "$PING" -o json >"$WORK/c-$n.json"
done
lab down --yes >/dev/null

py "$ROOT/scripts/bench_load_peers.py" "$WORK" "$DURATION" "$CONN" "$RATE" "$WVUS" "$BUILD" "$ROUNDS" | record_bench load-peers
