#!/usr/bin/python3
"""A box without a real-time clock boots with its wall clock 1000 s behind; NTP steps it when the
sync flag appears (an LD_PRELOAD shim, tests/shims/wall_clock_behind.cpp, plays the clock and the
NTP client). Readings taken before are flagged, and once the step is known their receive times are
corrected in the store itself: the stored parts, read with sqlite3 and protobuf's runtime, hold the
true times, and what goes out is those stored bytes unchanged (plus the historical flag a replay
appends), not a batch decoded and encoded again on the way out."""

import os
import sys
import time

import harness as h

BEHIND_S = 1000
SLACK_NS = 5 * 10**9  # the gateway stamps a record within milliseconds of its write


def stored_batches(path):
    """Each stored batch's payload as the gateway concatenates it: its rows in order."""
    out = {}
    for seq, raw in h.stored_parts(path):
        out[seq] = out.get(seq, b"") + raw
    return out


def records(batch_bytes):
    b = h.loopgate_pb2.Batch()
    b.ParseFromString(batch_bytes)
    return {r.int_value: r for r in b.readings if r.metric == "record"}


def main():
    shim = os.environ.get("LOOPGATE_WALL_CLOCK_BEHIND", "")
    if not os.path.exists(shim):
        print("skipping: the wall clock shim was not built (LOOPGATE_WALL_CLOCK_BEHIND)")
        return 77
    d = h.workdir("clock-step")
    port = h.free_port()
    broker = h.Mosquitto(port, d)  # down: the early readings wait in the store
    line = h.PtyPair(d, "met")
    flag = os.path.join(d, "synchronized")
    cfg = h.line_config(d, port, line.gateway_end, clock_sync=flag)
    env = {"LD_PRELOAD": h.preload(shim), "LOOPGATE_CLOCK_STEP_FLAG": flag,
           "LOOPGATE_CLOCK_BEHIND_S": str(BEHIND_S)}
    gw = h.Gateway(cfg, d, env=env).start()
    sub = None
    try:
        store = f"{d}/store.db"
        first_write = time.time_ns()
        for n in range(1, 11):
            line.write(f"T=1 N={n}\r\n")
        last_write = time.time_ns()
        h.wait_until(lambda: len(h.records_by_number(h.store_readings(store))) == 10, 10, "early readings stored")
        early = [r for r in h.store_readings(store) if r.metric == "record"]
        assert all(r.quality == 1 and r.quality_reason == "clock not synchronized" for r in early), early[:2]
        # The shim works: the gateway's clock read 1000 s behind when it stamped them.
        assert all(r.receive_time_ns < first_write - (BEHIND_S - 10) * 10**9 for r in early), early[0]

        open(flag, "w").close()
        h.wait_until(lambda: "clock: synchronized" in (line.write("T=2 N=0\r\n") or gw.log_text()), 10,
                     "the gateway to see the sync")
        assert "moved by 1000" in gw.log_text() or "moved by 999.9" in gw.log_text(), gw.log_text()

        # Corrected in the store, once: the stored parts hold the true receive times now.
        def corrected_in_store():
            by_n = {n: r for b in stored_batches(store).values() for n, r in records(b).items()}
            return all(n in by_n and "corrected" in by_n[n].quality_reason for n in range(1, 11))
        h.wait_until(corrected_in_store, 10, "the stored readings to be corrected")
        stored = stored_batches(store)
        early_batches = {seq: b for seq, b in stored.items() if set(records(b)) & set(range(1, 11))}
        for b in early_batches.values():
            for n, r in records(b).items():
                if n not in range(1, 11):
                    continue
                assert first_write - SLACK_NS <= r.receive_time_ns <= last_write + SLACK_NS, (n, r, first_write)
                assert r.quality == 1, r

        broker.start()
        sub = h.Subscriber(port)
        for n in range(11, 21):
            line.write(f"T=3 N={n}\r\n")
        sub.wait_for(lambda s: {n for n, _ in h.records_by_number(s.readings())} >= set(range(1, 21)), 20, "all readings")
        # The bytes published for the early batches are the stored bytes: a replay appends only the
        # historical flag (field 3 = true: 0x18 0x01); nothing was decoded and encoded again. A batch
        # stays open while the broker is away (README "Batching"), so the one still open when the
        # store was read may have gathered more parts before it went out: the stored bytes lead.
        published = list(sub.payloads)
        for seq, b in early_batches.items():
            assert any(p.startswith(b) for p in published), f"batch {seq}: published bytes differ from stored"
        by_n = {r.int_value: r for r in sub.readings() if r.metric == "record"}
        for n in range(1, 11):
            r = by_n[n]
            assert r.quality == 1 and "corrected" in r.quality_reason, r
            assert first_write - SLACK_NS <= r.receive_time_ns <= last_write + SLACK_NS, (n, r)
        assert all(by_n[n].quality == 0 for n in range(11, 21)), by_n[11]
    except BaseException:
        print(gw.log_text())
        raise
    finally:
        code = gw.stop()
        if sub:
            sub.close()
        line.close()
        broker.stop()
    assert code == 0, code
    print("ok: 10 readings taken 1000 s behind corrected in the store and published as stored, 10 good after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
