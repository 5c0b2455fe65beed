#!/usr/bin/env bash
# Benchmark `lab load --url` as a load generator against two peers, oha (crates.io) and wrk (Debian),
# all three aimed at the same loopback HTTP target (examples/bench_target.rs: axum, answers every POST
# with a fixed 39-byte JSON body) in one run.
#
# The issue's goal: lab reaches at least 90% of the faster peer's throughput at the same concurrency,
# and its p50/p99 are within 10% of the peers' at equal load. Prints figures and whether each goal is
# met; no assertion, the exit status says only whether the benchmark ran. The figures are recorded,
# lab's beside oha's and wrk's, in bench/results/load.json (scripts/bench_record.py).
#
#   (a) max throughput: each tool, 10 connections / VUs, closed loop, BENCH_DURATION each, BENCH_ROUNDS
#       rounds with the order rotated (so no tool always runs first or right after another); the round
#       with each tool's median throughput is reported.
#   (b) equal load: a fixed arrival rate, BENCH_RATE_SHARE of the slowest tool's max and a light
#       BENCH_LIGHT_RATE, BENCH_ROUNDS rounds each with the order alternated (each figure the median
#       over the rounds), for lab (--rate) and oha (-q, with --latency-correction so both count the wait
#       for a free connection in the latency). lab counts from each arrival's intended time; oha from
#       the moment its (millisecond) timer fired for the arrival (src/client.rs: `sleep_until`, then
#       `Instant::now()`), so its own timer's lateness is not in its figure and lab's is: lab's side is
#       the stricter. lab also reports that lateness of its own (`summary.generator`: actual send −
#       intended send, the waits for a free connection apart, by stage), recorded beside its figures;
#       the peers report none. Debian's wrk has no fixed-rate mode (wrk2 has, and is not packaged), so wrk
#       appears only in (a).
#
# The machine has 2 cores shared by generator and target: every figure is "generator + target on the
# same 2 cores". A generator that burns more CPU per request leaves less to the target, which is part of
# what is being measured; the CPU each side used per request is printed so the split can be seen.
#
#   (c) the clock's trade at the fixed rate of (b): lab again with `--arrival-group BENCH_WIDE_GROUP`
#       (twice the 250-µs hold lab uses above 20,000 arrivals a second), in the same rounds, the three
#       runs' order rotated. A longer hold wakes generator and target less often (less CPU per request)
#       and sends later (a higher p50, counted): the figures show what each way costs against oha.
#
# Knobs (environment): BENCH_DURATION (10s), BENCH_ROUNDS (3), BENCH_CONNECTIONS (10),
# BENCH_RATE_SHARE (0.5), BENCH_LIGHT_RATE (1000), BENCH_TARGET_THREADS (2), BENCH_WIDE_GROUP (500us),
# LAB_BIN and TARGET_BIN (skip the builds).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
CONN=${BENCH_CONNECTIONS:-10}
RATE_SHARE=${BENCH_RATE_SHARE:-0.5}
LIGHT_RATE=${BENCH_LIGHT_RATE:-1000}
TARGET_THREADS=${BENCH_TARGET_THREADS:-2}
WIDE_GROUP=${BENCH_WIDE_GROUP:-500us}
START_ALL=$(now)

# --- peers -------------------------------------------------------------------------------------------
need_oha
apt_install wrk wrk

# --- build (before any measurement: a compile would take the cores the benchmark needs), target -------
build_lab release
build_target
start_listener target "$TARGET_BIN" 0 "$TARGET_THREADS"
TARGET_PID=$LISTEN_PID
URL=http://127.0.0.1:$LISTEN_PORT/
curl -sf -X POST -d "$PING" "$URL" >/dev/null

cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$PING'
wrk.headers["Content-Type"] = "application/json"
-- wrk's own summary is text; one machine-readable line is easier to compare than parsing it.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
EOF

HZ=$(getconf CLK_TCK)
# CPU seconds (user+sys) the target has used so far, from /proc: the target lives across runs.
target_cpu() { awk -v hz="$HZ" '{ print ($14 + $15) / hz }' "/proc/$TARGET_PID/stat"; }
# CPU seconds (user+sys) used by this shell's finished children: `times`' second line. `times` must
# run in this shell, not in a $(...) subshell, whose children counters start at zero; the awk that
# parses it adds a millisecond or two to the next reading, against seconds measured.
children_cpu() {
    times >"$WORK/times"
    awk 'NR == 2 { gsub(/s/, ""); split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$WORK/times"
}

# One measurement: runs a tool in this shell (not a subshell, so `times` sees it), then appends one
# JSON line {phase, tool, rps, p50_ms, p99_ms, errors, gen_cpu_s, target_cpu_s} to results.jsonl.
measure() {
    local phase=$1 tool=$2 rate=${3:-}
    local out=$WORK/$phase-$tool-$RANDOM.out
    local c0 t0 c1 t1
    children_cpu >"$WORK/c0"; t0=$(target_cpu)
    case $tool in
        lab-grouped)
            "$LAB_BIN" load --url "$URL" --vus "$CONN" --duration "$DURATION" --load-profile fixed \
                --rate "$rate" --arrival-group "$WIDE_GROUP" --payload "$PING" -o json >"$out" ;;
        lab)
            if [ -n "$rate" ]; then
                "$LAB_BIN" load --url "$URL" --vus "$CONN" --duration "$DURATION" --load-profile fixed \
                    --rate "$rate" --payload "$PING" -o json >"$out"
            else
                "$LAB_BIN" load --url "$URL" --vus "$CONN" --duration "$DURATION" --load-profile fixed \
                    --payload "$PING" -o json >"$out"
            fi ;;
        oha)
            if [ -n "$rate" ]; then
                oha -z "$DURATION" -c "$CONN" -q "$rate" --latency-correction -m POST -d "$PING" \
                    -H 'content-type: application/json' --no-tui --output-format json "$URL" >"$out"
            else
                oha -z "$DURATION" -c "$CONN" -m POST -d "$PING" \
                    -H 'content-type: application/json' --no-tui --output-format json "$URL" >"$out"
            fi ;;
        wrk)
            wrk -t2 -c"$CONN" -d"$DURATION" --latency -s "$WORK/post.lua" "$URL" >"$out" ;;
    esac
    children_cpu >"$WORK/c1"; t1=$(target_cpu)
    c0=$(cat "$WORK/c0"); c1=$(cat "$WORK/c1")
    py "$ROOT/scripts/bench_load.py" measure "$phase" "$tool" "$out" "$c0" "$c1" "$t0" "$t1" "${rate:-0}" >>"$WORK/results.jsonl"
}

# --- (a) max throughput ------------------------------------------------------------------------------
say "load average before measuring: $(loadavg) (other work on the machine skews every figure)"
say "(a) max throughput: $CONN connections, $DURATION per run, $ROUNDS rounds, target $URL ($TARGET_THREADS threads)"
TOOLS=(lab oha wrk)
for round in $(seq 0 $((ROUNDS - 1))); do
    for i in 0 1 2; do
        measure max "${TOOLS[$(( (i + round) % 3 ))]}"
    done
done

RATE=$(py "$ROOT/scripts/bench_load.py" rate "$WORK/results.jsonl" "$RATE_SHARE")

# --- (b) equal load ----------------------------------------------------------------------------------
say "(b) equal load: fixed rates $RATE and $LIGHT_RATE req/s, lab --rate vs oha -q --latency-correction"
say "(c) at $RATE req/s, lab --arrival-group $WIDE_GROUP too, in the same rounds"
# BENCH_ROUNDS rounds, the runs' order rotated from one round to the next (lab first in even rounds
# and oha first in odd ones at the light rate): a fixed rate's p99 moves a lot from one run to the next
# on two cores shared with the target, so each figure is a median.
FIXED_TOOLS=(lab oha lab-grouped)
for round in $(seq 0 $((ROUNDS - 1))); do
    for i in 0 1 2; do
        measure "r$RATE" "${FIXED_TOOLS[$(( (i + round) % 3 ))]}" "$RATE"
    done
done
for round in $(seq 0 $((ROUNDS - 1))); do
    if [ $((round % 2)) = 0 ]; then
        measure "r$LIGHT_RATE" lab "$LIGHT_RATE"; measure "r$LIGHT_RATE" oha "$LIGHT_RATE"
    else
        measure "r$LIGHT_RATE" oha "$LIGHT_RATE"; measure "r$LIGHT_RATE" lab "$LIGHT_RATE"
    fi
done

# --- report ------------------------------------------------------------------------------------------
LOAD_AFTER=$(loadavg)
py "$ROOT/scripts/bench_load.py" report "$WORK/results.jsonl" "$RATE" "$LIGHT_RATE" "$CONN" "$DURATION" "$ROUNDS" \
    "$TARGET_THREADS" "$LOAD_AFTER" "$WIDE_GROUP"

# --- on record -------------------------------------------------------------------------------------------
py "$ROOT/scripts/bench_load.py" record "$WORK/results.jsonl" "$RATE" "$LIGHT_RATE" "$CONN" "$DURATION" "$ROUNDS" \
    "$TARGET_THREADS" "$(oha --version 2>/dev/null | head -1)" "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1,2)" "$LAB_BIN" \
    "$WIDE_GROUP" >"$WORK/record.json"
record_bench load <"$WORK/record.json"
say "bench-load took $(since "$START_ALL" 0) s"
