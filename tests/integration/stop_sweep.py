"""SIGTERM while the uplink is still trying to reach the broker stops the gateway cleanly, whatever
the connect attempt is doing at that moment: exit code 0 within the unit's TimeoutStopSec (20 s), the
"stopped" log line, no crash, and every reading stored before the stop still in the store and
delivered after a restart.

The connect attempt is caught in each of its states, one test each (test_stop_while_connecting_<state>,
run side by side), with the SIGTERM swept across it: refused, lost, frozen, silent and DNS blackhole.

Before the fix two cases failed. Frozen: the uplink freed the listeners Paho calls before it
destroyed the Paho client, and destroying the client fails the publishes still in flight or queued
(behind the full socket) through them: SIGSEGV (exit -11) in the second run, at the same instruction of
libpaho-mqttpp3's token::on_failure as the crash seen under test_fault_disk_full_live. DNS: stop()
asked Paho whether it was connected, which waits for the lock the resolver holds (30 s here), so
systemd would have killed the gateway, a non-zero exit. The other cases guard the same teardown
order for a connect attempt that fails in between (a window of microseconds, not hit by the sweep)."""

import os
import random
import subprocess
import time

import harness as h

STOP_LIMIT = 20  # systemd/loopgate.service TimeoutStopSec


class StopSweep:
    """One state's sweep: a line sensor on a pty, the gateway started and stopped again and again
    against the broker address the state gives, and the lines fed so far with what a broker
    acknowledged (the store may drop those)."""

    def __init__(self, state):
        self.state = state
        self.directory = h.workdir(f"stop-connecting-{state}")
        self.tag = f"swc-{state}-{os.getpid()}"
        self.line = h.PtyPair(self.directory, self.tag)
        self.store_path = os.path.join(self.directory, "store.db")
        self.fed = 0
        self.delivered = set()
        self.rng = random.Random(int(os.environ.get("LOOPGATE_SEED", "0")) or None)
        self.worst = 0.0

    def feed(self, n=1, pad=""):
        for _ in range(n):
            self.fed += 1
            self.line.write(f"T=4.5 N={self.fed}{pad}\r\n")

    def kept_missing(self):
        """Lines fed and not delivered that the store does not hold."""
        stored = {r.int_value for r in h.store_readings(self.store_path) if r.metric == "record"}
        return sorted(set(range(1, self.fed + 1)) - self.delivered - stored)

    def owed(self):
        """Lines fed that no broker acknowledged yet: a connected gateway sends these first."""
        return set(range(1, self.fed + 1)) - self.delivered

    def await_stored(self):
        try:
            h.wait_until(lambda: not self.kept_missing(), 20, f"the store to hold lines 1..{self.fed}")
        except AssertionError as e:
            raise AssertionError(f"{e}: missing {self.kept_missing()[:20]}, delivered {sorted(self.delivered)[-10:]}")

    def run_once(self, broker, what, before_stop, wrapper=(), before_lines=lambda: None, wait_stored=True,
                 lines=5, check_store=True):
        """Starts the gateway against `broker` (host:port), stores a few lines, calls before_stop() and
        sends SIGTERM; asserts the stop is clean and quick and the stored readings are intact."""
        cfg = h.line_config(self.directory, 0, self.line.gateway_end, max_delay="50ms", reconnect_max="1s")
        text = open(cfg).read().replace("tcp://127.0.0.1:0", f"tcp://{broker}")
        with open(cfg, "w") as f:
            f.write(text)
        gw = h.Gateway(cfg, self.directory, wrapper=wrapper)
        log_start = os.path.getsize(gw.log_path) if os.path.exists(gw.log_path) else 0
        gw.start()
        before_lines()
        self.feed(lines, pad=" pad=" + "x" * 40 if lines > 5 else "")
        if wait_stored:
            self.await_stored()
        before_stop()
        t0 = time.monotonic()
        gw.proc.terminate()
        try:
            code = gw.proc.wait(timeout=STOP_LIMIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{what}: the gateway did not stop within {STOP_LIMIT}s of SIGTERM\n"
                                 + gw.log_text()[log_start:])
        took = time.monotonic() - t0
        gw.log.close()
        log = gw.log_text()[log_start:]
        assert code == 0, f"{what}: exit code {code} (a negative code is the signal that killed it)\n{log}"
        assert "stopped; " in log, f"{what}: no 'stopped' log line\n{log}"
        missing = self.kept_missing() if check_store else []
        assert not missing, f"{what}: the store lost lines {missing[:20]} (fed {self.fed})"
        self.worst = max(self.worst, took)

    def finish(self):
        """A restart with the broker back delivers every reading that was stored before the stops."""
        port = h.free_port()
        broker = h.Mosquitto(port, self.directory).start()
        sub = h.Subscriber(port)
        cfg = h.line_config(self.directory, port, self.line.gateway_end, max_delay="50ms", reconnect_max="1s")
        gw = h.Gateway(cfg, self.directory).start()
        kept = self.owed()
        sub.wait_for(lambda s: h.Delivery(s.batches).records >= kept, 60,
                     f"all {len(kept)} stored lines delivered after the restart")
        assert gw.stop(timeout=STOP_LIMIT) == 0
        sub.close()
        broker.stop()
        self.line.close()
        print(f"{self.state}: stop took at most {self.worst:.2f}s; {self.fed} lines fed, {len(kept)} kept")
