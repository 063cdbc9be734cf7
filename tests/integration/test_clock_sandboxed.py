#!/usr/bin/python3
"""clock_sync: kernel under the packaged unit's sandbox, where adjtimex() fails with EPERM
(ProtectClock=yes, SystemCallFilter=~@clock). Injected with an LD_PRELOAD shim built by the tests
(tests/shims/adjtimex_eperm.cpp), since CI runs without systemd. The gateway must not take the
failure for a synchronized clock: it says once, as an error, what forbids it and what to configure
instead, flags every reading uncertain, and reports the state in its status and metrics."""

import json
import os
import sys
import urllib.request

import harness as h

TIMESYNC_FLAG = "/run/systemd/timesync/synchronized"


def main():
    shim = os.environ.get("LOOPGATE_ADJTIMEX_EPERM", "")
    if not os.path.exists(shim):
        print("skipping: the adjtimex EPERM shim was not built (LOOPGATE_ADJTIMEX_EPERM)")
        return 77
    if os.path.exists(TIMESYNC_FLAG):
        # The fallback would rightly call this box synchronized; the test needs one that is not.
        print(f"skipping: {TIMESYNC_FLAG} exists on this machine")
        return 77
    d = h.workdir("clock-sandboxed")
    broker = h.Mosquitto(h.free_port(), d).start()
    line = h.PtyPair(d, "met")
    metrics_port = h.free_port()
    cfg = h.line_config(d, broker.port, line.gateway_end, metrics=f"127.0.0.1:{metrics_port}", clock_sync="kernel")
    sub = h.Subscriber(broker.port)
    gw = h.Gateway(cfg, d, env={"LD_PRELOAD": h.preload(shim)}).start()
    try:
        for n in range(1, 6):
            line.write(f"T=1 N={n}\r\n")
        sub.wait_for(lambda s: len(h.records_by_number(s.readings())) >= 5, 15, "5 records")
        records = [r for r in sub.readings() if r.metric == "record"]
        assert all(r.quality == 1 and r.quality_reason == "clock not synchronized" for r in records), records[:2]

        log = gw.log_text()
        errors = [l for l in log.splitlines() if "adjtimex() failed" in l]
        assert len(errors) == 1, f"expected the cause said once, got {len(errors)}:\n{log}"
        assert "error" in errors[0] and "Operation not permitted" in errors[0], errors[0]
        assert "sandbox forbids it" in errors[0] and f"clock_sync: {TIMESYNC_FLAG}" in errors[0], errors[0]

        metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        assert "loopgate_clock_synchronized 0" in metrics, metrics
        assert "loopgate_clock_source_failed 1" in metrics, metrics
        sub.wait_for(lambda s: any('"clock"' in x for x in s.status), 15, "a status document with the clock state")
        status = json.loads(next(x for x in reversed(sub.status) if '"clock"' in x))
        assert status["clock"]["synchronized"] is False and "adjtimex" in status["clock"]["problem"], status["clock"]
    except BaseException:
        print(gw.log_text())
        raise
    finally:
        code = gw.stop()
        sub.close()
        line.close()
        broker.stop()
    assert code == 0, code
    print("ok: adjtimex EPERM reported once, readings flagged, status and metrics say so")
    return 0


if __name__ == "__main__":
    sys.exit(main())
