#!/usr/bin/env bash
# The tutorial's tune (assets/events/power-tuning-input.json: 4 powers x 10 invocations, parallel) on the
# strict local stack at AWS's own delays (time scale 1.0: an update of $LATEST stays InProgress for 2 s),
# against a sequential sweep (the same input with "parallelInvocation": false) measured in the same run,
# alternated. Prints the wall times, their ratio (the goal is 0.5 or less) and where the time goes, from
# each run's own phase timings: publishing (one $LATEST update per version, waited out before
# PublishVersion, as Lambda requires), measuring, cleaning up. The floor both modes share is those
# updates at AWS's 2 s each. Figures only, no pass/fail; recorded in bench/results/tune-strict.json.
#
# The function is the handler as it is deployed to AWS (profile lambda: a parallel run starts an instance
# per invocation, and a debug bootstrap's start-up would dominate). lab itself is the dev build, as
# scripts/run and scripts/test use: its own time is small beside Lambda's updates.
# Knobs (environment): BENCH_RUNS (3 runs of each mode), BENCH_TIME_SCALE (1.0), BENCH_ITEMS (3 items in
# the table), LAB_BIN and BOOTSTRAP (skip building).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${BENCH_RUNS:-3}
SCALE=${BENCH_TIME_SCALE:-1.0}
ITEMS=${BENCH_ITEMS:-3}
INPUT=$ROOT/assets/events/power-tuning-input.json
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

WORK=$(mktemp -d)
export LAB_HOME=$WORK/lab-home
SERVE_PID=
cleanup() {
    # SIGTERM lets `lab local serve` stop moto and every function instance it started.
    if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '==> %s\n' "$*" >&2; }

cd "$ROOT"
if [ -z "${LAB_BIN:-}" ]; then
    say "building lab (dev profile)"
    cargo build -q --bin lab
    LAB_BIN=$TARGET/debug/lab
fi
BOOTSTRAP=${BOOTSTRAP:-$TARGET/lambda/bootstrap}
if [ ! -x "$BOOTSTRAP" ]; then
    say "building the handler (profile lambda; minutes on 2 cores, once)"
    cargo build -q --profile lambda -p handler --bin bootstrap
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$LAB_HOME"
"$LAB_BIN" local serve --local-port "$PORT" --strict --time-scale "$SCALE" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 300); do
    curl -sf "127.0.0.1:$PORT/_lab/health" >/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
    sleep 0.1
done
lab() { "$LAB_BIN" --local --local-port "$PORT" "$@"; }

say "lab up on the strict stack at time scale $SCALE (IAM's propagation delay alone is 10 s)"
lab up --bootstrap "$BOOTSTRAP" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; exit 1; }
for i in $(seq "$ITEMS"); do lab call create --id "$i" >/dev/null; done
python3 - "$INPUT" "$WORK/sequential.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["parallelInvocation"] = False
json.dump(d, open(sys.argv[2], "w"), indent=2)
PY

for run in $(seq "$RUNS"); do
    # Alternated, so a slow spell on the machine falls on both modes alike.
    for mode in parallel sequential; do
        input=$INPUT; [ "$mode" = sequential ] && input=$WORK/sequential.json
        t0=$EPOCHREALTIME
        lab tune --input "$input" -o json >"$WORK/$mode-$run.json"
        t1=$EPOCHREALTIME
        echo "$mode $run $t0 $t1" >>"$WORK/walls"
        python3 -c "print(f'    {\"$mode\":<10} run $run: {$t1 - $t0:.2f} s wall')" >&2
    done
done

python3 - "$WORK" "$RUNS" "$SCALE" "$LAB_BIN" "$BOOTSTRAP" >"$WORK/record.json" <<'PY'
import json, statistics, sys
work, runs, scale, lab_bin, bootstrap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
UPDATE_S = 2.0 * scale  # the strict stack's InProgress window for an update (AWS's figure x scale)
walls = {}
for line in open(f"{work}/walls"):
    mode, run, t0, t1 = line.split()
    walls[(mode, int(run))] = float(t1) - float(t0)

def runs_of(mode):
    out = []
    for r in range(1, runs + 1):
        d = json.load(open(f"{work}/{mode}-{r}.json"))
        # One update per version, and one to restore $LATEST unless its own size was among them.
        updates = d["plan"]["configuration_updates"]
        out.append(dict(wall=walls[(mode, r)], t=d["timings"], updates=updates, n=d["invocations"],
                        winner=d["winner"]["memory_mb"], pt=d["results"]["power"]))
    return out

modes = {m: runs_of(m) for m in ("parallel", "sequential")}
med = {m: sorted(v, key=lambda a: a["wall"])[len(v) // 2] for m, v in modes.items()}
par, seq = med["parallel"], med["sequential"]
floor = par["updates"] * UPDATE_S
print(f"lab tune, the tutorial's input, strict local stack at time scale {scale} "
      f"(an update stays InProgress {UPDATE_S:.1f} s); {runs} runs of each mode, alternated; medians:",
      file=sys.stderr)
for m in ("parallel", "sequential"):
    a = med[m]
    t = a["t"]
    all_walls = ", ".join(f"{x['wall']:.2f}" for x in modes[m])
    print(f"  {m:<10} {a['wall']:6.2f} s wall ({all_walls}): "
          f"publishing {t['publish_ms'] / 1e3:.2f} s ({a['updates']} updates), measuring "
          f"{t['measure_ms'] / 1e3:.2f} s ({a['n']} invocations), cleaning up {t['cleanup_ms'] / 1e3:.2f} s; "
          f"winner {a['winner']} MB (PT's pick {a['pt']} MB)", file=sys.stderr)
ratio = par["wall"] / seq["wall"]
measuring = par["t"]["measure_ms"] / seq["t"]["measure_ms"]
print(f"  parallel / sequential: {ratio:.2f}x of the wall time (goal 0.5x); measuring alone {measuring:.2f}x;\n"
      f"  the floor both share: {par['updates']} updates x {UPDATE_S:.1f} s = {floor:.1f} s", file=sys.stderr)
r3 = lambda x: round(x, 3)
json.dump({
    "settings": {"runs": runs, "time_scale": scale, "lab_bin": lab_bin, "bootstrap": bootstrap},
    "lab": {"parallel_wall_s": r3(par["wall"]), "parallel_publish_s": r3(par["t"]["publish_ms"] / 1e3),
            "parallel_measure_s": r3(par["t"]["measure_ms"] / 1e3),
            "parallel_cleanup_s": r3(par["t"]["cleanup_ms"] / 1e3), "invocations": par["n"],
            "updates": par["updates"], "parallel_wall_runs_s": [r3(a["wall"]) for a in modes["parallel"]]},
    "peer": {"name": "the same tune with parallelInvocation false (sequential), same run",
             "sequential_wall_s": r3(seq["wall"]), "sequential_publish_s": r3(seq["t"]["publish_ms"] / 1e3),
             "sequential_measure_s": r3(seq["t"]["measure_ms"] / 1e3),
             "sequential_cleanup_s": r3(seq["t"]["cleanup_ms"] / 1e3),
             "sequential_wall_runs_s": [r3(a["wall"]) for a in modes["sequential"]]},
    "extra": {"update_window_s": UPDATE_S, "floor_s": r3(floor)},
}, sys.stdout)
PY
python3 "$ROOT/scripts/bench_record.py" tune-strict <"$WORK/record.json"
