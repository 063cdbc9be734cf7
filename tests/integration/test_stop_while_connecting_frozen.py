"""SIGTERM while the broker stops answering (SIGSTOP) with publishes in flight: the stop gives up on
their acknowledgements and on the clean disconnect, and Paho fails the publishes still waiting when
the client is destroyed. Before the fix it called the uplink's freed publish listener: SIGSEGV in
libpaho-mqttpp3's token::on_failure, as seen under test_fault_disk_full_live (stop_sweep.py)."""

import os
import signal
import time

import harness as h
from stop_sweep import StopSweep

sweep = StopSweep("frozen")
frozen_port = h.free_port()
for i in range(3):
    broker = h.Mosquitto(frozen_port, sweep.directory).start()
    sub = h.Subscriber(frozen_port)

    def connected_then_frozen():
        owed = sweep.owed()  # what the store kept goes out first
        sub.wait_for(lambda s: h.Delivery(s.batches).records >= owed, 30, "the stored lines delivered")
        sweep.delivered.update(h.Delivery(sub.batches).records)
        sub.close()
        os.kill(broker.proc.pid, signal.SIGSTOP)
    try:
        # Enough lines to fill the socket buffers: Paho then queues publishes behind its pending
        # write. Some may still wait in the pty when the stop comes: the restart at the end reads
        # them, and checks every line arrives.
        sweep.run_once(f"127.0.0.1:{frozen_port}", f"frozen broker, run {i + 1}", lambda: time.sleep(1 + i * 0.3),
                       before_lines=connected_then_frozen, wait_stored=False, lines=20000, check_store=False)
    finally:
        os.kill(broker.proc.pid, signal.SIGCONT)
        broker.stop()
sweep.finish()
