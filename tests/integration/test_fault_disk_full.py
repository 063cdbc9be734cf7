"""The disk holding the store fills up (ENOSPC) while the broker is down: the gateway keeps running,
holds readings in a bounded memory queue, and once space returns commits them; when the broker comes
back every line fed arrives. Needs root to mount a small tmpfs; skipped (exit 77) otherwise."""

import os

import harness as h

d = h.workdir("diskfull")
disk = h.small_disk(d, "1M")

port = h.free_port()
broker = h.Mosquitto(port, d)
line = h.PtyPair(d, "met")
cfg = h.line_config(d, port, line.gateway_end, max_delay="50ms", store_dir=disk)
gw = h.Gateway(cfg, d).start()

# Leave the store almost no room.
filler = os.path.join(disk, "filler")
h.fill_disk(disk)

sensor = h.NumberedRecords(line)

sensor.feed(2000)
h.wait_until(lambda: "holding readings in memory" in gw.log_text(), 30, "the gateway to report the full disk")
sensor.feed(500)
assert gw.proc.poll() is None, "a full disk must not stop the gateway"

os.unlink(filler)
h.wait_until(lambda: "writable again" in gw.log_text(), 30, "commits to succeed once space returns")
broker.start()
sub = h.Subscriber(port)
sub.wait_for(lambda s: len(h.Delivery(s.batches).records) >= sensor.fed, 60, "every line fed")
got = h.Delivery(sub.batches)
assert got.records == set(range(1, sensor.fed + 1)), f"lost: {sorted(set(range(1, sensor.fed + 1)) - got.records)[:20]}"
assert not got.order_violations
assert gw.stop() == 0
print(f"ok: {sensor.fed} lines fed across a full disk, all delivered")
sub.close()
line.close()
broker.stop()
