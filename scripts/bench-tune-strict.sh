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
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-3}
SCALE=${BENCH_TIME_SCALE:-1.0}
ITEMS=${BENCH_ITEMS:-3}
build_lab dev
build_handler lambda
start_stack --strict --time-scale "$SCALE"

say "lab up on the strict stack at time scale $SCALE (IAM's propagation delay alone is 10 s)"
up_with_items "$ITEMS"
tune_inputs
show_wall() { printf '    %-10s run %s: %s s wall\n' "$1" "$2" "$(elapsed "$3" "$4" 2)" >&2; } # mode run t0 t1
tune_alternated "$RUNS" show_wall

py - "$WORK" "$RUNS" "$SCALE" "$LAB_BIN" "$BOOTSTRAP" >"$WORK/record.json" <<'PY'
import json, sys
from bench_lib import middle, r3, walls
work, runs, scale, lab_bin, bootstrap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
UPDATE_S = 2.0 * scale  # the strict stack's InProgress window for an update (AWS's figure x scale)
walls = walls(work)

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
med = {m: middle(v, key=lambda a: a["wall"]) for m, v in modes.items()}
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
record_bench tune-strict <"$WORK/record.json"
