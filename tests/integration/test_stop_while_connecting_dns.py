"""SIGTERM while Paho's send thread sits in the resolver, holding its lock: the broker is named by a
host name whose DNS servers never answer (the gateway runs in its own mount namespace with a
resolv.conf pointing at silent UDP servers). Before the fix stop() asked Paho whether it was
connected, which waits for the lock the resolver holds (30 s here), so systemd would have killed the
gateway. When the lookup gives up, Paho reports the failed connect to the uplink's listener. Needs
root for the mount namespace; skipped (77) otherwise (stop_sweep.py)."""

import os
import socket
import subprocess
import sys
import threading
import time

import harness as h
from stop_sweep import StopSweep


class SilentDns:
    """A site's DNS servers (three, as many as resolv.conf takes) that receive queries and never
    answer, each on its own loopback address, port 53. With glibc's defaults (5 s, 2 attempts) a
    lookup gives up after 30 s, longer than TimeoutStopSec."""

    def __init__(self, rng, servers=3):
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


if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
    print("skipped: a mount namespace for resolv.conf needs root")
    sys.exit(77)
sweep = StopSweep("dns")
dns = SilentDns(sweep.rng)
resolv = os.path.join(sweep.directory, "resolv.conf")
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
    sweep.run_once(f"broker.{sweep.tag}.example:1883", f"DNS blackhole, SIGTERM {delay:.2f}s after the query",
                   query_sent, wrapper)
dns.close()
sweep.finish()
