"""bench-tune-stability.sh's Python (standard library only): the winners of the repeated tunes.

    bench_tune_stability.py WORK RUNS MAX_NUM LOAD_AFTER LAB_BIN BOOTSTRAP > record.json
        reads WORK/fixed-N.json and WORK/auto-N.json (`lab tune -o json`), prints the figures on stderr
        and the record on stdout
"""

import collections
import sys

from bench_lib import load_json


def modal(winners):
    """(how many times the most frequent winner won, that winner)."""
    (winner, count), = collections.Counter(winners).most_common(1)
    return count, winner


def main(work, runs, max_num, load_after, lab_bin, bootstrap):
    runs = int(runs)
    fixed = [load_json(f"{work}/fixed-{r}.json") for r in range(1, runs + 1)]
    auto = [load_json(f"{work}/auto-{r}.json") for r in range(1, runs + 1)]
    lab_fixed = [d["winner"]["memory_mb"] for d in fixed]
    pt_fixed = [d["results"]["power"] for d in fixed]
    lab_auto = [d["winner"]["memory_mb"] for d in auto]
    calls = [sum(s["invocations"] for s in d["auto"]["sizes"]) for d in auto]
    reached = sum(1 for d in auto if d["auto"]["reached"])
    (a_n, a_w), (f_n, f_w), (p_n, p_w) = modal(lab_auto), modal(lab_fixed), modal(pt_fixed)
    print(f"--num auto: {lab_auto} -> {a_w} MB {a_n}/{runs}", file=sys.stderr)
    print(f"--num 10:   {lab_fixed} -> {f_w} MB {f_n}/{runs}", file=sys.stderr)
    print(f"PT's pick at --num 10: {pt_fixed} -> {p_w} MB {p_n}/{runs}", file=sys.stderr)
    import json
    json.dump({
        "settings": {"runs": runs, "max_num": int(max_num), "powers": [128, 256, 512, 1024], "strategy": "cost",
                     "lab_bin": lab_bin, "bootstrap": bootstrap, "load_after": load_after},
        "lab": {"name": "--num auto", "same_winner": a_n, "winner_mb": a_w, "winners": lab_auto,
                "median_invocations": sorted(calls)[len(calls) // 2], "runs_within_target": reached},
        "peer": {"name": "--num 10 (lab's decision on its intervals; PT's point pick beside it)",
                 "same_winner": f_n, "winner_mb": f_w, "winners": lab_fixed,
                 "pt_same_winner": p_n, "pt_winner_mb": p_w, "pt_winners": pt_fixed,
                 "invocations": 40},
    }, sys.stdout)


main(*sys.argv[1:])
