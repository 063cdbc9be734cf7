"""A hostile sensor on a real pty: noise in a text field, terminal escapes, a scale that overflows, and
one 40,000-character line. Every batch the gateway publishes parses with Google's protobuf runtime,
text arrives as well-formed UTF-8 with U+FFFD where the bytes were not text, an overflowed value
arrives BAD, the long line decodes, and the counters say what was replaced. `loopgate decode` takes a
65,536-character line too."""

import os
import random
import subprocess
import urllib.request

import harness as h

REPLACEMENT = "\ufffd"
N = 300
LONG = 40_000

d = h.workdir("hostile")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
line = h.PtyPair(d, "met")
metrics_port = h.free_port()
port_yaml = f"""  - name: met
    path: {line.gateway_end}
    baud: 9600
    driver: line
    settings:
      format: regex
      max_line: 65536
      regex: '^ID=(?<id>.*) X=(?<x>\\S+) N=(?<n>[0-9]+)$'
      fields:
        - {{field: id, metric: id, type: string}}
        - {{field: x, metric: x, scale: 1e10}}
        - {{field: n, metric: record, type: int}}
    devices:
      - name: ws1
"""
config = h.write_config(d, broker.port, port_yaml)
with open(config) as f:
    text = f.read()
with open(config, "w") as f:
    f.write(text.replace("metrics: off", f'metrics: "127.0.0.1:{metrics_port}"')
                .replace("uplink: {", "uplink: {batch: {max_delay: 100ms, max_readings: 30}, "))
gw = h.Gateway(config, d).start()
sub.wait_for(lambda s: any('"online"' in x for x in s.status), 10, "the retained online status")

rng = random.Random(13)
noise = bytes(b for b in range(256) if b not in (0x0A, 0x0D))
sent_ids = {}
for n in range(1, N + 1):
    if n % 3 == 0:
        ident = bytes(rng.choice(noise) for _ in range(rng.randint(1, 24)))
    else:
        ident = [b"\xff\xfe", b"caf\xc3", b"\xed\xa0\x80", b"\x1b[2J\x07", "ok \U0001F600".encode(),
                 b"\xc0\xaf\xe0\x80\xaf\xf4\x90\x80\x80"][n % 6]
    x = b"1e300" if n % 10 == 0 else b"2.5"
    if n == N // 2:
        ident = b"L" * LONG
    sent_ids[n] = ident
    line.write(b"ID=" + ident + b" X=" + x + b" N=" + str(n).encode() + b"\n")

sub.wait_for(lambda s: s.errors or len([r for r in s.readings() if r.metric == "record"]) >= N, 30, f"{N} records")
assert sub.errors == [], f"{len(sub.errors)} of {len(sub.errors) + len(sub.batches)} batches unreadable: {sub.errors[:3]}"
readings = sub.readings()
records = [r.int_value for r in readings if r.metric == "record"]
assert records == list(range(1, N + 1)), "records lost, duplicated or reordered"

by_record = {}
current = []
for r in readings:  # the readings of one line are published together, id and x before record
    current.append(r)
    if r.metric == "record":
        by_record[r.int_value] = {x.metric: x for x in current}
        current = []

replaced = 0
for n, ident in sent_ids.items():
    if not ident.strip(b" \t\r"):  # a blank text field is a field error, not a reading
        assert "id" not in by_record[n]
        continue
    got = by_record[n]["id"].string_value
    expected = ident.strip(b" \t\r").decode("utf-8", errors="replace")
    # Controls (C0 but TAB, DEL, C1) are replaced too.
    expected = "".join(REPLACEMENT if (ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F else c
                       for c in expected)
    assert got == expected, (n, ident, got, expected)
    assert not any(ord(c) < 0x20 and c != "\t" for c in got)
    replaced += got.count(REPLACEMENT)
assert by_record[4]["id"].string_value == "ok \U0001F600", "a valid emoji is kept as it is"
assert by_record[1]["id"].string_value == "caf" + REPLACEMENT
assert by_record[N // 2]["id"].string_value == "L" * LONG, "the 40,000-character line decodes whole"

for n in range(1, N + 1):
    x = by_record[n]["x"]
    if n % 10 == 0:
        assert x.quality == 2 and x.quality_reason == "not a finite number", (n, x)
    else:
        assert x.quality == 0 and x.double_value == 2.5e10, (n, x)

counters = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
metrics = dict(l.rsplit(" ", 1) for l in counters.splitlines() if l and not l.startswith("#"))
assert int(metrics['loopgate_driver_events_total{port="met",counter="text_replaced"}']) == replaced, counters
assert int(metrics['loopgate_driver_events_total{port="met",counter="non_finite"}']) == N // 10, counters

assert gw.stop() == 0, "the gateway survives the long line and stops cleanly"
sub.close()
line.close()
broker.stop()

# `loopgate decode` with the same port config: one line as long as max_line allows.
long_line = b"ID=" + b"(" * (65536 - len(b"ID= X=1 N=7")) + b" X=1 N=7\n"
assert len(long_line) == 65537
out = subprocess.run([h.LOOPGATE, "decode", "--driver", "line", "--config", config, "--port", "met"],
                     input=long_line, capture_output=True, timeout=60)
assert out.returncode == 0, f"decode exited {out.returncode}: {out.stderr[-500:]!r}"
lines = out.stdout.decode().splitlines()
assert len(lines) == 3 and '"metric":"record","value":7' in lines[2], lines[-1][:200]
assert "records=1" in out.stderr.decode() and "text_replaced=0" in out.stderr.decode(), out.stderr
print(f"ok: {len(sub.batches)} batches, all parse; {replaced} characters replaced; decode took a "
      f"{len(long_line) - 1}-character line")
