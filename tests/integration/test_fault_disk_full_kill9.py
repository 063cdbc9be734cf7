"""kill -9 while the disk is full and write-through readings go out from memory: the broker has
batches under ids the store never wrote. The next start must not give those ids again: it finds
<store>.unstored set, says the last run did not close cleanly and continues above the id marks (a gap
in `sequence`, honest: readings held in memory were lost), so no batch id or device sequence that
reached the subscriber is reused for other readings. Needs root to mount a small tmpfs; skipped
(exit 77) otherwise."""

import os
import signal

import harness as h

d = h.workdir("diskfull-kill9")
disk = h.small_disk(d, "3M")
port = h.free_port()
broker = h.Mosquitto(port, d).start()
sub = h.Subscriber(port)
line = h.PtyPair(d, "dfk")
cfg = h.line_config(d, port, line.gateway_end, max_delay="50ms", store_dir=disk, store_max_bytes="1MiB",
                    durability="write-through")
gw = h.Gateway(cfg, d).start()

sensor = h.NumberedRecords(line)

def delivered(s):
    return len(h.Delivery(s.batches).records)

sensor.feed(100)
sub.wait_for(lambda s: delivered(s) >= sensor.fed, 20, "the first lines")
h.fill_disk(disk)
sensor.feed(2000)
h.wait_until(lambda: "holding readings in memory" in gw.log_text(), 30, "the gateway to report the full disk")
sub.wait_for(lambda s: delivered(s) >= sensor.fed, 60, "the lines fed while the disk is full, from memory")
before = list(sub.batches)
ids_before = max(b.batch_sequence for b in before)
sequences_before = max(r.sequence for b in before for r in b.readings if r.device == "ws1")

gw.proc.send_signal(signal.SIGKILL)
gw.proc.wait(timeout=10)
gw.log.close()
os.unlink(os.path.join(disk, "filler"))
gw = h.Gateway(cfg, d).start()
sensor.feed(100)
# Waited for as they arrive, reused ids or not (Delivery would drop readings under reused ids as
# duplicates: the loss a consumer would suffer).
sub.wait_for(lambda s: any(r.metric == "record" and r.int_value == sensor.fed for b in s.batches for r in b.readings), 30,
             "the last line fed after the restart")
after = sub.batches[len(before):]
live = [b for b in after if not b.historical]
assert live, "no live batch after the restart"
reused = [b.batch_sequence for b in live if b.batch_sequence <= ids_before]
assert not reused, f"batch ids reused after the restart: {reused[:10]} (the last before it: {ids_before})"
low = [r.sequence for b in live for r in b.readings if r.device == "ws1" and r.sequence <= sequences_before]
assert not low, f"device sequences reused after the restart: {low[:10]} (the last before it: {sequences_before})"
assert "did not close cleanly" in gw.log_text(), "the start must say the last run did not close cleanly"
got = h.Delivery(sub.batches)
assert got.records == set(range(1, sensor.fed + 1)), f"lost: {sorted(set(range(1, sensor.fed + 1)) - got.records)[:20]}"
assert gw.stop() == 0
print(f"ok: {sensor.fed} lines; killed with the disk full after {ids_before} batches went out, the next start went on "
      f"from batch {min(b.batch_sequence for b in live)} and sequence "
      f"{min(r.sequence for b in live for r in b.readings if r.device == 'ws1')}")
sub.close()
line.close()
broker.stop()
