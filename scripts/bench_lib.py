"""What the benches' Python shares (standard library only), and bench-lib.sh's own jobs.

Each scripts/bench-NAME.sh keeps its Python in scripts/bench_NAME.py (one module a script, a
subcommand a job where a script has several) and runs it through bench-lib.sh's `py`, which puts
scripts/ on the path and leaves no __pycache__ in the work tree:
    py "$ROOT/scripts/bench_gateway.py" record "$WORK" ...
The modules import what they share from here:
    from bench_lib import load_json, median, r3

Run as a script, it does what bench-lib.sh's shell functions need Python for:
    bench_lib.py zip OUT FILE MODE NAME    make_zip: a deterministic zip of one file
    bench_lib.py sequential IN OUT         tune_inputs: the tune input with "parallelInvocation": false
    bench_lib.py free-port                 free_port: a free TCP port on 127.0.0.1
    bench_lib.py median FILE               median: the median of a file of numbers, three decimals
"""

import json
import socket
import statistics
import sys
import zipfile


# --- reading what the shell and the tools wrote ----------------------------------------------------------

def load_json(path):
    """A JSON file."""
    return json.load(open(path))


def load_jsonl(path):
    """A file of JSON lines, one document a line."""
    return [json.loads(line) for line in open(path)]


def lab_run(path):
    """The first run of a `lab load -o json` answer (its summary, series and histogram)."""
    return load_json(path)["runs"][0]


def floats(text):
    """A run list as the shell passes it, "1.2 3.4", as numbers."""
    return [float(x) for x in text.split()]


def read_floats(path):
    """A file of numbers (e.g. the wall times bench-lib.sh's `timed` appends, one a line) as numbers."""
    return floats(open(path).read())


def walls(work):
    """Each tune run's wall time in seconds, by (mode, run), from WORK/walls ("mode run t0 t1" lines)."""
    out = {}
    for line in open(f"{work}/walls"):
        mode, run, t0, t1 = line.split()
        out[(mode, int(run))] = float(t1) - float(t0)
    return out


# --- figures ------------------------------------------------------------------------------------------

def median(values, digits=None):
    """The median (the mean of the two middle values of an even count), rounded to DIGITS if given."""
    m = statistics.median(values)
    return m if digits is None else round(m, digits)


def middle(runs, key=None):
    """The run at the median of KEY (the upper one of an even count): a real run, shown whole."""
    ordered = sorted(runs, key=key)
    return ordered[len(ordered) // 2]


def r3(x):
    """Three decimals, as the records keep seconds and milliseconds."""
    return round(x, 3)


def us_per_request(seconds, requests):
    """Seconds (of CPU, say) spread over REQUESTS, in microseconds each."""
    return seconds / requests * 1e6


# --- bench-lib.sh's jobs ---------------------------------------------------------------------------------

def make_zip(out, path, mode, name):
    """A deterministic zip holding one file at its root under NAME, with MODE (octal digits)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | int(mode, 8)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(path, "rb") as f, zipfile.ZipFile(out, "w") as z:
        z.writestr(info, f.read(), compresslevel=9)


def sequential_input(path, out):
    """The tune input at PATH with "parallelInvocation": false, written to OUT."""
    d = load_json(path)
    d["parallelInvocation"] = False
    json.dump(d, open(out, "w"), indent=2)


def free_port():
    """A TCP port on 127.0.0.1 that is free now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])


def print_median(path):
    """The median of the numbers in PATH as bench-up.sh prints its wall times: the middle one as written
    (an odd count), or the mean of the two middle ones to three decimals."""
    texts = open(path).read().split()
    print(middle(texts, key=float) if len(texts) % 2 else f"{median(map(float, texts)):.3f}")


# --- command lines ------------------------------------------------------------------------------------

def dispatch(commands, usage):
    """Runs the job the first argument names, with the others as its arguments; USAGE if none is named."""
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        raise SystemExit(usage)
    commands[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    dispatch({"zip": make_zip, "sequential": sequential_input, "free-port": free_port, "median": print_median},
             __doc__)
