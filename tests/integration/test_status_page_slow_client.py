#!/usr/bin/python3
"""A page that stops reading its event stream is dropped, and never slows the data path: with one
such client connected (its receive buffer small, nothing read), the sensor's records keep reaching
the broker, all of them, in order, each burst as soon as the broker has the one before; the gateway
logs that it dropped the stream and closes it, while a page that does read keeps its stream through
the same bursts."""

import select
import socket
import time

import harness as h

d = h.workdir("status-slow")
broker = h.Mosquitto(h.free_port(), d).start()
line = h.PtyPair(d)
http_port = h.free_port()
gw = h.Gateway(h.line_config(d, broker.port, line.gateway_end, metrics=f"127.0.0.1:{http_port}", max_readings=1000), d).start()
sub = h.Subscriber(broker.port)


def open_stream(receive_buffer=None):
    s = socket.socket()
    if receive_buffer:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    s.connect(("127.0.0.1", http_port))
    s.sendall(b"GET /api/events HTTP/1.1\r\nHost: test\r\n\r\n")
    return s


stalled = open_stream(receive_buffer=4096)
reader = open_stream()
reader.settimeout(5)
assert b"200 OK" in reader.recv(65536)
reader.setblocking(False)

# Bursts of records, read by the gateway 4 KiB at a time, until the stalled stream is dropped. A burst
# is written once the broker has all but the last one: the stalled stream's queue grows by every burst
# (nothing leaves it), the reading page's by at most two bursts' events, however slow the gateway is
# (under ASan, on a busy machine). The line is written only when it has room, so the page that reads is
# read whenever its events come. A data path held up by the stalled stream stops the bursts: the
# deadline fails the test.
block = 300  # records per write: ~4 KiB, 600 readings
records = 0  # written whole
unwritten = b""
received = 0
deadline = time.monotonic() + 90
while unwritten or "event stream to 127.0.0.1 dropped" not in gw.log_text():
    assert time.monotonic() < deadline, f"the stalled stream was not dropped after {records} records"
    if not unwritten and sub.count("record") >= records - block:
        unwritten = b"".join(b"T=1.25 N=%d\r\n" % n for n in range(records + 1, records + block + 1))
    readable, writable, _ = select.select([reader], [line] if unwritten else [], [], 0.05)
    if reader in readable:  # the page that reads keeps up
        try:
            while True:
                chunk = reader.recv(1 << 20)
                if not chunk:
                    raise AssertionError("the reading page's stream was closed")
                received += len(chunk)
        except BlockingIOError:
            pass
    if line in writable:
        unwritten = unwritten[line.write_some(unwritten):]
        if not unwritten:
            records += block
reader.setblocking(True)

sub.wait_for(lambda s: s.count("record") >= records, 60,
             f"all {records} records at the broker while a page does not read")
assert sorted(r.int_value for r in sub.readings() if r.metric == "record") == list(range(1, records + 1))

# The stalled client finds its stream ended once it reads what was sent before the drop.
stalled.settimeout(10)
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        if not stalled.recv(1 << 20):
            break
    except ConnectionResetError:
        break
else:
    raise AssertionError("the stalled stream was not closed")

# The reading page still gets events (the status, once a second).
reader.settimeout(5)
more = reader.recv(65536)
assert more and received > 100_000, (len(more), received)
assert "dropped" not in gw.log_text().split("event stream to 127.0.0.1 dropped", 1)[1], "only the stalled stream was dropped"

stalled.close()
reader.close()
sub.close()
assert gw.stop() == 0
line.close()
broker.stop()
print(f"ok: {records * 2} readings delivered while a page stalled; it was dropped, the reading page got {received} bytes")
