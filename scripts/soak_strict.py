"""soak-strict.sh's readers of the stack's answers (standard library only): how many of a kind the
account holds, and which strict refusals the soak met.

    soak_strict.py KIND < answer

KIND: tables, functions, rest_apis, log_groups (the JSON List/Describe answers), roles, policies (IAM's
XML answers), or refusals (/_lab/status: "name count" for each refusal met, comma-separated).
"""

import json
import sys

from bench_lib import dispatch


def count(key, default=None):
    """The number of entries under KEY of a JSON answer (DEFAULT when the answer may leave KEY out)."""
    def read(text):
        doc = json.loads(text)
        return len(doc[key] if default is None else doc.get(key, default))
    return read


def tags(name):
    """The number of <NAME> elements in an XML answer."""
    return lambda text: text.count(f"<{name}>")


def refusals(text):
    r = json.loads(text)["strict"]["refusals"]
    return ", ".join(f"{k} {v}" for k, v in r.items() if v)


READERS = {"tables": count("TableNames"), "functions": count("Functions"), "rest_apis": count("item", []),
           "log_groups": count("logGroups"), "roles": tags("RoleName"), "policies": tags("PolicyName"),
           "refusals": refusals}


def printer(read):
    return lambda: print(read(sys.stdin.read()))


if __name__ == "__main__":
    dispatch({kind: printer(read) for kind, read in READERS.items()}, __doc__)
