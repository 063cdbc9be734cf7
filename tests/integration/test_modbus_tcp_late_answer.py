#!/usr/bin/python3
"""libmodbus #255 against the real gateway: a Modbus TCP server answers one request late, after the
gateway timed out and sent the next request, with the old transaction id. The modbus-tcp driver
pairs answers by transaction id, so the late answer is dropped and the next request still gets its
own answer: no value ever lands on the wrong point.

The server is a small hand-written one (not the project's codec): it answers FC 04 for unit 1 from
a table, and holds back its answer to the first read of input register 0 until the gateway's next
request has arrived, then sends the stale answer first."""

import os
import socket
import struct
import subprocess
import sys
import threading

import harness as h

VALUES = {0: 1111, 100: 2222}  # input register -> value: power at 0, other at 100


class LateServer(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.late_sent = threading.Event()
        self.requests = 0
        self.stopping = False

    @staticmethod
    def read_adu(conn):
        head = b""
        while len(head) < 6:
            chunk = conn.recv(6 - len(head))
            if not chunk:
                return None
            head += chunk
        tid, proto, length = struct.unpack(">HHH", head)
        body = b""
        while len(body) < length:
            chunk = conn.recv(length - len(body))
            if not chunk:
                return None
            body += chunk
        return tid, body[0], body[1:]

    @staticmethod
    def answer(tid, unit, pdu):
        function, address, count = struct.unpack(">BHH", pdu[:5])
        if function != 4:
            body = bytes([unit, function | 0x80, 1])
        else:
            words = [VALUES.get(address + i, 0) for i in range(count)]
            body = bytes([unit, 4, 2 * count]) + b"".join(struct.pack(">H", w) for w in words)
        return struct.pack(">HHH", tid, 0, len(body)) + body

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while True:
                    got = self.read_adu(conn)
                    if got is None:
                        break
                    self.requests += 1
                    tid, unit, pdu = got
                    address = struct.unpack(">H", pdu[1:3])[0]
                    if address == 0 and not self.late_sent.is_set():
                        # Wait for the gateway to give up and ask the next question, then answer the
                        # old one first, with its old transaction id.
                        following = self.read_adu(conn)
                        if following is None:
                            break
                        conn.sendall(self.answer(tid, unit, pdu))
                        self.late_sent.set()
                        print(f"late server: answered transaction {tid} after {following[0]} had arrived", flush=True)
                        tid, unit, pdu = following
                    conn.sendall(self.answer(tid, unit, pdu))

    def stop(self):
        self.stopping = True
        self.sock.close()


def main():
    d = h.workdir("modbus_tcp_late")
    broker = h.Mosquitto(h.free_port(), d).start()
    sub = h.Subscriber(broker.port)
    server = LateServer()
    server.start()
    cfg = h.write_config(d, broker.port, f"""  - name: plant
    path: tcp://127.0.0.1:{server.port}
    driver: modbus-tcp
    settings: {{response_timeout: 300ms, retries: 0, offline_after: 5, max_gap: 0}}
    devices:
      - name: meter
        unit: 1
        poll_interval: 100ms
        points:
          - {{name: power, table: input, address: 0, type: uint16}}
          - {{name: other, table: input, address: 100, type: uint16}}
""")
    check = subprocess.run([h.LOOPGATE, "check-config", cfg], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    gw = h.Gateway(cfg, d).start()

    def count(metric):
        return sum(1 for r in sub.readings() if r.device == "meter" and r.metric == metric and r.quality == 0)

    h.wait_until(server.late_sent.is_set, 20, "the late answer to be sent")
    sub.wait_for(lambda s: count("power") >= 3 and count("other") >= 3, 20, "readings after the late answer")
    wrong = [(r.metric, r.int_value) for r in sub.readings()
             if r.device == "meter" and r.quality == 0 and r.metric in ("power", "other")
             and r.int_value != VALUES[0 if r.metric == "power" else 100]]
    assert not wrong, f"values on the wrong point after a late answer: {wrong[:5]}"
    assert gw.stop() == 0
    server.stop()
    print(f"ok: the late answer was dropped, {count('power')} power and {count('other')} other readings all right")
    sub.close()
    broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
