#!/usr/bin/python3
"""`loopgate check-config` on hostile files: a key given twice (the later, stricter value would be
silently ignored by the YAML parser) and a second YAML document are refused with exit 1 and an
error naming file, line, column and field; the same file without the duplicate passes. A file with
many mistakes gets every one of them reported in one run, each located, with a suggestion for a
mistyped key, enum value or driver name."""

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
    check_every_error_reported(d)
    check_exit_codes(d)
    check_names_not_utf8(d)
    return 0


MANY_MISTAKES = """gateway:
  id: gw1
  metrcs: off
uplink:
  broker: tcp://127.0.0.1:1883
  qos: 0
store:
  path: /tmp/never-opened.db
  when_full: drop_odlest
ports:
  - name: met
    path: /dev/ttyUSB0
    parity: evn
    driver: line
    settings:
      fields:
        - {field: T, type: dobule}
        - {field: H, scale: x}
    devices: [{name: ws1}]
  - name: meter
    path: /dev/ttyUSB1
    driver: modbus-rtu
    devices:
      - name: m1
        unit: 1
        points:
          - {name: voltage, table: input, address: 0, type: flaot32}
          - {name: power, table: input, address: 2, type: float32, word_order: ABDC}
          - {name: ok, table: input, address: 4, type: float32}
      - name: m2
        unit: 300
        points:
          - {name: current, table: holding, address: 0, type: uint16}
  - name: gps
    path: /dev/ttyUSB2
    driver: nmea183
"""


def location(text, line_marker, token):
    """`line:column` (1-based) of `token` on the line holding `line_marker`."""
    for number, line in enumerate(text.splitlines(), 1):
        if line_marker in line:
            return f"{number}:{line.index(token) + 1}"
    raise AssertionError(line_marker)


def check_every_error_reported(d):
    path = os.path.join(d, "many.yaml")
    with open(path, "w") as f:
        f.write(MANY_MISTAKES)
    out = check(path)
    t = MANY_MISTAKES
    expected = [
        f"many.yaml:{location(t, 'metrcs', 'metrcs')}: gateway.metrcs: unknown key 'metrcs' (did you mean 'metrics'?)",
        f"many.yaml:{location(t, 'qos', '0')}: uplink.qos: expected an integer from 1 to 1, got 0",
        f"many.yaml:{location(t, 'when_full', 'drop_odlest')}: store.when_full: expected one of drop_oldest, "
        "stop_reading, got 'drop_odlest' (did you mean 'drop_oldest'?)",
        f"many.yaml:{location(t, 'evn', 'evn')}: ports[0].parity: expected one of none, even, odd, got 'evn' "
        "(did you mean 'even'?)",
        f"many.yaml:{location(t, 'dobule', 'dobule')}: ports[0].settings.fields[0].type: expected one of double, "
        "int, bool, string, got 'dobule' (did you mean 'double'?)",
        f"many.yaml:{location(t, 'scale: x', 'x}')}: ports[0].settings.fields[1].scale: expected a number, got 'x'",
        f"many.yaml:{location(t, 'flaot32', 'flaot32')}: ports[1].devices[0].points[0].type: expected one of "
        "bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, got 'flaot32' "
        "(did you mean 'float32'?)",
        f"many.yaml:{location(t, 'ABDC', 'ABDC')}: ports[1].devices[0].points[1].word_order: expected one of "
        "ABCD, CDAB, BADC, DCBA, got 'ABDC' (did you mean 'ABCD'?)",
        f"many.yaml:{location(t, 'unit: 300', '300')}: ports[1].devices[1].unit: expected an integer from 1 to 247, "
        "got 300",
        f"many.yaml:{location(t, 'nmea183', 'nmea183')}: ports[2].driver: unknown driver 'nmea183' "
        "(did you mean 'nmea0183'?)",
    ]
    print(f"  many.yaml: exit {out.returncode}:\n{out.stderr}")
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
    lines = [line.replace(d + "/", "", 1) for line in out.stderr.splitlines()]
    for e in expected:
        assert any(line.startswith(e) for line in lines), (e, out.stderr)
    located = [line for line in lines if line.startswith("many.yaml:") and not line.startswith("many.yaml: ")]
    assert len(located) == len(expected), f"one line per error, no cascades: {located}"
    assert lines[-1] == f"many.yaml: {len(expected)} errors", lines[-1]
    # The daemon refuses the same file, reporting the same errors, before touching anything.
    run = subprocess.run([harness.LOOPGATE, "run", "--config", path], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1, (run.returncode, run.stderr)
    run_lines = [line.replace(d + "/", "", 1) for line in run.stderr.splitlines()]
    assert all(any(line.startswith(e) for line in run_lines) for e in expected), run.stderr
    print("check-config: every error of a file reported in one run, enum values with suggestions")


def check_exit_codes(d):
    missing = check(os.path.join(d, "absent.yaml"))
    assert missing.returncode == 1 and "absent.yaml: cannot open config file" in missing.stderr, missing
    usage = subprocess.run([harness.LOOPGATE, "check-config"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2 and "expected exactly one config file" in usage.stderr, usage
    one = os.path.join(d, "one.yaml")
    with open(one, "w") as f:
        f.write(MANY_MISTAKES.split("ports:")[0].replace("  metrcs: off\n", "").replace("qos: 0", "qos: 1")
                + "ports: []\n")
    out = check(one)
    assert out.returncode == 1 and out.stderr.splitlines()[-1] == f"{one}: 1 error", out.stderr
    print("check-config: exit 0 valid, 1 invalid or unreadable, 2 misuse")


# A config whose names all end up in MQTT topics or the client id; {bad} goes into one of them.
NAMES = """gateway: {{id: {gateway}}}
uplink:
  broker: tcp://127.0.0.1:1
  client_id: {client_id}
  topic_prefix: {prefix}
  format: sparkplug
  sparkplug: {{group_id: {group}}}
store: {{path: {store}}}
ports:
  - name: {port}
    path: /nonexistent/loopgate-tty
    driver: line
    settings: {{fields: [{{field: T, metric: {metric}}}]}}
    devices: [{{name: {device}}}]
"""


def check_names_not_utf8(d):
    """A name with a byte that is not UTF-8 passed check-config, and `run` then failed when Paho made
    the client or a topic (exit 1: a restart loop under systemd). Both refuse it now, with one located
    message; every name that reaches MQTT is checked."""
    good = dict(gateway="gw1", client_id="lg-gw1", prefix="loopgate", group="plant", port="met", metric="t",
                device="ws1")
    fields = {"gateway": "gateway.id", "client_id": "uplink.client_id", "prefix": "uplink.topic_prefix",
              "group": "uplink.sparkplug.group_id", "port": "ports[0].name", "metric": "ports[0].settings.fields[0].metric",
              "device": "ports[0].devices[0].name"}
    for key, field in fields.items():
        names = dict(good, store=os.path.join(d, "names.db"))
        names[key] = good[key] + "\udcff"  # surrogateescape: the raw byte 0xFF
        text = NAMES.format(**names).encode("utf-8", "surrogateescape")
        path = os.path.join(d, f"not-utf8-{key}.yaml")
        with open(path, "wb") as f:
            f.write(text)
        line = next(n for n, l in enumerate(text.splitlines(), 1) if b"\xff" in l)
        out = subprocess.run([harness.LOOPGATE, "check-config", path], capture_output=True, timeout=30)
        err = out.stderr.decode("utf-8", "replace")
        print(f"  {key}: check-config exit {out.returncode}: {err.strip()}")
        assert out.returncode == 1, (key, out.returncode, err)
        located = [l for l in err.splitlines() if l.startswith(f"{path}:{line}:") and f": {field}: " in l]
        assert len(located) == 1 and "UTF-8" in located[0] and "\\xff" in located[0], (key, err)
        try:
            run = subprocess.run([harness.LOOPGATE, "run", "--config", path], capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{key}: run took a config check-config refused and kept running")
        run_err = run.stderr.decode("utf-8", "replace")
        assert run.returncode == 1 and located[0] in run_err.splitlines(), (key, run.returncode, run_err)
    ok = os.path.join(d, "names-utf8.yaml")
    with open(ok, "w", encoding="utf-8") as f:
        f.write(NAMES.format(**dict(good, gateway="gw-süd", device="wetter-ö", store=os.path.join(d, "names.db"))))
    out = check(ok)
    assert out.returncode == 0, (out.returncode, out.stdout, out.stderr)
    print("check-config: a name that is not UTF-8 is refused by check-config and run alike, located; UTF-8 passes")


if __name__ == "__main__":
    sys.exit(main())
