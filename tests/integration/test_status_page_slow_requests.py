#!/usr/bin/python3
"""Half-sent requests do not take the status page away: one address holds at most 8 connections, and a
request's head must be complete 5 s after the connection opens, however slowly it trickles in. While
100 half-sent requests from 127.0.0.1 hang, another address is served; once the server has closed
them, 127.0.0.1 is served again. Every address of 127.0.0.0/8 is loopback on Linux."""

import http.client
import socket
import time

import harness as h

d = h.workdir("status-slow-requests")
broker = h.Mosquitto(h.free_port(), d).start()
line = h.PtyPair(d)
http_port = h.free_port()
gw = h.Gateway(h.line_config(d, broker.port, line.gateway_end, metrics=f"127.0.0.1:{http_port}"), d).start()


def get(path, source):
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def still_open(s):
    """True while the server has neither answered nor closed the connection."""
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except ConnectionError:
        return False


assert get("/api/status", "127.0.0.1")[0] == 200

half_sent = []
for _ in range(100):
    s = socket.create_connection(("127.0.0.1", http_port), timeout=10, source_address=("127.0.0.1", 0))
    s.sendall(b"GET /api/status HTTP/1.1\r\nHost: gw\r\n")  # no blank line: the head never ends
    s.setblocking(False)  # still_open() looks without waiting
    half_sent.append(s)

code, body = get("/api/status", "127.0.0.2")
assert code == 200 and b'"test-gw"' in body, (code, body[:80])
held = [s for s in half_sent if still_open(s)]
assert 1 <= len(held) <= 8, f"{len(held)} connections held by one address"

# Trickling the head a line at a time does not buy more time: the server closes every one of them.
deadline = time.monotonic() + 20
n = 0
while any(still_open(s) for s in held):
    assert time.monotonic() < deadline, "half-sent requests were still held 20 s after they began"
    for s in held:
        if still_open(s):
            try:
                s.sendall(b"X-Slow-%d: 1\r\n" % n)
            except OSError:
                pass
    n += 1
    time.sleep(0.5)  # the trickle's pace, not a wait for the server
for s in half_sent:
    s.close()
code, body = get("/api/status", "127.0.0.1")
assert code == 200 and b'"test-gw"' in body, (code, body[:80])

assert gw.stop() == 0
line.close()
broker.stop()
print(f"ok: 100 half-sent requests from 127.0.0.1 held {len(held)} connections; 127.0.0.2 was served meanwhile, "
      "and the server closed the half-sent ones within their head deadline")
