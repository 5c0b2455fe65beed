"""The durable side of lab's moto launcher: the write-ahead log and the snapshots.

The log is a folder of segments, each named by the position of its first entry; an entry is one
JSON line (method, raw path, query, the headers a replay needs, the body in base64, its position,
and whether it ran seeded). A snapshot pickles every moto backend at a position; the segments it
covers are then deleted. A restart loads the snapshot and replays the entries after it.
"""

import collections
import hashlib
import importlib
import json
import os
import pickle
import sys
import threading
import weakref
import _thread

from moto.core.base_backend import BackendDict

SNAPSHOT_VERSION = 2
# Strings and bytes this large (deployment packages) are kept once, by SHA-256, beside the snapshot:
# a snapshot then pickles a reference, so taking one costs the same after a 30 MB deploy as before.
BLOB_MIN = 1 << 20


def backend_dicts():
    """Every BackendDict in use, keyed by the module attribute that holds it."""
    found = {}
    for bd in list(BackendDict._instances):
        module = sys.modules.get(bd.backend.__module__)
        names = [k for k, v in vars(module or {}).items() if v is bd] if module else []
        if names:
            found[(module.__name__, names[0])] = bd
    return found


def lookup_backend_dict(module, name):
    return getattr(importlib.import_module(module), name)


class StatePickler(pickle.Pickler):
    """moto's models pickle as they are except for a few containers built around local functions."""

    def __init__(self, file, names, blobs):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.names = names
        self.blobs = blobs
        self.used = {}

    def blob(self, value):
        """A reference to `value`, written once under its SHA-256."""
        known = self.used.get(id(value))
        if known:
            return known[0]
        data = value if type(value) is bytes else value.encode("utf-8")
        sha = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.blobs, sha)
        if not os.path.exists(path):
            write_durably(path, data)
        ref = BlobRef(sha, type(value) is str)
        # Keep the value alive in the map so its id cannot be reused by another object in this dump.
        self.used[id(value)] = (ref, value)
        return ref

    def without_blobs(self, value, depth=0):
        """`value` with large strings and bytes (in it, or in dicts and lists in it) as references."""
        if type(value) in (bytes, str) and len(value) >= BLOB_MIN:
            return self.blob(value)
        if depth < 2 and type(value) is dict:
            return {k: self.without_blobs(v, depth + 1) for k, v in value.items()}
        if depth < 2 and type(value) is list:
            return [self.without_blobs(v, depth + 1) for v in value]
        return value

    def reducer_override(self, obj):
        if isinstance(obj, BlobRef):
            return (load_blob, (obj.sha, obj.is_str))
        # Only Lambda's models hold deployment packages: checking just them keeps the per-object
        # cost off the rest (DynamoDB items, log events are most of a large state).
        if type(obj).__module__.startswith("moto.awslambda") and hasattr(obj, "__dict__"):
            state = {k: self.without_blobs(v) for k, v in vars(obj).items()}
            return (new_object, (type(obj),), state)
        if isinstance(obj, BackendDict):
            # A model that points at a whole service keeps pointing at the live one after restore.
            key = self.names.get(id(obj))
            if key:
                return (lookup_backend_dict, key)
        if isinstance(obj, weakref.WeakValueDictionary):
            return (weakref.WeakValueDictionary, (dict(obj),))
        if isinstance(obj, collections.defaultdict):
            factory = obj.default_factory
            try:
                pickle.dumps(factory)
            except Exception:
                factory = type(factory()) if factory else None
            return (collections.defaultdict, (factory,), None, None, iter(obj.items()))
        if isinstance(obj, _thread.LockType):
            return (threading.Lock, ())
        if isinstance(obj, _thread.RLock):
            return (threading.RLock, ())
        return NotImplemented


class BlobRef:
    """A large value kept in the blobs folder, by SHA-256."""

    def __init__(self, sha, is_str):
        self.sha = sha
        self.is_str = is_str


# Where load_blob reads: set by load_state before it unpickles.
BLOB_DIR = None


def load_blob(sha, is_str):
    with open(os.path.join(BLOB_DIR, sha), "rb") as f:
        data = f.read()
    return data.decode("utf-8") if is_str else data


def new_object(cls):
    return cls.__new__(cls)


def write_durably(path, data):
    """Temporary file, fsync, rename: a reader never sees half of it."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def dump_state(path, seq, blobs):
    """Pickles every backend to `path` (never half written), large values to `blobs`; then deletes
    the blobs no longer referenced."""
    os.makedirs(blobs, exist_ok=True)
    dicts = backend_dicts()
    state = {key: {acct: dict(asb) for acct, asb in bd.items()} for key, bd in dicts.items()}
    names = {id(bd): key for key, bd in dicts.items()}
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        pickler = StatePickler(f, names, blobs)
        pickler.dump({"version": SNAPSHOT_VERSION, "seq": seq, "state": state})
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    fsync_dir(os.path.dirname(path))
    kept = {ref.sha for ref, _ in pickler.used.values()}
    for name in os.listdir(blobs):
        if name not in kept:
            os.unlink(os.path.join(blobs, name))


def load_state(path, blobs):
    """Installs a snapshot's backends into the live BackendDicts; returns its log position."""
    global BLOB_DIR
    BLOB_DIR = blobs
    with open(path, "rb") as f:
        doc = pickle.load(f)
    if doc.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"snapshot version {doc.get('version')} is not {SNAPSHOT_VERSION}")
    for (module, name), accounts in doc["state"].items():
        live = lookup_backend_dict(module, name)
        for account, regions in accounts.items():
            per_account = live[account]
            for region, backend in regions.items():
                dict.__setitem__(per_account, region, backend)
    return doc["seq"]


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Log:
    """The write-ahead log: segments named by their first entry's position, plus one snapshot."""

    def __init__(self, folder, compact_entries, compact_bytes):
        self.folder = folder
        self.segments = os.path.join(folder, "wal")
        self.snapshot = os.path.join(folder, "moto.snapshot")
        self.blobs = os.path.join(folder, "blobs")
        os.makedirs(self.segments, exist_ok=True)
        self.compact_entries = compact_entries
        self.compact_bytes = compact_bytes
        self.seq = 0
        self.snapshot_seq = 0
        self.fd = None
        self.since_entries = 0
        self.since_bytes = 0
        self.append_lock = threading.Lock()
        self.compacting = threading.Lock()
        self.wake = threading.Event()
        self.info = {"compactions": 0, "last_compaction_ms": None, "restore": None, "errors": 0}

    def sweep(self):
        """Deletes what a moto killed mid-snapshot left: temporary files (`*.tmp<pid>`)."""
        for folder in (self.folder, self.blobs):
            for name in os.listdir(folder) if os.path.isdir(folder) else []:
                if ".tmp" in name:
                    os.unlink(os.path.join(folder, name))

    def segment_files(self):
        names = sorted(n for n in os.listdir(self.segments) if n.endswith(".jsonl"))
        return [(int(n.split(".")[0]), os.path.join(self.segments, n)) for n in names]

    def open_segment(self):
        if self.fd is not None:
            os.close(self.fd)
        path = os.path.join(self.segments, f"{self.seq + 1:016d}.jsonl")
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fsync_dir(self.segments)

    def append(self, entry):
        """Assigns the next position and writes the entry (one write; the page cache keeps it if
        this process dies). Called with the mutation lock held, so positions follow moto's order."""
        with self.append_lock:
            self.seq += 1
            entry["seq"] = self.seq
            data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
            self.since_entries += 1
            self.since_bytes += len(data)
            if self.since_entries >= self.compact_entries or self.since_bytes >= self.compact_bytes:
                self.wake.set()
            return self.seq

    def drop_covered(self, seq):
        """Deletes segments whose every entry is in the snapshot at `seq`."""
        files = self.segment_files()
        for i, (first, path) in enumerate(files):
            upper = files[i + 1][0] - 1 if i + 1 < len(files) else None
            if upper is not None and upper <= seq:
                os.unlink(path)

    def entries(self):
        """Every logged entry after the snapshot, in order; a torn last line (a kill mid-write) ends a segment."""
        for _, path in self.segment_files():
            with open(path, "rb") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        break
                    if entry["seq"] > self.snapshot_seq:
                        yield entry
