#!/usr/bin/env bash
# Peak memory (RSS) of `lab load` at 10, 1,000 and 10,000 VUs, closed model against one loopback
# target (examples/bench_target.rs), beside oha with the same number of connections in the same run.
# A VU holds its connection and a few words; the latency histograms are a few shared recorder shards,
# so memory should grow by a small constant per VU (the connection's buffers) and no more.
#
# Prints the figures and records them (scripts/bench_record.py) in bench/results/load-memory.json.
# Knobs: BENCH_DURATION (5s), BENCH_VUS ("10 1000 10000"), LAB_BIN / TARGET_BIN (skip the builds;
# without them both are built in release, which takes a while the first time).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_DURATION:-5s}
VUS_LIST=${BENCH_VUS:-"10 1000 10000"}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
WORK=$(mktemp -d)
TARGET_PID=
cleanup() {
    if [ -n "$TARGET_PID" ]; then kill "$TARGET_PID" 2>/dev/null || true; wait "$TARGET_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '==> %s\n' "$*" >&2; }

cd "$ROOT"
BUILD=release
if [ -z "${LAB_BIN:-}" ]; then
    say "building lab (release)"
    cargo build -q --release --bin lab
    LAB_BIN=$ROOT/target/release/lab
else
    # Say which build the figures are of (LAB_BUILD=debug for a debug binary copied elsewhere).
    case "$LAB_BIN" in */debug/*) BUILD=debug ;; esac
    BUILD=${LAB_BUILD:-$BUILD}
fi
if [ -z "${TARGET_BIN:-}" ]; then
    cargo build -q --release --example bench_target
    TARGET_BIN=$ROOT/target/release/examples/bench_target
fi
if ! command -v oha >/dev/null; then
    say "oha is not installed (cargo install oha): the peer column stays empty"
fi
# 10,000 connections on each side.
ulimit -n "$(ulimit -Hn)"
"$TARGET_BIN" 0 2 >"$WORK/target.out" &
TARGET_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/target.out" 2>/dev/null && break; sleep 0.05; done
URL=http://127.0.0.1:$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$WORK/target.out")/

# Peak RSS (KB) of one command, from the kernel's accounting (GNU time's %M), and its output.
peak() { /usr/bin/time -f 'PEAK_KB %M' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || true; sed -n 's/^PEAK_KB //p' "$WORK/time"; }

echo '{}' >"$WORK/figures.json"
for vus in $VUS_LIST; do
    lab_kb=$(peak "$LAB_BIN" load --url "$URL" --vus "$vus" --duration "$DURATION" --load-profile fixed \
        --payload '{"operation":"ping"}' -o json)
    lab_req=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["summary"]["requests"])' "$WORK/out")
    oha_kb=null
    if command -v oha >/dev/null; then
        oha_kb=$(peak oha -z "$DURATION" -c "$vus" -m POST -d '{"operation":"ping"}' \
            -H 'content-type: application/json' --no-tui --output-format json "$URL")
    fi
    say "$vus VUs: lab peak RSS ${lab_kb} KB ($lab_req requests), oha ${oha_kb} KB"
    python3 - "$WORK/figures.json" "$vus" "$lab_kb" "$oha_kb" "$lab_req" <<'PY'
import json, sys
path, vus, lab, oha, req = sys.argv[1:]
d = json.load(open(path))
d.setdefault("lab", {})[f"rss_{vus}_vus_mb"] = int(lab) / 1024
d["lab"][f"requests_{vus}_vus"] = int(req)
if oha != "null":
    d.setdefault("peer", {"name": "oha"})[f"rss_{vus}_vus_mb"] = int(oha) / 1024
json.dump(d, open(path, "w"))
PY
done
python3 - "$WORK/figures.json" "$DURATION" "$BUILD" "$VUS_LIST" <<'PY' | python3 "$ROOT/scripts/bench_record.py" load-memory
import json, sys
path, duration, build, vus = sys.argv[1:]
d = json.load(open(path))
d.setdefault("peer", None)
d["settings"] = {"duration": duration, "build": build, "vus": [int(v) for v in vus.split()],
                 "target": "examples/bench_target.rs, 2 threads", "model": "closed, fixed profile"}
print(json.dumps(d))
PY
