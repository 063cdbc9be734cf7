"""Sparkplug B over uplink.brokers: a move to another MQTT server starts a new session there and
follows the primary host's STATE on that server. Two real mosquittos, A (first) and B; every payload
decoded with Eclipse Tahu's JavaScript sparkplug-payload (as test_sparkplug).

kill -9 A: the node connects to B with the next bdSeq; the primary host is offline on B, so it holds
its births (and data) until the host's STATE on B says online, then NBIRTH (bdSeq + 1), DBIRTH, the
held data. A back, failback_after (2 s): NDEATH on B with B's bdSeq (a clean disconnect sends no
will), then NBIRTH with the next bdSeq, DBIRTH and data on A. Every record arrives on A or B."""

import json
import os
import signal
import sys
import time

import paho.mqtt.client as mqtt

import harness
from test_sparkplug import Collector, check_stream, ensure_tool, metric, records_in

GROUP, NODE, HOST = "plant", "test-gw", "scada"


def host_state(port, online):
    """The primary host's retained STATE on one server."""
    c = mqtt.Client(client_id=f"spb-host-{os.getpid()}-{port}")
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish(f"spBv1.0/STATE/{HOST}", json.dumps({"online": online, "timestamp": int(time.time() * 1000)}),
              qos=1, retain=True).wait_for_publish(10)
    c.loop_stop()
    c.disconnect()


def bdseq_of(ms, kind, start=0):
    return [int(metric(d, "bdSeq")["value"]) for k, _, _, d in ms[start:] if k == kind]


def main():
    ensure_tool()
    d = harness.workdir("sparkplug-failover")
    pa, pb = harness.free_port(), harness.free_port()
    a = harness.Mosquitto(pa, d).start()
    b = harness.Mosquitto(pb, d).start()
    host_state(pa, True)
    host_state(pb, False)
    on_a, on_b = Collector(pa), Collector(pb)
    pty = harness.PtyPair(d, f"spb-failover-{pa}")
    cfg = harness.line_config(d, None, pty.gateway_end, brokers=[f"tcp://127.0.0.1:{pa}", f"tcp://127.0.0.1:{pb}"],
                              uplink_extra=f"failback_after: 2s\nformat: sparkplug\n"
                                           f"sparkplug:\n  group_id: {GROUP}\n  primary_host_id: {HOST}")
    gw = harness.Gateway(cfg, d).start()
    try:
        ms = on_a.wait(lambda ms: any(k == "NBIRTH" for k, *_ in ms), 15, "NBIRTH on A")
        first = bdseq_of(ms, "NBIRTH")[0]
        for n in range(1, 4):
            pty.write(f"T=21.{n} N={n}\r\n")
        on_a.wait(lambda ms: set(records_in(ms, 0)) >= {1, 2, 3}, 15, "records 1-3 on A")

        # --- A dies: a new session on B, held until the primary host is online there ---
        a.proc.kill()
        a.proc.wait(timeout=10)
        on_a.client.loop_stop()  # A's next collector takes its client id
        harness.wait_until(lambda: f"connected (bdSeq {(first + 1) % 256}); waiting for primary host" in gw.log_text(),
                           15, "the node on B waiting for the primary host's STATE there")
        before = harness.bytes_read(gw.proc.pid)
        held = "".join(f"T=22.{n} N={n}\r\n" for n in range(4, 7))
        pty.write(held)
        harness.wait_until(lambda: harness.bytes_read(gw.proc.pid) >= before + len(held), 10,
                           "the gateway to read records 4-6")
        time.sleep(1.0)  # what it read would be out within max_delay (100 ms) if it were not held
        assert not [k for k, *_ in on_b.messages() if k in ("NBIRTH", "DDATA")], \
            "births or data on B while the primary host is offline there"
        host_state(pb, True)
        ms = on_b.wait(lambda ms: set(records_in(ms, 0)) >= {4, 5, 6}, 15, "NBIRTH, DBIRTH and records 4-6 on B")
        kinds = [k for k, *_ in ms]
        assert kinds[:2] == ["NBIRTH", "DBIRTH"], kinds
        assert bdseq_of(ms, "NBIRTH") == [(first + 1) % 256], (bdseq_of(ms, "NBIRTH"), first)
        check_stream(ms)

        # --- A back: failback; NDEATH on B with its bdSeq, a new session on A ---
        a = harness.Mosquitto(pa, d).start()
        host_state(pa, True)
        on_a2 = Collector(pa)
        ms_a = on_a2.wait(lambda ms: any(k == "NBIRTH" for k, *_ in ms), 20, "NBIRTH on A after the failback")
        ms_b = on_b.wait(lambda ms: any(k == "NDEATH" for k, *_ in ms), 10, "NDEATH on B")
        assert bdseq_of(ms_b, "NDEATH") == [(first + 1) % 256], bdseq_of(ms_b, "NDEATH")
        assert bdseq_of(ms_a, "NBIRTH")[0] == (first + 2) % 256, (bdseq_of(ms_a, "NBIRTH"), first)
        for n in range(7, 10):
            pty.write(f"T=23.{n} N={n}\r\n")
        ms_a = on_a2.wait(lambda ms: set(records_in(ms, 0)) >= {7, 8, 9}, 15, "records 7-9 on A")
        assert [k for k, *_ in ms_a][:2] == ["NBIRTH", "DBIRTH"], [k for k, *_ in ms_a]
        check_stream(ms_a)
        got = set(records_in(on_a.messages(), 0)) | set(records_in(on_b.messages(), 0)) | set(records_in(ms_a, 0))
        assert got >= set(range(1, 10)), sorted(got)
        assert gw.stop() == 0
        print(f"test_sparkplug_failover: passed (bdSeq {first} on A, {(first + 1) % 256} on B, "
              f"{(first + 2) % 256} on A again)")
    except BaseException:
        sys.stderr.write(gw.log_text()[-5000:])
        if gw.proc.poll() is None:
            gw.proc.send_signal(signal.SIGKILL)
        raise
    finally:
        on_b.client.loop_stop()
        pty.close()
        a.stop()
        b.stop()


if __name__ == "__main__":
    main()
