#!/usr/bin/python3
"""`loopgate check-config` on network ports: tcp:// and rfc2217:// paths in every malformed form a
technician might type are refused in one run with exit 1, each error naming file, line, column and
field; the same file with the paths written right passes and lists each port by its URL."""

import os
import subprocess

import harness


def check(path):
    return subprocess.run([harness.LOOPGATE, "check-config", path], capture_output=True, text=True, timeout=30)


d = harness.workdir("check-config-network")
ports = [
    ("udp://10.0.0.5:4001", "tcp://10.0.0.5:4001", "unknown scheme 'udp'"),
    ("tcp://nport", "tcp://nport:4001", "'tcp://nport' names no TCP port"),
    ("rfc2217://nport:99999", "rfc2217://nport:2217", "the port 99999 is not from 1 to 65535"),
    ("tcp://fe80::1:4001", "tcp://[fe80::1]:4001", "an IPv6 address goes in brackets"),
    ("tcp://nport:4002/port2", "tcp://nport:4002", "has a path or query after host:port"),
]
lines = ["gateway: {id: gw1}", "uplink: {broker: tcp://127.0.0.1:1883}", f"store: {{path: {d}/store.db}}", "ports:"]


def config(bad):
    text = list(lines)
    for i, (wrong, right, _) in enumerate(ports):
        text.append(f"  - name: p{i}")
        text.append(f"    path: {wrong if bad else right}")
        text.append("    driver: line")
        text.append("    settings: {fields: [{field: T}]}")
        text.append(f"    devices: [{{name: d{i}}}]")
    return "\n".join(text) + "\n"


bad = os.path.join(d, "bad.yaml")
with open(bad, "w") as f:
    f.write(config(True))
out = check(bad)
assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
for i, (wrong, _, message) in enumerate(ports):
    line = len(lines) + 5 * i + 2
    expected = f"bad.yaml:{line}:11: ports[{i}].path: "
    found = [l for l in out.stderr.splitlines() if expected in l]
    assert found and message in found[0], f"{wrong}: expected {expected}...{message} in:\n{out.stderr}"

good = os.path.join(d, "good.yaml")
with open(good, "w") as f:
    f.write(config(False))
out = check(good)
assert out.returncode == 0, out.stderr
for _, right, _ in ports:
    # Over raw TCP the device server owns the line's settings: no baud rate is claimed for it.
    said = (f": {right} at 9600 baud, asked of the RFC 2217 server" if right.startswith("rfc2217://")
            else f": {right} (raw TCP: the serial line's settings are the device server's)")
    assert said in out.stdout, out.stdout
print(f"ok: {len(ports)} malformed network paths refused, each located; written right they pass")
