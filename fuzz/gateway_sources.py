#!/usr/bin/env python3
"""Prints, one a line, the gateway/ sources the given fuzz targets reach: their #include "..." lines
followed through headers and sources, a header bringing in the .cpp beside it (gateway/x/y.hpp ->
gateway/x/y.cpp). fuzz/CMakeLists.txt compiles only these into the fuzz targets' gateway library:
the parsers of remote input need about a sixth of the gateway, and compiling all of it instrumented
was about half the fuzz build. A symbol defined away from its header's .cpp fails the fuzz link
(undefined reference), never the fuzzing."""

import pathlib
import re
import sys

INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    todo = [pathlib.Path(a).resolve() for a in sys.argv[1:]]
    seen, sources = set(), set()
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        for name in INCLUDE.findall(path.read_text(errors="replace")):
            for base in (path.parent, root):
                candidate = (base / name).resolve()
                if candidate.exists():
                    todo.append(candidate)
                    break
        if path.suffix == ".hpp" and path.with_suffix(".cpp").exists():
            todo.append(path.with_suffix(".cpp"))
        if path.suffix == ".cpp" and root / "gateway" in path.parents:
            sources.add(path)
    print("\n".join(str(p) for p in sorted(sources)))


if __name__ == "__main__":
    sys.exit(main())
