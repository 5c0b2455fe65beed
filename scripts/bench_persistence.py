#!/usr/bin/env python3
"""Kills moto under writes and counts what survives (standard library only; scripts/bench-persistence.sh).

    bench_persistence.py ENDPOINT STAGE_URL TABLE KILLS WRITERS OUT.json

Writers POST creates of unique ids to the stage URL, as clients would, and keep the ids the stack
acknowledged (HTTP 200); on an error they back off 20 ms and go on. KILLS times, once writes flow
and the stack's standby moto is ready, moto is killed with SIGKILL (its pid from /_lab/status); a prober then sends a read every 5 ms and
the time from the kill to its first 200 is one recovery. At the end every acknowledged id is read
back: those missing are the items lost. Writes JSON figures to OUT.json.
"""

import json
import os
import signal
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request


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


def main(endpoint, url, table, kills, writers, out):
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
        "recovery_s": [round(r, 3) for r in recoveries],
        "recovery_median_s": round(statistics.median(recoveries), 3) if recoveries else None,
        "recovery_max_s": round(max(recoveries), 3) if recoveries else None,
        # What each new moto did before it served: the snapshot's position, writes replayed, ms.
        "restores": restores,
        "writes_acknowledged": len(ids),
        "writes_failed": counts["errors"],
        "items_lost": len(lost),
        "lost_examples": sorted(lost)[:5],
    }
    json.dump(figures, open(out, "w"))
    print(json.dumps(figures), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 7:
        raise SystemExit(__doc__)
    e, u, t, k, w, o = sys.argv[1:]
    main(e, u, t, int(k), int(w), o)
