"""After an outage the backlog drains at store.replay_rate while live readings keep flowing: live
batches arrive before the replay has finished, and the replay takes as long as the rate says."""

import time

import harness as h

RATE = 1000          # readings per second (each line is two readings: T and N)
BACKLOG_LINES = 1500  # 3000 readings: at least ~2 s of replay

d = h.workdir("replay")
port = h.free_port()
broker = h.Mosquitto(port, d)
line = h.PtyPair(d, "met")
cfg = h.line_config(d, port, line.gateway_end, max_readings=100)
with open(cfg) as f:
    text = f.read().replace(f"  path: {d}/store.db", f"  path: {d}/store.db\n  replay_rate: {RATE}")
with open(cfg, "w") as f:
    f.write(text)
gw = h.Gateway(cfg, d).start()
line.write("".join(f"T=1 N={n}\r\n" for n in range(1, BACKLOG_LINES + 1)))
h.wait_until(lambda: len(h.records_by_number(h.store_readings(f"{d}/store.db"))) == BACKLOG_LINES, 20, "the backlog")

broker.start()
sub = h.Subscriber(port)
started = time.monotonic()
feeder = h.Feeder(line, period=0.02)
feeder.sent = BACKLOG_LINES  # live records continue the numbering
feeder.start()
sub.wait_for(lambda s: len({n for n, _ in h.records_by_number(r for b in s.batches if b.historical for r in b.readings)})
             >= BACKLOG_LINES, 30, "the whole backlog")
replay_seconds = time.monotonic() - started
feeder.stop()
sub.wait_for(lambda s: len(h.Delivery(s.batches).records) >= feeder.sent, 20, "every live line")

order = ["H" if b.historical else "L" for b in sub.batches if any(r.metric == "record" for r in b.readings)]
last_replayed = max(i for i, k in enumerate(order) if k == "H")
live_during_replay = order[:last_replayed].count("L")
got = h.Delivery(sub.batches)
assert got.records == set(range(1, feeder.sent + 1))
assert not got.order_violations
assert live_during_replay >= 3, f"live batches must flow during the replay: {''.join(order)}"
# 3000 readings at 1000/s: about 3 s (the first second's tokens are a burst).
assert replay_seconds >= 1.5, f"replay_rate not applied: the backlog drained in {replay_seconds:.2f} s"
assert gw.stop() == 0
print(f"ok: {2 * BACKLOG_LINES} readings replayed in {replay_seconds:.1f} s at {RATE}/s, "
      f"{live_during_replay} live batches interleaved")
sub.close()
line.close()
broker.stop()
