#!/usr/bin/env bash
# Peak memory (RSS) of `lab load` at 10, 1,000 and 10,000 VUs, closed model against one loopback
# target (examples/bench_target.rs), beside oha with the same number of connections in the same run.
# A VU holds its connection and a few words; the latency histograms are a few shared recorder shards,
# so memory should grow by a small constant per VU (the connection's buffers) and no more.
#
# Prints the figures and records them (scripts/bench_record.py) in bench/results/load-memory.json.
# Knobs: BENCH_DURATION (5s), BENCH_VUS ("10 1000 10000"), LAB_BIN / TARGET_BIN (skip the builds;
# without them both are built in release, which takes a while the first time).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
DURATION=${BENCH_DURATION:-5s}
VUS_LIST=${BENCH_VUS:-"10 1000 10000"}

build_lab release
BUILD=$(lab_build)
build_target
if ! command -v oha >/dev/null; then
    say "oha is not installed (cargo install oha): the peer column stays empty"
fi
# 10,000 connections on each side.
ulimit -n "$(ulimit -Hn)"
start_listener target "$TARGET_BIN" 0 2
URL=http://127.0.0.1:$LISTEN_PORT/

# Peak RSS (KB) of one command, from the kernel's accounting (GNU time's %M), and its output.
peak() { /usr/bin/time -f 'PEAK_KB %M' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || true; sed -n 's/^PEAK_KB //p' "$WORK/time"; }

echo '{}' >"$WORK/figures.json"
for vus in $VUS_LIST; do
    lab_kb=$(peak "$LAB_BIN" load --url "$URL" --vus "$vus" --duration "$DURATION" --load-profile fixed \
        --payload "$PING" -o json)
    lab_req=$(json_field "$WORK/out" runs.0.summary.requests)
    oha_kb=null
    if command -v oha >/dev/null; then
        oha_kb=$(peak oha -z "$DURATION" -c "$vus" -m POST -d "$PING" \
            -H 'content-type: application/json' --no-tui --output-format json "$URL")
    fi
    say "$vus VUs: lab peak RSS ${lab_kb} KB ($lab_req requests), oha ${oha_kb} KB"
    py "$ROOT/scripts/bench_load_memory.py" add "$WORK/figures.json" "$vus" "$lab_kb" "$oha_kb" "$lab_req"
done
py "$ROOT/scripts/bench_load_memory.py" record "$WORK/figures.json" "$DURATION" "$BUILD" "$VUS_LIST" | record_bench load-memory
