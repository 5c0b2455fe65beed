#!/usr/bin/env bash
# Benchmark the local stack's crash recovery and the price of its persistence, against the same stack
# without persistence (`--persist false`), measured in the same run on the same machine:
#   - recovery: moto killed with SIGKILL BENCH_KILLS times (10) while BENCH_WRITERS clients (4) write
#     unique items through the stage URL, each kill once the stack's standby moto is ready (as a crash
#     comes, not back to back); the time from each kill to the first successful call, and
#     the items lost: acknowledged (HTTP 200) but not readable at the end (scripts/bench_persistence.py).
#     The peer loses its state at the first kill: its figure is how many acknowledged items that costs.
#   - throughput: `lab load` (BENCH_VUS 10 VUs, BENCH_DURATION 10 s, fixed profile) on each stack, in
#     alternating rounds (BENCH_ROUNDS 5 each, which stack goes first alternating too; the median kept): a write-heavy mix (create and read,
#     1:1: every create goes through the write-ahead log) and the tutorial's own `list`.
# Both stacks run with --cpu-share false: at the tutorial's 128 MB ten instances would share 0.7 of a
# core and `lab load` would measure that quota, not moto and its log (the part persistence changes).
# Prints the figures and records them in bench/results/persistence.json (scripts/bench_record.py).
#
# Knobs (environment): BENCH_KILLS, BENCH_WRITERS, BENCH_VUS, BENCH_DURATION, BENCH_ROUNDS,
# LAB_BIN (default: target/debug/lab, built), BOOTSTRAP (default: target/debug/bootstrap).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
KILLS=${BENCH_KILLS:-10}
WRITERS=${BENCH_WRITERS:-4}
VUS=${BENCH_VUS:-10}
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-5}
scripts/install-deps >/dev/null
build_lab dev
build_handler dev
export NO_COLOR=1

# Two stacks side by side, idle unless measured: "durable" (the default) and "memory" (the peer).
declare -A PORTS
lab_on() { local name=$1; shift; LAB_HOME=$WORK/$name "$LAB_BIN" --local --local-port "${PORTS[$name]}" "$@"; }
for name in durable memory; do
    persist=true; [ "$name" = memory ] && persist=false
    LAB_HOME=$WORK/$name start_stack --persist "$persist" --cpu-share false
    PORTS[$name]=$PORT
    say "$name stack (--persist $persist) on port $PORT: lab up"
    lab_on "$name" up --bootstrap "$BOOTSTRAP" >"$WORK/$name-up.log" 2>&1
done
url() { lab_on "$1" -o json status | json_field - invoke_url; }

# lab load's throughput on one stack with one payload (requests per second, errors).
load() {
    local name=$1 payload=$2
    lab_on "$name" -o json load --vus "$VUS" --duration "${DURATION}s" --load-profile fixed \
        --payload "$payload" 2>/dev/null |
        json_field - runs.0.summary.throughput_rps runs.0.summary.errors
}
declare -A RPS
for mix in write list; do
    payload="create:bench-1=1,read:bench-1=1"; [ "$mix" = list ] && payload=list
    for round in $(seq 1 "$ROUNDS"); do
        order="durable memory"; [ $((round % 2)) = 0 ] && order="memory durable"
        for name in $order; do
            read -r rps errors < <(load "$name" "$payload")
            say "load $mix round $round on $name: $rps req/s ($errors errors)"
            RPS[$name-$mix]+="$rps "
        done
    done
done

say "memory stack: 1 kill under $WRITERS writers (it loses its state)"
py "$ROOT/scripts/bench_persistence.py" kills "http://127.0.0.1:${PORTS[memory]}" "$(url memory)" lambda-apigateway \
    1 "$WRITERS" "$WORK/kills-memory.json"
say "durable stack: $KILLS kills under $WRITERS writers"
py "$ROOT/scripts/bench_persistence.py" kills "http://127.0.0.1:${PORTS[durable]}" "$(url durable)" lambda-apigateway \
    "$KILLS" "$WRITERS" "$WORK/kills-durable.json"

py "$ROOT/scripts/bench_persistence.py" record "$WORK" "${RPS[durable-write]}" "${RPS[memory-write]}" \
    "${RPS[durable-list]}" "${RPS[memory-list]}" "$KILLS" "$WRITERS" "$VUS" "$DURATION" "$ROUNDS" "$LAB_BIN" "$BOOTSTRAP"
record_bench persistence <"$WORK/record.json"
