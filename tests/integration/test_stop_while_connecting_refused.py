"""SIGTERM while nothing listens on the broker's port: connect attempts fail at once and come again
with backoff (100 ms .. 1 s); the SIGTERM is swept across that cycle and its attempts. Each stop is
clean and quick and keeps what was stored (stop_sweep.py)."""

import time

import harness as h
from stop_sweep import StopSweep

sweep = StopSweep("refused")
refused_port = h.free_port()
for i in range(10):
    delay = i * 0.11 + sweep.rng.uniform(0, 0.05)
    sweep.run_once(f"127.0.0.1:{refused_port}", f"refused, SIGTERM {delay:.2f}s after the lines were stored",
                   lambda: time.sleep(delay))
sweep.finish()
