#!/usr/bin/env bash
# Benchmark: is what runs locally what ships? The bootstrap `lab up --local` and scripts/run deploy
# (the dev profile's, DEV_BOOTSTRAP) against the one `lab up` ships to AWS (profile `lambda`: fat LTO,
# stripped), both under the same Runtime API driver (handler/examples/runtime_bench.rs) against moto:
# cold start (spawn to first answer, and to the first poll: init), warm read and list (wall, with
# moto's time inside, and the handler's own CPU per call, without it), peak memory. Goal: the local
# build within 1.25x of the shipped one. Records bench/results/local-handler.json.
#
# Knobs (environment): BENCH_INVOCATIONS (100), BENCH_WARMUP (5), BENCH_COLD_RUNS (5), BENCH_SIZES (10),
# DEV_BOOTSTRAP (target/debug/bootstrap, built), LAMBDA_BOOTSTRAP (target/lambda/bootstrap, built).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lab
MOTO=${LAB_MOTO:-$CACHE/moto-$(moto_version)/bin/moto_server}
INVOCATIONS=${BENCH_INVOCATIONS:-100}
WARMUP=${BENCH_WARMUP:-5}
COLD_RUNS=${BENCH_COLD_RUNS:-5}
SIZES=${BENCH_SIZES:-10}

say "building the bootstrap as it ships (profile lambda), as scripts/run builds it (dev), and the driver"
scripts/install-deps >/dev/null
[ -n "${LAMBDA_BOOTSTRAP:-}" ] || { cargo build -q --profile lambda -p handler --bin bootstrap; LAMBDA_BOOTSTRAP=$TARGET/lambda/bootstrap; }
[ -n "${DEV_BOOTSTRAP:-}" ] || { cargo build -q --workspace --bins; DEV_BOOTSTRAP=$TARGET/debug/bootstrap; }
cargo build -q -p handler --example runtime_bench
DRIVER=$TARGET/debug/examples/runtime_bench

PORT=$(free_port)
ENDPOINT=http://127.0.0.1:$PORT
spawn "$MOTO" -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1
wait_for "$ENDPOINT/moto-api/config" "$WORK/moto.log" "$!"

say "running: $INVOCATIONS warm invocations per figure, $COLD_RUNS cold starts, sizes $SIZES"
"$DRIVER" --endpoint "$ENDPOINT" --invocations "$INVOCATIONS" --warmup "$WARMUP" \
    --cold-runs "$COLD_RUNS" --sizes "$SIZES" \
    --fn "lambda=$LAMBDA_BOOTSTRAP" --fn "local=$DEV_BOOTSTRAP" | tee "$WORK/driver.out"
py "$ROOT/scripts/bench_local_handler.py" "$WORK/driver.out" "$DEV_BOOTSTRAP" "$LAMBDA_BOOTSTRAP" \
    "$INVOCATIONS" "$COLD_RUNS" "$SIZES" >"$WORK/record.json"
record_bench local-handler <"$WORK/record.json"
