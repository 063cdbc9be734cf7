#!/usr/bin/python3
"""Bad logins from many addresses at once: the throttle keeps every address it is throttling however
many others fail (its table is bounded: when full, addresses not in it are refused too, 429), and the
password hash runs off the event loop, so the readings, and a page already logged in, are served while
a login is being checked. Every address of 127.0.0.0/8 is loopback on Linux: the client binds its
source to 127.1.0.x to appear as 50 different addresses.

The table is set to 32 addresses (gateway.http.login_addresses) rather than its default 1,024: the
flood must fill it within the throttle's minute, and the password worker runs at nice 10, so on a
machine busy with other tests 1,024 checks can take longer than that (they took 68 s under ASan in
CI). The default's own arithmetic is table-tested on a fake clock (test_status_page_login.cpp)."""

import base64
import hashlib
import http.client
import os
import socket

import harness as h


def pbkdf2_entry(name, password, iterations):
    """A gateway.http.users entry, made with Python's own PBKDF2 (not the gateway's)."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    hash_ = f"pbkdf2-sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    return f'- {{name: {name}, password_hash: "{hash_}"}}'


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


d = h.workdir("status-login-flood")
broker = h.Mosquitto(h.free_port(), d).start()
line = h.PtyPair(d)
http_port = h.free_port()
cfg = h.line_config(d, broker.port, line.gateway_end, metrics=f"0.0.0.0:{http_port}")


TABLE = 32  # gateway.http.login_addresses
FLOOD = 50


def configure(*entries):
    text = open(cfg).read()
    if "  http:\n" in text:
        start, end = text.index("  http:\n"), text.index("uplink:")
        text = text[:start] + text[end:]
    before, after = text.split("uplink:")
    with open(cfg, "w") as f:
        users = "".join(f"      {entry}\n" for entry in entries)
        f.write(before.rstrip("\n") + f"\n  http:\n    login_addresses: {TABLE}\n    users:\n{users}uplink:" + after)


def get(path, authorization=None, source="127.0.0.1", timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Authorization": authorization} if authorization else {})
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


# --- the throttle forgets nobody it throttles, however many addresses fail ---
configure(pbkdf2_entry("tech", "right-one", 10_000))
gw = h.Gateway(cfg, d).start()
assert get("/api/status", basic("tech", "right-one"))[0] == 200
for attempt in range(5):
    assert get("/api/status", basic("tech", f"guess-{attempt}"))[0] == 401
assert get("/api/status", basic("tech", "right-one"))[0] == 429, "five bad logins shut 127.0.0.1 out"

codes = [get("/api/status", basic("tech", "wrong"), f"127.1.0.{i + 1}")[0] for i in range(FLOOD)]
assert set(codes) <= {401, 429}, sorted(set(codes))
# The table holds 127.0.0.1 and TABLE - 1 addresses of the flood; the rest were not even checked.
assert codes[:TABLE - 1] == [401] * (TABLE - 1), codes[:TABLE - 1].count(401)
assert codes[TABLE - 1:] == [429] * (FLOOD - TABLE + 1), codes[TABLE - 1:].count(429)
assert get("/api/status", basic("tech", "right-one"))[0] == 429, "127.0.0.1 is still shut out after the flood"
assert get("/api/status", basic("tech", "right-one"), "127.2.0.1")[0] == 429, "a new address while the table is full"
h.wait_until(lambda: "logins from any other address are refused" in gw.log_text(), 10, "the global throttle in the log")
assert gw.stop() == 0

# --- a password being checked holds up neither the readings nor a page that is logged in ---
# A wrong password for `slow` costs two million iterations: seconds of hashing, long enough to see what
# else is served meanwhile. The worker's nice 10 makes that check take 25 times longer on a machine
# whose cores are busy (1.8 s alone under ASan, 48 s beside four busy loops): it gets minutes.
configure(pbkdf2_entry("tech", "right-one", 10_000), pbkdf2_entry("slow", "right-two", 2_000_000))
gw = h.Gateway(cfg, d).start()
sub = h.Subscriber(broker.port)
assert get("/api/status", basic("tech", "right-one"), "127.3.0.1")[0] == 200  # checked once, then remembered

bad = socket.create_connection(("127.0.0.1", http_port), timeout=60, source_address=("127.3.0.2", 0))
bad.sendall(f"GET /api/status HTTP/1.1\r\nHost: gw\r\nAuthorization: {basic('slow', 'wrong')}\r\n\r\n".encode())
line.write(b"".join(b"T=1.25 N=%d\r\n" % n for n in range(1, 6)))
code, body = get("/api/status", basic("tech", "right-one"), "127.3.0.3")
assert code == 200 and '"test-gw"' in body, code
sub.wait_for(lambda s: len([r for r in s.readings() if r.metric == "record"]) >= 5, 60, "the readings at the broker")
bad.setblocking(False)
try:
    early = bad.recv(65536)
    raise AssertionError(f"the bad login was answered before the readings and the logged-in page: {early[:40]!r}")
except BlockingIOError:
    pass  # still being checked: the event loop went on without it
bad.settimeout(240)
answer = bad.recv(65536)
assert answer.startswith(b"HTTP/1.1 401"), answer[:60]
bad.close()
sub.close()
assert gw.stop() == 0
line.close()
broker.stop()
print(f"ok: 127.0.0.1 stayed throttled through bad logins from {FLOOD} addresses ({codes.count(429)} refused "
      "once the table was full); readings and a logged-in page were served while a login was being checked")
