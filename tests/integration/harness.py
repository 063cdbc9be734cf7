"""Real parts for integration tests: mosquitto on a free loopback port, socat pty pairs, the real
loopgate binary, and a subscriber that decodes payloads with Google's protobuf runtime.

Every wait is bounded; every process started here is killed when the test ends, pass or fail."""

import atexit
import fcntl
import json
import os
import pwd
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import paho.mqtt.client as mqtt

import loopgate_pb2

LOOPGATE = os.environ.get("LOOPGATE_BIN", "loopgate")
FIXTURES = os.environ.get("LOOPGATE_FIXTURES_DIR", "")

_processes = []


def _cleanup():
    for p in _processes:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    _processes.append(p)
    return p


def wait_until(predicate, timeout, what):
    """Polls predicate until it holds; fails the test naming `what` when `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


_PORT_LOCKS = os.path.join(tempfile.gettempdir(), "loopgate-test-ports")
_held_ports = []  # lock files of the ports this process reserved, open until it exits


def free_port():
    """A loopback port for a broker, relay or metrics listener that no other test on this machine
    is given, so tests can run in parallel (ctest -j). It lies below the kernel's ephemeral range,
    where no outgoing connection can take it between this call and the bind, and it is reserved by
    an exclusive lock on a file in /tmp/loopgate-test-ports, which the kernel releases when the
    process ends, however it ends."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    low, high = 10000, max(ephemeral_low, 10001)
    if not os.path.isdir(_PORT_LOCKS):
        os.makedirs(_PORT_LOCKS, exist_ok=True)
        os.chmod(_PORT_LOCKS, 0o1777)  # shared by every user's tests, like /tmp
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(low, high)
        fd = os.open(os.path.join(_PORT_LOCKS, str(port)), os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as mosquitto binds
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # taken by something outside the tests
                os.close(fd)
                continue
        _held_ports.append(fd)
        return port
    raise AssertionError(f"no free port between {low} and {high} after 1000 tries")


def small_disk(directory, size):
    """A tmpfs of `size` (e.g. "3M") mounted at directory/disk, unmounted at exit: a disk that fills
    up. Needs root; the test is skipped (exit 77) without it."""
    disk = os.path.join(directory, "disk")
    os.makedirs(disk)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", disk], capture_output=True).returncode != 0:
        print("skipped: mounting a tmpfs needs root")
        sys.exit(77)
    atexit.register(subprocess.run, ["umount", "-l", disk])
    return disk


def fill_disk(disk):
    """Writes disk/filler until the disk is full; remove the file to give the space back."""
    fd = os.open(os.path.join(disk, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    os.close(fd)


def workdir(name):
    d = tempfile.mkdtemp(prefix=f"loopgate-{name}-")
    if not os.environ.get("LOOPGATE_KEEP"):
        atexit.register(shutil.rmtree, d, True)
    return d


def output_dir(name):
    """Where a test leaves what a person should look at afterwards (a screenshot): kept after the run,
    under the build directory (test-output/NAME), or under the test's work directory without one."""
    base = os.environ.get("LOOPGATE_BUILD_DIR")
    d = os.path.join(base, "test-output", name) if base else workdir(name + "-output")
    os.makedirs(d, exist_ok=True)
    return d


class Mosquitto:
    """A real broker on loopback. With persistent=True its sessions and queued messages survive a
    restart (saved at shutdown), as a production broker's would. Its log goes to mosquitto-PORT.log
    in the test's directory. `conf` replaces the test broker's listener and limits with a config of
    the test's own (a shipped example), which then keeps its persistence at `db_path` if persistent."""

    def __init__(self, port, directory, persistent=False, conf=None):
        self.port = port
        self.persistent = persistent
        self.conf = os.path.join(directory, f"mosquitto-{port}.conf")
        self.log_path = os.path.join(directory, f"mosquitto-{port}.log")
        self.db_path = os.path.join(directory, f"mosquitto-{port}.db")
        with open(self.conf, "w") as f:
            # Started as root, mosquitto drops to the user 'mosquitto', which cannot write into the
            # test's private directory: its persistence would silently not be saved, and messages
            # it had acknowledged would vanish over a restart. Keep the user that started it.
            f.write(f"user {pwd.getpwuid(os.geteuid()).pw_name}\nlog_dest file {self.log_path}\n"
                    "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
            if conf is not None:
                f.write(conf)
            else:
                f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n"
                        "max_inflight_messages 100\n")
                if persistent:
                    f.write(f"persistence true\npersistence_location {directory}/\n"
                            f"persistence_file {os.path.basename(self.db_path)}\nautosave_interval 0\n")
                else:
                    f.write("persistence false\n")
        self.proc = None

    def start(self, timeout=10):
        self.proc = spawn(["mosquitto", "-c", self.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.accepts, timeout, f"mosquitto to listen on port {self.port}\n{self.log_text()}")
        return self

    def accepts(self, port=None):
        """Whether the broker listens on `port` (its main listener by default); fails if it died."""
        if self.proc.poll() is not None:
            raise AssertionError(f"mosquitto exited with {self.proc.returncode}:\n{self.log_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port or self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=timeout)
            # The restart scenarios rely on what the broker acknowledged being on disk.
            if self.persistent and not os.path.exists(self.db_path):
                raise AssertionError(f"mosquitto saved no persistence file {self.db_path}:\n{self.log_text()}")


class PtyPair:
    """Two linked pseudo-terminals made by socat: the gateway opens `gateway_end`, the test plays
    the sensor on `sensor_end`."""

    def __init__(self, directory, name="line"):
        self.gateway_end = os.path.join(directory, f"{name}-gw")
        self.sensor_end = os.path.join(directory, f"{name}-sensor")
        self.proc = spawn(["socat", f"pty,raw,echo=0,link={self.gateway_end}",
                           f"pty,raw,echo=0,link={self.sensor_end}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(self.gateway_end) and os.path.exists(self.sensor_end), 10,
                   "socat to create the pty pair")
        self._fd = os.open(self.sensor_end, os.O_RDWR | os.O_NOCTTY)

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def fileno(self):
        """The sensor end, for select(): writable once the line has room."""
        return self._fd

    def write_some(self, data):
        """Writes what the line takes now, without waiting for room; returns how many bytes."""
        os.set_blocking(self._fd, False)
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0
        finally:
            os.set_blocking(self._fd, True)

    def close_sensor_side(self):
        """Leaves the sensor end to another program (a pymodbus slave opens it itself)."""
        os.close(self._fd)
        self._fd = None

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
        self.proc.terminate()
        self.proc.wait(timeout=5)


class Gateway:
    """The real loopgate binary, started with NOTIFY_SOCKET so the test can await READY=1 exactly
    as systemd would, instead of sleeping."""

    def __init__(self, config_path, directory, env=None, wrapper=()):
        self.config_path = config_path
        self.directory = directory
        self.extra_env = env or {}
        self.wrapper = list(wrapper)  # a command that execs the gateway in the same process (its pid)
        self.proc = None
        self.log_path = os.path.join(directory, "gateway.log")

    def start(self, wait_ready=True):
        sock_path = os.path.join(self.directory, f"notify-{time.monotonic_ns()}.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path, **self.extra_env)
        self.log = open(self.log_path, "ab")
        self.proc = spawn([*self.wrapper, LOOPGATE, "run", "--config", self.config_path, "--verbose"], env=env,
                          stdout=self.log, stderr=subprocess.STDOUT)
        if wait_ready:
            sock.settimeout(15)
            deadline = time.monotonic() + 15
            while True:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError("gateway did not report READY=1\n" + self.log_text())
                try:
                    msg = sock.recv(4096).decode()
                except socket.timeout:
                    continue
                if "READY=1" in msg:
                    break
        sock.close()
        os.unlink(sock_path)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        return code

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Subscriber:
    """Collects every Batch published under <prefix>/+/data, decoded with protobuf's own runtime."""

    def __init__(self, port, prefix="loopgate", persistent=False):
        self.batches = []
        self.payloads = []  # the data messages' bytes as received, in order
        self.status = []
        self.errors = []
        self._cond = threading.Condition()
        # A persistent subscriber keeps its session (and the QoS 1 messages queued for it) across its
        # own reconnects and broker restarts, so the test sees everything the broker accepted.
        self.client = mqtt.Client(client_id=f"test-sub-{os.getpid()}-{port}", clean_session=not persistent)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 0.5)
        subscribed = threading.Event()
        topics = [(f"{prefix}/+/data", 1), (f"{prefix}/+/status", 1)]

        def on_connect(client, *_):
            client.subscribe(topics)

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise AssertionError("subscriber could not connect and subscribe")

    def _on_message(self, client, userdata, msg):
        with self._cond:
            if msg.topic.endswith("/status"):
                self.status.append(msg.payload.decode())
            else:
                self.payloads.append(bytes(msg.payload))
                b = loopgate_pb2.Batch()
                try:
                    b.ParseFromString(msg.payload)
                except Exception as e:  # a payload that does not parse is a finding, not a lost message
                    self.errors.append(f"{msg.topic}: {e!r} ({len(msg.payload)} bytes)")
                    return
                self.batches.append(b)
            self._cond.notify_all()

    def readings(self):
        with self._cond:
            return [r for b in self.batches for r in b.readings]

    def count(self, metric):
        """How many readings of `metric` have arrived, without copying them all."""
        with self._cond:
            return sum(1 for b in self.batches for r in b.readings if r.metric == metric)

    def wait_for(self, predicate, timeout, what):
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                     f"have {len(self.batches)} batches")

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def bytes_read(pid):
    """Bytes the process has read through read() and friends (/proc/PID/io rchar)."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def stored_parts(path):
    """(batch sequence, raw bytes) of each row of a gateway's store, in order, read with sqlite3 and
    inflated with Python's zlib, independently of loopgate. Each is a serialized Batch: a batch's
    rows concatenate into its published payload."""
    if not os.path.exists(path):
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        columns = {c[1] for c in db.execute("PRAGMA table_info(parts)")}
        if not columns:
            return []
        encoding = "encoding" if "encoding" in columns else "NULL"  # layout 3 and older: raw parts
        rows = db.execute(f"SELECT id >> 20, payload, {encoding} FROM parts ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()
    return [(seq, stored_part(payload, encoding)) for seq, payload, encoding in rows]


def stored_part(payload, encoding):
    """A stored row's raw bytes (encoding 1: raw deflate, RFC 1951)."""
    if encoding in (None, 0):
        return payload
    assert encoding == 1, f"unknown part encoding {encoding}"
    return zlib.decompress(payload, -15)


def store_readings(path):
    """Readings held in a gateway's store (stored_parts), in order."""
    out = []
    for _, raw in stored_parts(path):
        b = loopgate_pb2.Batch()
        b.ParseFromString(raw)
        out.extend(b.readings)
    return out


def keygen(directory, name):
    """A fresh Ed25519 key pair from `loopgate keygen`: returns the prefix of NAME.key and NAME.pub."""
    prefix = os.path.join(directory, name)
    out = subprocess.run([LOOPGATE, "keygen", "--out", prefix], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return prefix


class OperatorKey:
    """An operator's Ed25519 private key (from keygen), loaded with python3-cryptography, a signer
    the project did not write: signs what a command or config update carries in `signature`."""

    def __init__(self, key_prefix):
        from cryptography.hazmat.primitives import serialization
        import hashlib
        with open(f"{key_prefix}.key", "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).digest()[:8].hex()

    def sign(self, message):
        """Sets key_id and signs the message's serialization without a signature, as the gateway checks."""
        message.key_id = self.key_id
        message.signature = self.key.sign(message.SerializeToString())
        return message


class ReplyCollector:
    """Publishes requests (QoS 1) on `request_topic` and collects the protobuf replies of type
    `reply_type` that arrive on `reply_topic`, grouped by `key(reply)`."""

    def __init__(self, port, request_topic, reply_topic, reply_type, key, name="replies"):
        self.by_key = {}
        self.cond = threading.Condition()
        self.request_topic = request_topic
        self.reply_type = reply_type
        self.key = key
        self.client = mqtt.Client(client_id=f"test-{name}-{os.getpid()}")
        self.client.on_message = self._on_message
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe(reply_topic, 1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10), f"the {name} subscriber could not subscribe to {reply_topic}"

    def _on_message(self, client, userdata, msg):
        r = self.reply_type()
        r.ParseFromString(msg.payload)
        with self.cond:
            self.by_key.setdefault(self.key(r), []).append(r)
            self.cond.notify_all()

    def send(self, payload, retain=False):
        self.client.publish(self.request_topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def count(self, key):
        with self.cond:
            return len(self.by_key.get(key, []))

    def wait(self, key, match=lambda r: True, count=1, timeout=10, what=None):
        """The count-th reply for `key` that `match` accepts; fails after `timeout` seconds."""
        def counted():
            found = [r for r in self.by_key.get(key, []) if match(r)]
            return found[count - 1] if len(found) >= count else None

        with self.cond:
            reply = self.cond.wait_for(counted, timeout)
            if reply is None:
                raise AssertionError(f"no {what or 'reply'} for {key!r} within {timeout}s; have "
                                     f"{ {k: [str(r).replace(chr(10), ' ') for r in rs] for k, rs in self.by_key.items()} }")
            return reply

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def have_cryptography():
    """Whether Debian's python3-cryptography is there, which signing commands and updates needs."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401
    except ImportError:
        return False
    return True


class ConfigReplies(ReplyCollector):
    """Publishes on <prefix>/<gw>/config/set and collects ConfigReplies by version."""

    def __init__(self, port, base, name="config"):
        super().__init__(port, base + "/set", base + "/reply", loopgate_pb2.ConfigReply, lambda r: r.version,
                         name=name)

    def wait(self, version, status, count=1, timeout=10):
        return super().wait(version, lambda r: r.status == status, count=count, timeout=timeout,
                            what=f"{loopgate_pb2.ConfigReply.Status.Name(status)} reply")


def config_update(yaml_text, version, gateway="test-gw", expires_in=60, key=None):
    """A ConfigUpdate's bytes, signed by `key` (an OperatorKey) or, without one, unsigned."""
    u = loopgate_pb2.ConfigUpdate(yaml=yaml_text, version=version, gateway_id=gateway,
                                  expires_ns=time.time_ns() + int(expires_in * 1e9))
    return (key.sign(u) if key else u).SerializeToString()


class ConfigSigner(OperatorKey):
    """An operator's key that signs configuration updates (sign=False: the same update unsigned)."""

    def update(self, yaml_text, version, gateway="test-gw", expires_in=60, sign=True):
        return config_update(yaml_text, version, gateway, expires_in, key=self if sign else None)


class Ser2net:
    """Debian's ser2net (4.3) as a serial device server in front of `device` (a pty end): a raw TCP
    accepter, or with rfc2217=True a Telnet RFC 2217 one, on a free loopback port; `line` is its
    connector's default settings (19200e81). Its output goes to ser2net-PORT.log; start() waits until
    it accepts, kill() is the pulled plug (SIGKILL), start() again brings it back on the same port."""

    def __init__(self, directory, device, rfc2217=False, line="19200e81", port=None):
        self.port = port or free_port()
        self.directory = directory
        self.conf = os.path.join(directory, f"ser2net-{self.port}.yaml")
        self.log_path = os.path.join(directory, f"ser2net-{self.port}.log")
        accepter = ("telnet(rfc2217)," if rfc2217 else "") + f"tcp,127.0.0.1,{self.port}"
        with open(self.conf, "w") as f:
            # kickolduser, as the README advises: a new connection (the gateway reconnecting after a
            # half-open one) takes the port over instead of being turned away as "Port already in use".
            f.write(f"connection: &line{self.port}\n  accepter: {accepter}\n"
                    f"  connector: serialdev,{device},{line},local\n  options:\n    kickolduser: true\n")
        self.proc = None

    def start(self):
        # -u: no UUCP lock files in /var/lock; -P: a pid file of its own, so tests can run side by side.
        self.proc = spawn(["ser2net", "-n", "-u", "-P", os.path.join(self.directory, f"ser2net-{self.port}.pid"),
                           "-c", self.conf], stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)
        wait_until(self.accepts, 10, f"ser2net to listen on port {self.port}")
        return self

    def accepts(self):
        if self.proc.poll() is not None:
            with open(self.log_path, errors="replace") as f:
                raise AssertionError(f"ser2net exited with {self.proc.returncode}: {f.read()}")
        # Looked up in /proc, not by connecting: a probe connection would make ser2net open the
        # device and hold the port busy ("Port already in use") just when the gateway connects.
        return listening(self.port)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


def listening(port):
    """Whether something listens on TCP `port` of 127.0.0.1 (from /proc/net/tcp, without connecting)."""
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return any(fields[1] == wanted and fields[3] == "0A" for fields in (l.split() for l in list(f)[1:]))


def have_ser2net():
    """Whether Debian's ser2net is there, and python3-pymodbus and python3-serial for the RTU slave
    behind it (modbus_slave)."""
    try:
        import pymodbus.framer.rtu_framer  # noqa: F401
        import serial  # noqa: F401
    except ImportError:
        return False
    return shutil.which("ser2net") is not None


def modbus_slave(directory, port_path, registers, baud=19200, responsive=False):
    """A Modbus RTU slave the project did not write (pymodbus, tests/integration/modbus_slave.py)
    on `port_path`, serving `registers` (dicts of unit, table, address, type, [order,] value); its
    output goes to slave.log in `directory`."""
    table = os.path.join(directory, "table.json")
    with open(table, "w") as f:
        json.dump(registers, f)
    return spawn(["/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)), "modbus_slave.py"),
                  port_path, table, "--baud", str(baud)] + (["--responsive"] if responsive else []),
                 stdout=open(os.path.join(directory, "slave.log"), "wb"), stderr=subprocess.STDOUT)


def writable_meter(directory, pty, poll_interval="200ms"):
    """A meter for the command tests: a pymodbus slave (unit 1) on `pty`'s sensor end with a writable
    float32 `setpoint` (holding 200, 10.0, allowed 0..100) and a read-only int16 `voltage` (holding
    210, 230). Returns the `ports:` entry for the gateway's side, polled every `poll_interval`."""
    modbus_slave(directory, pty.sensor_end,
                 [{"unit": 1, "table": "holding", "address": 200, "type": "float32", "value": 10.0},
                  {"unit": 1, "table": "holding", "address": 210, "type": "int16", "value": 230}])
    return f"""  - name: bus
    path: {pty.gateway_end}
    baud: 19200
    driver: modbus-rtu
    settings: {{response_timeout: 300ms, turnaround_delay: 50ms, retries: 1}}
    devices:
      - name: meter
        unit: 1
        poll_interval: {poll_interval}
        points:
          - {{name: setpoint, table: holding, address: 200, type: float32, writable: true, min: 0, max: 100}}
          - {{name: voltage, table: holding, address: 210, type: int16}}
"""


def simulated_sensors(directory, weather_device="ws1"):
    """`loopgate simulate` with a weather sensor (its device named `weather_device`) and a Modbus meter
    (unit 3) on ptys under directory/dev. Returns the simulator's process and the `ports:` entries
    that read both (the meter's voltage_l1 and frequency, polled every 200 ms)."""
    dev = os.path.join(directory, "dev")
    sim = spawn([LOOPGATE, "simulate", "--dir", dev, "--line", "weather", "--modbus", "meter=3", "--interval", "200"])
    wait_until(lambda: os.path.exists(os.path.join(dev, "weather")) and os.path.exists(os.path.join(dev, "meter")), 10,
               "the simulated devices")
    return sim, f"""  - name: weather
    path: {dev}/weather
    driver: line
    settings: {{terminator: "\\r\\n", fields: [{{field: T, metric: air_temperature, unit: degC}}]}}
    devices: [{{name: {weather_device}}}]
  - name: rs485
    path: {dev}/meter
    baud: 9600
    driver: modbus-rtu
    devices:
      - name: meter
        unit: 3
        poll_interval: 200ms
        points:
          - {{name: voltage_l1, table: input, address: 0, type: float32, unit: V}}
          - {{name: frequency, table: input, address: 6, type: float32, unit: Hz}}
"""


def write_config(directory, broker_port, ports_yaml):
    """A minimal gateway config around the given `ports:` entries (YAML text, indented by two)."""
    path = os.path.join(directory, "loopgate.yaml")
    with open(path, "w") as f:
        f.write(f"""
gateway: {{id: test-gw, metrics: off}}
uplink: {{broker: tcp://127.0.0.1:{broker_port}}}
store: {{path: {directory}/store.db}}
ports:
{ports_yaml}""")
    return path


def preload(shim):
    """LD_PRELOAD value that puts `shim` under the gateway. An ASan build insists on its runtime being
    the first library loaded, so that one comes first when the binary links it."""
    ldd = subprocess.run(["ldd", LOOPGATE], capture_output=True, text=True, timeout=10).stdout
    asan = [line.split("=>")[1].split()[0] for line in ldd.splitlines() if "libasan" in line and "=>" in line]
    return " ".join(asan + [shim])


def line_config(directory, broker_port, pty_path, *, max_delay="100ms", max_readings=500,
                reconnect_max="1s", extra_ports="", metrics="off", store_dir=None, store_max_bytes=None,
                clock_sync=None, durability=None, brokers=None, uplink_extra=""):
    """A gateway config with one line sensor (device ws1: T and the record counter N) on `pty_path`,
    publishing to the broker on `broker_port`, or to the list of broker URIs `brokers`;
    `uplink_extra` adds keys to the uplink (YAML, indented as at the uplink's top level)."""
    path = os.path.join(directory, "loopgate.yaml")
    broker_line = f"brokers: [{', '.join(brokers)}]" if brokers else f"broker: tcp://127.0.0.1:{broker_port}"
    broker_line += "".join(f"\n  {line}" for line in uplink_extra.splitlines() if line.strip())
    max_bytes_line = f"\n  max_bytes: {store_max_bytes}" if store_max_bytes else ""
    clock_sync_line = f"\n  clock_sync: {clock_sync}" if clock_sync else ""
    durability_line = f"\n  durability: {durability}" if durability else ""
    with open(path, "w") as f:
        f.write(f"""
gateway:
  id: test-gw
  metrics: {metrics}{clock_sync_line}
uplink:
  {broker_line}
  reconnect_min: 100ms
  reconnect_max: {reconnect_max}
  batch:
    max_readings: {max_readings}
    max_delay: {max_delay}
store:
  path: {store_dir or directory}/store.db{max_bytes_line}{durability_line}
ports:
{line_sensor_port("met", pty_path, "ws1")}{extra_ports}""")
    return path


def line_sensor_port(name, path, device):
    """One entry of a config's `ports:` list: a line sensor on `path` reporting the air temperature T
    and its record counter N as `device`."""
    return f"""  - name: {name}
    path: {path}
    baud: 9600
    reopen_min: 100ms
    reopen_max: 1s
    driver: line
    settings:
      format: keyvalue
      terminator: "\\r\\n"
      max_line: 120
      fields:
        - {{field: T, metric: air_temperature, unit: degC}}
        - {{field: N, metric: record, type: int}}
    devices:
      - name: {device}
"""


def records_by_number(readings, device="ws1"):
    """Maps the sensor's own record counter N to the readings' per-device sequence numbers."""
    return [(r.int_value, r.sequence) for r in readings if r.device == device and r.metric == "record"]


def device_sequence(store_path, device):
    """The highest per-device sequence the gateway has committed: every reading it accepted."""
    db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT sequence FROM device_sequences WHERE device = ?", (device,)).fetchone()
        return row[0] if row else 0
    finally:
        db.close()


def store_depth(store_path):
    db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM batches").fetchone()[0]
    finally:
        db.close()


class Delivery:
    """What a subscriber received, judged against the durability contract: every accepted reading
    (per-device sequence 1..accepted) arrives at least once; within the live stream and within the
    replayed (historical) stream a device's readings keep their order; duplicates are counted, and
    each duplicate arrives in a batch whose batch_sequence was seen before. A batch that arrives
    again without the historical flag is listed in unflagged_repeats: a repeat is replayed from the
    store, so it should be flagged (a test that expects that asserts it)."""

    def __init__(self, batches, device="ws1"):
        self.duplicates = 0
        self.duplicate_batches = 0
        self.order_violations = []
        self.unflagged_repeats = []
        seen_batches = set()
        seen = set()
        last = {True: 0, False: 0}
        self.records = set()
        for b in batches:
            dup_batch = b.batch_sequence in seen_batches
            seen_batches.add(b.batch_sequence)
            if dup_batch:
                self.duplicate_batches += 1
                if not b.historical:
                    self.unflagged_repeats.append(b.batch_sequence)
            for r in b.readings:
                if r.device != device or r.metric != "record":
                    continue
                if r.sequence in seen:
                    self.duplicates += 1
                    assert dup_batch, f"reading {r.sequence} repeated in a batch with a new id {b.batch_sequence}"
                    continue
                seen.add(r.sequence)
                self.records.add(r.int_value)
                if r.sequence < last[b.historical]:
                    self.order_violations.append((last[b.historical], r.sequence, b.historical))
                last[b.historical] = r.sequence
        self.sequences = seen

    def missing(self, accepted):
        """Sequence numbers accepted (committed) by the gateway that never arrived."""
        # The record metric is every other reading (T, N): accepted counts both.
        return sorted(set(range(2, accepted + 1, 2)) - self.sequences)


class NumberedRecords:
    """A sensor on `pty` that prints numbered records (`T=... N=<n>`) on demand: feed(k) writes the
    next k; `fed` is the number of the last one written. `pad` makes each line longer."""

    def __init__(self, pty, temperature="9.5", pad=""):
        self.pty = pty
        self.fed = 0
        self._format = f"T={temperature} N={{}}" + (f" pad={pad}" if pad else "") + "\r\n"

    def feed(self, k):
        for _ in range(k):
            self.fed += 1
            self.pty.write(self._format.format(self.fed))


class Feeder(threading.Thread):
    """A sensor that prints a numbered record every `period` seconds until stopped."""

    def __init__(self, pty, period=0.005):
        super().__init__(daemon=True)
        self.pty = pty
        self.period = period
        self.sent = 0
        self._halt = threading.Event()

    def run(self):
        next_t = time.monotonic()
        while not self._halt.is_set():
            self.sent += 1
            self.pty.write(f"T=1.25 N={self.sent}\r\n")
            next_t += self.period
            delay = next_t - time.monotonic()
            if delay > 0:
                self._halt.wait(delay)

    def stop(self):
        self._halt.set()
        self.join(timeout=10)


class Relay:
    """A TCP relay on loopback between the gateway and a server (the broker, a device server), which
    the test can cut (every connection dropped mid-flight, new ones refused) and restore. It records
    the bytes each way with record=True (captured()) and counts connections; freeze() turns the
    connections open so far into black holes (bytes swallowed both ways, nothing closed: the
    half-open connection a dead NAT or a hung device server leaves), while later connections relay
    again."""

    def __init__(self, target_port, record=False):
        import asyncio
        self.asyncio = asyncio
        self.record = record
        self.port = free_port()
        self.target = target_port
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.writers = set()
        self.to_server = bytearray()
        self.to_client = bytearray()
        self.connections = 0
        self._frozen = set()  # the upstream writers of frozen connections
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.restore()

    async def _pipe(self, reader, writer, record, key):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if key in self._frozen:
                    continue
                if self.record:
                    record.extend(data)
                writer.write(data)
                await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()

    async def _handle(self, reader, writer):
        try:
            up_reader, up_writer = await self.asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self.writers.update({writer, up_writer})
        self.connections += 1
        await self.asyncio.gather(self._pipe(reader, up_writer, self.to_server, up_writer),
                                  self._pipe(up_reader, writer, self.to_client, up_writer))

    def _run(self, coro):
        return self.asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def captured(self):
        """(to_server, to_client) so far, as bytes."""
        async def copy():
            return bytes(self.to_server), bytes(self.to_client)
        return self._run(copy())

    def freeze(self):
        async def freeze():
            self._frozen.update(w for w in self.writers)
        self._run(freeze())

    def restore(self):
        async def start():
            self.server = await self.asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self._run(start())

    def cut(self):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
            for w in list(self.writers):
                w.transport.abort()  # RST, like a cable pulled mid-flight
            self.writers.clear()
        self._run(stop())
