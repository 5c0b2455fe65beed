"""bench-tune-strict.sh's figures: the tutorial's tune, parallel against sequential, on the strict stack
(standard library only).

    bench_tune_strict.py WORK RUNS SCALE LAB_BIN BOOTSTRAP > record.json

WORK holds each run's `lab tune -o json` (MODE-RUN.json) and WORK/walls (bench-lib.sh's
tune_alternated). Prints where the time went on stderr and the record on stdout.
"""

import json
import sys

from bench_lib import load_json, middle, r3, walls


def main(work, runs, scale, lab_bin, bootstrap):
    runs, scale = int(runs), float(scale)
    update_s = 2.0 * scale  # the strict stack's InProgress window for an update (AWS's figure x scale)
    wall = walls(work)

    def runs_of(mode):
        out = []
        for r in range(1, runs + 1):
            d = load_json(f"{work}/{mode}-{r}.json")
            # One update per version, and one to restore $LATEST unless its own size was among them.
            updates = d["plan"]["configuration_updates"]
            out.append(dict(wall=wall[(mode, r)], t=d["timings"], updates=updates, n=d["invocations"],
                            winner=d["winner"]["memory_mb"], pt=d["results"]["power"]))
        return out

    modes = {m: runs_of(m) for m in ("parallel", "sequential")}
    med = {m: middle(v, key=lambda a: a["wall"]) for m, v in modes.items()}
    par, seq = med["parallel"], med["sequential"]
    floor = par["updates"] * update_s
    print(f"lab tune, the tutorial's input, strict local stack at time scale {scale} "
          f"(an update stays InProgress {update_s:.1f} s); {runs} runs of each mode, alternated; medians:",
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
          f"  the floor both share: {par['updates']} updates x {update_s:.1f} s = {floor:.1f} s", file=sys.stderr)

    def phases(mode, a):
        return {f"{mode}_wall_s": r3(a["wall"]), f"{mode}_publish_s": r3(a["t"]["publish_ms"] / 1e3),
                f"{mode}_measure_s": r3(a["t"]["measure_ms"] / 1e3),
                f"{mode}_cleanup_s": r3(a["t"]["cleanup_ms"] / 1e3)}

    json.dump({
        "settings": {"runs": runs, "time_scale": scale, "lab_bin": lab_bin, "bootstrap": bootstrap},
        "lab": {**phases("parallel", par), "invocations": par["n"],
                "updates": par["updates"], "parallel_wall_runs_s": [r3(a["wall"]) for a in modes["parallel"]]},
        "peer": {"name": "the same tune with parallelInvocation false (sequential), same run",
                 **phases("sequential", seq),
                 "sequential_wall_runs_s": [r3(a["wall"]) for a in modes["sequential"]]},
        "extra": {"update_window_s": update_s, "floor_s": r3(floor)},
    }, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:6])
