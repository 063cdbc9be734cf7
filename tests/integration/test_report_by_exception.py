"""Report by exception on real parts (README "Report by exception"): a simulated Modbus meter whose
voltage is noisy is polled every 100 ms; with a deadband wider than the noise and a max_silence of 1 s
the voltage reaches the broker about once a second (a heartbeat) while the unfiltered frequency
arrives every poll. A line sensor that says one thing and falls silent gets a heartbeat carrying its
reading's original time; one with offline_after_silence goes offline and comes back with its next
record."""

import os

import harness as h

d = h.workdir("report")
dev = os.path.join(d, "dev")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
sim = h.spawn([h.LOOPGATE, "simulate", "--dir", dev, "--modbus", "meter=3", "--interval", "100"])
h.wait_until(lambda: os.path.exists(os.path.join(dev, "meter")), 10, "the simulated meter")
beat = h.PtyPair(d, "rbe-beat")
live = h.PtyPair(d, "rbe-live")

line_port = """  - name: {name}
    path: {path}
    driver: line
    settings: {{format: keyvalue, terminator: "\\n", fields: [{{field: T, metric: air_temperature}}]}}
    devices: [{{name: {device}, {extra}}}]
"""
cfg = h.write_config(d, broker.port, f"""  - name: rs485
    path: {dev}/meter
    baud: 9600
    driver: modbus-rtu
    devices:
      - name: meter
        unit: 3
        poll_interval: 100ms
        points:
          - {{name: voltage_l1, table: input, address: 0, type: float32, unit: V, deadband: 1000, max_silence: 1s}}
          - {{name: frequency, table: input, address: 6, type: float32, unit: Hz}}
""" + line_port.format(name="beat", path=beat.gateway_end, device="hb", extra="report: {deadband: 5, max_silence: 1s}")
    + line_port.format(name="live", path=live.gateway_end, device="lv", extra="offline_after_silence: 1s"))
gw = h.Gateway(cfg, d).start()
try:
    def of(s, device, metric):
        return [r for r in s.readings() if r.device == device and r.metric == metric]

    # --- a noisy meter: heartbeats instead of every poll ---------------------------------------
    sub.wait_for(lambda s: len(of(s, "meter", "voltage_l1")) >= 4, 20, "four voltage reports")
    volts = of(sub, "meter", "voltage_l1")
    freqs = of(sub, "meter", "frequency")
    gaps = [(b.receive_time_ns - a.receive_time_ns) / 1e9 for a, b in zip(volts, volts[1:])]
    assert all(0.95 <= g < 1.6 for g in gaps), f"voltage should come once per max_silence, gaps {gaps}"
    span = (volts[-1].receive_time_ns - volts[0].receive_time_ns) / 1e9
    polled = [f for f in freqs if volts[0].receive_time_ns <= f.receive_time_ns <= volts[-1].receive_time_ns]
    assert len(polled) >= 5 * span, f"frequency is unfiltered: {len(polled)} readings in {span:.1f} s"
    assert len({round(v.double_value, 3) for v in volts}) > 1, "the values are fresh readings, not one repeated"

    # --- a line sensor that falls silent: a heartbeat with its original time -----------------------
    beat.write("T=21.5\n")
    sub.wait_for(lambda s: len(of(s, "hb", "air_temperature")) >= 1, 10, "the first temperature")
    first = of(sub, "hb", "air_temperature")[0]
    sub.wait_for(lambda s: len(of(s, "hb", "air_temperature")) >= 2, 10, "a heartbeat after max_silence")
    hb = of(sub, "hb", "air_temperature")[1]
    assert hb.double_value == 21.5
    assert hb.source_time_ns == first.receive_time_ns, "a heartbeat keeps the time the value was read"
    assert 0.95e9 <= hb.receive_time_ns - first.receive_time_ns < 2e9, hb.receive_time_ns - first.receive_time_ns
    beat.write("T=22.0\n")  # inside the deadband of 5: not a report of its own...
    beat.write("T=40.0\n")  # ...but this one is
    sub.wait_for(lambda s: any(r.double_value == 40.0 for r in of(s, "hb", "air_temperature")), 10, "the 40.0 reading")
    assert not any(r.double_value == 22.0 for r in of(sub, "hb", "air_temperature")), "22.0 is inside the deadband"

    # --- a line sensor with offline_after_silence: offline, then back ------------------------------
    def online(s):
        return [r.bool_value for r in of(s, "lv", "online")]

    sub.wait_for(lambda s: online(s) == [False], 10, "lv offline: silent since the start")
    live.write("T=1.0\n")
    sub.wait_for(lambda s: online(s) == [False, True] and of(s, "lv", "air_temperature"), 10, "lv online with a reading")
    sub.wait_for(lambda s: online(s) == [False, True, False], 10, "lv offline after a second of silence")
    off = of(sub, "lv", "online")[2]
    assert off.receive_time_ns - of(sub, "lv", "air_temperature")[0].receive_time_ns >= 0.95e9
    live.write("T=2.0\n")
    sub.wait_for(lambda s: online(s) == [False, True, False, True] and len(of(s, "lv", "air_temperature")) == 2, 10,
                 "lv back online with its next record")
    seq = [r.sequence for r in sub.readings() if r.device == "lv"]
    assert seq == sorted(seq) and len(set(seq)) == len(seq), f"online readings are numbered like any other: {seq}"
    print("ok: deadband + max_silence heartbeats on a noisy meter, a line sensor's heartbeat keeps its time, "
          "a silent sensor goes offline and comes back")
finally:
    gw.stop()
    sim.terminate()
    sim.wait(timeout=10)
    beat.close()
    live.close()
    sub.close()
    broker.stop()
