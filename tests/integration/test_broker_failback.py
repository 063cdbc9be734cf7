"""uplink.failback_after: with both brokers up again the gateway goes back to the first one once it has
answered for failback_after, not before, and the broker it leaves gets the retained `offline` status
(a clean disconnect sends no will). Two real mosquittos A (first) and B with a persistent QoS 1
subscriber each; kill -9 A mid-stream, restart it: the gateway moves to B, then back to A after
failback_after (3 s), and the union of what A and B delivered holds every reading's sequence."""

import json
import time

import harness as h

FAILBACK_AFTER = 3.0
d = h.workdir("failback")
pa, pb = h.free_port(), h.free_port()
A = h.Mosquitto(pa, d, persistent=True).start()
B = h.Mosquitto(pb, d, persistent=True).start()
sub_a = h.Subscriber(pa, persistent=True)
sub_b = h.Subscriber(pb, persistent=True)
line = h.PtyPair(d, f"failback-{pa}")
cfg = h.line_config(d, None, line.gateway_end, brokers=[f"tcp://127.0.0.1:{pa}", f"tcp://127.0.0.1:{pb}"],
                    uplink_extra=f"failback_after: {int(FAILBACK_AFTER * 1000)}ms")
gw = h.Gateway(cfg, d).start()


def records(sub):
    return len(h.records_by_number(sub.readings()))


feeder = h.Feeder(line, period=0.01)
feeder.start()
sub_a.wait_for(lambda s: len(h.records_by_number(s.readings())) >= 100, 20, "records on A")
A.proc.kill()
A.proc.wait(timeout=10)
sub_b.wait_for(lambda s: len(h.records_by_number(s.readings())) >= 100, 20, "records on B after A died")

A = h.Mosquitto(pa, d, persistent=True).start()
a_up = time.monotonic()
h.wait_until(lambda: sub_a.client.is_connected(), 10, "A's subscriber to reconnect")
on_a = records(sub_a)
sub_a.wait_for(lambda s: len(h.records_by_number(s.readings())) > on_a, 30, "the gateway back on A")
back = time.monotonic() - a_up
assert back >= FAILBACK_AFTER - 0.2, f"back on A after {back:.1f} s, before failback_after ({FAILBACK_AFTER} s)"
assert back < FAILBACK_AFTER + 15, f"back on A only after {back:.1f} s"
log = gw.log_text()
assert "has answered for 3 s (uplink.failback_after)" in log, log[-3000:]
assert f"back on the first broker tcp://127.0.0.1:{pa} (left tcp://127.0.0.1:{pb})" in log, log[-3000:]

# B got the offline status before the gateway left it, and nothing after.
sub_b.wait_for(lambda s: s.status and json.loads(s.status[-1])["state"] == "offline", 10, "offline status on B")
on_b = records(sub_b)
sub_a.wait_for(lambda s: len(h.records_by_number(s.readings())) >= on_a + 300, 30, "300 more records on A")
assert records(sub_b) == on_b, "nothing goes to B after the failback"
status = json.loads(sub_a.status[-1])
assert status["uplink"]["broker"] == f"tcp://127.0.0.1:{pa}", status
assert status["uplink"]["failovers"] == 1 and status["uplink"]["failbacks"] == 1, status["uplink"]

feeder.stop()


def union():
    return h.Delivery(sub_a.batches + sub_b.batches)


h.wait_until(lambda: union().records >= set(range(1, feeder.sent + 1)), 30,
             f"all {feeder.sent} records in the union of A and B")
got = union()
assert not got.missing(2 * feeder.sent), f"sequences missing: {got.missing(2 * feeder.sent)[:20]}"
print(f"ok: {feeder.sent} records; back on A {back:.1f} s after it restarted (failback_after {FAILBACK_AFTER} s); "
      f"{got.duplicate_batches} batches repeated")
assert gw.stop() == 0
sub_a.close()
sub_b.close()
line.close()
A.stop()
B.stop()
