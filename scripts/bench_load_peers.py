"""bench-load-peers.sh's figures, from the runs it left in WORK (standard library only).

    bench_load_peers.py WORK DURATION CONNECTIONS RATE WORKER_VUS BUILD ROUNDS    the record, on stdout

WORK holds (a) a-lab-R.json / a-hey-R.txt and their GNU time CPU (a-TOOL-R.cpu, "user system") for
each round R, (b) b-lab.json and b-oha.json, (c) c-N.json for N workers (0: in process). The
medians of (a)'s rounds are kept; progress goes to stderr.
"""

import json
import re
import sys

from bench_lib import lab_run, load_json, median, us_per_request


def cpu_us_per_request(path, requests):
    """The CPU GNU time recorded in PATH ("user system"), per request."""
    user, system = map(float, open(path).read().split()[-2:])
    return us_per_request(user + system, requests)


def main(work, duration, conn, rate, wvus, build, rounds):
    rounds = int(rounds)

    def run(name):
        return lab_run(f"{work}/{name}")

    labs = [run(f"a-lab-{r}.json")["summary"] for r in range(1, rounds + 1)]
    heys = [open(f"{work}/a-hey-{r}.txt").read() for r in range(1, rounds + 1)]
    a = {"throughput_rps": median(s["throughput_rps"] for s in labs),
         "avg_ms": median(s["avg_ms"] for s in labs)}
    hey_rps = median(float(re.search(r"Requests/sec:\s+([\d.]+)", h).group(1)) for h in heys)
    hey_avg = median(float(re.search(r"Average:\s+([\d.]+) secs", h).group(1)) * 1000 for h in heys)
    hey_requests = [int(re.search(r"\[200\]\s+(\d+) responses", h).group(1)) for h in heys]
    lab_cpu = median(cpu_us_per_request(f"{work}/a-lab-{r}.cpu", labs[r - 1]["requests"]) for r in range(1, rounds + 1))
    hey_cpu = median(cpu_us_per_request(f"{work}/a-hey-{r}.cpu", hey_requests[r - 1]) for r in range(1, rounds + 1))
    print(f"    (a) rounds: lab {[round(s['throughput_rps']) for s in labs]} req/s, hey "
          f"{[h.split('Requests/sec:')[1].split()[0] for h in heys]} req/s", file=sys.stderr)
    b = run("b-lab.json")["summary"]
    oha = load_json(f"{work}/b-oha.json")
    lab = {"closed_rps": a["throughput_rps"], "closed_avg_ms": a["avg_ms"], "closed_cpu_us_per_req": lab_cpu,
           "stall_p99_ms": b["p99_ms"], "stall_p50_ms": b["p50_ms"], "stall_rps": b["throughput_rps"]}
    exact = True
    for n in (0, 1, 2, 4):
        r = run(f"c-{n}.json")
        s = r["summary"]
        exact &= sum(p["requests"] for p in r["series"]) == s["requests"] == sum(h["count"] for h in r["histogram"])
        lab[f"workers_{n}_rps"] = s["throughput_rps"]
        lab[f"workers_{n}_requests"] = s["requests"]
    lab["counts_exact"] = exact
    peer = {"name": "hey, oha",
            "hey": {"closed_rps": hey_rps, "closed_avg_ms": hey_avg, "closed_cpu_us_per_req": hey_cpu},
            "oha": {"stall_p99_ms": oha["latencyPercentiles"]["p99"] * 1000,
                    "stall_p50_ms": oha["latencyPercentiles"]["p50"] * 1000,
                    "stall_rps": oha["summary"]["requestsPerSec"]}}
    for k, v in lab.items():
        print(f"    lab {k}: {v}", file=sys.stderr)
    print(f"    hey {peer['hey']}\n    oha {peer['oha']}", file=sys.stderr)
    print(json.dumps({"lab": lab, "peer": peer, "settings": {
        "duration": duration, "connections": int(conn), "stall_rate": float(rate), "worker_vus": int(wvus),
        "build": build, "payload": "ping", "local_concurrency": 24, "rounds_a": rounds}}))


if __name__ == "__main__":
    main(*sys.argv[1:8])
