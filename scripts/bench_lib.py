"""What the bench scripts' inline Python shares (standard library only).

The scripts run their Python through bench-lib.sh's `py`, which puts scripts/ on the path:
    py - ARGS <<'PY'
    from bench_lib import walls, middle
"""

import statistics


def floats(text):
    """A run list as the shell passes it, "1.2 3.4", as numbers."""
    return [float(x) for x in text.split()]


def median(values, digits=3):
    """The median, rounded as the records keep it."""
    return round(statistics.median(values), digits)


def middle(runs, key):
    """The run at the median of KEY (the upper one of an even count): a real run, shown whole."""
    ordered = sorted(runs, key=key)
    return ordered[len(ordered) // 2]


def walls(work):
    """Each tune run's wall time in seconds, by (mode, run), from WORK/walls ("mode run t0 t1" lines)."""
    out = {}
    for line in open(f"{work}/walls"):
        mode, run, t0, t1 = line.split()
        out[(mode, int(run))] = float(t1) - float(t0)
    return out


def r3(x):
    """Three decimals, as the records keep seconds and milliseconds."""
    return round(x, 3)
