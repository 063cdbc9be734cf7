"""Soak: `loopgate simulate`'s weather sensor at 100 records/s for SOAK_SECONDS (60 by default;
LOOPGATE_SOAK_SECONDS=3600 for an hour) with the broker up. Faults that grow with time hide from
tests that last seconds, so this one asserts on what grows: the store's write-ahead log stays within
its limit (it is checkpointed and truncated), the database stays small while nothing is backlogged,
the process's memory levels off, and every record arrives."""

import os
import time

import harness as h

SOAK_SECONDS = float(os.environ.get("LOOPGATE_SOAK_SECONDS", "60"))
# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default) before reuse, which
# looks like growth: keep it small, so what grows is the gateway's own.
SANITIZED = "ASAN_OPTIONS" in os.environ
if SANITIZED:
    os.environ["ASAN_OPTIONS"] += ":quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
MIB = 1 << 20

d = h.workdir("soak")
dev = os.path.join(d, "dev")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
sim = h.spawn([h.LOOPGATE, "simulate", "--dir", dev, "--line", "soakws", "--interval", "10"])
h.wait_until(lambda: os.path.exists(os.path.join(dev, "soakws")), 10, "the simulated sensor")
cfg = h.write_config(d, broker.port, f"""  - name: weather
    path: {dev}/soakws
    driver: line
    settings: {{terminator: "\\r\\n", fields: [{{field: T, metric: air_temperature, unit: degC}}]}}
    devices: [{{name: ws1}}]
""")
gw = h.Gateway(cfg, d).start()
store = os.path.join(d, "store.db")

def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0

def rss_kib():
    with open(f"/proc/{gw.proc.pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

sub.wait_for(lambda s: len(s.readings()) > 100, 20, "the first readings")
start = time.monotonic()
wal_max = db_max = 0
rss_early = None
while time.monotonic() - start < SOAK_SECONDS:
    time.sleep(1)
    assert gw.proc.poll() is None, "the gateway died"
    wal_max = max(wal_max, size(store + "-wal"))
    db_max = max(db_max, size(store))
    if rss_early is None and time.monotonic() - start >= min(20, SOAK_SECONDS / 3):
        rss_early = rss_kib()
rss_late = rss_kib()
readings = len(sub.readings())
with open(f"/proc/{gw.proc.pid}/io") as f:
    written = next(int(l.split()[1]) for l in f if l.startswith("write_bytes:"))
assert gw.stop() == 0
sim.terminate()
sim.wait(timeout=10)

rate = readings / (time.monotonic() - start)
print(f"soak: {SOAK_SECONDS:.0f}s, {readings} readings (~{rate:.0f}/s), WAL at most {wal_max} bytes, "
      f"database at most {db_max} bytes, RSS {rss_early} KiB -> {rss_late} KiB, "
      f"{written} bytes written to disk ({written / max(readings, 1):.0f} per reading)")
assert readings >= 50 * SOAK_SECONDS, "the sensor's readings did not arrive at the expected rate"
# Buffered (the default) with the broker acknowledging: the steady state writes nothing, so the log
# holds no more than the start-up's few pages.
assert wal_max <= MIB, f"the write-ahead log grew to {wal_max} bytes while the broker acknowledged everything"
assert db_max <= 2 * MIB, f"the database grew to {db_max} bytes with nothing backlogged"
assert rss_late - rss_early < (16 if SANITIZED else 8) * 1024, f"memory grew from {rss_early} to {rss_late} KiB"
sub.close()
broker.stop()
