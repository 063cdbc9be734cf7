"""SIGTERM among the reconnect attempts after the broker went away: the gateway was connected and
delivering, and the broker stops (as in test_fault_disk_full_live before it froze the broker). Each
stop is clean and quick and keeps what was stored (stop_sweep.py)."""

import time

import harness as h
from stop_sweep import StopSweep

sweep = StopSweep("lost")
lost_port = h.free_port()
for i in range(4):
    delay = i * 0.23
    broker = h.Mosquitto(lost_port, sweep.directory).start()
    sub = h.Subscriber(lost_port)

    def connected_then_lost():
        sweep.feed(1)
        # Connected, it sends what the store kept as well, before or after the new line.
        owed = sweep.owed()
        sub.wait_for(lambda s: h.Delivery(s.batches).records >= owed, 30, f"lines up to {sweep.fed} delivered")
        sweep.delivered.update(h.Delivery(sub.batches).records)
        sub.close()
        broker.stop()
    sweep.run_once(f"127.0.0.1:{lost_port}", f"broker lost, SIGTERM {delay:.2f}s after the lines were stored",
                   lambda: time.sleep(delay), before_lines=connected_then_lost)
sweep.finish()
