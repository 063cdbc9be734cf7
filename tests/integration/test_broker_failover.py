"""uplink.brokers: two real mosquittos, A (first) and B, each with a persistent QoS 1 subscriber; the
gateway reads a line sensor that counts its records. kill -9 A mid-stream: the gateway publishes on B
within a few seconds. With failback_after 0 it stays on B after A is back; B stopped gracefully, it
goes back to A (the list wraps: it does not stick to the last broker). The union of what A and B
delivered holds every reading's sequence, none missing; a repeat comes only in a batch whose id was
seen before. The status document, /api/status and /metrics name the broker in use, the failover count
and the last failover's cause."""

import json
import subprocess
import time
import urllib.request

import harness as h

d = h.workdir("failover")
pa, pb, http = h.free_port(), h.free_port(), h.free_port()
A = h.Mosquitto(pa, d, persistent=True).start()
B = h.Mosquitto(pb, d, persistent=True).start()
sub_a = h.Subscriber(pa, persistent=True)
sub_b = h.Subscriber(pb, persistent=True)
line = h.PtyPair(d, f"failover-{pa}")
cfg = h.line_config(d, None, line.gateway_end, metrics=f"127.0.0.1:{http}",
                    brokers=[f"tcp://127.0.0.1:{pa}", f"mqtt://127.0.0.1:{pb}"], uplink_extra="failback_after: 0")
gw = h.Gateway(cfg, d).start()


def api_status():
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/api/status", timeout=5) as r:
        return json.load(r)["uplink"]


def metrics():
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=5) as r:
        return r.read().decode()


def records(sub):
    return len(h.records_by_number(sub.readings()))


feeder = h.Feeder(line, period=0.01)
feeder.start()
sub_a.wait_for(lambda s: len(h.records_by_number(s.readings())) >= 100, 20, "records on A")
up = api_status()
assert up["broker"] == f"tcp://127.0.0.1:{pa}" and up["failovers"] == 0 and up["connected"], up
assert up["brokers"] == [f"tcp://127.0.0.1:{pa}", f"mqtt://127.0.0.1:{pb}"], up

# --- A dies mid-stream: B within a few seconds ---
A.proc.kill()
A.proc.wait(timeout=10)
killed = time.monotonic()
sub_b.wait_for(lambda s: len(h.records_by_number(s.readings())) >= 1, 15, "the gateway publishing on B")
took = time.monotonic() - killed
assert took < 5, f"the gateway took {took:.1f} s to publish on B"
up = h.wait_until(lambda: (lambda u: u if u["connected"] else None)(api_status()), 10, "connected in /api/status")
assert up["broker"] == f"mqtt://127.0.0.1:{pb}" and up["failovers"] == 1, up
assert up["last_failover_cause"].startswith(f"tcp://127.0.0.1:{pa}: "), up
assert up["last_failover_ns"] > 0, up
text = metrics()
assert f'loopgate_uplink_broker_in_use{{broker="mqtt://127.0.0.1:{pb}",position="1"}} 1' in text, text
assert f'loopgate_uplink_broker_in_use{{broker="tcp://127.0.0.1:{pa}",position="0"}} 0' in text, text
assert "loopgate_uplink_failovers_total 1" in text, text
assert "failed over from tcp://127.0.0.1:" in gw.log_text()
table = subprocess.run([h.LOOPGATE, "status", "--url", f"http://127.0.0.1:{http}/"], capture_output=True, text=True,
                       timeout=30)
assert table.returncode == 0, table.stderr
assert f"mqtt://127.0.0.1:{pb} (2 of 2)" in table.stdout, table.stdout
assert f"1 (0 back), last: tcp://127.0.0.1:{pa}: " in table.stdout, table.stdout
sub_b.wait_for(lambda s: any('"failovers":1' in x for x in s.status), 10, "a status document on B counting the failover")
status = json.loads(next(x for x in sub_b.status if '"failovers":1' in x))
assert status["uplink"]["broker"] == f"mqtt://127.0.0.1:{pb}", status

# --- A is back; failback_after 0: the gateway stays on B ---
A = h.Mosquitto(pa, d, persistent=True).start()
h.wait_until(lambda: sub_a.client.is_connected(), 10, "A's subscriber to reconnect")
on_a = records(sub_a)
on_b = records(sub_b)
sub_b.wait_for(lambda s: len(h.records_by_number(s.readings())) >= on_b + 300, 30, "300 more records on B")
assert records(sub_a) == on_a, "failback_after 0: the gateway must stay on B while B is up"

# --- B stops (gracefully): back to A, not stuck on the last broker ---
B.stop()
sub_a.wait_for(lambda s: len(h.records_by_number(s.readings())) >= on_a + 100, 15, "the gateway publishing on A again")
up = api_status()
assert up["broker"] == f"tcp://127.0.0.1:{pa}" and up["failovers"] == 2 and up["failbacks"] == 0, up
assert up["last_failover_cause"].startswith(f"mqtt://127.0.0.1:{pb}: "), up

# --- every reading arrived, at A or at B ---
feeder.stop()
B = h.Mosquitto(pb, d, persistent=True).start()  # B's subscriber takes what B kept for its session
h.wait_until(lambda: sub_b.client.is_connected(), 10, "B's subscriber to reconnect")


def union():
    return h.Delivery(sub_a.batches + sub_b.batches)


h.wait_until(lambda: union().records >= set(range(1, feeder.sent + 1)), 30,
             f"all {feeder.sent} records in the union of A and B")
got = union()
assert not got.missing(2 * feeder.sent), f"sequences missing: {got.missing(2 * feeder.sent)[:20]}"
assert not sub_a.errors and not sub_b.errors, (sub_a.errors, sub_b.errors)
print(f"ok: {feeder.sent} records over A, B and A again; on B within {took:.1f} s; "
      f"{got.duplicate_batches} batches repeated, {got.duplicates} readings")
assert gw.stop() == 0
sub_a.close()
sub_b.close()
line.close()
A.stop()
B.stop()
