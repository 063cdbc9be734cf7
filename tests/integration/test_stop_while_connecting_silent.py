"""SIGTERM while Paho waits for a CONNACK that never comes (its connect timeout is 10 s): a listener
accepts the TCP connection and reads MQTT CONNECT but never answers, as a broker that hangs or a
relay that blackholes after the handshake. Each stop is clean and quick and keeps what was stored
(stop_sweep.py)."""

import socket
import threading
import time

import harness as h
from stop_sweep import StopSweep


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


sweep = StopSweep("silent")
silent = SilentListener()
for i in range(8):
    delay = i * 0.04
    mark = len(silent.received)  # this run's gateway opens the connections after this one

    def connect_sent():
        h.wait_until(lambda: any(n > 0 for n in silent.received[mark:]), 15,
                     "the gateway's CONNECT at the silent listener")
        time.sleep(delay)
    sweep.run_once(f"127.0.0.1:{silent.port}", f"silent broker, SIGTERM {delay:.2f}s after CONNECT", connect_sent)
silent.close()
sweep.finish()
