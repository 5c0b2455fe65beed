#!/usr/bin/env bash
# Benchmark the Rust handler against the tutorial's Python handler, both run as Lambda would run them:
# a local Runtime API (handler/examples/runtime_bench.rs) drives the process, DynamoDB is moto.
#
# Prints figures only, no pass/fail: warm per-invocation time of read and list over 10/100/1000 items,
# cold start (process start to first response), peak memory, binary and zip size, and Python/Rust ratios;
# and records them, Rust's beside Python's, in bench/results/handler.json (scripts/bench_record.py).
#
# Knobs (environment): BENCH_INVOCATIONS (100), BENCH_WARMUP (5), BENCH_COLD_RUNS (5),
# BENCH_SIZES (10,100,1000), LAB_MOTO (path to moto_server), XDG_CACHE_HOME.
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lab
MOTO=${LAB_MOTO:-$CACHE/moto-$(moto_version)/bin/moto_server}
VENV=$CACHE/bench-venv
INVOCATIONS=${BENCH_INVOCATIONS:-100}
WARMUP=${BENCH_WARMUP:-5}
COLD_RUNS=${BENCH_COLD_RUNS:-5}
SIZES=${BENCH_SIZES:-10,100,1000}

# --- build -------------------------------------------------------------------------------------------
# The bootstrap is built the way it ships (profile `lambda`: fat LTO, stripped). The driver is built in
# the dev profile on purpose: its dependencies are already compiled for the tests there, and it adds the
# same small overhead to both handlers.
say "building bootstrap (profile lambda) and the benchmark driver"
cargo build -q --profile lambda -p handler --bin bootstrap
cargo build -q -p handler --example runtime_bench
BOOTSTRAP=$TARGET/lambda/bootstrap
DRIVER=$TARGET/debug/examples/runtime_bench

# --- the tutorial's Python handler, verbatim ---------------------------------------------------------
# assets/tutorial/lambda_function.py without its header (the lines down to the first blank one), so the
# file deployed and measured is the tutorial's code byte for byte.
mkdir -p "$WORK/py"
sed '1,/^$/d' assets/tutorial/lambda_function.py >"$WORK/py/lambda_function.py"

# Deterministic zips with the entry at the root, mode 0755 for the bootstrap (as Lambda needs).
make_zip "$WORK/rust.zip" "$BOOTSTRAP" 755
make_zip "$WORK/python.zip" "$WORK/py/lambda_function.py" 644

# --- Python runtime interface client -----------------------------------------------------------------
PYTHON_FN=()
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import awslambdaric, boto3' 2>/dev/null; then
    :
else
    say "installing awslambdaric and boto3 into $VENV"
    if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q awslambdaric boto3; } >&2; then
        say "awslambdaric could not be installed: measuring the Rust handler only"
    fi
fi
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import awslambdaric, boto3' 2>/dev/null; then
    PYTHON_FN=(--fn "python=$VENV/bin/python -m awslambdaric lambda_function.lambda_handler")
    export PYTHONPATH=$WORK/py
else
    echo "python: awslambdaric unavailable, skipped"
fi

# --- moto ----------------------------------------------------------------------------------------------
if [ ! -x "$MOTO" ]; then
    echo "moto_server not found at $MOTO (set LAB_MOTO); cannot benchmark" >&2
    exit 1
fi
PORT=$(free_port)
ENDPOINT=http://127.0.0.1:$PORT
spawn "$MOTO" -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1
wait_for "$ENDPOINT/moto-api/config" "$WORK/moto.log" "$!"

# --- run -----------------------------------------------------------------------------------------------
say "running: $INVOCATIONS warm invocations per figure, $COLD_RUNS cold starts, sizes $SIZES"
cd "$WORK/py"
echo
echo "## Time and memory (moto at $ENDPOINT; times as seen by the Runtime API: event queued -> answer posted)"
"$DRIVER" --endpoint "$ENDPOINT" --invocations "$INVOCATIONS" --warmup "$WARMUP" \
    --cold-runs "$COLD_RUNS" --sizes "$SIZES" \
    --fn "rust=$BOOTSTRAP" "${PYTHON_FN[@]}" | tee "$WORK/driver.out"
echo "(cold start: process spawn -> first read answered, the invocation queued before the process is up;"
echo " init: spawn -> first poll for work. moto's own time is inside every figure and dominates large"
echo " scans, so the gap between the columns, not their ratio, is the handlers' difference there.)"

# --- sizes ---------------------------------------------------------------------------------------------
size_of() { stat -c %s "$1"; }
RUST_BIN=$(size_of "$BOOTSTRAP")
RUST_ZIP=$(size_of "$WORK/rust.zip")
PY_SRC=$(size_of "$WORK/py/lambda_function.py")
PY_ZIP=$(size_of "$WORK/python.zip")
echo
echo "## Package size (bytes)"
printf '%-42s%14s%14s%16s\n' "artifact" "rust" "python" "python/rust"
printf '%-42s%14s%14s%16s\n' "code (bootstrap | lambda_function.py)" "$RUST_BIN" "$PY_SRC" \
    "$(awk -v p="$PY_SRC" -v r="$RUST_BIN" 'BEGIN { printf "%.4fx", p / r }')"
printf '%-42s%14s%14s%16s\n' "deployment zip" "$RUST_ZIP" "$PY_ZIP" \
    "$(awk -v p="$PY_ZIP" -v r="$RUST_ZIP" 'BEGIN { printf "%.4fx", p / r }')"
echo "(the Python zip relies on the boto3 and runtime that Lambda's python image provides; the Rust zip is self-contained)"

# --- on record -------------------------------------------------------------------------------------------
# The driver ends with one JSON line per handler ({"function", "figures"}); the sizes are the ones above.
cd "$ROOT"
py "$ROOT/scripts/bench_handler.py" "$WORK/driver.out" "$RUST_BIN" "$RUST_ZIP" "$PY_SRC" "$PY_ZIP" "$INVOCATIONS" \
    "$WARMUP" "$COLD_RUNS" "$SIZES" "$WORK/record.json"
record_bench handler <"$WORK/record.json"
