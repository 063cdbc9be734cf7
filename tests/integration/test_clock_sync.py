"""On a box without a real-time clock: readings taken before the clock is synchronized are flagged
uncertain; once the sync flag appears, new readings are good, and the flagged ones still in the store
are published with their receive times corrected by the step."""

import os

import harness as h

d = h.workdir("clock")
port = h.free_port()
broker = h.Mosquitto(port, d)  # down: the early readings wait in the store
line = h.PtyPair(d, "met")
flag = os.path.join(d, "synchronized")
cfg = h.line_config(d, port, line.gateway_end, clock_sync=flag)
gw = h.Gateway(cfg, d).start()
assert "clock: not synchronized" in gw.log_text()

for n in range(1, 11):
    line.write(f"T=1 N={n}\r\n")
h.wait_until(lambda: len(h.records_by_number(h.store_readings(f"{d}/store.db"))) == 10, 10, "early readings stored")
early = h.store_readings(f"{d}/store.db")
assert all(r.quality == 1 and r.quality_reason == "clock not synchronized" for r in early), early[:2]

open(flag, "w").close()
h.wait_until(lambda: "clock: synchronized" in (line.write("T=2 N=0\r\n") or gw.log_text()), 10, "the gateway to see the sync")
broker.start()
sub = h.Subscriber(port)
for n in range(11, 21):
    line.write(f"T=3 N={n}\r\n")
sub.wait_for(lambda s: {n for n, _ in h.records_by_number(s.readings())} >= set(range(1, 21)), 20, "all readings")
by_n = {r.int_value: r for r in sub.readings() if r.metric == "record"}
assert all(by_n[n].quality == 1 and "corrected" in by_n[n].quality_reason for n in range(1, 11)), by_n[1]
assert all(by_n[n].quality == 0 for n in range(11, 21)), by_n[11]
assert gw.stop() == 0
print("ok: 10 flagged and corrected, 10 good after the sync")
sub.close()
line.close()
broker.stop()
