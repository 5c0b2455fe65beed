#!/usr/bin/env python3
"""Benchmarks on record (standard library only).

Every scripts/bench-*.sh ends by handing its figures to this recorder, which writes
bench/results/<name>.json; scripts/bench-readme renders the README's benchmark table from those files.

    python3 scripts/bench_record.py NAME < figures.json
        figures.json: {"lab": {...}, "peer": {"name": "...", ...}, "settings": {...}, "extra": {...}}
        ("peer" may be null when the peer could not run; "settings" are the bench's knobs; "extra" are
        further top-level fields, e.g. the strict stack's delays). Writes bench/results/NAME.json (or
        $BENCH_RESULTS/NAME.json) and prints its one-line summary.

    python3 scripts/bench_record.py --refresh bench/results/NAME.json ...
        Recomputes `what`, `ratio` and `summary` from the figures already in the file, after a change of
        wording or of a ratio's definition here; the figures, date and revision stay as measured.

A record holds: name, what (what is measured), summary (one line computed from the numbers below by
this file's summary function for the bench, never typed), date (UTC, ISO 8601), git_revision and
git_dirty (tracked files changed at the time of the run), cores (nproc), machine (CPU model),
load_average (at the end of the run), settings (the knobs the run used), lab (lab's figures), peer
(the peer's name and figures, measured in the same run on the same machine), ratio (computed here
from lab and peer). Times are in the unit their key ends with (_s, _ms, _us), rates in _rps.
"""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


# --- numbers as the table shows them ------------------------------------------------------------------

def num(x):
    """Three significant digits, at most three decimals: 281, 12.9, 7.80, 0.430, 0.078."""
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def pct(fraction):
    """A share: 100%, 99.8%."""
    return "-" if fraction is None else f"{fraction * 100:.1f}".removesuffix(".0") + "%"


def times(r):
    """A ratio: 36x, 3.87x, 1.13x."""
    return f"{r:.0f}x" if abs(r) >= 10 else f"{r:.2f}x"


def rate(x):
    """Requests per second: 123k, 5.5k, 830."""
    if x >= 10_000:
        return f"{x / 1000:.0f}k"
    if x >= 1000:
        return f"{x / 1000:.1f}".removesuffix(".0") + "k"
    return f"{x:.0f}"


def megabytes(b):
    return f"{b / 1e6:.1f} MB"


def div(a, b):
    """A ratio as recorded: four significant digits."""
    return float(f"{a / b:.4g}") if a is not None and b else None


def figure(lab, peer, path):
    """The figure at PATH, "lab.KEY" or "peer.KEY" (or deeper, "peer.hey.closed_rps"); None if absent."""
    side, *keys = path.split(".")
    value = {"lab": lab, "peer": peer}[side]
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def quotients(**spec):
    """A bench's ratios as data: each name=(numerator path, denominator path), paths as `figure` takes
    them; a figure either side lacks makes that ratio None."""
    def ratios(lab, peer):
        return {name: div(figure(lab, peer, a), figure(lab, peer, b)) for name, (a, b) in spec.items()}
    return ratios


# --- the benches -----------------------------------------------------------------------------------------
# Each: the script, what it measures, the ratios computed from lab's and the peer's figures, and the
# summary computed from the whole record, called as summary(record, lab, peer or {}, ratio). Table order
# is this order.

def handler_ratios(lab, peer):
    # python/rust for every figure both have, as the script prints them.
    return {k: div(peer[k], lab[k]) for k in lab
            if k != "name" and isinstance(lab[k], (int, float)) and isinstance(peer.get(k), (int, float))}


def handler_summary(d, lab, peer, ratio):
    reads = sorted((int(k.split("_")[2]), k) for k in lab if k.startswith("warm_read_") and k.endswith("_items_ms"))
    pairs = [("cold start", "cold_start_ms")] + [(f"warm read ({n} items)", k) for n, k in reads[:1]]
    if peer:
        parts = [f"{label} {num(lab[k])} ms vs Python {num(peer[k])} ms ({times(ratio[k])})" for label, k in pairs]
    else:
        parts = [", ".join(f"{label} {num(lab[k])} ms" for label, k in pairs) + " (Python handler not measured)"]
    parts.append(f"zip {megabytes(lab['zip_bytes'])}")
    if "peak_rss_mib" in lab:
        parts.append(f"peak RSS {num(lab['peak_rss_mib'])} MiB"
                     + (f" vs {num(peer['peak_rss_mib'])} MiB" if "peak_rss_mib" in peer else ""))
    return "; ".join(parts)


def up_ratios(lab, peer):
    return {"up": div(peer["up_s"], lab["up_s"]), "down": div(peer["down_s"], lab["down_s"]),
            "up_down": div(peer["up_s"] + peer["down_s"], lab["up_s"] + lab["down_s"])}


def up_summary(d, lab, peer, ratio):
    return (f"up {num(lab['up_s'])} s vs awscli {num(peer['up_s'])} s ({times(ratio['up'])}), "
            f"down {num(lab['down_s'])} s vs {num(peer['down_s'])} s ({times(ratio['down'])}); "
            f"a no-change `up` {num(lab['up_again_s'])} s")


gateway_ratios = quotients(ping_rps=("lab.ping_rps", "peer.rps"), ping_p50=("lab.ping_p50_ms", "peer.p50_ms"))


def gateway_summary(d, lab, peer, ratio):
    s = d["settings"]
    return (f"ping {rate(lab['ping_rps'])} req/s vs bare server {rate(peer['rps'])} ({s['clients']} clients); "
            f"gateway overhead p50 {num(lab['ping_overhead_p50_ms'])} ms "
            f"({num(lab['ping_net_p50_ms'])} ms net of client and loopback; "
            f"{num(lab['ping_1_overhead_p50_ms'])} ms with 1 client)")


def load_ratios(lab, peer):
    oha, wrk = peer["oha"], peer["wrk"]
    faster = max(oha["max_rps"], wrk["max_rps"])
    return {"max_rps_vs_faster_peer": div(lab["max_rps"], faster),
            "max_rps_vs_oha": div(lab["max_rps"], oha["max_rps"]),
            "max_rps_vs_wrk": div(lab["max_rps"], wrk["max_rps"]),
            "gen_cpu_vs_oha": div(lab["gen_cpu_us_per_req"], oha["gen_cpu_us_per_req"]),
            "fixed_p50_vs_oha": div(lab["fixed_p50_ms"], oha["fixed_p50_ms"]),
            "fixed_p99_vs_oha": div(lab["fixed_p99_ms"], oha["fixed_p99_ms"]),
            "light_p50_vs_oha": div(lab["light_p50_ms"], oha["light_p50_ms"]),
            "light_p99_vs_oha": div(lab["light_p99_ms"], oha["light_p99_ms"]),
            # The generator's CPU per request at each fixed rate, where the record has it.
            **{f"{level}_gen_cpu_vs_oha": div(lab[f"{level}_gen_cpu_us_per_req"], oha[f"{level}_gen_cpu_us_per_req"])
               for level in ("fixed", "light") if lab.get(f"{level}_gen_cpu_us_per_req") is not None},
            # The wider clock hold at the fixed rate, where the record has it.
            **({"grouped_p50_vs_oha": div(lab["grouped_p50_ms"], oha["fixed_p50_ms"]),
                "grouped_gen_cpu_vs_oha": div(lab["grouped_gen_cpu_us_per_req"], oha["fixed_gen_cpu_us_per_req"])}
               if lab.get("grouped_gen_cpu_us_per_req") is not None else {}),
            # Counted as oha counts (from the clock's wake), where the record has it.
            **{f"{level}_{q}_as_oha_vs_oha": div(lab.get(f"{level}_as_oha_{q}_ms"), oha[f"{level}_{q}_ms"])
               for level in ("fixed", "light") for q in ("p50", "p99")
               if lab.get(f"{level}_as_oha_{q}_ms") is not None}}


def load_summary(d, lab, peer, ratio):
    oha, wrk = peer["oha"], peer["wrk"]
    parts = [f"{rate(lab['max_rps'])} req/s vs wrk {rate(wrk['max_rps'])}, oha {rate(oha['max_rps'])} "
             f"({times(ratio['max_rps_vs_faster_peer'])} the faster peer), "
             f"{num(lab['gen_cpu_us_per_req'])} µs CPU/request (oha {num(oha['gen_cpu_us_per_req'])}, "
             f"wrk {num(wrk['gen_cpu_us_per_req'])})"]
    for level, label in (("fixed", " fixed rate"), ("light", "")):
        text = (f"at {rate(lab[f'{level}_rate'])} req/s{label} p50 {num(lab[f'{level}_p50_ms'])} ms vs oha "
                f"{num(oha[f'{level}_p50_ms'])} ms (p99 {num(lab[f'{level}_p99_ms'])} vs "
                f"{num(oha[f'{level}_p99_ms'])} ms)")
        if lab.get(f"{level}_gen_cpu_us_per_req") is not None:
            text += (f", generator CPU {num(lab[f'{level}_gen_cpu_us_per_req'])} vs "
                     f"{num(oha[f'{level}_gen_cpu_us_per_req'])} µs/request "
                     f"({times(ratio[f'{level}_gen_cpu_vs_oha'])})")
        # lab's own lateness (oha and wrk report none), where the record has it.
        if lab.get(f"{level}_gen_late_p99_ms") is not None:
            text += f", lab's own lateness p99 {num(lab[f'{level}_gen_late_p99_ms'])} ms"
        # The like-for-like count: from the clock's wake, as oha counts from its timer's.
        if lab.get(f"{level}_as_oha_p50_ms") is not None:
            text += (f"; counted as oha counts, from its clock's wake: p50 {num(lab[f'{level}_as_oha_p50_ms'])} ms "
                     f"({times(ratio[f'{level}_p50_as_oha_vs_oha'])} oha's), p99 "
                     f"{num(lab[f'{level}_as_oha_p99_ms'])} ms ({times(ratio[f'{level}_p99_as_oha_vs_oha'])})")
        # An open-model generator that falls behind its schedule measured a lighter load: say so.
        short = [f"{name} sent {rate(f[f'{level}_rps'])}/s" for name, f in (("lab", lab), ("oha", oha))
                 if f[f"{level}_rps"] < 0.95 * f[f"{level}_rate"]]
        parts.append(text + (f", but {' and '.join(short)}" if short else ""))
    # The clock's trade at the fixed rate: a wider hold, less CPU, a later (counted) send.
    if lab.get("grouped_gen_cpu_us_per_req") is not None:
        parts.append(f"with --arrival-group {lab['grouped_arrival_group']} at {rate(lab['fixed_rate'])} req/s: "
                     f"generator CPU {num(lab['grouped_gen_cpu_us_per_req'])} µs/request "
                     f"({times(ratio['grouped_gen_cpu_vs_oha'])} oha's), p50 {num(lab['grouped_p50_ms'])} ms "
                     f"({times(ratio['grouped_p50_vs_oha'])}), p99 {num(lab['grouped_p99_ms'])} ms")
    return "; ".join(parts)


strict_ratios = quotients(up=("lab.up_s", "peer.up_s"), down=("lab.down_s", "peer.down_s"))


def strict_summary(d, lab, peer, ratio):
    scale = d.get("time_scale", 1.0)
    return (("" if scale == 1.0 else f"at time scale {scale}: ")
            + f"up {num(lab['up_s'])} s vs floor {num(peer['up_s'])} s ({times(ratio['up'])}), "
            f"down {num(lab['down_s'])} s vs floor {num(peer['down_s'])} s ({times(ratio['down'])})")


iam_ratios = quotients(first_call=("lab.first_call_s", "peer.first_call_s"))


def iam_summary(d, lab, peer, ratio):
    acts = lab["actions"]
    verbs = ", ".join(f"{k.replace('_', ' --')} {acts[k]}" if k == "load_workers" else f"{k} {acts[k]}"
                      for k in ("up", "call", "invoke", "tune", "load", "load_workers"))
    return (f"IAM actions: {verbs}, all {acts['all']}; up then first call {num(lab['first_call_s'])} s "
            f"vs floor {num(peer['first_call_s'])} s ({times(ratio['first_call'])})")


tune_ratios = quotients(parallel=("lab.parallel_wall_s", "peer.parallel_s"),
                        sequential=("lab.sequential_wall_s", "peer.sequential_s"))


def tune_summary(d, lab, peer, ratio):
    return (f"{num(lab['parallel_wall_s'])} s wall for {lab['parallel_invocations']} invocations vs floor "
            f"{num(peer['parallel_s'])} s ({times(ratio['parallel'])}); lab's own overhead "
            f"{num(lab['parallel_overhead_ms'])} ms per invocation against the critical path "
            f"({num(lab['sequential_overhead_ms'])} ms sequential)")


tune_strict_ratios = quotients(parallel_vs_sequential=("lab.parallel_wall_s", "peer.sequential_wall_s"),
                               measuring=("lab.parallel_measure_s", "peer.sequential_measure_s"))


def tune_strict_summary(d, lab, peer, ratio):
    return (f"{num(lab['parallel_wall_s'])} s parallel vs {num(peer['sequential_wall_s'])} s sequential "
            f"({times(ratio['parallel_vs_sequential'])}; measuring alone {times(ratio['measuring'])}); both "
            f"share {lab['updates']} updates of $LATEST at {num(d['update_window_s'])} s each "
            f"(floor {num(d['floor_s'])} s)")


def persistence_ratios(lab, peer):
    # The cost is the median of the rounds' ratios (each round ran both stacks back to back), which
    # other work on the machine moves far less than the ratio of the two medians.
    medians = quotients(load_write_medians=("lab.load_write_rps", "peer.load_write_rps"),
                        load_list_medians=("lab.load_list_rps", "peer.load_list_rps"))
    return {"load_write": lab["load_write_paired_ratio"], "load_list": lab["load_list_paired_ratio"],
            **medians(lab, peer)}


def persistence_summary(d, lab, peer, ratio):
    slower = lambda r: f"{num(100 * (1 - r))}% slower" if r < 1 else f"{num(100 * (r - 1))}% faster"
    return (f"kill -9 of moto under writes: first successful call {num(lab['recovery_median_s'])} s after "
            f"(median, max {num(lab['recovery_max_s'])} s, {lab['recovered']}/{lab['kills']} kills), "
            f"{lab['items_lost']} of {lab['writes_acknowledged']} acknowledged items lost vs "
            f"{peer['items_lost']} of {peer['writes_acknowledged']} without persistence; `lab load` "
            f"{rate(lab['load_write_rps'])} req/s vs {rate(peer['load_write_rps'])} on writes "
            f"({slower(ratio['load_write'])} round by round), {rate(lab['load_list_rps'])} vs "
            f"{rate(peer['load_list_rps'])} on the tutorial's list ({slower(ratio['load_list'])})")


def load_memory_ratios(lab, peer):
    return {f"rss_{v}_vus": div(lab[f"rss_{v}_vus_mb"], peer[f"rss_{v}_vus_mb"])
            for v in (10, 1000, 10000) if f"rss_{v}_vus_mb" in lab and f"rss_{v}_vus_mb" in peer}


def load_memory_summary(d, lab, peer, ratio):
    parts = []
    for v in (10, 1000, 10000):
        k = f"rss_{v}_vus_mb"
        if k in lab:
            parts.append(f"{v:,} VUs {num(lab[k])} MB" + (f" (oha {num(peer[k])} MB)" if k in peer else ""))
    text = "peak RSS " + ", ".join(parts)
    if "rss_10_vus_mb" in lab and "rss_10000_vus_mb" in lab:
        per_vu = (lab["rss_10000_vus_mb"] - lab["rss_10_vus_mb"]) * 1024 / 9990
        text += f"; {num(per_vu)} KB per added VU"
    return text


load_peers_ratios = quotients(
    closed_rps_vs_hey=("lab.closed_rps", "peer.hey.closed_rps"),
    closed_avg_vs_hey=("lab.closed_avg_ms", "peer.hey.closed_avg_ms"),
    closed_cpu_vs_hey=("lab.closed_cpu_us_per_req", "peer.hey.closed_cpu_us_per_req"),
    stall_p99_vs_oha=("lab.stall_p99_ms", "peer.oha.stall_p99_ms"))


def load_peers_summary(d, lab, peer, ratio):
    hey, oha = peer["hey"], peer["oha"]
    workers = ", ".join(f"{n} {rate(lab[f'workers_{n}_rps'])}" for n in (1, 2, 4))
    return (f"stage URL, closed model: {rate(lab['closed_rps'])} req/s, avg {num(lab['closed_avg_ms'])} ms vs hey "
            f"{rate(hey['closed_rps'])} req/s, {num(hey['closed_avg_ms'])} ms ({times(ratio['closed_rps_vs_hey'])}, "
            f"{times(ratio['closed_avg_vs_hey'])}"
            + (f", generator CPU {num(lab['closed_cpu_us_per_req'])} vs {num(hey['closed_cpu_us_per_req'])} µs/request"
               if ratio.get("closed_cpu_vs_hey") else "")
            + f"); stalling target, open model: p99 {num(lab['stall_p99_ms'])} ms vs "
            f"oha --latency-correction {num(oha['stall_p99_ms'])} ms ({times(ratio['stall_p99_vs_oha'])}); "
            f"--workers: in process {rate(lab['workers_0_rps'])} req/s, workers {workers} req/s, merged counts "
            + ("exact" if lab["counts_exact"] else "NOT exact"))


first_run_ratios = quotients(total=("lab.total_s", "peer.total_s"), run=("lab.run_s", "peer.run_s"),
                             test=("lab.test_s", "peer.test_s"))


def first_run_summary(d, lab, peer, ratio):
    budget = d["settings"]["budget_s"]
    tests = lambda f: f"{f.get('tests_passed', '?')} tests passed, {f.get('tests_failed', '?')} failed"
    text = (f"scripts/run {num(lab['run_s'])} s (build {num(lab.get('build_s', 0))} s) + scripts/test "
            f"{num(lab['test_s'])} s = {num(lab['total_s'])} s, budget {budget} s ({tests(lab)})")
    if peer:
        text += (f"; at {peer['revision']}: {num(peer['run_s'])} + {num(peer['test_s'])} = {num(peer['total_s'])} s "
                 f"({times(ratio['total'])}; {tests(peer)})")
    return text


cpu_memory_ratios = quotients(worst_off=("lab.worst_off_pct", "peer.worst_off_pct"))


def cpu_memory_summary(d, lab, peer, ratio):
    def sizes(f):
        mbs = sorted(int(k.split("_")[1]) for k in f if k.startswith("duration_"))
        return ", ".join(f"{mb} MB {num(f[f'duration_{mb}_mb_ms'])} ms" for mb in mbs)
    return (f"worst size {num(lab['worst_off_pct'])}% off 1769/memory with the CPU budget ({sizes(lab)}) vs "
            f"{num(peer['worst_off_pct'])}% without it ({sizes(peer)})")


local_handler_ratios = quotients(cold=("lab.cold_start_ms", "peer.cold_start_ms"),
                                 init=("lab.init_ms", "peer.init_ms"),
                                 warm_read=("lab.warm_read_10_items_ms", "peer.warm_read_10_items_ms"),
                                 read_cpu=("lab.warm_read_10_items_cpu_ms", "peer.warm_read_10_items_cpu_ms"))


def local_handler_summary(d, lab, peer, ratio):
    return (f"cold start {num(lab['cold_start_ms'])} ms vs shipped {num(peer['cold_start_ms'])} ms "
            f"({times(ratio['cold'])}); init {num(lab['init_ms'])} vs {num(peer['init_ms'])} ms "
            f"({times(ratio['init'])}); warm read {num(lab['warm_read_10_items_ms'])} vs "
            f"{num(peer['warm_read_10_items_ms'])} ms ({times(ratio['warm_read'])}), the handler's own CPU "
            f"{num(lab['warm_read_10_items_cpu_ms'])} vs {num(peer['warm_read_10_items_cpu_ms'])} ms a call "
            f"({times(ratio['read_cpu'])}); goal 1.25x")


dataplane_ratios = quotients(read=("lab.read_rps", "peer.read_rps"), list=("lab.list_rps", "peer.list_rps"),
                             create=("lab.create_rps", "peer.create_rps"), update=("lab.update_rps", "peer.update_rps"),
                             read_128=("lab.read_128_rps", "peer.read_128_rps"),
                             getitem=("lab.getitem_rps", "peer.getitem_rps"))


def dataplane_summary(d, lab, peer, ratio):
    clients = d["settings"]["clients"]
    ops = ", ".join(f"{w} {rate(lab[f'{w}_rps'])} vs {rate(peer[f'{w}_rps'])} ({times(ratio[w])})"
                    for w in ("read", "list", "create", "update"))
    text = f"stage URL, {clients} clients, 1769 MB, native store vs moto: {ops} req/s"
    if "read_128_rps" in lab:
        text += (f"; at 128 MB read {rate(lab['read_128_rps'])} vs {rate(peer['read_128_rps'])} "
                 f"({times(ratio['read_128'])})")
    text += (f"; GetItem straight to the gateway (no function): store {rate(lab['getitem_rps'])} req/s vs "
             f"moto {rate(peer['getitem_rps'])} ({times(ratio['getitem'])})")
    shares = [(mb, lab.get(f"load_{mb}_emulator_share"), peer.get(f"load_{mb}_emulator_share")) for mb in (128, 1024)]
    if all(n is not None and m is not None for _, n, m in shares):
        text += ("; `lab load --memory 128,1024` (list), the emulator's own share of the mean latency: "
                 + ", ".join(f"{mb} MB {n * 100:.0f}% vs {m * 100:.0f}%" for mb, n, m in shares)
                 + " (goal <= 20% at 1024 MB)")
    return text

handlers_local_ratios = quotients(cold_128=("peer.init_128_mb_ms", "lab.init_128_mb_ms"),
                                  tune_128=("peer.tune_128_mb_ms", "lab.tune_128_mb_ms"),
                                  tune_1024=("peer.tune_1024_mb_ms", "lab.tune_1024_mb_ms"),
                                  load_128=("peer.load_128_mb_p95_ms", "lab.load_128_mb_p95_ms"),
                                  load_1024=("peer.load_1024_mb_p95_ms", "lab.load_1024_mb_p95_ms"))


def handlers_local_summary(d, lab, peer, ratio):
    def first(f):
        return f"{f['meets_target_from_mb']} MB" if f.get("meets_target_from_mb") else "no size"
    return (f"Rust vs Python, local stack: cold start at 128 MB {num(lab['init_128_mb_ms'])} vs "
            f"{num(peer['init_128_mb_ms'])} ms (Python {times(ratio['cold_128'])}); tune avg at 128 MB "
            f"{num(lab['tune_128_mb_ms'])} vs {num(peer['tune_128_mb_ms'])} ms ({times(ratio['tune_128'])}), at 1024 MB "
            f"{num(lab['tune_1024_mb_ms'])} vs {num(peer['tune_1024_mb_ms'])} ms ({times(ratio['tune_1024'])}); p95 under "
            f"load at 128 MB {num(lab['load_128_mb_p95_ms'])} vs {num(peer['load_128_mb_p95_ms'])} ms, at 1024 MB "
            f"{num(lab['load_1024_mb_p95_ms'])} vs {num(peer['load_1024_mb_p95_ms'])} ms; "
            f"{d['settings']['target']} met from {first(lab)} vs {first(peer)}")


def load_join_ratios(lab, peer):
    return {"coverage_cold": div(lab["cold_coverage"], peer["cold_coverage"]),
            "coverage_warmed": div(lab["warmed_coverage"], peer["warmed_coverage"]),
            "seconds_past_planned": div(lab["seconds_past_planned"], peer["seconds_past_planned"])}


def load_join_summary(d, lab, peer, ratio):
    return (f"coverage through the stage URL (log, by time) {pct(lab['cold_coverage'])} of "
            f"{lab['cold_requests']} requests ({lab['cold_cold_starts']} cold starts) vs --via lambda (log tail) "
            f"{pct(peer['cold_coverage'])} of {peer['cold_requests']} ({peer['cold_cold_starts']}); after a "
            f"memory change {pct(lab['warmed_coverage'])} vs {pct(peer['warmed_coverage'])}; lab ran "
            f"{num(lab['seconds_past_planned'])} s past the test's length vs {num(peer['seconds_past_planned'])} s "
            f"(the log read and the pairing)")


def tune_stability_ratios(lab, peer):
    return {"same_winner_auto_vs_fixed": div(lab["same_winner"], peer["same_winner"])}


def tune_stability_summary(d, lab, peer, ratio):
    runs = d["settings"]["runs"]
    return (f"same winner in {lab['same_winner']} of {runs} repeats with --num auto ({lab['winner_mb']} MB, median "
            f"{lab['median_invocations']} invocations, {lab['runs_within_target']} runs all within ±5%) vs "
            f"{peer['same_winner']} of {runs} with --num 10 ({peer['winner_mb']} MB; PT's point pick "
            f"{peer['pt_same_winner']} of {runs}, {peer['pt_winner_mb']} MB)")


def load_baseline_ratios(lab, peer):
    return {f"power_{k.split('_')[1]}": div(v, lab["runs"]) for k, v in lab.items() if k.startswith("detected_")}


def load_baseline_summary(d, lab, peer, ratio):
    s = d["settings"]
    caught = ", ".join(f"{lab[f'detected_{mb}']} of {lab['runs']} at {mb} MB (median p50 change "
                       f"{num(lab[f'median_p50_change_{mb}_pct'])}%, p95 {num(lab[f'median_p95_change_{mb}_pct'])}%)"
                       for mb in s["regressed_mb"])
    return (f"--baseline (--regression {num(s['regression_pct'])}%, baseline {s['baseline_mb']} MB) caught {caught} "
            f"vs {peer['false_positives']} false alarms in {peer['runs']} unchanged reruns (median p50 change "
            f"{num(peer['median_p50_change_pct'])}%)")


BENCHES = [
    dict(name="handler", script="scripts/bench-handler.sh", ratios=handler_ratios, summary=handler_summary,
         what="the Rust handler vs the tutorial's Python handler (awslambdaric), both under a Runtime API, "
              "against moto"),
    dict(name="up", script="scripts/bench-up.sh", ratios=up_ratios, summary=up_summary,
         what="`lab up`/`down` vs the same calls scripted with the AWS CLI, against the local stack"),
    dict(name="gateway", script="scripts/bench-gateway.sh", ratios=gateway_ratios, summary=gateway_summary,
         what="stage URL through the local gateway vs a bare loopback server, same client"),
    dict(name="load", script="scripts/bench-load.sh", ratios=load_ratios, summary=load_summary,
         what="`lab load`'s generator vs oha and wrk on the same loopback target"),
    dict(name="strict-up-down", script="scripts/bench-strict.sh", ratios=strict_ratios, summary=strict_summary,
         what="`lab up`/`down` on the strict stack at time scale 1.0 (AWS's own delays) vs the floor those "
              "delays set"),
    dict(name="iam", script="scripts/bench-iam.sh", ratios=iam_ratios, summary=iam_summary,
         what="IAM actions per verb (`lab policy`); `lab up` then the first successful `lab call` on the strict "
              "stack at time scale 1.0 under `lab policy`, vs the floor AWS's delays set (with the permission's "
              "propagation)"),
    dict(name="tune-strict", script="scripts/bench-tune-strict.sh", ratios=tune_strict_ratios,
         summary=tune_strict_summary,
         what="the tutorial's tune (4 powers x 10, parallel) on the strict local stack at AWS's own delays vs "
              "the same tune sequential, same run"),
    dict(name="first-run", script="scripts/bench-first-run.sh", ratios=first_run_ratios,
         summary=first_run_summary,
         what="a clean clone's scripts/run then scripts/test (empty target/ and lab cache) vs the same at the "
              "revision before the second house issue, same run"),
    dict(name="cpu-memory", script="scripts/bench-cpu-memory.sh", ratios=cpu_memory_ratios,
         summary=cpu_memory_summary,
         what="a CPU-bound function's REPORT Duration against memory (`lab tune --parallel --num 10`, "
              "128-1769 MB) beside 1769/memory, with the local stack's CPU budget vs the same stack without it"),
    dict(name="local-handler", script="scripts/bench-local-handler.sh", ratios=local_handler_ratios,
         summary=local_handler_summary,
         what="the bootstrap the local stack runs (what scripts/run builds) vs the one `lab up` ships to AWS "
              "(profile lambda), same driver, same moto"),
    dict(name="soak-strict", script="scripts/soak-strict.sh", ratios=None, summary=None,
         what="up → calls → tune → load → down, 5 rounds on the strict stack, the account inventoried "
              "after each down", fixed="pass/fail, not a figure"),
    dict(name="persistence", script="scripts/bench-persistence.sh", ratios=persistence_ratios,
         summary=persistence_summary,
         what="the local stack with persistence (write-ahead log and snapshots) vs without, same run: "
              "recovery and items lost over kill -9s of moto during writes, `lab load` throughput"),
    dict(name="tune", script="scripts/bench-tune.sh", ratios=tune_ratios, summary=tune_summary,
         what="the tutorial's tune input (4 powers x 10, parallel and sequential) on the local stack vs the "
              "floor: the function's own time and the memory changes"),
    dict(name="load-memory", script="scripts/bench-load-memory.sh", ratios=load_memory_ratios,
         summary=load_memory_summary,
         what="`lab load`'s peak RSS at 10, 1,000 and 10,000 VUs vs oha at as many connections, one loopback "
              "target"),
    dict(name="dataplane", script="scripts/bench-dataplane.sh", ratios=dataplane_ratios,
         summary=dataplane_summary,
         what="the tutorial's item operations through the stage URL with lab's native DynamoDB item store vs "
              "moto serving items (the path before it), same run; GetItem straight to the gateway, each way; and "
              "scripts/run's `lab load --memory 128,1024` on each, with the emulator's own share of the latency"),
    dict(name="load-peers", script="scripts/bench-load-peers.sh", ratios=load_peers_ratios,
         summary=load_peers_summary,
         what="`lab load` vs hey (closed model, local stage URL) and oha --latency-correction (open model, a "
              "target stalling 500 ms a second); --workers 1, 2, 4 on the local Lambda vs in process"),
    dict(name="handlers-local", script="scripts/bench-handlers-local.sh", ratios=handlers_local_ratios,
         summary=handlers_local_summary,
         what="`lab tutorial --compare-handlers` on the local stack: lab's Rust handler (as it ships) vs the "
              "tutorial's own Python function, same run, same stack: cold start, tune at 128-1024 MB, p95 "
              "under load at each size"),
    dict(name="tune-stability", script="scripts/bench-tune-stability.sh", ratios=tune_stability_ratios,
         summary=tune_stability_summary,
         what="the same `lab tune` (128-1024 MB, strategy cost) repeated on the local stack: how often the most "
              "frequent winner won with --num auto vs a fixed --num 10, alternated in the same run"),
    dict(name="load-join", script="scripts/bench-load-join.sh", ratios=load_join_ratios,
         summary=load_join_summary,
         what="`lab load` joined with Lambda's REPORT lines on the local stack: the stage URL (the function's "
              "log, paired by time) vs --via lambda (Invoke's log tail, exact), same run: coverage, and the "
              "seconds the join adds"),
    dict(name="load-baseline", script="scripts/bench-load-baseline.sh", ratios=load_baseline_ratios,
         summary=load_baseline_summary,
         what="`lab load --baseline`'s power (runs at a lowered memory caught) vs its false-positive rate "
              "(unchanged reruns failed), each against a fresh baseline made just before, on the local stack, same run"),
]
BY_NAME = {b["name"]: b for b in BENCHES}


# --- the record --------------------------------------------------------------------------------------------

def git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def cores():
    try:
        return len(os.sched_getaffinity(0))  # what nproc prints
    except AttributeError:
        return os.cpu_count()


def relative(value):
    """A path under the repository, as the repository sees it; anything else unchanged."""
    if isinstance(value, str) and value.startswith(str(ROOT) + os.sep):
        return value[len(str(ROOT)) + 1:]
    return value


def derive(doc):
    """Fills what, ratio and summary from the bench's definition and the record's figures."""
    bench = BY_NAME[doc["name"]]
    doc["what"] = bench["what"]
    doc["ratio"] = bench["ratios"](doc["lab"], doc["peer"]) if doc.get("peer") else {}
    doc["summary"] = bench["summary"](doc, doc["lab"], doc.get("peer") or {}, doc["ratio"])
    return doc


ORDER = ["name", "what", "summary", "date", "git_revision", "git_dirty", "cores", "machine", "load_average",
         "settings"]


def ordered(doc):
    """Header fields first, then any extra fields, then lab, peer and ratio."""
    tail = ["lab", "peer", "ratio"]
    out = {k: doc[k] for k in ORDER if k in doc}
    out.update({k: v for k, v in doc.items() if k not in ORDER and k not in tail})
    out.update({k: doc[k] for k in tail if k in doc})
    return out


def write(doc, results=None):
    results = Path(results or os.environ.get("BENCH_RESULTS") or RESULTS)
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{doc['name']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(ordered(doc), indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def record(name, lab, peer, settings=None, extra=None):
    """Writes bench/results/NAME.json from one run's figures; returns (path, record)."""
    if name not in BY_NAME or BY_NAME[name]["summary"] is None:
        raise SystemExit(f"bench_record: no bench named {name!r} with figures (see BENCHES in {__file__})")
    # A bench that measures a clean clone of HEAD (bench-first-run) says so: this tree's edits were not measured.
    measured_clone = os.environ.get("BENCH_MEASURED_CLEAN_CLONE") == "1"
    dirty = "" if measured_clone else git("status", "--porcelain", "--untracked-files=no")
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = None
    doc = {
        "name": name,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_revision": git("rev-parse", "--short", "HEAD"),
        "git_dirty": None if dirty is None else bool(dirty),
        "cores": cores(),
        "machine": machine(),
        "load_average": " ".join(load) if load else None,
        "settings": {k: relative(v) for k, v in (settings or {}).items()},
        **(extra or {}),
        "lab": lab,
        "peer": peer,
    }
    derive(doc)
    return write(doc), doc


def main(argv):
    if argv[:1] == ["--refresh"]:
        for p in argv[1:]:
            doc = json.loads(Path(p).read_text())
            derive(doc)
            Path(p).write_text(json.dumps(ordered(doc), indent=2, ensure_ascii=False) + "\n")
            print(f"refreshed {p}: {doc['summary']}")
        return
    if len(argv) != 1 or argv[0].startswith("-"):
        raise SystemExit(__doc__)
    given = json.load(sys.stdin)
    path, doc = record(argv[0], given["lab"], given.get("peer"), given.get("settings"), given.get("extra"))
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    print(f"recorded {shown}: {doc['summary']}")


if __name__ == "__main__":
    main(sys.argv[1:])
