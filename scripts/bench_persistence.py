#!/usr/bin/env python3
"""bench-persistence.sh's Python (standard library only): kills moto under writes and counts what
survives, then puts the figures on record.

    bench_persistence.py kills ENDPOINT STAGE_URL TABLE KILLS WRITERS OUT.json
    bench_persistence.py record WORK DURABLE_WRITE MEMORY_WRITE DURABLE_LIST MEMORY_LIST KILLS WRITERS VUS
                                DURATION ROUNDS LAB_BIN BOOTSTRAP

kills: writers POST creates of unique ids to the stage URL, as clients would, and keep the ids the stack
acknowledged (HTTP 200); on an error they back off 20 ms and go on. KILLS times, once writes flow
and the stack's standby moto is ready, moto is killed with SIGKILL (its pid from /_lab/status); a prober then sends a read every 5 ms and
the time from the kill to its first 200 is one recovery. At the end every acknowledged id is read
back: those missing are the items lost. Writes JSON figures to OUT.json.

record: the two stacks' kill figures (WORK/kills-durable.json, WORK/kills-memory.json) and their
`lab load` rounds (req/s, space-separated, one list per stack and mix) printed and written to
WORK/record.json.
"""

import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

from bench_lib import dispatch, floats, load_json, median, r3

GIVE_UP_S = 30


def post(url, doc, timeout=10):
    req = urllib.request.Request(url, data=json.dumps(doc).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def status(endpoint):
    with urllib.request.urlopen(f"{endpoint}/_lab/status", timeout=10) as r:
        return json.loads(r.read())


def restore_figures(endpoint):
    """What the new moto did before it served (the stack reports it once moto answers it)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        persistence = status(endpoint)["supervision"]["persistence"]
        if persistence:
            return persistence["restore"]
        time.sleep(0.05)
    return None


def kill_under_writes(endpoint, url, table, kills, writers, out):
    acked, lock, stop = [], threading.Lock(), threading.Event()
    counts = {"sent": 0, "errors": 0}

    def writer(n):
        i = 0
        while not stop.is_set():
            item_id = f"w{n}-{i}"
            code, _ = post(url, {"operation": "create", "tableName": table,
                                 "payload": {"Item": {"id": item_id, "n": i}}})
            with lock:
                counts["sent"] += 1
                if code == 200:
                    acked.append(item_id)
                else:
                    counts["errors"] += 1
            if code == 200:
                i += 1
            else:
                time.sleep(0.02)

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(writers)]
    for t in threads:
        t.start()
    recoveries, restores = [], []
    for k in range(kills):
        # Let writes flow (at least 100 acknowledged since the last recovery) before each kill.
        floor = len(acked) + 100
        while len(acked) < floor:
            time.sleep(0.01)
        # Kill as a crash comes, not back to back: once the standby that takes over is ready.
        deadline = time.monotonic() + 60
        while status(endpoint)["supervision"]["standby"] != "ready" and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = status(endpoint)["supervision"]["pid"]
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        recovered = None
        while time.monotonic() - killed < GIVE_UP_S:
            code, _ = post(url, {"operation": "read", "tableName": table, "payload": {"Key": {"id": "w0-0"}}}, 5)
            if code == 200:
                recovered = time.monotonic() - killed
                break
            time.sleep(0.005)
        if recovered is None:
            # A stack that lost its state never answers again (its API is gone): one kill says it.
            print(f"kill {k + 1}/{kills}: no successful call within {GIVE_UP_S} s", file=sys.stderr, flush=True)
            break
        recoveries.append(recovered)
        restores.append(restore_figures(endpoint))
        print(f"kill {k + 1}/{kills}: first successful call {recovered:.3f} s after the kill "
              f"(restore: {restores[-1]})", file=sys.stderr, flush=True)
    stop.set()
    for t in threads:
        t.join()
    lost = []
    ids = list(acked)

    def reader(part):
        for item_id in part:
            code, body = post(url, {"operation": "read", "tableName": table, "payload": {"Key": {"id": item_id}}})
            if code != 200 or not body or body.get("Item", {}).get("id") != item_id:
                with lock:
                    lost.append(item_id)

    parts = [ids[i::8] for i in range(8)]
    readers = [threading.Thread(target=reader, args=(p,)) for p in parts]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    final = status(endpoint)["supervision"]
    figures = {
        "kills": kills,
        "recovered": len(recoveries),
        "restarts": final["restarts"],
        "recovery_s": [r3(r) for r in recoveries],
        "recovery_median_s": median(recoveries, 3) if recoveries else None,
        "recovery_max_s": r3(max(recoveries)) if recoveries else None,
        # What each new moto did before it served: the snapshot's position, writes replayed, ms.
        "restores": restores,
        "writes_acknowledged": len(ids),
        "writes_failed": counts["errors"],
        "items_lost": len(lost),
        "lost_examples": sorted(lost)[:5],
    }
    json.dump(figures, open(out, "w"))
    print(json.dumps(figures), file=sys.stderr)


def kills(endpoint, url, table, count, writers, out):
    kill_under_writes(endpoint, url, table, int(count), int(writers), out)


def record(work, dw, mw, dl, ml, kills, writers, vus, duration, rounds, lab_bin, bootstrap):
    def med(text):
        return median(floats(text), 1)

    # Rounds alternate stacks (and which goes first), so each round's pair saw the same machine: the
    # median of the pairs' ratios is the cost, robust to other work on the machine drifting.
    def paired(a, b):
        return median((x / y for x, y in zip(floats(a), floats(b))), 4)

    durable = load_json(f"{work}/kills-durable.json")
    memory = load_json(f"{work}/kills-memory.json")
    lab = {
        "recovery_median_s": durable["recovery_median_s"], "recovery_max_s": durable["recovery_max_s"],
        "recovery_s": durable["recovery_s"], "kills": durable["kills"], "recovered": durable["recovered"],
        "restores": durable["restores"],
        "items_lost": durable["items_lost"], "writes_acknowledged": durable["writes_acknowledged"],
        "load_write_rps": med(dw), "load_list_rps": med(dl),
        "load_write_paired_ratio": paired(dw, mw), "load_list_paired_ratio": paired(dl, ml),
        "load_write_runs_rps": floats(dw), "load_list_runs_rps": floats(dl),
    }
    peer = {
        "name": "the same stack without persistence (--persist false)",
        "kills": memory["kills"], "recovered": memory["recovered"], "items_lost": memory["items_lost"],
        "writes_acknowledged": memory["writes_acknowledged"],
        "load_write_rps": med(mw), "load_list_rps": med(ml),
        "load_write_runs_rps": floats(mw), "load_list_runs_rps": floats(ml),
    }

    def cost(r):
        return f"{abs(round(100 * (1 - r), 1))}% " + ("slower" if r < 1 else "faster")

    print(f"recovery after kill -9 of moto: median {lab['recovery_median_s']} s, max {lab['recovery_max_s']} s "
          f"over {lab['recovered']}/{lab['kills']} kills")
    print(f"items lost: {lab['items_lost']} of {lab['writes_acknowledged']} acknowledged "
          f"(without persistence: {peer['items_lost']} of {peer['writes_acknowledged']} after one kill)")
    print(f"lab load, write mix: {lab['load_write_rps']} req/s vs {peer['load_write_rps']} without persistence "
          f"(medians); round by round {cost(lab['load_write_paired_ratio'])} (median of the pairs)")
    print(f"lab load, list:      {lab['load_list_rps']} req/s vs {peer['load_list_rps']} without persistence "
          f"(medians); round by round {cost(lab['load_list_paired_ratio'])} (median of the pairs)")
    json.dump({
        "settings": {"kills": int(kills), "writers": int(writers), "vus": int(vus), "duration_s": int(duration),
                     "rounds": int(rounds), "lab_bin": lab_bin, "bootstrap": bootstrap},
        "lab": lab, "peer": peer,
    }, open(f"{work}/record.json", "w"))


if __name__ == "__main__":
    dispatch({"kills": kills, "record": record}, __doc__)
