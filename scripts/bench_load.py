"""bench-load.sh's figures: one line per measurement, then the table and the record (standard library only).

    bench_load.py measure PHASE TOOL OUT C0 C1 T0 T1 RATE >> results.jsonl
        one run of TOOL (lab, oha or wrk; its output in OUT) as a JSON line, with the generator's CPU
        seconds (C1 - C0) and the target's (T1 - T0); RATE 0 for the closed loop; a summary on stderr
    bench_load.py rate RESULTS SHARE
        the fixed rate of (b): SHARE of the slowest tool's median throughput in (a), whole hundreds, 100 at least
    bench_load.py report RESULTS RATE LIGHT_RATE CONNECTIONS DURATION ROUNDS TARGET_THREADS LOAD_AFTER WIDE_GROUP
        the table and the goals, on stdout
    bench_load.py record RESULTS RATE LIGHT_RATE CONNECTIONS DURATION ROUNDS TARGET_THREADS OHA_VERSION WRK_VERSION LAB_BIN WIDE_GROUP
        the record, on stdout

TOOL lab-grouped is lab with `--arrival-group WIDE_GROUP`, at the fixed rate of (b) only.
"""

import json
import sys

from bench_lib import dispatch, lab_run, load_json, load_jsonl, median, middle, r3, us_per_request

TOOLS = ("lab", "oha", "wrk")


def measure(phase, tool, path, c0, c1, t0, t1, rate):
    if tool in ("lab", "lab-grouped"):
        run = lab_run(path)
        s = run["summary"]
        r = dict(rps=s["throughput_rps"], p50_ms=s["p50_ms"], p99_ms=s["p99_ms"], errors=s["errors"],
                 requests=s["requests"], dropped=s.get("dropped_iterations", 0))
        # The open model's lateness (summary.generator): the generator's own, and the waits for a free
        # connection apart. No peer reports its own; oha's and wrk's rows carry none.
        g = s.get("generator")
        if g:
            r.update(late_p50_ms=g["own"]["p50_ms"], late_p99_ms=g["own"]["p99_ms"],
                     clock_p99_ms=g["clock"]["p99_ms"], hand_off_p99_ms=g["hand_off"]["p99_ms"],
                     dispatch_p99_ms=g["dispatch"]["p99_ms"], vu_wait_p99_ms=g["vu_wait"]["p99_ms"],
                     net_p99_ms=g["net_latency"]["p99_ms"], late=g.get("late"),
                     # Counted as oha counts (from its timer's wake): the like-for-like figure.
                     as_oha_p50_ms=g["from_clock_latency"]["p50_ms"],
                     as_oha_p99_ms=g["from_clock_latency"]["p99_ms"])
        # How long lab's own threads waited for a core (its lateness stages cannot see it).
        c = run.get("generator_cpu")
        if c:
            r.update(cpu_wait_share=c["share"], cpu_starved=c.get("starved"))
    elif tool == "oha":
        d = load_json(path)
        ok = sum(int(v) for v in d["statusCodeDistribution"].values())
        # oha's "aborted due to deadline" are the requests cut off when -z ends, not failures.
        errs = sum(v for k, v in d["errorDistribution"].items() if "deadline" not in k)
        r = dict(rps=d["summary"]["requestsPerSec"], p50_ms=d["latencyPercentiles"]["p50"] * 1e3,
                 p99_ms=d["latencyPercentiles"]["p99"] * 1e3, errors=errs, requests=ok, dropped=0)
    else:
        line = next(x for x in open(path).read().splitlines() if x.startswith("WRKJSON "))
        w = json.loads(line[len("WRKJSON "):])
        r = dict(rps=w["requests"] / (w["duration_us"] / 1e6), p50_ms=w["p50_us"] / 1e3,
                 p99_ms=w["p99_us"] / 1e3, errors=w["errors"], requests=w["requests"], dropped=0)
    r.update(phase=phase, tool=tool, rate=float(rate),
             gen_cpu_s=float(c1) - float(c0), target_cpu_s=float(t1) - float(t0))
    print(json.dumps(r))
    late = (f"  own lateness p50 {r['late_p50_ms']:.3f} p99 {r['late_p99_ms']:.3f} ms (clock {r['clock_p99_ms']:.3f}, "
            f"hand-off {r['hand_off_p99_ms']:.3f}, dispatch {r['dispatch_p99_ms']:.3f}; free-VU wait {r['vu_wait_p99_ms']:.3f})"
            if "late_p99_ms" in r else "")
    print(f"    {phase:<6} {tool:<11} {r['rps']:>10.0f} req/s  p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
          f"errors {r['errors']}{late}", file=sys.stderr)


def rate(path, share):
    rows = load_jsonl(path)
    slowest = min(median(r["rps"] for r in rows if r["tool"] == t) for t in TOOLS)
    print(max(100, int(slowest * float(share) // 100 * 100)))


def max_runs(rows, tool):
    """(a)'s rounds of TOOL by throughput, and the round with the median throughput among them."""
    runs = sorted((r for r in rows if r["phase"] == "max" and r["tool"] == tool), key=lambda r: r["rps"])
    return middle(runs, key=lambda r: r["rps"]), runs


# (b)'s figures taken as the median over its rounds, each figure on its own: at a fixed rate on two
# cores shared with the target, one 10-s run's p99 moved between 1.8 and 5.4 ms for either tool.
ROUND_MEDIANS = ("rps", "p50_ms", "p99_ms", "late_p50_ms", "late_p99_ms", "clock_p99_ms", "hand_off_p99_ms",
                 "dispatch_p99_ms", "vu_wait_p99_ms", "net_p99_ms", "as_oha_p50_ms", "as_oha_p99_ms",
                 "cpu_wait_share")
# Summed over the rounds: CPU per request is then total CPU over total requests.
ROUND_SUMS = ("errors", "dropped", "requests", "gen_cpu_s", "target_cpu_s")


def fixed_run(rows, rr, tool):
    """(b)'s rounds of TOOL at the fixed rate RR as one row (None if none ran): each figure's median
    over the rounds, counts and CPU summed, the run at the median p99 for the rest (its sentence),
    and every round's p50 and p99 as `rounds_p50_ms` and `rounds_p99_ms`."""
    runs = [r for r in rows if r["phase"] == f"r{rr}" and r["tool"] == tool]
    if not runs:
        return None
    out = dict(middle(runs, key=lambda r: r["p99_ms"]))
    out.update({k: median(r[k] for r in runs) for k in ROUND_MEDIANS if all(k in r for r in runs)})
    out.update({k: sum(r[k] for r in runs) for k in ROUND_SUMS})
    out.update(rounds_p50_ms=[r3(r["p50_ms"]) for r in runs], rounds_p99_ms=[r3(r["p99_ms"]) for r in runs])
    return out


def grouped_trade(rows, rr):
    """(c): lab at the fixed rate RR with its default hold and with the wide one, each against oha in
    the same rounds (p50, p99, CPU per request, and the clock's own p99); None if (c) did not run."""
    lab, wide, oha = (fixed_run(rows, rr, t) for t in ("lab", "lab-grouped", "oha"))
    if not (lab and wide and oha):
        return None
    oha_cpu = us_per_req(oha["gen_cpu_s"], oha, float("nan"))

    def row(r):
        cpu = us_per_req(r["gen_cpu_s"], r, float("nan"))
        return dict(p50_ms=r["p50_ms"], p99_ms=r["p99_ms"], cpu_us=cpu, clock_p99_ms=r.get("clock_p99_ms", float("nan")),
                    p50_vs_oha=r["p50_ms"] / oha["p50_ms"], p99_vs_oha=r["p99_ms"] / oha["p99_ms"],
                    cpu_vs_oha=cpu / oha_cpu)
    return {"default": row(lab), "wide": row(wide)}


def us_per_req(cpu_s, r, none):
    """CPU seconds per request of run R in µs; NONE when it made no request."""
    return us_per_request(cpu_s, r["requests"]) if r["requests"] else none


def report(path, rate, light, conn, duration, rounds, tthreads, load_after, wide_group):
    rows = load_jsonl(path)
    nan = float("nan")
    print()
    print(f"Load generators on one loopback target (examples/bench_target.rs, {tthreads} tokio threads), "
          "POST {\"operation\":\"ping\"} (20 bytes), 39-byte JSON answer.")
    print("Generator and target share the machine's 2 cores: every figure is both together.")
    print()
    print(f"(a) max throughput, closed loop, {conn} connections/VUs, {duration} per run, "
          f"median of {rounds} rounds (all rounds' req/s in brackets)")
    hdr = f"{'tool':<5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'gen CPU µs/req':>15} {'target CPU µs/req':>18}  rounds"
    print(hdr)
    print("-" * len(hdr))
    best = {}
    for tool in TOOLS:
        r, runs = max_runs(rows, tool)
        best[tool] = r
        print(f"{tool:<5} {r['rps']:>9.0f} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['errors']:>7} "
              f"{us_per_req(r['gen_cpu_s'], r, nan):>15.1f} {us_per_req(r['target_cpu_s'], r, nan):>18.1f}  "
              "[" + ", ".join(f"{x['rps']:.0f}" for x in runs) + "]")
    faster = max(("oha", "wrk"), key=lambda t: best[t]["rps"])
    ratio = best["lab"]["rps"] / best[faster]["rps"]
    print()
    print(f"lab / faster peer ({faster}) throughput: {ratio:.2f}  "
          f"(lab/oha {best['lab']['rps'] / best['oha']['rps']:.2f}, lab/wrk {best['lab']['rps'] / best['wrk']['rps']:.2f})")
    print(f"goal >= 0.90 of the faster peer's throughput: {'MET' if ratio >= 0.9 else 'NOT MET'}")
    print("(p50/p99 in (a) are each tool at its own saturation, so not at equal load: see (b).)")

    print()
    print(f"(b) equal load, open model (constant arrival rate, latency from the intended send time), "
          f"{conn} connections, {duration} per run, {rounds} rounds, the order alternated: each figure is "
          "its median over the rounds (every round's p99 in brackets), CPU per request over all of them")
    print("    wrk is absent: Debian's wrk 4.1 has no fixed-rate mode (wrk2 has, and is not packaged in Debian).")
    print("    gen late: the generator's own lateness (actual - intended send, waits for a free connection apart),")
    print("    p50/p99 ms; free-VU wait p99 beside it. Only lab measures its own: oha and wrk report none.")
    hdr = (f"{'rate/s':>7} {'tool':<5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'dropped':>8} "
           f"{'gen CPU µs/req':>15}  lab/oha p50  lab/oha p99  {'gen late p50/p99':>17} {'VU wait p99':>11}")
    print(hdr)
    print("-" * len(hdr))
    met_all = cpu_met = True
    for rr in (rate, light):
        lab, oha = fixed_run(rows, rr, "lab"), fixed_run(rows, rr, "oha")
        q50 = lab["p50_ms"] / oha["p50_ms"]
        q99 = lab["p99_ms"] / oha["p99_ms"]
        for r in (lab, oha):
            extra = f"  {q50:>11.2f}  {q99:>11.2f}" if r is lab else " " * 26
            if "late_p99_ms" in r:
                extra += f"  {r['late_p50_ms']:>8.3f}/{r['late_p99_ms']:<8.3f} {r['vu_wait_p99_ms']:>11.3f}"
            else:
                extra += f"  {'-':>17} {'-':>11}"
            print(f"{rr:>7} {r['tool']:<5} {r['rps']:>9.0f} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['errors']:>7} "
                  f"{r['dropped']:>8} {us_per_req(r['gen_cpu_s'], r, nan):>15.1f}{extra}  "
                  "[" + ", ".join(f"{x:.3f}" for x in r["rounds_p99_ms"]) + "]")
        for r in (lab, oha):
            # An open-model generator that falls behind its schedule measures a different load: say so.
            if r["rps"] < 0.95 * float(rr):  # the rounds' median
                print(f"        {r['tool']} did not sustain {rr}/s: {r['rps']:.0f}/s sent, {r['dropped']} arrivals dropped "
                      "(no free connection at their send time)")
        if lab.get("late"):
            print(f"        lab: {lab['late']}")
        if "cpu_wait_share" in lab:
            print(f"        lab's threads waited for a core {lab['cpu_wait_share'] * 100:.1f}% of the run (median of the rounds)"
                  + (f"; {lab['cpu_starved']}" if lab.get("cpu_starved") else ""))
        if "as_oha_p50_ms" in lab:
            a50, a99 = lab["as_oha_p50_ms"] / oha["p50_ms"], lab["as_oha_p99_ms"] / oha["p99_ms"]
            print(f"        lab counted as oha counts (from its clock's wake, not the intended time): p50 "
                  f"{lab['as_oha_p50_ms']:.3f} ms ({a50:.2f}x oha's), p99 {lab['as_oha_p99_ms']:.3f} ms ({a99:.2f}x)")
        met = q50 <= 1.10 and q99 <= 1.10
        met_all &= met
        print(f"        at {rr}/s: lab p50/p99 within 10% of oha's (or lower): {'MET' if met else 'NOT MET'}")
        cpu = us_per_req(lab["gen_cpu_s"], lab, nan) / us_per_req(oha["gen_cpu_s"], oha, nan)
        cpu_met &= cpu <= 1.0
        print(f"        at {rr}/s: lab's generator CPU per request {cpu:.2f}x oha's: "
              f"{'MET' if cpu <= 1.0 else 'NOT MET'} (goal: at most oha's)")
    trade = grouped_trade(rows, rate)
    if trade:
        print(f"(c) at {rate}/s, the clock's hold: lab's default against --arrival-group {wide_group}, "
              "each against oha in the same rounds")
        for label, t in (("default", trade["default"]), (f"--arrival-group {wide_group}", trade["wide"])):
            print(f"        {label:<24} p50 {t['p50_ms']:.3f} ms ({t['p50_vs_oha']:.2f}x oha's), p99 {t['p99_ms']:.3f} ms "
                  f"({t['p99_vs_oha']:.2f}x), generator CPU {t['cpu_us']:.1f} µs/request ({t['cpu_vs_oha']:.2f}x), "
                  f"clock's own p99 {t['clock_p99_ms']:.3f} ms")
    print(f"goal p50/p99 within 10% of the peer's at equal load: {'MET' if met_all else 'NOT MET'}")
    print(f"goal generator CPU per request at most oha's at equal load: {'MET' if cpu_met else 'NOT MET'}")
    print()
    print(f"load average after the run: {load_after}")


def record(path, rate, light, conn, duration, rounds, tthreads, oha_version, wrk_version, lab_bin, wide_group):
    rows = load_jsonl(path)

    def figures(tool, also=()):
        # The round with the median throughput, as printed above; CPU per request from that round.
        # ALSO: more (label, rate, tool) runs recorded under LABEL, as the fixed and light ones are.
        r, runs = max_runs(rows, tool)
        gen, target = us_per_req(r["gen_cpu_s"], r, None), us_per_req(r["target_cpu_s"], r, None)
        out = {"max_rps": round(r["rps"], 1), "max_p50_ms": r3(r["p50_ms"]), "max_p99_ms": r3(r["p99_ms"]),
               "max_errors": r["errors"],
               "gen_cpu_us_per_req": round(gen, 2) if gen is not None else None,
               "target_cpu_us_per_req": round(target, 2) if target is not None else None,
               "max_rounds_rps": [round(x["rps"], 1) for x in runs]}
        for label, rr, source in (("fixed", rate, tool), ("light", light, tool), *also):
            f = fixed_run(rows, rr, source)
            if f:
                cpu = us_per_req(f["gen_cpu_s"], f, None)
                out.update({f"{label}_rate": int(rr), f"{label}_rps": round(f["rps"], 1),
                            f"{label}_p50_ms": r3(f["p50_ms"]), f"{label}_p99_ms": r3(f["p99_ms"]),
                            f"{label}_errors": f["errors"], f"{label}_dropped": f["dropped"],
                            f"{label}_gen_cpu_us_per_req": round(cpu, 2) if cpu is not None else None,
                            f"{label}_rounds_p50_ms": f["rounds_p50_ms"],
                            f"{label}_rounds_p99_ms": f["rounds_p99_ms"]})
                if "late_p99_ms" in f:
                    out.update({f"{label}_gen_late_p50_ms": r3(f["late_p50_ms"]),
                                f"{label}_gen_late_p99_ms": r3(f["late_p99_ms"]),
                                f"{label}_clock_p99_ms": r3(f["clock_p99_ms"]),
                                f"{label}_hand_off_p99_ms": r3(f["hand_off_p99_ms"]),
                                f"{label}_dispatch_p99_ms": r3(f["dispatch_p99_ms"]),
                                f"{label}_vu_wait_p99_ms": r3(f["vu_wait_p99_ms"]),
                                f"{label}_net_p99_ms": r3(f["net_p99_ms"])})
                if "cpu_wait_share" in f:
                    out[f"{label}_cpu_wait_share"] = round(f["cpu_wait_share"], 4)
                if "as_oha_p50_ms" in f:
                    out.update({f"{label}_as_oha_p50_ms": r3(f["as_oha_p50_ms"]),
                                f"{label}_as_oha_p99_ms": r3(f["as_oha_p99_ms"])})
        return out

    # (c): lab with the wide hold, at the fixed rate, as grouped_*.
    lab = figures("lab", also=(("grouped", rate, "lab-grouped"),))
    if "grouped_rps" in lab:
        lab["grouped_arrival_group"] = wide_group
    json.dump({"settings": {"connections": int(conn), "duration": duration, "rounds": int(rounds),
                            "target_threads": int(tthreads), "lab_bin": lab_bin},
               "lab": lab,
               "peer": {"name": f"{oha_version or 'oha'} and {wrk_version or 'wrk'}",
                        "oha": figures("oha"), "wrk": figures("wrk")}}, sys.stdout)


if __name__ == "__main__":
    dispatch({"measure": measure, "rate": rate, "report": report, "record": record}, __doc__)
