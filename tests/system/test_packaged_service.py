#!/usr/bin/python3
"""The packaged product on a real systemd, driven as an operator at a pump station would (issue 31).

A Debian 12 minbase with systemd (debootstrap, cached) is booted with systemd-nspawn; the broker is a
mosquitto on a loopback port of the host (the container shares the host's network) and each serial
sensor a socat pty inside the container, with the group and mode the package's udev rule gives serial
lines (root:dialout 0660) and linked as /dev/loopgate/<name> as its SYMLINK+= would (udev does not
run in a container). On one boot, then one reboot:

  1. dpkg -i of scripts/package.sh's .deb on the clean system: user, state directory, conffile, unit
     enabled but not started; started by hand with the shipped example it runs and says in the
     journal what is missing;
  2. the operator's config: `systemctl start` returns once READY=1 came, readings reach the broker,
     `systemctl status` shows the status text, the journal carries the log's priorities;
  3. clock_sync with the file source; the sandbox as shipped: state writable, the rest read-only, no
     capabilities, the serial line open through dialout, the status page on loopback only;
  4. `systemd-analyze security` of the running unit at or below the offline score;
  5. `systemctl reload` adds a port without losing a reading;
  6. clock_sync: kernel refused by the sandbox, said loudly;
  7. the watchdog: a stopped event loop is killed (Result=watchdog) and restarted, nothing stored lost;
  8. apt-get remove keeps the state, purge removes it;
  9. upgrade: the previous release's .deb holding a backlog, then dpkg -i of this one: the store kept
     in place and drained, the conffile kept, the new binary running;
 10. reboot: the service comes back by itself and continues the id sequence.

Skipped (exit 77) only where systemd-nspawn cannot boot a container (not root, no systemd-nspawn,
or nspawn refusing to run here), saying why."""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import harness as h
import nspawn
import packages

CONF = "/etc/loopgate/loopgate.yaml"
STORE = "/var/lib/loopgate/store.db"
TIMESYNC_FLAG = "/run/systemd/timesync/synchronized"
DEVICES = {"weather": "ws1", "rain": "rg1"}
# The container needs systemd and a shell's tools; socat plays the sensors; the package's Depends
# are added from the .deb files, so `dpkg -i` finds them as on a box that has them.
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "socat"]


def step(title):
    print(f"== {title}", flush=True)


def skip(why):
    print(f"SKIPPED: the system test cannot run here: {why}", flush=True)
    sys.exit(77)


def udev_group_and_mode():
    """The GROUP= and MODE= the package's example udev rules give serial lines (one pair for all)."""
    rules = open(os.path.join(packages.SOURCE, "deploy/udev/99-loopgate-serial.rules")).read()
    pairs = set(re.findall(r'GROUP="([^"]+)", MODE="([0-7]+)"', rules))
    assert len(pairs) == 1, f"the udev rules disagree on group and mode: {pairs}"
    return pairs.pop()


class Sensor:
    """A serial sensor inside the container: socat's pty, with the group and mode of the package's udev
    rules and linked as /dev/loopgate/<name> as their SYMLINK+= does (udev does not run in a
    container); the test writes its lines through a TCP connection on loopback that socat relays to
    the pty."""

    def __init__(self, box, name):
        self.box = box
        self.name = name
        self.path = f"/dev/loopgate/{name}"
        self.tcp = h.free_port()
        group, mode = udev_group_and_mode()
        box.run(["mkdir", "-p", "/dev/loopgate"])
        box.run(["systemd-run", f"--unit=sensor-{name}", "--collect", "--quiet", "socat",
                 f"PTY,link={self.path},raw,echo=0,group={group},mode={mode}",
                 f"TCP-LISTEN:{self.tcp},bind=127.0.0.1,reuseaddr"])
        self.sock = h.wait_until(self._connect, 15, f"socat of sensor {name} to listen on {self.tcp}")
        h.wait_until(lambda: box.run(["test", "-e", self.path], check=False).returncode == 0, 10,
                     f"{self.path} to appear")

    def _connect(self):
        try:
            return socket.create_connection(("127.0.0.1", self.tcp), timeout=1)
        except OSError:
            return None

    def write(self, data):
        self.sock.sendall(data.encode())

    def close(self):
        self.sock.close()
        self.box.run(["systemctl", "stop", f"sensor-{self.name}"], check=False)


def config_yaml(broker_port, metrics_port, ports=("weather",), clock_sync=TIMESYNC_FLAG):
    entries = "".join("\n" + h.line_sensor_port(name, f"/dev/loopgate/{name}", DEVICES[name]) for name in ports)
    return f"""# {CONF}, as the operator edited it (tests/system/test_packaged_service.py)
gateway:
  id: nspawn-gw
  metrics: 127.0.0.1:{metrics_port}
  clock_sync: {clock_sync}
uplink:
  broker: tcp://127.0.0.1:{broker_port}
  reconnect_min: 100ms
  reconnect_max: 1s
  batch:
    max_readings: 500
    max_delay: 100ms
store:
  path: {STORE}
ports:{entries}"""


class Box:
    """The container seen as the operator's shell on the gateway box."""

    def __init__(self, container):
        self.c = container

    def run(self, *a, **kw):
        return self.c.run(*a, **kw)

    def write_config(self, text):
        with open(self.c.path(CONF), "w") as f:
            f.write(text)

    def show(self, *props):
        out = self.run(["systemctl", "show", "loopgate", *(f"-p{p}" for p in props)]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def main_pid(self):
        return int(self.show("MainPID")["MainPID"])

    def status(self):
        return self.run(["systemctl", "status", "loopgate", "--no-pager", "--lines=0"], check=False).stdout

    def journal(self, *extra):
        """The unit's journal entries of this boot as dicts (MESSAGE, PRIORITY, ...)."""
        out = self.run(["journalctl", "-b", "-u", "loopgate", "-o", "json", "--no-pager", *extra], timeout=60).stdout
        entries = []
        for line in out.splitlines():
            e = json.loads(line)
            if isinstance(e.get("MESSAGE"), list):  # journald's form of a message that is not UTF-8
                e["MESSAGE"] = bytes(e["MESSAGE"]).decode(errors="replace")
            entries.append(e)
        return entries

    def messages(self, *extra):
        return [e.get("MESSAGE", "") for e in self.journal(*extra)]

    def log_text(self):
        return self.run(["journalctl", "-b", "-u", "loopgate", "--no-pager", "-o", "short-precise"], check=False,
                        timeout=60).stdout

    def wait_log(self, text, timeout, what=None, since=0):
        """Waits for a journal line of the unit containing `text`; returns the entry. `since`: ignore
        the first `since` entries (those of an earlier run)."""
        def found():
            return next((e for e in self.journal()[since:] if text in e.get("MESSAGE", "")), None)
        try:
            return h.wait_until(found, timeout, what or f"the journal line '{text}'")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.log_text()[-6000:]}") from None

    def dpkg_install(self, deb, name):
        shutil.copyfile(deb, self.c.path(f"/root/{name}"))
        return self.run(["dpkg", "-i", f"/root/{name}"], timeout=300)

    def mainpid_sh(self, script, check=False):
        """`script` in the service's own mount namespace (its sandbox), as root."""
        return self.run(["nsenter", "-t", str(self.main_pid()), "-m", "sh", "-c", script], check=check)


def status_page(metrics_port, path="/api/status"):
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}{path}", timeout=5) as r:
        body = r.read().decode()
    return json.loads(body) if path == "/api/status" else body


def delivered(sub, device):
    """Record number N -> the readings' per-device sequence, of everything the broker delivered."""
    return dict(h.records_by_number(sub.readings(), device))


def wait_delivered(sub, device, numbers, timeout, what):
    numbers = set(numbers)
    try:
        sub.wait_for(lambda s: numbers <= set(delivered(s, device)), timeout, what)
    except AssertionError as e:
        missing = sorted(numbers - set(delivered(sub, device)))
        raise AssertionError(f"{e}; missing records {missing[:20]} ({len(missing)})") from None


def stored_records(box, device):
    """Record numbers the store holds, read by the host with sqlite3 (independently of loopgate)."""
    try:
        readings = h.store_readings(box.c.path(STORE))
    except Exception:  # the gateway may be in the middle of creating it
        return set()
    return {r.int_value for r in readings if r.device == device and r.metric == "record"}


def exposure(text):
    line = next((l for l in text.splitlines() if "Overall exposure level" in l), None)
    assert line, f"no overall exposure in:\n{text[-2000:]}"
    return float(line.split(":")[1].split()[0]), line.strip()


def main():
    if os.geteuid() != 0:
        skip("systemd-nspawn and debootstrap need root")
    for tool in ("systemd-nspawn", "debootstrap", "nsenter", "mosquitto", "socat", "dpkg-deb"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed (scripts/install-deps.sh installs it)")
    started = time.monotonic()
    d = h.workdir("system")
    out = h.output_dir("system")
    build_log = os.path.join(out, "build.log")
    print(f"logs: {out}", flush=True)

    step("the packages: this tree's (scripts/package.sh --no-tests) and the previous release's")
    new_deb = packages.current(build_log)
    old_deb = packages.previous(build_log) or new_deb
    new_binary = packages.extracted_file(new_deb, "/usr/bin/loopgate")
    root = nspawn.prepared_root(BASE_PACKAGES + packages.depends(new_deb) + packages.depends(old_deb),
                                os.path.join(out, "debootstrap.log"))
    container = nspawn.Container(root, f"loopgate-test-{os.getpid()}", os.path.join(out, "nspawn.log"))
    print(f"prepared in {time.monotonic() - started:.0f}s", flush=True)

    broker = h.Mosquitto(h.free_port(), d, persistent=True).start()
    sub = h.Subscriber(broker.port, persistent=True)
    metrics_port = h.free_port()
    try:
        container.boot()
    except nspawn.CannotRun as e:
        skip(str(e))
    box = Box(container)
    feeds = {name: h.NumberedRecords(None) for name in DEVICES}
    sensors = {}

    def attach(name):
        sensors[name] = Sensor(container, name)
        feeds[name].pty = sensors[name]

    def feed(name, k):
        first = feeds[name].fed + 1
        feeds[name].feed(k)
        return range(first, feeds[name].fed + 1)

    try:
        # ---------------------------------------------------------------------------------------
        step("1. dpkg -i on a clean system")
        r = box.dpkg_install(new_deb, "loopgate.deb")
        assert f"edit {CONF}" in r.stderr, f"postinst did not tell the operator what to do:\n{r.stdout}\n{r.stderr}"
        passwd = box.run(["getent", "passwd", "loopgate"]).stdout.strip()
        assert passwd.split(":")[5:7] == ["/var/lib/loopgate", "/usr/sbin/nologin"], passwd
        assert "dialout" in box.run(["id", "-nG", "loopgate"]).stdout.split()
        assert box.run(["stat", "-c", "%U:%G %a", "/var/lib/loopgate"]).stdout.split() == ["loopgate:loopgate", "750"]
        verify = box.run(["systemd-analyze", "verify", "/lib/systemd/system/loopgate.service"], check=False)
        assert verify.returncode == 0 and not verify.stderr.strip(), f"systemd-analyze verify:\n{verify.stderr}"
        conffiles = box.run(["dpkg-query", "-W", "-f=${Conffiles}", "loopgate"]).stdout
        assert CONF in conffiles, conffiles
        assert box.run(["systemctl", "is-enabled", "loopgate"], check=False).stdout.strip() == "enabled"
        assert box.run(["systemctl", "is-active", "loopgate"], check=False).stdout.strip() == "inactive", \
            "the service was started with the shipped example config"
        # Started by hand (or by the next boot: it is enabled) with the example, it runs and says what
        # is missing (docs/INSTALL.md).
        box.run(["systemctl", "start", "loopgate"], timeout=90)
        box.wait_log("port weather: cannot", 30, "the example's placeholder adapter reported")
        port_line = next(e for e in box.journal() if "port weather: cannot" in e["MESSAGE"])
        assert port_line["PRIORITY"] == "4", port_line
        assert "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0" in port_line["MESSAGE"], port_line
        box.run(["systemctl", "stop", "loopgate"], timeout=60)

        # ---------------------------------------------------------------------------------------
        step("2. the operator's config: start, READY=1, readings at the broker, status text, journal")
        attach("weather")
        box.write_config(config_yaml(broker.port, metrics_port))
        # As docs/INSTALL.md has it (`sudo -u loopgate`; runuser is what a minimal Debian has).
        box.run(["runuser", "-u", "loopgate", "--", "loopgate", "check-config", CONF])
        before = len(box.journal())
        box.run(["systemctl", "start", "loopgate"], timeout=90)
        # Type=notify: start returned, so READY=1 came, after the daemon's "running" line.
        state = box.show("ActiveState", "SubState", "MainPID")
        assert (state["ActiveState"], state["SubState"]) == ("active", "running"), state
        running = [e for e in box.journal()[before:] if " running: gateway nspawn-gw" in e["MESSAGE"]]
        assert running and running[0]["PRIORITY"] == "6", box.log_text()[-3000:]
        assert not running[0]["MESSAGE"].startswith("<"), running[0]  # the priority prefix is journald's, not text
        wait_delivered(sub, "ws1", feed("weather", 20), 30, "the first 20 records at the broker")
        flagged = [r for r in sub.readings() if r.metric == "record"]
        assert all(r.quality == 1 and r.quality_reason == "clock not synchronized" for r in flagged), flagged[:2]
        # The status line follows the watchdog pings (every WatchdogSec/2 = 15 s).
        h.wait_until(lambda: "uplink connected" in box.show("StatusText")["StatusText"], 40,
                     "the status text to say the uplink is connected")
        status = box.status()
        assert 'Status: "uplink connected, store holding ' in status and 'ports open 1/1"' in status, status
        print(status.strip(), flush=True)
        warnings = box.messages("-p", "warning")
        assert any("port weather: " in m for m in warnings) and not any(" running: gateway" in m for m in warnings), \
            warnings

        # ---------------------------------------------------------------------------------------
        step("3. clock_sync from the file, the sandbox as shipped, the serial line through dialout")
        assert status_page(metrics_port)["gateway"]["clock"] == {"source": TIMESYNC_FLAG, "synchronized": False}
        box.run(["sh", "-c", f"mkdir -p {os.path.dirname(TIMESYNC_FLAG)} && touch {TIMESYNC_FLAG}"])
        # The gateway looks at the flag (at most once a second) when readings come.
        def synchronized():
            feed("weather", 1)
            time.sleep(0.1)
            return status_page(metrics_port)["gateway"]["clock"]["synchronized"]
        h.wait_until(synchronized, 15, "the clock to count as synchronized")
        good = feed("weather", 5)
        wait_delivered(sub, "ws1", good, 30, "records after the clock was synchronized")
        after = [r for r in sub.readings() if r.metric == "record" and r.int_value in good]
        assert all(r.quality == 0 for r in after), after[:2]

        pid = box.main_pid()
        proc_status = box.run(["cat", f"/proc/{pid}/status"]).stdout
        fields = dict(l.split(":", 1) for l in proc_status.splitlines())
        uid = box.run(["id", "-u", "loopgate"]).stdout.strip()
        dialout = box.run(["getent", "group", "dialout"]).stdout.split(":")[2]
        assert fields["Uid"].split() == [uid] * 4, fields["Uid"]
        assert dialout in fields["Groups"].split(), fields["Groups"]
        assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0, (fields["CapEff"], fields["CapBnd"])
        assert fields["NoNewPrivs"].strip() == "1" and fields["Seccomp"].strip() == "2", proc_status
        # In the service's mount namespace: its state directories writable by its user; everything else
        # mounted read-only, so not even root could write there.
        for writable in ("/var/lib/loopgate", "/tmp", "/var/tmp"):
            r = box.mainpid_sh(f"setpriv --reuid loopgate --regid loopgate --init-groups "
                               f"sh -c 'touch {writable}/.probe && rm {writable}/.probe'")
            assert r.returncode == 0, f"{writable} is not writable for the service: {r.stderr}"
        for readonly in ("/etc/loopgate", "/etc", "/usr/bin", "/var/log", "/var/cache", "/"):
            r = box.mainpid_sh(f"touch {readonly}/.probe")
            assert r.returncode != 0 and "Read-only file system" in r.stderr, f"{readonly}: {r.returncode} {r.stderr}"
        # ProtectHome=yes: /root is an empty, inaccessible directory there (it holds the .deb here).
        r = box.mainpid_sh("ls -A /root")
        assert r.stdout.strip() == "", f"/root is visible to the service: {r.stdout}"
        # The line: root:dialout 0660 as the udev rules make it, so the service (loopgate, not the
        # owner, no capabilities) opened it through the group its unit adds.
        assert udev_group_and_mode() == ("dialout", "0660")
        tty = box.run(["readlink", "-f", "/dev/loopgate/weather"]).stdout.strip()
        assert box.run(["stat", "-c", "%U:%G %a", tty]).stdout.split() == ["root:dialout", "660"]
        fds = box.run(["sh", "-c", f"readlink /proc/{pid}/fd/*"]).stdout.split()
        assert tty in fds, f"{tty} not among the service's files {fds}"
        # The status page: on loopback only (the container shares the host's network, so its socket
        # table is the host's).
        page = status_page(metrics_port, "/")
        assert "<html" in page.lower()
        listening = [l.split() for f in ("/proc/net/tcp", "/proc/net/tcp6") for l in open(f).read().splitlines()[1:]]
        ours = [l[1] for l in listening if l[3] == "0A" and int(l[1].split(":")[1], 16) == metrics_port]
        assert ours == ["0100007F:%04X" % metrics_port], ours

        # ---------------------------------------------------------------------------------------
        step("4. systemd-analyze security: the running unit at or below the offline score")
        online, online_line = exposure(box.run(["systemd-analyze", "security", "--no-pager", "loopgate.service"],
                                               check=False, timeout=120).stdout)
        offline, offline_line = exposure(box.run(["systemd-analyze", "security", "--no-pager", "--offline=yes",
                                                  "/lib/systemd/system/loopgate.service"], check=False,
                                                 timeout=120).stdout)
        print(f"running unit: {online_line}\noffline:      {offline_line}", flush=True)
        assert online <= offline, (online_line, offline_line)

        # ---------------------------------------------------------------------------------------
        step("5. systemctl reload adds a port without losing a reading")
        attach("rain")
        # The weather sensor goes on printing a record every 20 ms through the reload.
        halt = threading.Event()

        def keep_feeding():
            while not halt.wait(0.02):
                feed("weather", 1)
        feeder = threading.Thread(target=keep_feeding)
        first = feeds["weather"].fed + 1
        feeder.start()
        try:
            h.wait_until(lambda: feeds["weather"].fed >= first + 25, 10, "the feeder to run")
            box.write_config(config_yaml(broker.port, metrics_port, ports=("weather", "rain")))
            r = box.run(["systemctl", "reload", "loopgate"], check=False, timeout=60)
            assert r.returncode == 0, f"systemctl reload failed ({r.returncode}): {r.stderr}\n{box.status()}"
            box.wait_log("SIGHUP: reloading", 15)
            h.wait_until(lambda: any(p["name"] == "rain" and p["open"] for p in status_page(metrics_port)["ports"]),
                         20, "the new port open")
            wait_delivered(sub, "rg1", feed("rain", 10), 30, "the new port's records")
            h.wait_until(lambda: feeds["weather"].fed >= first + 100, 20, "the feeder to go on after the reload")
        finally:
            halt.set()
            feeder.join(timeout=10)
        assert box.main_pid() == pid, "the reload restarted the service"
        wait_delivered(sub, "ws1", range(first, feeds["weather"].fed + 1), 30,
                       "every record written while the config was reloaded")

        # ---------------------------------------------------------------------------------------
        step("6. clock_sync: kernel under the sandbox: refused, and said loudly")
        box.write_config(config_yaml(broker.port, metrics_port, ports=("weather", "rain"), clock_sync="kernel"))
        before = len(box.journal())
        box.run(["systemctl", "restart", "loopgate"], timeout=90)
        refusal = box.wait_log("adjtimex() failed", 15, since=before)
        assert refusal["PRIORITY"] == "3", refusal
        assert "Operation not permitted (the service sandbox forbids it" in refusal["MESSAGE"], refusal
        assert f"set gateway.clock_sync: {TIMESYNC_FLAG}" in refusal["MESSAGE"], refusal
        clock = status_page(metrics_port)["gateway"]["clock"]
        assert clock["source"] == "kernel" and "adjtimex() failed" in clock["problem"], clock
        assert "loopgate_clock_source_failed 1" in status_page(metrics_port, "/metrics")
        box.write_config(config_yaml(broker.port, metrics_port, ports=("weather", "rain")))
        box.run(["systemctl", "restart", "loopgate"], timeout=90)
        wait_delivered(sub, "ws1", feed("weather", 5), 30, "records after the restarts")

        # ---------------------------------------------------------------------------------------
        step("7. the watchdog: a stopped event loop is killed and restarted, nothing stored lost")
        broker.stop()
        held = feed("weather", 30)
        h.wait_until(lambda: set(held) <= stored_records(box, "ws1"), 30, "the backlog in the store")
        pid = box.main_pid()
        restarts = int(box.show("NRestarts")["NRestarts"])
        before = len(box.journal())
        box.run(["sh", "-c", f"kill -STOP {pid}"])
        # WatchdogSec=30s: the last ping was at most 15 s before the stop.
        box.wait_log("Watchdog timeout", 60, "systemd's watchdog to fire", since=before)
        box.wait_log("Failed with result 'watchdog'", 60, since=before)
        h.wait_until(lambda: box.show("ActiveState")["ActiveState"] == "active" and box.main_pid() not in (0, pid),
                     60, "the service restarted")
        assert int(box.show("NRestarts")["NRestarts"]) == restarts + 1
        broker.start()
        wait_delivered(sub, "ws1", held, 60, "the stored backlog after the watchdog restart")

        # ---------------------------------------------------------------------------------------
        step("8. apt-get remove keeps the state; purge removes it")
        box.run(["apt-get", "remove", "-y", "-q", "loopgate"], timeout=300)
        assert box.run(["systemctl", "is-active", "loopgate"], check=False).stdout.strip() == "inactive"
        assert os.path.exists(container.path(STORE)) and os.path.exists(container.path(CONF))
        assert box.run(["getent", "passwd", "loopgate"], check=False).returncode == 0
        assert box.run(["dpkg-query", "-W", "-f=${Status}", "loopgate"]).stdout == "deinstall ok config-files"
        box.run(["apt-get", "purge", "-y", "-q", "loopgate"], timeout=300)
        for gone in ("/var/lib/loopgate", CONF, "/etc/systemd/system/multi-user.target.wants/loopgate.service"):
            assert not os.path.lexists(container.path(gone)), f"{gone} is left after purge"
        assert box.run(["getent", "passwd", "loopgate"], check=False).returncode != 0, "user loopgate left after purge"

        # ---------------------------------------------------------------------------------------
        step("9. upgrade from the previous release holding a backlog")
        box.dpkg_install(old_deb, "loopgate-previous.deb")
        previous_version = box.run(["dpkg-query", "-W", "-f=${Version}", "loopgate"]).stdout
        box.write_config(config_yaml(broker.port, metrics_port, ports=("weather", "rain")))
        edited = open(container.path(CONF)).read()
        box.run(["systemctl", "start", "loopgate"], timeout=90)
        since_install = feed("weather", 5)
        wait_delivered(sub, "ws1", since_install, 30, "records of the previous release")
        broker.stop()
        backlog = feed("weather", 40)
        h.wait_until(lambda: set(backlog) <= stored_records(box, "ws1"), 30, "the previous release's backlog stored")
        old_pid = box.main_pid()
        store_inode = os.stat(container.path(STORE)).st_ino
        before = len(box.journal())
        box.dpkg_install(new_deb, "loopgate.deb")
        h.wait_until(lambda: box.show("ActiveState")["ActiveState"] == "active" and box.main_pid() not in (0, old_pid),
                     60, "the upgrade to restart the service")
        new_pid = box.main_pid()
        exe = box.run(["sh", "-c", f"readlink /proc/{new_pid}/exe && sha256sum < /proc/{new_pid}/exe"]).stdout
        assert exe.split()[0] == "/usr/bin/loopgate" and exe.split()[1] == hashlib.sha256(new_binary).hexdigest(), \
            f"the running binary is not the new package's: {exe}"
        assert open(container.path(CONF)).read() == edited, "the upgrade changed the edited conffile"
        assert os.stat(container.path(STORE)).st_ino == store_inode, "the store was replaced, not kept in place"
        # The new binary opened the old store with its backlog (and upgraded its layout, had it changed).
        lines = [m for m in box.messages()[before:] if "store" in m]
        print(f"upgraded {previous_version} -> {box.run(['dpkg-query', '-W', '-f=${Version}', 'loopgate']).stdout}: "
              f"{lines}", flush=True)
        opened = [m for m in lines if " running: gateway nspawn-gw" in m]
        assert opened and not opened[-1].endswith("holding 0 batches"), lines
        assert not any("written by a newer loopgate" in m for m in lines), lines
        broker.start()
        wait_delivered(sub, "ws1", backlog, 60, "the previous release's backlog delivered by the new one")
        h.wait_until(lambda: status_page(metrics_port)["store"]["backlog_batches"] == 0, 30, "the store drained")

        # ---------------------------------------------------------------------------------------
        step("10. reboot: the service comes back by itself and continues the id sequence")
        upgraded = feed("weather", 5)
        wait_delivered(sub, "ws1", upgraded, 30, "records of the upgraded service")
        seen = delivered(sub, "ws1")
        last_sequence = max(seen[n] for n in range(since_install[0], feeds["weather"].fed + 1))
        # Batches of this install only: the purge above started the ids again.
        last_batch = max(b.batch_sequence for b in sub.batches
                         if any(r.metric == "record" and r.int_value >= since_install[0] for r in b.readings))
        for s in sensors.values():
            s.close()
        # What an operator would read, kept beside the build (test-output/system/).
        with open(os.path.join(out, "journal-boot-1.txt"), "w") as f:
            f.write(box.log_text())
        container.reboot()
        h.wait_until(lambda: box.run(["systemctl", "is-active", "loopgate"], check=False).stdout.strip() == "active",
                     60, "the service to come back after the reboot")
        assert box.wait_log(" running: gateway nspawn-gw", 10)["PRIORITY"] == "6"
        attach("weather")
        rebooted = feed("weather", 5)
        wait_delivered(sub, "ws1", rebooted, 30, "records after the reboot")
        seen = delivered(sub, "ws1")
        assert min(seen[n] for n in rebooted) > last_sequence, (last_sequence, [seen[n] for n in rebooted])
        assert min(b.batch_sequence for b in sub.batches if any(r.int_value in rebooted for r in b.readings
                                                                 if r.metric == "record")) > last_batch
        with open(os.path.join(out, "journal-boot-2.txt"), "w") as f:
            f.write(box.log_text())
        print(f"system test passed in {time.monotonic() - started:.0f}s", flush=True)
    except BaseException:
        try:
            print(box.log_text()[-8000:])
        except Exception:
            pass
        raise
    finally:
        for s in sensors.values():
            try:
                s.sock.close()
            except OSError:
                pass
        container.shutdown()
        sub.close()
        broker.stop()
    assert container.proc.poll() is not None
    return 0


if __name__ == "__main__":
    sys.exit(main())
