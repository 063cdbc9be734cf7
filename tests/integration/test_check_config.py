#!/usr/bin/python3
"""`loopgate check-config` on hostile files: a key given twice (the later, stricter value would be
silently ignored by the YAML parser) and a second YAML document are refused with exit 1 and an
error naming file, line, column and field; the same file without the duplicate passes."""

import os
import subprocess
import sys

import harness


def check(path):
    return subprocess.run([harness.LOOPGATE, "check-config", path], capture_output=True, text=True, timeout=30)


def main():
    d = harness.workdir("check-config")
    harness.keygen(d, "operator")
    base = f"""gateway: {{id: gw1}}
uplink: {{broker: tcp://127.0.0.1:1883}}
store: {{path: {d}/store.db}}
commands:
  enabled: true
  operator_keys: [{d}/operator.pub]
  require_signature: false
  require_signature: true
ports:
  - {{name: met, path: {d}/tty, driver: line, settings: {{fields: [{{field: T}}]}}, devices: [{{name: ws1}}]}}
"""
    cases = {
        "duplicate.yaml": (base, "duplicate.yaml:8:3: commands.require_signature: duplicate key "
                                 "'require_signature' (first at line 7)"),
        "two-docs.yaml": (base.replace("  require_signature: false\n", "") + "---\ncommands: {enabled: false}\n",
                          "two-docs.yaml:10:1: a second YAML document"),
    }
    for name, (text, expected) in cases.items():
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        out = check(path)
        print(f"  {name}: exit {out.returncode}: {out.stderr.strip()}")
        assert out.returncode == 1, (name, out.returncode, out.stdout, out.stderr)
        assert expected in out.stderr, (name, out.stderr)
    good = os.path.join(d, "good.yaml")
    with open(good, "w") as f:
        f.write(base.replace("  require_signature: false\n", ""))
    out = check(good)
    assert out.returncode == 0 and "OK" in out.stdout, (out.returncode, out.stdout, out.stderr)
    print("check-config: duplicate keys and extra documents refused with located errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
