"""The disk fills up under a running gateway with the broker up, for long enough that memory holds
more readings than the disk has room for in one go. Delivery does not wait for space: readings go out
from memory while the disk is full (their ids come from the id marks, reserved ahead), and what the
broker acknowledges is never written. Once space returns, commits resume within seconds; readings
that could not be stored are counted as dropped, never lost silently; the store's files never pass
store.max_bytes plus the stated margin; and readings still held in memory, unacknowledged, at SIGTERM
are counted and said. Needs root to mount a small tmpfs; skipped (exit 77) otherwise.
Write-through: buffered, readings the broker acknowledges never meet the full disk at all
(test_buffered_store.py)."""

import os
import signal
import time
import urllib.request

import harness as h

d = h.workdir("diskfull-live")
disk = h.small_disk(d, "3M")

MIB = 1 << 20
port = h.free_port()
broker = h.Mosquitto(port, d).start()
sub = h.Subscriber(port)
line = h.PtyPair(d, "dfl")
metrics_port = h.free_port()
cfg = h.line_config(d, port, line.gateway_end, max_delay="50ms", metrics=f"127.0.0.1:{metrics_port}",
                    store_dir=disk, store_max_bytes="1MiB", durability="write-through")
gw = h.Gateway(cfg, d).start()

def metrics():
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    return {k: float(v) for k, v in (l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))}

largest = [0, {}]
def store_files():
    sizes = {}
    for name in os.listdir(disk):
        if name.startswith("store.db") and ".corrupt-" not in name:
            try:
                sizes[name] = os.path.getsize(os.path.join(disk, name))
            except OSError:
                pass
    if sum(sizes.values()) > largest[0]:
        largest[:] = [sum(sizes.values()), sizes]
    return largest[0]

sensor = h.NumberedRecords(line, pad="x" * 40)

sensor.feed(200)
sub.wait_for(lambda s: len(h.Delivery(s.batches).records) >= 200, 20, "the first lines")
h.fill_disk(disk)
# 15,000 lines, 30,000 readings: within the block of device sequences the id marks reserved ahead
# (65,536), so no id needs a write to the disk before it goes out.
for _ in range(15):
    sensor.feed(1000)
    store_files()
h.wait_until(lambda: "holding readings in memory" in gw.log_text(), 30, "the gateway to report the full disk")
# Published from memory while the disk is still full: the subscriber gets every line fed so far.
sub.wait_for(lambda s: len(h.Delivery(s.batches).records) >= sensor.fed, 60, "the lines fed while the disk is full")
assert os.path.exists(os.path.join(disk, "filler")) and "writable again" not in gw.log_text(), \
    "the disk must still be full: these readings went out from memory"
during_full = h.Delivery(sub.batches)
assert during_full.records == set(range(1, sensor.fed + 1)), \
    f"lost while the disk was full: {sorted(set(range(1, sensor.fed + 1)) - during_full.records)[:20]}"
assert not during_full.order_violations, during_full.order_violations[:10]
h.wait_until(lambda: metrics()["loopgate_store_unwritten_batches_total"] > 0, 10,
             "acknowledged batches to be forgotten, never written")
# Far more than the 3 MiB disk can take in one transaction, and past the marks' block: readings
# numbered beyond the marks wait in memory for the marks to be written, when space returns.
for _ in range(45):
    sensor.feed(1000)
    store_files()
time.sleep(2)  # let it fail for a while
assert gw.proc.poll() is None, "a full disk must not stop the gateway"

os.unlink(os.path.join(disk, "filler"))
freed = time.monotonic()
h.wait_until(lambda: "writable again" in gw.log_text(), 20, "commits to succeed once space returns")
resumed = time.monotonic() - freed
# Every reading is numbered per device when accepted (two per line: T and N): each number must
# arrive at the subscriber or be counted as dropped.
def sequences():
    return {r.sequence for b in list(sub.batches) for r in b.readings if r.device == "ws1"}
def accounted():
    store_files()
    seqs = sequences()
    return seqs and max(seqs) >= 2 * sensor.fed and len(seqs) + int(metrics()["loopgate_dropped_readings_total"]) >= max(seqs)
h.wait_until(accounted, 90, "every reading to be delivered or counted as dropped")
seqs = sequences()
dropped = int(metrics()["loopgate_dropped_readings_total"])
assert len(seqs) + dropped == max(seqs), f"{max(seqs)} readings accepted, {len(seqs)} delivered, {dropped} dropped"
delivered = h.Delivery(sub.batches)
assert not delivered.order_violations
limit = 1 * MIB + MIB // 4 + MIB // 8 + 256 * 1024
assert largest[0] <= limit, f"store files reached {largest[0]} bytes, over max_bytes plus margin ({limit}): {largest[1]}"

# Full again with the broker frozen (connected, acknowledging nothing), and stopped while readings
# wait in memory unacknowledged: they are counted and said.
os.kill(broker.proc.pid, signal.SIGSTOP)
try:
    h.fill_disk(disk)
    for _ in range(20):
        sensor.feed(1000)
    h.wait_until(lambda: gw.log_text().count("holding readings in memory") >= 2, 30, "the second full disk")
    assert gw.stop(timeout=30) == 0
finally:
    os.kill(broker.proc.pid, signal.SIGCONT)
log = gw.log_text()
assert "could not be stored and are lost" in log, log[-2000:]
print(f"ok: {sensor.fed} lines across a full disk with the broker up, all published while the disk was full: "
      f"{len(seqs)} readings delivered, {dropped} dropped and counted; commits resumed {resumed:.1f}s after space "
      f"returned; files at most {largest[0]} bytes")
sub.close()
line.close()
broker.stop()
