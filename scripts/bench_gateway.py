"""bench-gateway.sh's table and record, from the runs it left in WORK (standard library only).

    bench_gateway.py report WORK CLIENTS                 the table, on stdout
    bench_gateway.py record WORK CLIENTS DURATION SHORT MEMORY LOADAVG LAB_BIN BOOTSTRAP > record.json

WORK holds status-warm.json and status-end.json (the stack's /_lab/status after the warm-up and at the
end) and r-WORKLOAD-C.json, scripts/bench_http.py's figures for each workload (baseline, ping, list)
with C "c" (CLIENTS clients) and "1" (one client).
"""

import json
import sys

from bench_lib import dispatch, load_json, r3

WORKLOADS = ("baseline", "ping", "list")


def result(work, name):
    """One run's figures (bench_http.py client), e.g. name "ping-c"."""
    return load_json(f"{work}/r-{name}.json")


def errors(r):
    """Requests not answered 200, and reconnects."""
    return r["requests"] - r["statuses"].get("200", 0) + r["reconnects"]


def report(work, clients):
    warm, end = load_json(f"{work}/status-warm.json"), load_json(f"{work}/status-end.json")
    print(f"gateway: cpu {warm['cpu']}; concurrency limit {warm['concurrency_limit']}; "
          f"idle instances after warm-up {warm['idle_instances']}, at the end {end['idle_instances']}")
    print("client: one process per client, one keep-alive HTTP/1.1 socket each, closed loop "
          "(scripts/bench_http.py); 127.0.0.1 only")
    print("overhead = latency - x-lab-function-us (the function's own time; for list it includes moto's)")
    print("net = overhead minus the baseline's latency at the same percentile (client + loopback removed; a")
    print("      difference of percentiles, not per request: negative when the baseline's tail was the noisier)")
    print("server CPU = the gateway process's CPU per request (the echo server's for the baseline), function and moto not included")
    print()
    hdr = ("workload", "clients", "req/s", "errors", "p50 ms", "p90 ms", "p99 ms", "fn p50", "ovh p50", "ovh p99",
           "net p50", "net p99", "srv CPU us")
    fmt = "{:<10}{:>8}{:>10}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>11}"
    print(fmt.format(*hdr))
    for c in ("c", "1"):
        base = result(work, f"baseline-{c}")
        for name in WORKLOADS:
            r = result(work, f"{name}-{c}")
            lat, ovh = r["latency_ms"], r["overhead_ms"] or {}
            fn = (r["function_ms"] or {}).get("p50", 0.0)
            if name == "baseline" or not ovh:  # no x-lab-function-us header: a lab without it
                ovh_p50, ovh_p99, net50, net99 = "-", "-", "-", "-"
            else:
                ovh_p50, ovh_p99 = f"{ovh['p50']:.3f}", f"{ovh['p99']:.3f}"
                net50 = f"{ovh['p50'] - base['latency_ms']['p50']:.3f}"
                net99 = f"{ovh['p99'] - base['latency_ms']['p99']:.3f}"
            print(fmt.format(name, r["clients"], f"{r['req_per_s']:.0f}", errors(r), f"{lat['p50']:.3f}",
                             f"{lat['p90']:.3f}", f"{lat['p99']:.3f}", f"{fn:.3f}" if name != "baseline" else "-",
                             ovh_p50, ovh_p99, net50, net99, r["server_cpu_us_per_req"]))
    for c in ("c", "1"):
        for name in WORKLOADS[1:]:
            r = result(work, f"{name}-{c}")
            if r["statuses"].get("200", 0) != r["requests"] or r["reconnects"]:
                print(f"note: {name} with {r['clients']} clients: statuses {r['statuses']}, "
                      f"reconnects {r['reconnects']}, e.g. {r['sample']}")


def record(work, clients, duration, short, memory, load_before, lab_bin, bootstrap):
    lab = {}
    for suffix, c in (("", "c"), ("_1", "1")):
        base = result(work, f"baseline-{c}")
        for name in WORKLOADS[1:]:
            r = result(work, f"{name}-{c}")
            lab[f"{name}{suffix}_rps"] = r["req_per_s"]
            lab[f"{name}{suffix}_p50_ms"] = r["latency_ms"]["p50"]
            lab[f"{name}{suffix}_p99_ms"] = r["latency_ms"]["p99"]
            lab[f"{name}{suffix}_errors"] = errors(r)
            lab[f"{name}{suffix}_server_cpu_us_per_req"] = r["server_cpu_us_per_req"]
            if r["overhead_ms"] is None:  # a lab whose gateway does not send x-lab-function-us
                sys.exit("bench-gateway: no x-lab-function-us in the answers, no overhead to record")
            lab[f"{name}{suffix}_function_p50_ms"] = r["function_ms"]["p50"]
            lab[f"{name}{suffix}_overhead_p50_ms"] = r["overhead_ms"]["p50"]
            lab[f"{name}{suffix}_overhead_p99_ms"] = r["overhead_ms"]["p99"]
            # Net of the client and loopback: a difference of percentiles, as printed above.
            lab[f"{name}{suffix}_net_p50_ms"] = r3(r["overhead_ms"]["p50"] - base["latency_ms"]["p50"])
            lab[f"{name}{suffix}_net_p99_ms"] = r3(r["overhead_ms"]["p99"] - base["latency_ms"]["p99"])
    peer = {"name": "a bare loopback server (asyncio, fixed pong; scripts/bench_http.py), same client"}
    for suffix, c in (("", "c"), ("_1", "1")):
        r = result(work, f"baseline-{c}")
        peer[f"rps{suffix}"] = r["req_per_s"]
        peer[f"p50{suffix}_ms"] = r["latency_ms"]["p50"]
        peer[f"p99{suffix}_ms"] = r["latency_ms"]["p99"]
        peer[f"server_cpu_us_per_req{suffix}"] = r["server_cpu_us_per_req"]
    json.dump({"settings": {"clients": int(clients), "duration_s": float(duration), "short_s": float(short),
                            "memory_mb": int(memory), "load_average_before": load_before,
                            "lab_bin": lab_bin, "bootstrap": bootstrap},
               "lab": lab, "peer": peer}, sys.stdout)


if __name__ == "__main__":
    dispatch({"report": report, "record": record}, __doc__)
