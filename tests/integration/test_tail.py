#!/usr/bin/python3
"""`loopgate tail` against a real mosquitto fed by the real gateway: --count N stops after N
readings even when one batch message holds more; --json prints only readings, one JSON object per
line, never the retained status document; without --json the status document is shown; a --count
that is not reached before --timeout exits 1."""

import json
import os
import subprocess

import harness as h

d = h.workdir("tail")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
pty = h.PtyPair(d, "tail-met")
# A long batch delay: the records written at once below travel in one batch message.
cfg = h.line_config(d, broker.port, pty.gateway_end, max_delay="1s")
gw = h.Gateway(cfg, d).start()
sub.wait_for(lambda s: s.status, 20, "the gateway's retained status document")
broker_uri = f"tcp://127.0.0.1:{broker.port}"


def start_tail(name, *options):
    """Starts tail and waits until it has subscribed, so nothing published after this is missed."""
    err_path = os.path.join(d, f"{name}.err")
    err = open(err_path, "w")
    proc = h.spawn([h.LOOPGATE, "tail", "--broker", broker_uri, "--gateway", "test-gw", *options],
                   stdout=subprocess.PIPE, stderr=err, text=True)
    h.wait_until(lambda: "subscribed" in open(err_path).read() or proc.poll() is not None, 15, f"{name} to subscribe")
    assert proc.poll() is None, open(err_path).read()
    return proc


def finish(proc, timeout=30):
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out.splitlines()


# --json --count 4, while one batch brings 6 readings (3 records of T and N).
tail_json = start_tail("json", "--json", "--count", "4", "--timeout", "30")
batches_before = len(sub.batches)
pty.write("T=20.1 N=1\r\nT=20.2 N=2\r\nT=20.3 N=3\r\n")
sub.wait_for(lambda s: len(s.readings()) >= 6, 20, "the three records' readings")
code, lines = finish(tail_json)
assert code == 0, (code, lines)
assert max(len(b.readings) for b in sub.batches[batches_before:]) > 4, \
    "the records must share a batch for this test to mean anything"
assert len(lines) == 4, f"--count 4 counts readings, not messages: {lines}"
readings = [json.loads(line) for line in lines]  # every line is JSON: the status document is left out
assert all("status" not in r and r["device"] == "ws1" for r in readings), readings
assert [r["metric"] for r in readings] == ["air_temperature", "record", "air_temperature", "record"], readings
assert readings[0]["value"] == 20.1 and readings[3]["value"] == 2, readings

# Without --json, the retained status document is shown among the readings.
tail_human = start_tail("human", "--count", "2", "--timeout", "30")
pty.write("T=20.4 N=4\r\n")
code, lines = finish(tail_human)
assert code == 0, (code, lines)
status_lines = [line for line in lines if line.startswith("loopgate/test-gw/status  {")]
reading_lines = [line for line in lines if line.startswith("test-gw ")]
assert status_lines, lines
assert json.loads(status_lines[0].split("  ", 1)[1])["gateway"] == "test-gw", status_lines
assert len(reading_lines) == 2 and "air_temperature" in reading_lines[0], lines

# A count that is not reached before the timeout is a failure.
tail_short = start_tail("short", "--json", "--count", "100", "--timeout", "1")
code, lines = finish(tail_short)
assert code == 1 and lines == [], (code, lines)

assert gw.stop() == 0
pty.close()
sub.close()
broker.stop()
print("ok: tail --count counts readings; --json prints readings only")
