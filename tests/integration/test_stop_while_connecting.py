"""SIGTERM while the uplink is still trying to reach the broker stops the gateway cleanly, whatever
the connect attempt is doing at that moment: exit code 0 within the unit's TimeoutStopSec (20 s), the
"stopped" log line, no crash, and every reading stored before the stop still in the store and
delivered after a restart.

The connect attempt is caught in each of its states, with the SIGTERM swept across it:
- refused: nothing listens on the broker's port; attempts fail at once and come again with backoff;
- lost: the broker was up, the gateway delivered, and the broker stops: reconnect attempts follow;
- frozen: connected, the broker stops answering with publishes in flight;
- silent: a listener accepts the TCP connection and reads MQTT CONNECT but never answers (a broker
  that hangs, or a relay that blackholes after the handshake);
- DNS blackhole: the broker is named by a host name whose DNS server never answers, so Paho's send
  thread sits in the resolver, holding its lock, while the gateway stops (the gateway runs in its
  own mount namespace with a resolv.conf pointing at a silent UDP server; needs root, skipped
  otherwise). When the lookup gives up, Paho reports the failed connect to the uplink's listener.

Before the fix two cases failed. Frozen: the uplink freed the listeners Paho calls before it
destroyed the Paho client, and destroying the client fails the publishes still in flight or queued
(behind the full socket) through them: SIGSEGV (exit -11) in the second run, at the same instruction of
libpaho-mqttpp3's token::on_failure as the crash seen under test_fault_disk_full_live. DNS: stop()
asked Paho whether it was connected, which waits for the lock the resolver holds (30 s here), so
systemd would have killed the gateway, a non-zero exit. The other cases guard the same teardown
order for a connect attempt that fails in between (a window of microseconds, not hit by the sweep).
"""

import os
import random
import signal
import socket
import subprocess
import threading
import time

import harness as h

STOP_LIMIT = 20  # systemd/loopgate.service TimeoutStopSec

d = h.workdir("stop-connecting")
tag = f"swc{os.getpid()}"
line = h.PtyPair(d, tag)
store_path = os.path.join(d, "store.db")
fed = 0
delivered = set()  # lines the broker acknowledged before it went away: the store may drop them
rng = random.Random(int(os.environ.get("LOOPGATE_SEED", "0")) or None)


class SilentListener:
    """Accepts TCP connections and reads what the client sends, never answering: counts the bytes
    received so the test can await the client's CONNECT."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.received = []  # bytes received on each accepted connection, in order
        self._halt = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self._halt:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(c)
            self.received.append(0)
            threading.Thread(target=self._drain, args=(c, len(self.received) - 1), daemon=True).start()

    def _drain(self, c, i):
        try:
            while not self._halt:
                data = c.recv(4096)
                if not data:
                    return
                self.received[i] += len(data)
        except OSError:
            pass

    def close(self):
        self._halt = True
        self.sock.close()
        for c in self.conns:
            c.close()


class SilentDns:
    """A site's DNS servers (three, as many as resolv.conf takes) that receive queries and never
    answer, each on its own loopback address, port 53. With glibc's defaults (5 s, 2 attempts) a
    lookup gives up after 30 s, longer than TimeoutStopSec."""

    def __init__(self, servers=3):
        base = f"127.{rng.randrange(64, 250)}.{rng.randrange(1, 250)}"
        self.addrs = [f"{base}.{i + 1}" for i in range(servers)]
        self.socks = []
        self.queries = 0
        self._halt = False
        for addr in self.addrs:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((addr, 53))
            s.settimeout(0.1)
            self.socks.append(s)
            threading.Thread(target=self._run, args=(s,), daemon=True).start()

    def _run(self, s):
        while not self._halt:
            try:
                s.recvfrom(4096)
                self.queries += 1
            except OSError:
                continue

    def resolv_conf(self):
        return "".join(f"nameserver {a}\n" for a in self.addrs)

    def close(self):
        self._halt = True
        for s in self.socks:
            s.close()


def feed_and_store(n=5, wait_stored=True, pad=""):
    """Feeds n numbered lines and waits until the store committed them."""
    global fed
    for _ in range(n):
        fed += 1
        line.write(f"T=4.5 N={fed}{pad}\r\n")
    if not wait_stored:
        return
    try:
        h.wait_until(lambda: not kept_missing(), 20, f"the store to hold lines 1..{fed}")
    except AssertionError as e:
        raise AssertionError(f"{e}: missing {kept_missing()[:20]}, delivered {sorted(delivered)[-10:]}")


def kept_missing():
    """Lines fed and not delivered that the store does not hold."""
    stored = {r.int_value for r in h.store_readings(store_path) if r.metric == "record"}
    return sorted(set(range(1, fed + 1)) - delivered - stored)


def run_once(broker, what, before_stop, wrapper=(), before_lines=lambda: None, wait_stored=True, lines=5,
             check_store=True):
    """Starts the gateway against `broker` (host:port), stores a few lines, calls before_stop() and
    sends SIGTERM; asserts the stop is clean and quick and the stored readings are intact."""
    cfg = h.line_config(d, 0, line.gateway_end, max_delay="50ms", reconnect_max="1s")
    text = open(cfg).read().replace("tcp://127.0.0.1:0", f"tcp://{broker}")
    with open(cfg, "w") as f:
        f.write(text)
    gw = h.Gateway(cfg, d, wrapper=wrapper)
    log_start = os.path.getsize(gw.log_path) if os.path.exists(gw.log_path) else 0
    gw.start()
    before_lines()
    feed_and_store(lines, wait_stored, pad=" pad=" + "x" * 40 if lines > 5 else "")
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
    missing = kept_missing() if check_store else []
    assert not missing, f"{what}: the store lost lines {missing[:20]} (fed {fed})"
    return took


worst = {}

# Refused: the SIGTERM swept across the backoff cycle (100 ms .. 1 s) and its attempts.
refused_port = h.free_port()
for i in range(10):
    delay = i * 0.11 + rng.uniform(0, 0.05)
    took = run_once(f"127.0.0.1:{refused_port}", f"refused, SIGTERM {delay:.2f}s after the lines were stored",
                    lambda: time.sleep(delay))
    worst["refused"] = max(worst.get("refused", 0), took)

# Lost: the broker was up and goes away (as in test_fault_disk_full_live before it froze the broker);
# the SIGTERM lands among the reconnect attempts that follow.
lost_port = h.free_port()
for i in range(4):
    delay = i * 0.23
    broker = h.Mosquitto(lost_port, d).start()
    sub = h.Subscriber(lost_port)
    def connected_then_lost():
        global fed
        fed += 1
        line.write(f"T=4.5 N={fed}\r\n")
        # Connected, it sends what the store kept as well, before or after the new line.
        owed = set(range(1, fed + 1)) - delivered
        sub.wait_for(lambda s: h.Delivery(s.batches).records >= owed, 30, f"lines up to {fed} delivered")
        delivered.update(h.Delivery(sub.batches).records)
        sub.close()
        broker.stop()
    took = run_once(f"127.0.0.1:{lost_port}", f"broker lost, SIGTERM {delay:.2f}s after the lines were stored",
                    lambda: time.sleep(delay), before_lines=connected_then_lost)
    worst["lost"] = max(worst.get("lost", 0), took)

# Frozen: connected, and the broker stops answering (SIGSTOP) with publishes in flight; the stop
# gives up on their acknowledgements and on the clean disconnect, and Paho fails the publishes still
# waiting when the client is destroyed: it called the uplink's freed publish listener (the segfault
# in libpaho-mqttpp3's token::on_failure seen under test_fault_disk_full_live).
frozen_port = h.free_port()
for i in range(3):
    broker = h.Mosquitto(frozen_port, d).start()
    sub = h.Subscriber(frozen_port)
    def connected_then_frozen():
        owed = set(range(1, fed + 1)) - delivered  # what the store kept goes out first
        sub.wait_for(lambda s: h.Delivery(s.batches).records >= owed, 30, "the stored lines delivered")
        delivered.update(h.Delivery(sub.batches).records)
        sub.close()
        os.kill(broker.proc.pid, signal.SIGSTOP)
    try:
        # Enough lines to fill the socket buffers: Paho then queues publishes behind its pending
        # write. Some may still wait in the pty when the stop comes: the restart at the end reads
        # them, and checks every line arrives.
        took = run_once(f"127.0.0.1:{frozen_port}", f"frozen broker, run {i + 1}", lambda: time.sleep(1 + i * 0.3),
                        before_lines=connected_then_frozen, wait_stored=False, lines=20000, check_store=False)
    finally:
        os.kill(broker.proc.pid, signal.SIGCONT)
        broker.stop()
    worst["frozen"] = max(worst.get("frozen", 0), took)

# Silent: the SIGTERM while Paho waits for a CONNACK that never comes (its connect timeout is 10 s).
silent = SilentListener()
for i in range(8):
    delay = i * 0.04
    mark = len(silent.received)  # this run's gateway opens the connections after this one
    def connect_sent():
        h.wait_until(lambda: any(n > 0 for n in silent.received[mark:]), 15,
                     "the gateway's CONNECT at the silent listener")
        time.sleep(delay)
    took = run_once(f"127.0.0.1:{silent.port}", f"silent broker, SIGTERM {delay:.2f}s after CONNECT", connect_sent)
    worst["silent"] = max(worst.get("silent", 0), took)
silent.close()

# DNS blackhole: the SIGTERM while Paho's send thread waits in the resolver.
if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
    print("DNS blackhole skipped: a mount namespace for resolv.conf needs root")
else:
    dns = SilentDns()
    resolv = os.path.join(d, "resolv.conf")
    with open(resolv, "w") as f:
        f.write(dns.resolv_conf())
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               f'mount --bind "{resolv}" /etc/resolv.conf && exec "$@"', "sh"]
    for i in range(4):
        delay = i * 0.3
        def query_sent():
            h.wait_until(lambda: dns.queries > 0, 15, "the gateway's DNS query for the broker")
            time.sleep(delay)
        dns.queries = 0
        took = run_once(f"broker.{tag}.example:1883", f"DNS blackhole, SIGTERM {delay:.2f}s after the query",
                        query_sent, wrapper)
        worst["dns"] = max(worst.get("dns", 0), took)
    dns.close()

# A restart with the broker back delivers every reading that was stored before the stops.
port = h.free_port()
broker = h.Mosquitto(port, d).start()
sub = h.Subscriber(port)
cfg = h.line_config(d, port, line.gateway_end, max_delay="50ms", reconnect_max="1s")
gw = h.Gateway(cfg, d).start()
kept = set(range(1, fed + 1)) - delivered
sub.wait_for(lambda s: h.Delivery(s.batches).records >= kept, 60,
             f"all {len(kept)} stored lines delivered after the restart")
assert gw.stop(timeout=STOP_LIMIT) == 0
sub.close()
broker.stop()
line.close()
print("stop took at most " + ", ".join(f"{k} {v:.2f}s" for k, v in worst.items()) + f"; {fed} lines kept")
