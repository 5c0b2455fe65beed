#!/usr/bin/env python3
"""A loopback HTTP target that stalls for the first 500 ms of every second (standard library only).

    bench_stall.py [PORT]      (0 picks a free one; prints `listening on 127.0.0.1:N`)

A request arriving during a stall is answered at the half-second mark, any other at once, with a
small JSON body: a server pausing once a second, on which a generator that times requests from their
actual send (coordinated omission) reports the pause away, and one that times them from their intended
send (wrk2, oha --latency-correction, lab's open model) reports it.
"""

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

START = time.monotonic()
BODY = b'{"Items":[],"Count":0}'


class Stall(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        into = time.monotonic() - START
        if into % 1.0 < 0.5:
            time.sleep(int(into) + 0.5 - into)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Stall)
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
