"""A gateway that starts and connects at the first attempt had no outage: what it reads while it
connects is live, not historical, and nothing is counted as replayed. Only what a previous run left
in the store is historical."""

import json
import threading

import harness as h

d = h.workdir("firstlive")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
line = h.PtyPair(d, "firstlive")
cfg = h.line_config(d, broker.port, line.gateway_end, max_delay="5ms")

# The sensor talks from before the gateway starts until the test has what it needs, so the first
# batches close while the uplink is still connecting.
stop = threading.Event()
fed = [0]
def talk():
    while not stop.is_set() and fed[0] < 5000:
        fed[0] += 1
        line.write(f"T=1.5 N={fed[0]}\r\n")
        stop.wait(0.002)
talker = threading.Thread(target=talk, daemon=True)
talker.start()
try:
    gw = h.Gateway(cfg, d).start()
    sub.wait_for(lambda s: len(s.batches) >= 20, 20, "20 batches")
    sub.wait_for(lambda s: any('"batches_replayed"' in x for x in s.status), 10, "a status document")
finally:
    stop.set()
    talker.join(5)

assert not any(b.historical for b in sub.batches), \
    f"{sum(b.historical for b in sub.batches)} of {len(sub.batches)} batches flagged historical without an outage"
first = min(b.batch_sequence for b in sub.batches)
assert first == 1, f"the first batch published was {first}"
assert gw.stop() == 0

# The status documents agree: nothing was replayed.
replayed = [json.loads(x).get("batches_replayed") for x in sub.status if '"batches_replayed"' in x]
assert replayed and all(r == 0 for r in replayed), f"batches_replayed in status: {replayed}"
print(f"ok: {len(sub.batches)} batches from the first connection, none historical")
sub.close()
line.close()
broker.stop()
