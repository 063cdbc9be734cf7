"""store.durability: buffered, the default. With the broker acknowledging, readings never reach the
disk: the store's files do not change while hundreds of batches go out, and the gateway counts them
as unwritten. During an outage the same readings are written once write_delay has passed, and
drain when the broker returns. A kill -9 loses at most the readings of the last window and never
reuses an id (ids continue above the id marks, so the gap is visible); a clean restart continues
the device sequence exactly."""

import os
import signal
import time
import urllib.request

import harness as h


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {k: float(v) for k, v in (l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))}


def store_files(directory):
    """(size, mtime) of the store's database and write-ahead log."""
    out = {}
    for name in ("store.db", "store.db-wal"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            st = os.stat(path)
            out[name] = (st.st_size, st.st_mtime_ns)
    return out


def sequences(sub):
    return [r.sequence for r in sub.readings() if r.device == "ws1" and r.metric == "record"]


d = h.workdir("buffered")
port = h.free_port()
broker = h.Mosquitto(port, d).start()
sub = h.Subscriber(port)
line = h.PtyPair(d, "buf")
metrics_port = h.free_port()
cfg = h.line_config(d, port, line.gateway_end, metrics=f"127.0.0.1:{metrics_port}")
store = f"{d}/store.db"
gw = h.Gateway(cfg, d).start()
sensor = h.NumberedRecords(line, temperature="2.5")


try:
    # 1. Healthy uplink: nothing written. The first records settle the start-up writes (the run's
    # in-use mark, the first id block), then the files must not move.
    sensor.feed(5)
    sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= 5, 20, "the first records")
    before = store_files(d)
    # A steady flow for several write_delay windows: a record every 10 ms for 3 s (the pace is the
    # scenario; nothing waits on it), then every one of them delivered.
    start = time.monotonic()
    for k in range(300):
        time.sleep(max(0.0, start + k * 0.01 - time.monotonic()))
        sensor.feed(1)
    target = sensor.fed
    sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= target, 20, f"record {target}")
    m = metrics(metrics_port)
    assert store_files(d) == before, f"the store was written while the broker acknowledged: {before} -> {store_files(d)}"
    assert m["loopgate_store_unwritten_batches_total"] >= 30, m["loopgate_store_unwritten_batches_total"]
    assert h.store_depth(store) == 0
    print(f"healthy: {sensor.fed} records delivered, {int(m['loopgate_store_unwritten_batches_total'])} batches never written,"
          f" store files unchanged")

    # 1b. A lone record, with nothing read after it. Acknowledgements otherwise wait for the next
    # read; this one is settled by the gateway's own timer before write_delay runs out: every batch
    # the subscriber got is counted acknowledged, and the store files still have not moved.
    sensor.feed(1)
    lone = sensor.fed
    sub.wait_for(lambda s: any(n == lone for n, _ in h.records_by_number(s.readings())), 20, f"record {lone}")
    received = len({b.batch_sequence for b in sub.batches})
    h.wait_until(lambda: metrics(metrics_port)["loopgate_batches_published_total"] >= received, 10,
                 f"all {received} batches the subscriber got to be counted acknowledged")
    assert store_files(d) == before, f"a lone record was written: {before} -> {store_files(d)}"
    print(f"lone record: its acknowledgement settled without another read; still nothing written")

    # 2. Outage: written once write_delay (900 ms) has passed, delivered when the broker is back.
    broker.stop()
    h.wait_until(lambda: "lost connection" in gw.log_text() or "cannot connect" in gw.log_text(), 20,
                 "the gateway to notice the outage")
    sensor.feed(50)
    h.wait_until(lambda: h.store_depth(store) > 0, 10, "the outage's readings to be written")
    broker.start()
    sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= sensor.fed, 30, "the outage's readings")
    h.wait_until(lambda: h.store_depth(store) == 0, 20, "the backlog to be deleted once acknowledged")
    print(f"outage: 50 records written after write_delay and delivered after it")

    # 3. A clean restart continues the device sequence exactly.
    last = max(sequences(sub))
    assert gw.stop() == 0
    gw = h.Gateway(cfg, d).start()
    assert "did not close cleanly" not in gw.log_text()
    sensor.feed(5)
    sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= sensor.fed, 20, "records after a clean restart")
    first_after = min(s for s in sequences(sub) if s > last)
    assert first_after == last + 2, f"after a clean stop the sequence went from {last} to {first_after}"  # T, N
    print(f"clean restart: sequence {last} -> {first_after}")

    # 4. kill -9: what the broker acknowledged is delivered; no id is used twice; the next start
    # says so and continues above the marks.
    sensor.feed(20)
    target = sensor.fed
    sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= target, 20, "records before the kill")
    last = max(sequences(sub))
    batch_ids = {b.batch_sequence for b in sub.batches}
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait(timeout=10)
    gw.log.close()
    gw = h.Gateway(cfg, d).start()
    assert "did not close cleanly" in gw.log_text(), gw.log_text()[-2000:]
    sensor.feed(5)
    sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= sensor.fed, 20, "records after the kill")
    after = [b for b in sub.batches if b.batch_sequence not in batch_ids]
    new_sequences = [r.sequence for b in after for r in b.readings if r.device == "ws1"]
    assert new_sequences and min(new_sequences) > last, (last, new_sequences[:5])
    assert min(b.batch_sequence for b in after) > max(batch_ids)
    print(f"kill -9: sequence {last} -> {min(new_sequences)} (a visible gap, no id used twice)")
    assert gw.stop() == 0
except BaseException:
    print(gw.log_text()[-4000:])
    raise
finally:
    if gw.proc.poll() is None:
        gw.proc.kill()
    sub.close()
    line.close()
    broker.stop()
print("ok")
