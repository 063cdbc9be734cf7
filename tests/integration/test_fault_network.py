"""Under a steady feed: the TCP connection to the broker is cut mid-flight and restored three
times, the broker is stopped and restarted in the middle of a replay, and then a long outage
builds a backlog that drains while live data keeps flowing. At the subscriber every line fed
arrives, none reordered within the live or the replayed stream, and duplicates are counted."""

import time

import harness as h

d = h.workdir("network")
broker = h.Mosquitto(h.free_port(), d, persistent=True).start()
sub = h.Subscriber(broker.port, persistent=True)
relay = h.Relay(broker.port)
line = h.PtyPair(d, "met")
# Batches of 25 readings, what 50 ms of this feed makes: while the uplink is down max_delay closes no
# batch, and the replay below needs more batches than one in-flight window.
cfg = h.line_config(d, relay.port, line.gateway_end, max_delay="50ms", max_readings=25, reconnect_max="500ms")
store = f"{d}/store.db"
gw = h.Gateway(cfg, d).start()
feeder = h.Feeder(line, period=0.004)
feeder.start()


def arrived():
    return len(h.Delivery(sub.batches).records)


def wait_progress(extra, what):
    target = arrived() + extra
    sub.wait_for(lambda s: len(h.Delivery(s.batches).records) >= target, 30, what)


wait_progress(100, "readings before the first cut")
for i in range(3):
    relay.cut()
    h.wait_until(lambda: "lost connection" in gw.log_text(), 30, "the gateway to notice the cut")
    h.wait_until(lambda: h.store_depth(store) > 5, 30, "a backlog to build during the cut")
    relay.restore()
    wait_progress(200, f"readings after restoring cut {i + 1}")

# Stop the broker in the middle of a replay, with a window of batches in flight: what it
# acknowledged must survive its restart, what it did not must come again from the gateway's store.
relay.cut()
h.wait_until(lambda: h.store_depth(store) > 40, 30, "a backlog to replay")
replayed_before = sum(1 for b in sub.batches if b.historical)
relay.restore()
h.wait_until(lambda: sum(1 for b in sub.batches if b.historical) >= replayed_before + 5, 30,
             "the replay to be under way")
at_broker_stop = feeder.sent
broker.stop()
h.wait_until(lambda: h.store_depth(store) > 5, 30, "a backlog while the broker is stopped")
broker.start()
wait_progress(200, "readings after the broker restart")

# A long outage: 15 s of readings pile up in the store, then drain while live data flows.
relay.cut()
outage_start = feeder.sent
time.sleep(15)  # the outage's length is the scenario, not a synchronization
backlog = h.store_depth(store)
relay.restore()
live_seen = h.wait_until(lambda: any(not b.historical and b.batch_sequence > 0 for b in sub.batches[-5:]), 30,
                         "live batches flowing next to the replay")
feeder.stop()
h.wait_until(lambda: h.store_depth(store) == 0, 60, "the backlog to drain")
try:
    sub.wait_for(lambda s: len(h.Delivery(s.batches).records) >= feeder.sent, 30, "every line fed")
except AssertionError:
    got = h.Delivery(sub.batches)
    print("missing records:", sorted(set(range(1, feeder.sent + 1)) - got.records)[:40])
    print("accepted:", h.device_sequence(store, "ws1") // 2, "fed:", feeder.sent)
    print("subscriber errors:", sub.errors[:5], "records fed when the broker stopped:", at_broker_stop)
    print("batch sequences seen:", sorted({b.batch_sequence for b in sub.batches})[:5], "...",
          [x for x in range(1, max(b.batch_sequence for b in sub.batches)) if x not in {b.batch_sequence for b in sub.batches}][:30])
    print("\n".join(l for l in gw.log_text().splitlines() if "debug" not in l)[-3000:])
    raise
assert gw.stop() == 0

got = h.Delivery(sub.batches)
accepted = h.device_sequence(store, "ws1")
assert not got.missing(accepted), f"accepted readings lost: {got.missing(accepted)[:20]}"
assert got.records == set(range(1, feeder.sent + 1)), \
    f"lines lost: {sorted(set(range(1, feeder.sent + 1)) - got.records)[:20]}"
assert not got.order_violations, f"reordered within a stream: {got.order_violations[:10]}"
replayed = [b for b in sub.batches if b.historical]
assert replayed, "batches stored during outages must come back flagged historical"
print(f"ok: {feeder.sent} lines fed and delivered through 4 cuts and a broker restart; "
      f"{feeder.sent - outage_start} during the long outage ({backlog} batches backlog); "
      f"{len(replayed)} batches replayed; {got.duplicates} duplicate readings in {got.duplicate_batches} repeated batches")
sub.close()
line.close()
broker.stop()
