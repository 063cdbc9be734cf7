#!/usr/bin/python3
"""Signed remote configuration against a hostile sender and at the edges of its version range, end to
end: the real gateway, a real mosquitto, updates signed here with python3-cryptography (a signer the
project did not write), replies read on <prefix>/<gw>/config/reply, the gateway's own log.

Log forging: anyone who can publish on config/set, with no key, sends 100 updates for "another
gateway" whose gateway_id is 20 kB holding "\\nloopgate error: forged ..." lines, each one different.
Every one is refused, and the reply shows the id escaped and cut; no forged line reaches the log,
every log line stays bounded, and the log's rate limit lets 5 of the 100 through.

Versions over the whole uint64 range: version 2^63 is applied, still runs after a restart, and an
older captured version (2^63 - 1) is then refused as a replay; 2^64 - 1 is applied; `loopgate config
revert` works and keeps the mark.

An unreadable state file (its mark cannot be read) is never taken for "no mark": the gateway starts
with the local file, refuses every update with the located reason, says so in /api/status and
/metrics, and leaves the file as it was; `config revert` refuses too, naming the line."""

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import harness
import loopgate_pb2

Reply = loopgate_pb2.ConfigReply
HEALTH_TIMEOUT_S = 4
BIG = 2 ** 63
MAX = 2 ** 64 - 1


def letters(n):
    """n in letters: digits alone would not vary a line's shape for the log's old rate limit."""
    return "".join(chr(ord("a") + int(c)) for c in str(n))


def http_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


def state_text(state_dir):
    with open(os.path.join(state_dir, "state")) as f:
        return f.read()


def await_subscribed(replies):
    """READY=1 comes before the uplink has subscribed to config/set: an unsigned probe, sent again
    until its refusal comes back, shows the gateway hears the topic."""
    before = replies.count(1)

    def answered():
        replies.send(harness.config_update("x: 1\n", 1))
        try:
            return replies.wait(1, Reply.REFUSED, count=before + 1, timeout=1)
        except AssertionError:
            return None
    harness.wait_until(answered, 30, "the gateway to answer on config/reply")


def check_log_forging(gw, replies):
    await_subscribed(replies)
    forged = "\nloopgate error: forged line {}\n" + "A" * 20_000
    for i in range(100):
        replies.send(harness.config_update("x: 1\n", 7, gateway="other-gw" + forged.format(letters(i))))
    last = replies.wait(7, Reply.REFUSED, count=100, timeout=60)
    assert last.reason.startswith("for gateway 'other-gw\\x0aloopgate error: forged line "), last.reason
    assert "\n" not in last.reason and len(last.reason) < 400, (len(last.reason), last.reason[:300])
    log = gw.log_text()
    lines = log.splitlines()
    forged_lines = [l for l in lines if "forged line" in l and not l.startswith("loopgate warning: remote config:")]
    assert not forged_lines, f"{len(forged_lines)} forged lines, the first: {forged_lines[0][:200]}"
    longest = max(len(l) for l in lines)
    assert longest < 1024, f"a log line of {longest} bytes"
    # The probes' refusals are the same kind of event: with them, 5 lines in all.
    logged = [l for l in lines if l.startswith("loopgate warning: remote config: update") and " refused: " in l]
    assert len(logged) == 5, f"{len(logged)} refusals logged, the rate limit's burst is 5: {logged[:8]}"
    assert any("refused: for gateway 'other-gw\\x0aloopgate error: forged line " in l for l in logged), logged
    print(f"log forging: 100 refusals with 20 kB forged ids: 5 logged, none forged, longest line {longest} bytes")


def main():
    if not harness.have_cryptography():
        print("skipped: python3-cryptography is missing")
        return 77
    d = harness.workdir("remote-config-hostile")
    port = harness.free_port()
    broker = harness.Mosquitto(port, d).start()
    pty = harness.PtyPair(d, name=f"rch-{os.getpid()}")
    op = harness.keygen(d, "op")
    http_port = harness.free_port()
    path = harness.line_config(d, port, pty.gateway_end, metrics=f"127.0.0.1:{http_port}")
    with open(path, "a") as f:
        f.write(f"remote_config:\n  enabled: true\n  keys: [{op}.pub]\n  health_timeout: {HEALTH_TIMEOUT_S}s\n")
    with open(path) as f:
        local = f.read()
    state_dir = os.path.join(d, "config")
    replies = harness.ConfigReplies(port, "loopgate/test-gw/config", name="config-hostile")
    signer = harness.ConfigSigner(op)
    good = local.replace("max_delay: 100ms", "max_delay: 200ms")
    gw = harness.Gateway(path, d).start()
    try:
        check_log_forging(gw, replies)

        # --- version 2^63: applied, kept across a restart, and an older one is a replay ----------------
        replies.send(signer.update(good, BIG))
        replies.wait(BIG, Reply.APPLIED, timeout=HEALTH_TIMEOUT_S + 30)
        assert f"highest={BIG}\n" in state_text(state_dir) and f"good={BIG}\n" in state_text(state_dir)
        assert gw.stop() == 0
        gw = harness.Gateway(path, d).start()
        assert f"running version {BIG} from " in gw.log_text(), gw.log_text()[-2000:]
        await_subscribed(replies)
        replies.send(signer.update(good, BIG - 1))
        r = replies.wait(BIG - 1, Reply.REFUSED)
        assert r.reason.startswith(f"version {BIG - 1} is not above {BIG}"), r.reason
        assert r.running_version == BIG, r.running_version

        # --- 2^64 - 1, the last version there is: applied; revert keeps it as the mark -----------------
        replies.send(signer.update(good.replace("max_delay: 200ms", "max_delay: 300ms"), MAX))
        replies.wait(MAX, Reply.APPLIED, timeout=HEALTH_TIMEOUT_S + 30)
        assert gw.stop() == 0
        out = subprocess.run([harness.LOOPGATE, "config", "revert", "--config", path], capture_output=True,
                             text=True, timeout=10)
        assert out.returncode == 0, out.stderr
        assert f"highest={MAX}\ngood=0\n" in state_text(state_dir), state_text(state_dir)
        print(f"versions: {BIG} applied, kept across a restart, {BIG - 1} refused as a replay; {MAX} applied and "
              "reverted, the mark kept")

        # --- an unreadable mark: the local file runs, every update is refused, the file is kept --------
        damaged = state_text(state_dir).replace(f"highest={MAX}", "highest=1844674407370955161S")
        with open(os.path.join(state_dir, "state"), "w") as f:
            f.write(damaged)
        located = f"{state_dir}/state:1: highest: expected a whole number from 0 to {MAX}, got '1844674407370955161S'"
        gw = harness.Gateway(path, d).start()
        assert located in gw.log_text(), gw.log_text()[-2000:]
        await_subscribed(replies)
        replies.send(signer.update(good, 5))
        r = replies.wait(5, Reply.REFUSED)
        assert r.reason.startswith(f"the state file is unreadable ({located})"), r.reason
        assert r.running_version == 0
        page = json.loads(http_get(http_port, "/api/status"))["gateway"]
        assert page["config_state_problem"] == located and page["config_version"] == 0, page
        metrics = http_get(http_port, "/metrics")
        assert re.search(r"^loopgate_config_state_unreadable 1$", metrics, re.M), metrics
        assert gw.stop() == 0
        assert state_text(state_dir) == damaged, "the gateway wrote over the state it could not read"
        out = subprocess.run([harness.LOOPGATE, "config", "revert", "--config", path], capture_output=True,
                             text=True, timeout=10)
        assert out.returncode == 1 and located in out.stderr and "not reverted" in out.stderr, (out.returncode,
                                                                                                out.stderr)
        assert state_text(state_dir) == damaged
        print("unreadable state: local file runs, updates refused with the located reason, status and metrics "
              "say so, the file is kept, revert refuses")
    finally:
        replies.close()
        if gw.proc.poll() is None:
            gw.stop(sig=signal.SIGKILL)
        pty.close()
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
