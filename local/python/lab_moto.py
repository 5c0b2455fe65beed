"""lab's moto launcher: moto's own server app, made durable.

lab writes this file next to the local stack's state and runs it with moto's Python. It serves moto
exactly as `moto_server` does (same WSGI app, same request handler), on a listening socket the
gateway owns and hands down (so the port never changes across restarts), behind one middleware:

- every call that changes moto's state and succeeds is appended to a write-ahead log *before* the
  answer leaves, in the order moto applied it (mutations are serialised, as moto's GIL mostly does
  anyway), so an acknowledged write survives a kill of this process;
- calls that create identifiers (API Gateway ids, IAM ids...) run alone with moto's random source
  seeded by their log position, so replaying the log gives the same ids (the invoke URL a user
  saved keeps working);
- now and then the whole state is pickled to a snapshot in a forked child (copy-on-write, Redis
  style), and the log segments it covers are deleted: a restart unpickles and replays a short tail.

Endpoints under /_lab/: info, snapshot (synchronous, on a clean stop), reset (empties state and log).
"""

import argparse
import base64
import ctypes
import io
import json
import os
import signal
import sys
import threading
import time
import traceback

from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder

from moto.core.config import default_user_config
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from moto_state import Log, dump_state, load_state

PR_SET_PDEATHSIG = 1

# Operation names that only read (JSON and query protocols); REST reads are GET/HEAD.
READ_PREFIXES = (
    "Get", "Describe", "List", "Query", "Scan", "BatchGet", "TransactGet", "Filter", "Search",
    "Simulate", "Test", "AssumeRole", "Lookup", "Select",
)
# Writes whose effect creates no identifier: they need no seed and may run beside reads.
PLAIN_WRITES = {
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
    "PutLogEvents", "CreateLogStream", "CreateLogGroup",
}
# Headers a replay needs; the rest (dates, user agents, invocation ids) only bloat the log.
DROP_HEADERS = {
    "user-agent", "x-amz-user-agent", "amz-sdk-invocation-id", "amz-sdk-request", "x-amz-date",
    "content-length", "connection", "accept-encoding", "accept", "x-lab-seed", "host",
    "x-amz-content-sha256", "expect", "transfer-encoding",
}


class RwLock:
    """Many readers or one writer; a waiting writer holds new readers back (no starvation)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.readers = 0
        self.writer = False

    def acquire_shared(self):
        with self.cond:
            while self.writer:
                self.cond.wait()
            self.readers += 1

    def release_shared(self):
        with self.cond:
            self.readers -= 1
            if self.readers == 0:
                self.cond.notify_all()

    def acquire_exclusive(self):
        with self.cond:
            while self.writer:
                self.cond.wait()
            self.writer = True
            while self.readers:
                self.cond.wait()

    def release_exclusive(self):
        with self.cond:
            self.writer = False
            self.cond.notify_all()


def read_body(environ):
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH") or ""
    if stream is None:
        return b""
    if length.isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def operation(environ, body):
    """The API operation of a JSON or query-protocol call (None for REST)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    for source in (environ.get("QUERY_STRING", ""), body.decode("latin-1") if b"Action=" in body else ""):
        for pair in source.split("&"):
            if pair.startswith("Action="):
                return pair[len("Action="):]
    return None


def classify(environ, body):
    """'read' (not logged), 'plain' (logged, no seed) or 'seeded' (logged, runs alone, seeded)."""
    method = environ["REQUEST_METHOD"]
    if method in ("GET", "HEAD", "OPTIONS") or environ.get("PATH_INFO", "").startswith("/moto-api/"):
        return "read"
    op = operation(environ, body)
    if op is None:
        return "seeded"
    if op.startswith(READ_PREFIXES):
        return "read"
    return "plain" if op in PLAIN_WRITES else "seeded"


class Durable:
    """The middleware: locks, log, seeds; and the /_lab/ endpoints."""

    def __init__(self, app, log):
        self.app = app
        self.log = log
        self.lock = RwLock()
        self.mutation = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_lab/"):
            return self.admin(path, start_response)
        body = read_body(environ) if environ["REQUEST_METHOD"] not in ("GET", "HEAD") else b""
        kind = classify(environ, body) if self.log else "read"
        if path == "/moto-api/reset" and self.log:
            return self.admin("/_lab/reset", start_response)
        if kind == "read":
            self.lock.acquire_shared()
            try:
                status, headers, chunks = self.run(environ)
            finally:
                self.lock.release_shared()
        elif kind == "plain":
            self.lock.acquire_shared()
            try:
                with self.mutation:
                    status, headers, chunks = self.run(environ)
                    if status.startswith("2"):
                        self.log.append(self.entry(environ, body, False))
            finally:
                self.lock.release_shared()
        else:
            self.lock.acquire_exclusive()
            try:
                # The position this entry will take seeds moto's random source: replay seeds it alike.
                mock_random.seed(self.log.seq + 1)
                status, headers, chunks = self.run(environ)
                if status.startswith("2"):
                    self.log.append(self.entry(environ, body, True))
            finally:
                self.lock.release_exclusive()
        start_response(status, headers)
        return chunks

    def run(self, environ):
        captured = {}

        def start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: captured.setdefault("early", []).append(data)

        result = self.app(environ, start)
        try:
            chunks = captured.get("early", []) + [bytes(c) for c in result]
        finally:
            if hasattr(result, "close"):
                result.close()
        return captured["status"], captured["headers"], chunks

    @staticmethod
    def entry(environ, body, seeded):
        headers = [
            [k[5:].replace("_", "-").lower(), v]
            for k, v in environ.items()
            if k.startswith("HTTP_") and k[5:].replace("_", "-").lower() not in DROP_HEADERS
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(["content-type", environ["CONTENT_TYPE"]])
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        return {
            "seeded": seeded,
            "method": environ["REQUEST_METHOD"],
            "path": raw.split("?", 1)[0],
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
            "body": base64.b64encode(body).decode("ascii"),
        }

    def admin(self, path, start_response):
        try:
            if path == "/_lab/info":
                doc = self.info()
            elif path == "/_lab/snapshot" and self.log:
                doc = self.snapshot(fork=False)
            elif path == "/_lab/reset":
                doc = self.reset()
            else:
                doc, status = {"error": f"unknown endpoint {path}"}, "404 Not Found"
                return self.reply(start_response, status, doc)
            return self.reply(start_response, "200 OK", doc)
        except Exception as e:
            traceback.print_exc()
            return self.reply(start_response, "500 Internal Server Error", {"error": repr(e)})

    @staticmethod
    def reply(start_response, status, doc):
        body = json.dumps(doc).encode()
        start_response(status, [("content-type", "application/json"), ("content-length", str(len(body)))])
        return [body]

    def info(self):
        if not self.log:
            return {"persistent": False, "pid": os.getpid()}
        files = self.log.segment_files()
        size = lambda p: os.path.getsize(p) if os.path.exists(p) else 0
        return dict(
            self.log.info,
            persistent=True,
            pid=os.getpid(),
            seq=self.log.seq,
            snapshot_seq=self.log.snapshot_seq,
            snapshot_bytes=size(self.log.snapshot),
            wal_bytes=sum(size(p) for _, p in files),
            wal_segments=len(files),
            entries_since_snapshot=self.log.since_entries,
        )

    def reset(self):
        from moto.moto_api._internal.models import moto_api_backend

        self.lock.acquire_exclusive()
        try:
            moto_api_backend.reset()
            if self.log:
                for _, path in self.log.segment_files():
                    os.unlink(path)
                if os.path.exists(self.log.snapshot):
                    os.unlink(self.log.snapshot)
                for name in os.listdir(self.log.blobs) if os.path.isdir(self.log.blobs) else []:
                    os.unlink(os.path.join(self.log.blobs, name))
                self.log.snapshot_seq = self.log.seq
                self.log.since_entries = self.log.since_bytes = 0
                self.log.open_segment()
        finally:
            self.lock.release_exclusive()
        return {"reset": True}

    def snapshot(self, fork):
        """Snapshot at the current position: in a forked child (requests go on) or right here."""
        with self.log.compacting:
            started = time.time()
            self.lock.acquire_exclusive()
            try:
                seq = self.log.seq
                self.log.open_segment()
                self.log.since_entries = self.log.since_bytes = 0
                if fork:
                    parent = os.getpid()
                    pid = os.fork()
                    if pid == 0:
                        code = 1
                        try:
                            # Die with this moto: an orphan finishing later would rename an older
                            # snapshot over the next moto's newer one.
                            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                            if os.getppid() != parent:
                                os._exit(1)
                            dump_state(self.log.snapshot, seq, self.log.blobs)
                            code = 0
                        except BaseException:
                            traceback.print_exc()
                        finally:
                            os._exit(code)
                else:
                    dump_state(self.log.snapshot, seq, self.log.blobs)
            finally:
                self.lock.release_exclusive()
            if fork:
                _, status = os.waitpid(pid, 0)
                if status != 0:
                    self.log.info["errors"] += 1
                    return {"error": f"snapshot child failed ({status})"}
            self.log.snapshot_seq = seq
            self.log.drop_covered(seq)
            ms = round((time.time() - started) * 1000, 1)
            self.log.info["compactions"] += 1
            self.log.info["last_compaction_ms"] = ms
            return {"seq": seq, "ms": ms}

    def compactor(self):
        while True:
            self.log.wake.wait()
            self.log.wake.clear()
            started = time.time()
            try:
                self.snapshot(fork=True)
            except Exception:
                traceback.print_exc()
            # A snapshot costs in proportion to the whole state: the next one waits at least four
            # times as long as this one took (and a second), so snapshots stay a fifth of a core at
            # most however large the state, while the tail to replay stays a few seconds of writes.
            took = time.time() - started
            time.sleep(max(1.0, 4 * took) - took)

    def restore(self):
        """Snapshot, then the log after it, through moto's own app, before the socket is served."""
        started = time.time()
        log = self.log
        stats = {"snapshot_seq": 0, "replayed": 0, "failed": 0}
        log.sweep()
        if os.path.exists(log.snapshot):
            try:
                log.snapshot_seq = log.seq = load_state(log.snapshot, log.blobs)
            except Exception as e:
                # Never start empty silently over a user's state: say what to do (last, so the
                # gateway's error shows it), and stop.
                traceback.print_exc()
                sys.stderr.flush()
                print(f"lab moto: cannot restore {log.snapshot} ({e!r}); start empty with "
                      "`lab local start --fresh` (or `lab local reset`) once you have saved what you need",
                      flush=True)
                sys.exit(1)
            stats["snapshot_seq"] = log.seq
        for entry in log.entries():
            environ = EnvironBuilder(
                method=entry["method"],
                path=entry["path"],
                query_string=entry["query"],
                headers=entry["headers"],
                data=base64.b64decode(entry["body"]),
            ).get_environ()
            if entry["seeded"]:
                mock_random.seed(entry["seq"])
            status, _, _ = self.run(environ)
            stats["replayed"] += 1
            if not status.startswith("2"):
                stats["failed"] += 1
                print(f"lab moto: replaying entry {entry['seq']} answered {status}", flush=True)
            log.seq = entry["seq"]
        stats["ms"] = round((time.time() - started) * 1000, 1)
        log.info["restore"] = stats
        log.open_segment()
        if stats["replayed"]:
            log.wake.set()
        print(f"lab moto: restored {json.dumps(stats)}", flush=True)


# One harmless read per service lab uses: moto builds each service's app, imports its models and
# creates its backend on first use; doing it first makes that happen at the same point in every run.
WARM_UP = [
    ("POST", "/", "dynamodb", "DynamoDB_20120810.ListTables", b"{}"),
    ("GET", "/2015-03-31/functions", "lambda", None, b""),
    ("GET", "/restapis", "apigateway", None, b""),
    ("POST", "/", "iam", None, b"Action=ListRoles&Version=2010-05-08"),
    ("POST", "/", "logs", "Logs_20140328.DescribeLogGroups", b"{}"),
    ("POST", "/", "sts", None, b"Action=GetCallerIdentity&Version=2011-06-15"),
]


def warm_up(app):
    for method, path, service, target, body in WARM_UP:
        headers = {
            "authorization": f"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0",
            "content-type": "application/x-amz-json-1.0" if target else "application/x-www-form-urlencoded",
        }
        if target:
            headers["x-amz-target"] = target
        environ = EnvironBuilder(method=method, path=path, headers=headers, data=body).get_environ()
        try:
            result = app(environ, lambda *_: None)
            list(result)
        except Exception:
            traceback.print_exc()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, help="an inherited listening socket")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--state", help="the folder of the log and snapshot (none: not durable)")
    parser.add_argument("--compact-entries", type=int, default=200)
    parser.add_argument("--standby", action="store_true", help="load everything, then wait for 'go' on stdin")
    parser.add_argument("--compact-bytes", type=int, default=8 * 1024 * 1024)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # Functions run in lab's gateway, never in Docker: moto must know before any CreateFunction replays.
    default_user_config["lambda"] = {"use_docker": False}
    app = DomainDispatcherApplication(create_backend_app)
    # Always, standby or not: the services' backends then exist before any logged call, in the run
    # that logged it and in the one replaying it, so a seeded call draws the same random numbers.
    warm_up(app)
    if args.standby:
        # A standby pays Python's start and moto's imports now; when the moto before it dies, the
        # gateway says "go" and this one only restores the state and serves.
        print("lab moto: standby ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return
    log = Log(args.state, args.compact_entries, args.compact_bytes) if args.state else None
    durable = Durable(app, log)
    if log:
        durable.restore()
        threading.Thread(target=durable.compactor, daemon=True).start()
    server = make_server(
        "127.0.0.1", args.port, durable, threaded=True, request_handler=MotoRequestHandler, fd=args.fd
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
