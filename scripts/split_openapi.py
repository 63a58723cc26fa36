#!/usr/bin/env python3
"""Write the part of openapi.yaml one listener serves, for schemathesis.

Usage: split_openapi.py SPEC LISTENER OUT   (LISTENER: public | intranet)

Keeps each operation whose `x-listener` (the operation's, else its path's) is LISTENER or
`both`, drops paths left without operations, and drops the `servers` entries (the runner
passes the listener's URL itself). Everything else, components included, is copied as is.
"""

import sys

import yaml

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[2] not in ("public", "intranet"):
        print(__doc__, file=sys.stderr)
        return 2
    src, listener, out = sys.argv[1:]
    with open(src, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    spec.pop("servers", None)
    paths = {}
    for path, item in spec.get("paths", {}).items():
        path_listener = item.get("x-listener")
        kept = {}
        for key, value in item.items():
            if key in METHODS:
                where = value.get("x-listener", path_listener)
                if where is None:
                    print(f"{key.upper()} {path}: no x-listener", file=sys.stderr)
                    return 1
                if where in (listener, "both"):
                    value = dict(value)
                    value.pop("servers", None)
                    kept[key] = value
            elif key != "servers":
                kept[key] = value
        if any(k in METHODS for k in kept):
            paths[path] = kept
    spec["paths"] = paths
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump(spec, f, sort_keys=False, allow_unicode=True)
    count = sum(1 for item in paths.values() for k in item if k in METHODS)
    print(f"{listener}: {count} operations -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
