"""Prints fields of a JSON document: the shell's reader of one answer's values (standard library only).

    json_field.py FILE|- PATH...

PATH is dotted, a number indexing a list: `invoke_url`, `runs.0.summary.requests`. The fields are
printed on one line, space-separated, as Python prints them (a string bare). `-` reads stdin.
"""

import json
import sys


def field(doc, path):
    for key in path.split("."):
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def main(source, *paths):
    doc = json.load(sys.stdin if source == "-" else open(source))
    print(*(field(doc, p) for p in paths))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
