"""The broker is down when the gateway starts and for a while after: every reading read in the
meantime is kept in the store and arrives, in order, none lost, flagged as replayed, once the broker
is up, in batches as full as max_readings allows (max_delay does not close a batch nobody can send);
live readings after that arrive unflagged. Then SIGTERM with an open batch loses nothing."""

import time

import harness as h

d = h.workdir("outage")
print("workdir", d)
port = h.free_port()
broker = h.Mosquitto(port, d)  # not started yet
line = h.PtyPair(d, "met")
cfg = h.line_config(d, port, line.gateway_end)
gw = h.Gateway(cfg, d).start()

OUTAGE = 300
for n in range(1, OUTAGE + 1):
    line.write(f"T=1.5 N={n}\r\n")
    if n % 100 == 0:
        time.sleep(0.25)  # the outage outlasts max_delay (100 ms) twice over
store = f"{d}/store.db"
h.wait_until(lambda: len(h.records_by_number(h.store_readings(store))) == OUTAGE, 20,
             "the outage's readings to be committed to the store")

broker.start()
sub = h.Subscriber(port)
sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= OUTAGE, 30, "the backlog to arrive")
replayed = sub.batches[:]
assert all(b.historical for b in replayed), "batches stored during the outage must be flagged historical"
# 600 readings (two per record) in batches of at most max_readings (500): two batches, not one per
# max_delay.
assert [len(b.readings) for b in replayed] == [500, 100], [len(b.readings) for b in replayed]

LIVE = 100
for n in range(OUTAGE + 1, OUTAGE + LIVE + 1):
    line.write(f"T=2.5 N={n}\r\n")
sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= OUTAGE + LIVE, 20, "live readings")
records = h.records_by_number(sub.readings())
assert [n for n, _ in records] == list(range(1, OUTAGE + LIVE + 1)), "lost, duplicated or reordered"
assert [s for _, s in records] == sorted(s for _, s in records)
live_batches = sub.batches[len(replayed):]
assert live_batches and not any(b.historical for b in live_batches), "live data must not be flagged historical"

# SIGTERM while a batch is still open (a long max_delay holds it): it goes to the store, not lost.
assert gw.stop() == 0
cfg = h.line_config(d, port, line.gateway_end, max_delay="30s")
broker.stop()
gw = h.Gateway(cfg, d).start()
before = h.bytes_read(gw.proc.pid)
held_lines = "".join(f"T=3.5 N={n}\r\n" for n in range(OUTAGE + LIVE + 1, OUTAGE + LIVE + 21))
line.write(held_lines)
# With the broker down the gateway reads nothing but the line, so its read counter tells when the
# lines are in its open batch.
h.wait_until(lambda: h.bytes_read(gw.proc.pid) >= before + len(held_lines), 10, "the gateway to read the lines")
assert gw.stop() == 0
held = h.records_by_number(h.store_readings(store))
assert [n for n, _ in held] == list(range(OUTAGE + LIVE + 1, OUTAGE + LIVE + 21)), \
    f"SIGTERM must commit the open batch; store holds {held}"

sub.close()
broker.start()
sub2 = h.Subscriber(port)
gw = h.Gateway(h.line_config(d, port, line.gateway_end), d).start()
sub2.wait_for(lambda s: len(h.records_by_number(s.readings())) >= 20, 30, "the held batch after restart")
numbers = [n for n, _ in h.records_by_number(sub.readings() + sub2.readings())]
assert numbers == list(range(1, OUTAGE + LIVE + 21)), "a restart must neither lose nor repeat readings"
assert all(b.historical for b in sub2.batches), "the held batch is replayed after the restart"
assert gw.stop() == 0
sub2.close()
line.close()
broker.stop()
print(f"ok: {OUTAGE} buffered + {LIVE} live + 20 held across restart")
