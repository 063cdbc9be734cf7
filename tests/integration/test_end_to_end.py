"""A sensor's lines travel a real pty, the real gateway, a real mosquitto, and arrive decoded at a
subscriber: every record, in order, with its units, and noise on the line does not get through."""

import harness as h

d = h.workdir("e2e")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
line = h.PtyPair(d, "met")
metrics_port = h.free_port()
gw = h.Gateway(h.line_config(d, broker.port, line.gateway_end, metrics=f"127.0.0.1:{metrics_port}"), d).start()
sub.wait_for(lambda s: any('"online"' in x for x in s.status), 10, "the retained online status")

N = 200
for n in range(1, N + 1):
    line.write(f"T={20 + n / 100:.2f} N={n}\r\n")
    if n == 50:
        line.write(b"\x00\xff garbage without a terminator" * 10 + b"\r\n")  # overlong: dropped, resynced
    if n == 60:
        line.write("no fields we know here\r\n")  # unmatched: dropped

sub.wait_for(lambda s: len([r for r in s.readings() if r.metric == "record"]) >= N, 20, f"{N} records")
readings = sub.readings()
records = h.records_by_number(readings)
assert [n for n, _ in records] == list(range(1, N + 1)), "records lost, duplicated or reordered"
seqs = [r.sequence for r in readings]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "per-device sequence not strictly increasing"

temps = [r for r in readings if r.metric == "air_temperature"]
assert len(temps) == N
assert all(r.unit == "degC" and r.device == "ws1" and r.quality == 0 for r in temps)
assert abs(temps[0].double_value - 20.01) < 1e-9 and abs(temps[-1].double_value - 22.00) < 1e-9
assert all(r.source_time_ns == 0 and r.receive_time_ns > 0 for r in readings)
assert all(b.gateway_id == "test-gw" and not b.historical for b in sub.batches)
batch_seqs = [b.batch_sequence for b in sub.batches]
assert batch_seqs == sorted(batch_seqs) and len(set(batch_seqs)) == len(batch_seqs)
# Batching is at work: 400 readings arrived in far fewer messages than readings.
assert len(sub.batches) < len(readings) / 4, f"{len(sub.batches)} batches for {len(readings)} readings"

# The Prometheus endpoint tells the same story.
import urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
metrics = dict(l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))
assert float(metrics["loopgate_readings_total"]) == 2 * N, text
assert metrics["loopgate_uplink_connected"] == "1"
assert metrics['loopgate_port_open{port="met"}'] == "1"
assert metrics['loopgate_driver_events_total{port="met",counter="overlong_lines"}'] == "1"
assert metrics['loopgate_driver_events_total{port="met",counter="unmatched_lines"}'] == "1"

assert gw.stop() == 0, "SIGTERM must end the gateway with exit code 0"
sub.wait_for(lambda s: '"offline"' in s.status[-1], 10, "the offline status on clean shutdown")
assert h.store_readings(f"{d}/store.db") == [], "acknowledged batches must leave the store"
sub.close()
line.close()
broker.stop()
print(f"ok: {N} records in {len(sub.batches)} batches")
