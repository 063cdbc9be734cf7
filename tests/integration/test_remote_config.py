#!/usr/bin/python3
"""Signed remote configuration, end to end: the real gateway with a line sensor on a socat pty pair,
a real mosquitto, updates signed here with python3-cryptography (a signer the project did not write)
or sent with `loopgate config push`, replies read on <prefix>/<gw>/config/reply.

Unsigned, wrong-key, replayed, other-gateway, expired and retained updates are refused, and an invalid
YAML is refused with check-config's located error. A good update is applied and committed: the status
document names its version and sha256, and so do /api/status, `loopgate status` and the status page
in chromium (when installed). An update pointing at a broker port nobody listens on is rolled
back within the health timeout, the gateway reconnects, and a persistent subscriber still gets every
reading (sequence check). A kill -9 while a version is on trial boots the last-known-good version, and
`loopgate config revert` returns to the local file."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request


import browser
import harness
import loopgate_pb2

HEALTH_TIMEOUT_S = 4
Reply = loopgate_pb2.ConfigReply


def api_gateway(http_port):
    """The status page's gateway section from /api/status; {} while the server restarts in-process."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/status", timeout=5) as r:
            return json.load(r)["gateway"]
    except (OSError, ValueError, KeyError):
        return {}


def latest_status(sub):
    with sub._cond:
        docs = [json.loads(s) for s in sub.status if s]
    online = [d for d in docs if d.get("state") == "online"]
    return online[-1] if online else None


def main():
    if not harness.have_cryptography():
        print("skipped: python3-cryptography is missing")
        return 77
    d = harness.workdir("remote-config")
    port = harness.free_port()
    broker = harness.Mosquitto(port, d).start()
    pty = harness.PtyPair(d, name=f"rc-{os.getpid()}")
    op = harness.keygen(d, "op")
    stranger = harness.keygen(d, "stranger")
    http_port = harness.free_port()
    path = harness.line_config(d, port, pty.gateway_end, metrics=f"127.0.0.1:{http_port}")
    with open(path, "a") as f:
        f.write(f"remote_config:\n  enabled: true\n  keys: [{op}.pub]\n  health_timeout: {HEALTH_TIMEOUT_S}s\n")
    with open(path) as f:
        local = f.read()
    state_dir = os.path.join(d, "config")
    base = "loopgate/test-gw/config"

    sub = harness.Subscriber(port, persistent=True)
    replies = harness.ConfigReplies(port, base)
    signer = harness.ConfigSigner(op)
    good = local.replace("max_delay: 100ms", "max_delay: 200ms").replace("reopen_min: 100ms", "reopen_min: 150ms")
    # A retained update waits on the broker: the gateway gets the stored copy when it subscribes.
    # (A live publish reaches existing subscribers with the retain flag cleared, as MQTT 3.1.1 says;
    # there the version order is what refuses the stored copy at the next subscribe.)
    replies.send(signer.update(good, 5), retain=True)
    gw = harness.Gateway(path, d).start()
    feeder = harness.Feeder(pty, period=0.02)
    feeder.start()
    try:
        # --- refused, each with its reason --------------------------------------------------------
        assert replies.wait(5, Reply.REFUSED).reason.startswith("retained message")
        replies.send(b"", retain=True)  # clears the retained update from the broker
        refusals = [
            (1, signer.update(good, 1, sign=False), False, "unsigned"),
            (2, harness.ConfigSigner(stranger).update(good, 2), False, "unknown key_id"),
            (3, signer.update(good, 3, gateway="other-gw"), False, "for gateway 'other-gw'"),
            (4, signer.update(good, 4, expires_in=-5), False, "expired"),
        ]
        for version, payload, retain, reason in refusals:
            replies.send(payload, retain=retain)
            r = replies.wait(version, Reply.REFUSED)
            assert r.reason.startswith(reason), (version, r.reason)
            assert r.running_version == 0

        bad_yaml = good.replace("baud: 9600", "baud: 9601")
        replies.send(signer.update(bad_yaml, 6))
        r = replies.wait(6, Reply.REFUSED)
        line = next(i for i, text in enumerate(bad_yaml.splitlines(), 1) if "baud: 9601" in text)
        assert r.reason.startswith(f"invalid configuration: remote config version 6:{line}:11: ports[0].baud: "
                                   "unsupported baud rate 9601"), r.reason
        assert r.sha256 == hashlib.sha256(bad_yaml.encode()).hexdigest()
        locked = good.replace("store.db", "moved.db")
        replies.send(signer.update(locked, 7))
        assert replies.wait(7, Reply.REFUSED).reason.startswith("store.path may not be changed remotely")

        # --- a good update, sent with `loopgate config push`: applied and committed ------------------
        good_file = os.path.join(d, "good.yaml")
        with open(good_file, "w") as f:
            f.write(good)
        push = subprocess.run([harness.LOOPGATE, "config", "push", "--key", f"{op}.key", "--broker",
                               f"tcp://127.0.0.1:{port}", "--gateway", "test-gw", "--version", "10", "--timeout", "60",
                               good_file], capture_output=True, text=True, timeout=90)
        assert push.returncode == 0, push.stdout + push.stderr + gw.log_text()
        assert "version 10: accepted" in push.stdout and "version 10: applied" in push.stdout, push.stdout
        sha10 = hashlib.sha256(good.encode()).hexdigest()
        assert replies.wait(10, Reply.APPLIED).sha256 == sha10
        with open(os.path.join(state_dir, "10.yaml")) as f:
            assert f.read() == good
        harness.wait_until(lambda: (latest_status(sub) or {}).get("config", {}).get("version") == 10, 45,
                           "the status document to name version 10")
        assert latest_status(sub)["config"]["sha256"] == sha10
        assert gw.proc.poll() is None, "the gateway restarted in-process, the process lives on"
        # The status page names the running version, and says whether it is still on trial.
        page = harness.wait_until(lambda: (lambda g: g if g.get("config_version") == 10 and not g["config_on_trial"] else None)(
            api_gateway(http_port)), 20, "/api/status to name version 10, no longer on trial")
        assert page["config_sha256"] == sha10, page
        table = subprocess.run([harness.LOOPGATE, "status", "--url", f"http://127.0.0.1:{http_port}/"],
                               capture_output=True, text=True, timeout=30)
        assert table.returncode == 0 and "remote version 10  " in table.stdout, table.stdout + table.stderr
        if shutil.which("chromium"):
            chrome = browser.Chromium(d)
            try:
                chrome.navigate(f"http://127.0.0.1:{http_port}/")
                shown = chrome.wait_for("(() => { const t = document.getElementById('gw-config')?.textContent || '';"
                                        " return t.startsWith('remote version') ? t : null })()", 20, "the page to name the version")
                assert shown.startswith("remote version 10, "), shown
            finally:
                chrome.close()

        # --- replayed: the same version again ----------------------------------------------------------
        replies.send(signer.update(good, 10))
        assert replies.wait(10, Reply.REFUSED).reason.startswith("version 10 is not above 10")

        # --- a broker port nobody listens on: rolled back within the health timeout --------------------
        dead = good.replace(f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{harness.free_port()}")
        replies.send(signer.update(dead, 11))
        accepted = replies.wait(11, Reply.ACCEPTED)
        t0 = time.monotonic()
        rolled = replies.wait(11, Reply.ROLLED_BACK, timeout=HEALTH_TIMEOUT_S + 20)
        took = time.monotonic() - t0
        assert rolled.reason.startswith("the uplink did not connect to tcp://127.0.0.1:"), rolled.reason
        assert rolled.running_version == 10 and rolled.sha256 == accepted.sha256
        assert took < HEALTH_TIMEOUT_S + 10, f"rollback took {took:.1f}s"
        harness.wait_until(lambda: (latest_status(sub) or {}).get("config", {}).get("version") == 10, 30,
                           "the status document to name version 10 again")

        # No reading lost across three restarts and a rollback: the gateway numbers every reading it
        # accepts (per device, across restarts), so a gap in what the subscriber got is a lost one.
        feeder.stop()
        last = feeder.sent
        sub.wait_for(lambda s: any(r.metric == "record" and r.int_value == last for r in s.readings()), 30,
                     f"the sensor's last record {last} at the persistent subscriber")

        def gaps(s):
            delivery = harness.Delivery(s.batches)
            return delivery.missing(max(delivery.sequences))
        try:
            sub.wait_for(lambda s: not gaps(s), 30, "the readings stored during the failed trial to be replayed")
        except AssertionError:
            raise AssertionError(f"readings lost: sequences {gaps(sub)[:20]}")
        delivery = harness.Delivery(sub.batches)
        assert not delivery.order_violations, delivery.order_violations[:5]
        assert any(b.historical for b in sub.batches), "readings taken during the failed trial were replayed"

        # --- kill -9 while a version is on trial: the next start runs the last-known-good one -----------
        replies.send(signer.update(dead, 12))
        replies.wait(12, Reply.ACCEPTED)

        def on_trial():
            with open(os.path.join(state_dir, "state")) as f:
                return "trial=12\n" in f.read()
        harness.wait_until(on_trial, 10, "version 12 to be on trial")
        gw.stop(sig=signal.SIGKILL)
        with sub._cond:
            sub.status.clear()
        gw = harness.Gateway(path, d).start()
        r = replies.wait(12, Reply.ROLLED_BACK, timeout=20)
        assert "while version 12 was on trial" in r.reason, r.reason
        assert r.running_version == 10
        harness.wait_until(lambda: (latest_status(sub) or {}).get("config", {}).get("version") == 10, 30,
                           "the restarted gateway's status document to name version 10")

        # --- `loopgate config revert`: the local file again, and old versions stay refused --------------
        assert gw.stop() == 0
        out = subprocess.run([harness.LOOPGATE, "config", "revert", "--config", path], capture_output=True, text=True,
                             timeout=10)
        assert out.returncode == 0, out.stderr
        assert not os.path.exists(os.path.join(state_dir, "10.yaml"))
        with sub._cond:
            sub.status.clear()
        gw = harness.Gateway(path, d).start()
        harness.wait_until(lambda: (latest_status(sub) or {}).get("config", {}).get("version") == 0, 30,
                           "the status document to name the local file (version 0)")
        assert latest_status(sub)["config"]["sha256"] == hashlib.sha256(local.encode()).hexdigest()
        replies.send(signer.update(good, 11))
        assert replies.wait(11, Reply.REFUSED, timeout=10).reason.startswith("version 11 is not above 12")
        assert gw.stop() == 0
    finally:
        feeder.stop()
        replies.close()
        sub.close()
        if gw.proc.poll() is None:
            gw.stop(sig=signal.SIGKILL)
        pty.close()
        broker.stop()
    print("remote config: refusals, apply, rollback, kill -9 and revert behave as specified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
