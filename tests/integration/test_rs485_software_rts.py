"""Software RS-485 direction control (rs485.mode: rts) on a real gateway: RTS is raised before each
Modbus request and lowered after it, held for the configured delays, and those delays are waited on
the event loop's timers, not slept: a sensor on another port keeps being read while they run.

A pty has no modem control lines, so a preloaded shim (tests/shims/modem_lines.cpp) gives it an RTS
bit and logs every change with its time."""

import os
import sys

import harness as h

DELAY_S = 0.75  # before and after each frame: 1.5 s with RTS up per request


def rts_edges(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [(int(level), int(t)) for level, t in (line.split() for line in f if line.strip())]


def main():
    shim = os.environ.get("LOOPGATE_MODEM_LINES", "")
    if not os.path.exists(shim):
        print("skipping: the modem lines shim was not built (LOOPGATE_MODEM_LINES)")
        return 77
    d = h.workdir("rs485-rts")
    broker = h.Mosquitto(h.free_port(), d).start()
    sub = h.Subscriber(broker.port)
    bus = h.PtyPair(d, "rts-bus")
    bus.close_sensor_side()
    h.modbus_slave(d, bus.sensor_end, [{"unit": 1, "table": "holding", "address": 210, "type": "int16", "value": 230}])
    met = h.PtyPair(d, "rts-met")
    log = os.path.join(d, "rts.log")
    cfg = h.line_config(d, broker.port, met.gateway_end, max_delay="20ms", extra_ports=f"""  - name: bus
    path: {bus.gateway_end}
    baud: 19200
    driver: modbus-rtu
    rs485: {{mode: rts, delay_before_send: {int(DELAY_S * 1000)}ms, delay_after_send: {int(DELAY_S * 1000)}ms}}
    settings: {{response_timeout: 2s, retries: 0}}
    devices:
      - name: meter
        unit: 1
        poll_interval: 1s
        points:
          - {{name: voltage, table: holding, address: 210, type: int16}}
""")
    gw = h.Gateway(cfg, d, env={"LD_PRELOAD": h.preload(shim), "LOOPGATE_RTS_LOG": log}).start()
    feeder = h.Feeder(met, period=0.02)
    try:
        feeder.start()
        sub.wait_for(lambda s: sum(r.device == "meter" and r.metric == "voltage" for r in s.readings()) >= 3, 30,
                     "three polls answered through the RTS-switched line")
        voltages = [r for r in sub.readings() if r.device == "meter" and r.metric == "voltage"]
        assert all(r.int_value == 230 and r.quality == 0 for r in voltages), voltages[:3]

        # RTS goes up and down once per request, never twice in a row, and stays up for both delays.
        # (A reply may arrive while the request's delay after sending still holds RTS up.)
        h.wait_until(lambda: len(rts_edges(log)) >= 6, 15, "RTS down after the third request")
        edges = rts_edges(log)
        levels = [level for level, _ in edges]
        assert levels[:2] == [1, 0] and all(a != b for a, b in zip(levels, levels[1:])), levels
        held = [(down - up) / 1e9 for (lu, up), (ld, down) in zip(edges[::2], edges[1::2])]
        assert len(held) >= 3 and all(s >= 2 * DELAY_S for s in held), held

        # The sensor on the other port was read throughout: its receive times show no pause as long
        # as one of the delays, which a sleeping event loop would put between them (both: 1.5 s).
        feeder.stop()
        stamps = sorted(r.receive_time_ns for r in sub.readings() if r.device == "ws1" and r.metric == "record")
        first_up = edges[0][1]
        assert len(stamps) > 50, len(stamps)
        gaps = [(b - a) / 1e9 for a, b in zip(stamps, stamps[1:])]
        worst = max(gaps)
        assert worst < DELAY_S, f"the sensor port stalled for {worst:.3f} s while RTS was held (first RTS at {first_up})"
        assert gw.stop() == 0
        print(f"ok: {len(held)} frames with RTS held {min(held):.3f}-{max(held):.3f} s; "
              f"the other port's longest gap {worst * 1000:.0f} ms")
        return 0
    finally:
        feeder.stop()
        sub.close()
        met.close()
        bus.close()
        broker.stop()


sys.exit(main())
