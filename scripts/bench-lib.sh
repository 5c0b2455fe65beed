# shellcheck shell=bash
# Sourced first by every scripts/bench-*.sh and scripts/soak-strict.sh: the set-up they all share, so
# each script holds only its own measurement. Sourcing it turns on strict mode (a failing step, also
# inside $(...), stops the script), sets ROOT (the repository, also the working directory), TARGET
# (cargo's target directory), WORK (a private temporary directory) and LAB_HOME (the local stack's
# state, inside WORK), and stops every process started with `spawn` and removes WORK on exit.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d)
export LAB_HOME=$WORK/lab-home
mkdir -p "$LAB_HOME"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"  # where `cargo install` puts oha

SPAWNED=()
# Newest first, so a peer server stops before the stack it may call. SIGTERM lets `lab local serve`
# stop moto and every function instance it started.
stop_spawned() {
    local i
    for ((i = ${#SPAWNED[@]} - 1; i >= 0; i--)); do
        kill "${SPAWNED[i]}" 2>/dev/null || true
        wait "${SPAWNED[i]}" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap stop_spawned EXIT

# Runs a command in the background, stopped on exit; its pid is in $! afterwards, as for `&`.
spawn() { "$@" & SPAWNED+=($!); }

# The handler's cheapest event (no DynamoDB), the payload of the load benches.
PING='{"operation":"ping"}'

# Progress on stderr, so stdout stays the figures.
say() { printf '==> %s\n' "$*" >&2; }

# Wall-clock time in seconds (EPOCHREALTIME: no process started, so nothing added to what is timed; its
# decimal comma, where the locale has one, made a point); the seconds from one such time to another, or
# since one, with DECIMALS (3 unless given).
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { printf "%.*f", d, b - a }'; } # t0 t1 [decimals]
since() { elapsed "$1" "$(now)" "${2:-3}"; } # t0 [decimals]

# Runs a command and appends its wall time in seconds to FILE, with TIMED_DECIMALS (3 unless set): one
# line per run, for medians later.
timed() { # file command...
    local file=$1 t0 t1
    shift
    t0=${EPOCHREALTIME/,/.}
    "$@"
    t1=${EPOCHREALTIME/,/.}
    echo "$(elapsed "$t0" "$t1" "${TIMED_DECIMALS:-3}")" >>"$file"
}

# The machine's 1-, 5- and 15-minute load averages: it may be shared, so the figures say how busy it was.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Python with scripts/ on its path (for bench_lib.py) and no __pycache__ left in the work tree: how the
# benches run their Python halves, scripts/bench_NAME.py.
py() { PYTHONPATH=$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH} python3 -B "$@"; }

# Prints fields of a JSON file (- for stdin), dotted paths, on one line: json_field FILE runs.0.summary.requests
json_field() { py "$ROOT/scripts/json_field.py" "$@"; }

# The moto version lab's local stack runs, pinned in local/python/requirements.txt alone (scripts/install-deps
# installs it into ${XDG_CACHE_HOME:-~/.cache}/lab/moto-VERSION, where `lab local` looks for it).
moto_version() { sed -n 's/^moto\[server\]==//p' "$ROOT/local/python/requirements.txt"; }

# Hands a bench's figures (JSON on stdin) to the recorder: bench/results/NAME.json and its summary line.
record_bench() { python3 -B "$ROOT/scripts/bench_record.py" "$1"; }

# --- builds ---------------------------------------------------------------------------------------------

# Sets LAB_BIN: as given, or lab built in PROFILE (release or dev), with any further cargo targets
# (e.g. -p lab -p lab-load --bin lab-load-worker) built alongside it in the same profile.
build_lab() { # profile [cargo targets...]
    local profile=$1 dir=$1
    shift
    [ "$profile" = dev ] && dir=debug
    [ -z "${LAB_BIN:-}" ] || return 0
    say "building lab ($profile)"
    cargo build -q --profile "$profile" --bin lab "$@"
    LAB_BIN=$TARGET/$dir/lab
}

# Which build LAB_BIN is, for the record: debug or release (LAB_BUILD overrides, e.g. for a debug binary
# copied elsewhere).
lab_build() {
    local build=release
    case "$LAB_BIN" in */debug/*) build=debug ;; esac
    echo "${LAB_BUILD:-$build}"
}

# Sets BOOTSTRAP (the handler as Lambda runs it): as given, or $TARGET/DIR/bootstrap for PROFILE
# (lambda: fat LTO, as it ships; dev), built only when absent or BENCH_REBUILD_HANDLER=1, as its build
# is no part of any figure; HANDLER_BUILD says which, with the build time.
build_handler() { # profile
    local dir=$1 t0
    [ "$1" = dev ] && dir=debug
    BOOTSTRAP=${BOOTSTRAP:-$TARGET/$dir/bootstrap}
    HANDLER_BUILD="$BOOTSTRAP, already built (BENCH_REBUILD_HANDLER=1 rebuilds and times it)"
    if [ ! -x "$BOOTSTRAP" ] || [ "${BENCH_REBUILD_HANDLER:-0}" = 1 ]; then
        say "building the handler (profile $1)"
        t0=$(now)
        cargo build -q --profile "$1" -p handler --bin bootstrap
        HANDLER_BUILD="$BOOTSTRAP, built in $(since "$t0" 1) s (cargo build --profile $1 -p handler --bin bootstrap)"
    fi
}

# Sets TARGET_BIN: as given, or examples/bench_target.rs built in release (the load benches' target).
build_target() {
    [ -z "${TARGET_BIN:-}" ] || return 0
    cargo build -q --release --example bench_target
    TARGET_BIN=$TARGET/release/examples/bench_target
}

# A deterministic zip holding one file at its root (mode as octal digits; 755 for a bootstrap, as
# Lambda needs), under NAME (the file's own name unless given).
make_zip() { py "$ROOT/scripts/bench_lib.py" zip "$1" "$2" "$3" "${4:-$(basename "$2")}"; } # zip file mode [name]

# Installs oha from crates.io when it is missing.
need_oha() {
    command -v oha >/dev/null && return 0
    say "installing oha from crates.io (compiles from source: several minutes, once)"
    local t0
    t0=$(now)
    cargo install oha --locked
    say "oha installed in $(since "$t0" 0) s"
}

# Installs a Debian package when its command is missing (sudo unless root).
apt_install() { # command package
    command -v "$1" >/dev/null && return 0
    say "installing $2 (Debian)"
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y "$2" >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y "$2" >/dev/null; }
}

# --- servers on the loopback interface ---------------------------------------------------------------------

free_port() { py "$ROOT/scripts/bench_lib.py" free-port; }

# Waits up to a minute for URL to answer; if it never does, or PID exits first, shows LOG and stops.
wait_for() { # url log [pid]
    local url=$1 log=$2 pid=${3:-}
    for _ in $(seq 600); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "$url did not answer; the end of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
}

# Starts `lab local serve` with FLAGS on a free port, its state in LAB_HOME and its log in
# $WORK/serve-PORT.log, and waits until it answers (moto is Python: its first start takes seconds).
# Sets PORT, ENDPOINT and SERVE_PID; `lab` then runs the CLI against this stack.
start_stack() { # serve flags...
    PORT=$(free_port)
    ENDPOINT=http://127.0.0.1:$PORT
    mkdir -p "$LAB_HOME"
    say "starting lab local serve $* on $ENDPOINT"
    spawn "$LAB_BIN" local serve --local-port "$PORT" "$@" >"$WORK/serve-$PORT.log" 2>&1
    SERVE_PID=$!
    wait_for "$ENDPOINT/_lab/health" "$WORK/serve-$PORT.log" "$SERVE_PID"
}
lab() { "$LAB_BIN" --local --local-port "$PORT" "$@"; }

# The strict local stack at time scale SCALE with dev builds of lab and the handler, as scripts/test
# uses them (soak-strict, bench-strict): the figures are AWS's waits, not lab's CPU. When lab is built
# the handler is rebuilt with it, so the two match.
start_strict_stack() { # scale
    scripts/install-deps >/dev/null
    build_lab dev -p lab -p handler --bin bootstrap
    build_handler dev
    export NO_COLOR=1
    start_stack --strict --time-scale "$1"
}

# Starts a loopback server that prints `listening on 127.0.0.1:PORT` (examples/bench_target.rs,
# scripts/bench_stall.py, scripts/bench_http.py echo-server), its output in $WORK/NAME.out. Sets
# LISTEN_PORT and LISTEN_PID.
start_listener() { # name command...
    local out=$WORK/$1.out
    shift
    spawn "$@" >"$out"
    LISTEN_PID=$!
    for _ in $(seq 100); do grep -q listening "$out" 2>/dev/null && break; sleep 0.05; done
    LISTEN_PORT=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$out")
    [ -n "$LISTEN_PORT" ] || { echo "$1 did not start listening: $(cat "$out")" >&2; exit 1; }
}

# Dummy credentials and no user configuration: a client sees only the endpoint it is given.
isolate_aws_env() {
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials AWS_PAGER=
    unset AWS_PROFILE AWS_ENDPOINT_URL LAB_STACK
}

# --- the tune benches ---------------------------------------------------------------------------------------

# The tutorial's tune input, and the same with "parallelInvocation": false in $WORK/sequential.json.
TUNE_INPUT=$ROOT/assets/events/power-tuning-input.json
tune_inputs() { py "$ROOT/scripts/bench_lib.py" sequential "$TUNE_INPUT" "$WORK/sequential.json"; }

# `lab up` with the handler (its wall time in UP_S), then ITEMS items in the table (what the tune
# input's list event reads).
up_with_items() { # items
    local t0 i
    t0=$(now)
    lab up --bootstrap "$BOOTSTRAP" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; exit 1; }
    UP_S=$(since "$t0" 2)
    for i in $(seq "$1"); do lab call create --id "$i" >/dev/null; done
}

# Runs `lab tune` RUNS times in each mode, parallel then sequential, alternated so a slow spell on the
# machine falls on both alike: each run's JSON in $WORK/MODE-RUN.json, its wall clock appended to
# $WORK/walls as "mode run t0 t1" (bench_lib.walls reads it), then AFTER mode run t0 t1 if given.
tune_alternated() { # runs [after]
    local run mode input t0 t1
    for run in $(seq "$1"); do
        for mode in parallel sequential; do
            input=$TUNE_INPUT
            [ "$mode" = sequential ] && input=$WORK/sequential.json
            t0=${EPOCHREALTIME/,/.}
            lab tune --input "$input" -o json >"$WORK/$mode-$run.json"
            t1=${EPOCHREALTIME/,/.}
            echo "$mode $run $t0 $t1" >>"$WORK/walls"
            [ -z "${2:-}" ] || "$2" "$mode" "$run" "$t0" "$t1"
        done
    done
}
