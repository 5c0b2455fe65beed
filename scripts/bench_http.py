#!/usr/bin/env python3
"""Load client and trivial baseline server for scripts/bench-gateway.sh (standard library only).

    bench_http.py client URL BODY_FILE --clients 10 --duration 15 [--pid PID] [--header 'K: V']...
                                         -> one JSON line
    bench_http.py echo-server            -> prints `listening on 127.0.0.1:N`, serves until killed

Why not oha or http.client: oha reports summaries only, so it cannot pair each request's latency with
the `x-lab-function-us` header of its own response, and Python's http.client costs several times more
CPU per request than the raw keep-alive socket used here, CPU the 2-core machine takes from the
gateway. Each client is its own process (no GIL shared between clients) holding one HTTP/1.1
keep-alive connection, sending the next request as soon as the previous answer is read (closed loop).
"""

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import resource
import socket
import sys
import time
from array import array
from urllib.parse import urlsplit


def read_response(sock, buf):
    """Reads one response; returns (status, function_us or -1, body, leftover bytes)."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by server")
        buf += chunk
    head = buf[:end].split(b"\r\n")
    status = int(head[0].split(b" ", 2)[1])
    length, function_us = None, -1
    for line in head[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"x-lab-function-us":
            function_us = int(value)
    if length is None:
        raise ValueError("response without content-length (chunked is not expected here)")
    rest = buf[end + 4:]
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by server")
        rest += chunk
    return status, function_us, rest[:length], rest[length:]


def connect(host, port):
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def worker(url, body, start_ns, duration_s, queue, headers=()):
    u = urlsplit(url)
    host, port = u.hostname, u.port or 80
    extra = "".join(f"{h}\r\n" for h in headers)
    content_type = "" if any(h.lower().startswith("content-type:") for h in headers) else "Content-Type: application/json\r\n"
    request = (
        f"POST {u.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n{content_type}{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    sock = connect(host, port)
    latency, function = array("q"), array("q")
    statuses, reconnects, sample = {}, 0, None
    end_ns = start_ns + int(duration_s * 1e9)
    # Everyone starts at the same instant, after the connections are open.
    delay = (start_ns - time.perf_counter_ns()) / 1e9
    if delay > 0:
        time.sleep(delay)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    buf = b""
    while True:
        t0 = time.perf_counter_ns()
        if t0 >= end_ns:
            break
        try:
            sock.sendall(request)
            status, fn_us, answer, buf = read_response(sock, buf)
        except (ConnectionError, OSError):
            # The server closed the connection (e.g. after an error answer): count it, reopen, go on.
            reconnects += 1
            sock.close()
            sock, buf = connect(host, port), b""
            continue
        t1 = time.perf_counter_ns()
        latency.append(t1 - t0)
        function.append(fn_us)
        statuses[status] = statuses.get(status, 0) + 1
        if sample is None or status != 200:
            sample = answer[:120].decode("utf-8", "replace")
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    sock.close()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    queue.put((latency.tobytes(), function.tobytes(), statuses, reconnects, sample, cpu))


def cpu_seconds(pid):
    """User + system CPU of one process so far, from /proc (the gateway's own, not its children's)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values, p):
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def run_client(args):
    body = open(args.body_file, "rb").read()
    queue = mp.Queue()
    start_ns = time.perf_counter_ns() + int(0.5e9)
    procs = [
        mp.Process(target=worker, args=(args.url, body, start_ns, args.duration, queue, tuple(args.header)))
        for _ in range(args.clients)
    ]
    for p in procs:
        p.start()
    time.sleep(max(0.0, (start_ns - time.perf_counter_ns()) / 1e9))
    server_cpu0 = cpu_seconds(args.pid) if args.pid else None
    results = [queue.get() for _ in procs]
    server_cpu = cpu_seconds(args.pid) - server_cpu0 if args.pid else None
    for p in procs:
        p.join()

    latency, function, statuses, reconnects, samples, client_cpu = array("q"), array("q"), {}, 0, [], 0.0
    for lat, fn, st, rc, sample, cpu in results:
        latency.frombytes(lat)
        function.frombytes(fn)
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
        reconnects += rc
        samples.append(sample)
        client_cpu += cpu
    n = len(latency)
    lat_sorted = sorted(latency)
    # Time outside the function: only for answers that carry the gateway's header.
    overhead = sorted(l - f * 1000 for l, f in zip(latency, function) if f >= 0)
    fn_sorted = sorted(f * 1000 for f in function if f >= 0)
    ms = lambda ns: round(ns / 1e6, 3)
    out = {
        "clients": args.clients,
        "duration_s": args.duration,
        "requests": n,
        "req_per_s": round(n / args.duration, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "reconnects": reconnects,
        "latency_ms": {f"p{p}": ms(percentile(lat_sorted, p)) for p in (50, 90, 99)},
        "function_ms": {f"p{p}": ms(percentile(fn_sorted, p)) for p in (50, 99)} if fn_sorted else None,
        "overhead_ms": {f"p{p}": ms(percentile(overhead, p)) for p in (50, 90, 99)} if overhead else None,
        "client_cpu_us_per_req": round(client_cpu / n * 1e6, 1) if n else None,
        "server_cpu_us_per_req": round(server_cpu / n * 1e6, 1) if n and server_cpu is not None else None,
        "sample": samples[0] if samples else None,
    }
    print(json.dumps(out))


class Echo(asyncio.Protocol):
    """Answers every POST at once with a fixed pong: a server that costs close to nothing."""

    ANSWER = (
        b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 6\r\n'
        b'x-lab-function-us: 0\r\n\r\n"pong"'
    )

    def connection_made(self, transport):
        self.transport, self.buf = transport, b""
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buf[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            self.transport.write(self.ANSWER)


def run_echo(args):
    async def main():
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        # The same line as the other loopback servers (bench-lib.sh's start_listener waits for it).
        print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()

    asyncio.run(main())


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("url")
    c.add_argument("body_file")
    c.add_argument("--clients", type=int, default=10)
    c.add_argument("--duration", type=float, default=15)
    c.add_argument("--pid", type=int, help="server process whose CPU time per request to report")
    c.add_argument("--header", action="append", default=[], help="an extra request header, 'Name: value'")
    sub.add_parser("echo-server")
    args = ap.parse_args()
    if not urlsplit(getattr(args, "url", "http://127.0.0.1/")).hostname.startswith("127."):
        sys.exit("bench_http.py only sends traffic to 127.0.0.0/8")
    run_client(args) if args.cmd == "client" else run_echo(args)


if __name__ == "__main__":
    main()
