"""Every Catch2 test case runs under ctest. catch_discover_tests registers each TEST_CASE by name and
ctest splits a name at ';': a name holding one became two fragments that match no test, and a
test that matches nothing passes. Four store tests went unrun that way; this keeps it from recurring."""

import glob
import os
import re

root = os.environ.get("LOOPGATE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
name = re.compile(r'TEST_CASE\(\s*"((?:[^"\\]|\\.)*)"', re.S)
bad = []
count = 0
for path in sorted(glob.glob(os.path.join(root, "tests", "**", "*.cpp"), recursive=True)):
    with open(path, encoding="utf-8") as f:
        for m in name.finditer(f.read()):
            count += 1
            if ";" in m.group(1):
                bad.append(f"{os.path.relpath(path, root)}: {m.group(1)!r}")
assert count > 100, f"found only {count} test cases: is the pattern still right?"
assert not bad, "test names with ';' (ctest splits them and runs nothing):\n  " + "\n  ".join(bad)
print(f"ok: {count} Catch2 test names, none holding ';'")
