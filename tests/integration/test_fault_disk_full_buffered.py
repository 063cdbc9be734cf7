"""Buffered (the default), the disk full and the broker stalled for a few seconds: batches it has not
acknowledged within write_delay are due for the disk, which refuses them. They stay in memory and go
out from there once the broker acknowledges again, before space returns, in order. (A refused commit
used to take their memory copy with it, and every batch after them waited for the disk.) Needs root
to mount a small tmpfs; skipped (exit 77) otherwise."""

import os
import signal

import harness as h

d = h.workdir("diskfull-buffered")
disk = h.small_disk(d, "3M")
port = h.free_port()
broker = h.Mosquitto(port, d).start()
sub = h.Subscriber(port)
line = h.PtyPair(d, "dfb")
cfg = h.line_config(d, port, line.gateway_end, max_delay="50ms", store_dir=disk, store_max_bytes="1MiB")
gw = h.Gateway(cfg, d).start()

sensor = h.NumberedRecords(line, pad="x" * 40)

def delivered(s):
    return len(h.Delivery(s.batches).records)

sensor.feed(100)
sub.wait_for(lambda s: delivered(s) >= sensor.fed, 20, "the first lines")
h.fill_disk(disk)
# Stalled, the broker acknowledges nothing: what waited write_delay (900 ms) is due for the full disk.
os.kill(broker.proc.pid, signal.SIGSTOP)
try:
    sensor.feed(3000)
    h.wait_until(lambda: "holding readings in memory" in gw.log_text(), 30, "a commit refused by the full disk")
finally:
    os.kill(broker.proc.pid, signal.SIGCONT)
sub.wait_for(lambda s: delivered(s) >= sensor.fed, 60, "every line, from memory, while the disk is still full")
assert os.path.exists(os.path.join(disk, "filler")) and "writable again" not in gw.log_text(), \
    "the disk must still be full: these readings went out from memory"
got = h.Delivery(sub.batches)
assert got.records == set(range(1, sensor.fed + 1)), f"lost: {sorted(set(range(1, sensor.fed + 1)) - got.records)[:20]}"
assert not got.order_violations, got.order_violations[:10]
os.unlink(os.path.join(disk, "filler"))
assert gw.stop() == 0
print(f"ok: {sensor.fed} lines, {len(got.records)} delivered from memory while the disk was full, none reordered")
sub.close()
line.close()
broker.stop()
