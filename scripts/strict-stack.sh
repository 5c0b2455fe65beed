# Sourced by scripts that drive a strict local stack of their own (soak-strict, bench-strict):
# builds lab and the handler unless LAB_BIN is given, starts `lab local serve --strict` at time
# scale $SCALE on a free loopback port with its own LAB_HOME, stops it on exit, and defines
# `lab` (the CLI against that stack) and $ENDPOINT. Needs ROOT and SCALE set.
cd "$ROOT"
scripts/install-deps >/dev/null
if [ -z "${LAB_BIN:-}" ]; then
    cargo build -q --bin lab -p handler --bin bootstrap
    LAB_BIN=$ROOT/target/debug/lab
fi
BOOTSTRAP=${BOOTSTRAP:-$ROOT/target/debug/bootstrap}
[ -x "$BOOTSTRAP" ] || cargo build -q -p handler --bin bootstrap

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ENDPOINT=http://127.0.0.1:$PORT
export LAB_HOME=$WORK NO_COLOR=1
SERVE_PID=
cleanup() {
    if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$LAB_BIN" local serve --local-port "$PORT" --strict --time-scale "$SCALE" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 300); do curl -sf "$ENDPOINT/_lab/health" >/dev/null && break; sleep 0.1; done
curl -sf "$ENDPOINT/_lab/health" >/dev/null || { echo "the local stack did not start:" >&2; tail "$WORK/serve.log" >&2; exit 1; }
lab() { "$LAB_BIN" --local --local-port "$PORT" "$@"; }
