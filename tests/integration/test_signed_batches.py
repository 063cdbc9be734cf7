"""With signing.key_file set, what reaches the broker can be attributed: every payload is a
SignedBatch whose Ed25519 signature checks out with the gateway's public key, both with
`loopgate verify` and with an independent implementation (python3-cryptography); a payload altered
on the way, or checked against another key, is refused."""

import hashlib
import os
import subprocess
import threading

import paho.mqtt.client as mqtt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

import harness as h
import loopgate_pb2

d = h.workdir("signed")


gw_key = h.keygen(d, "gateway")
other_key = h.keygen(d, "other")

broker = h.Mosquitto(h.free_port(), d).start()
payloads = []
arrived = threading.Condition()


def on_message(client, userdata, msg):
    with arrived:
        payloads.append(msg.payload)
        arrived.notify_all()


raw = mqtt.Client(client_id=f"signed-raw-{os.getpid()}")
raw.on_message = on_message
raw.on_connect = lambda c, *_: c.subscribe("loopgate/+/data", 1)
raw.connect("127.0.0.1", broker.port)
raw.loop_start()

line = h.PtyPair(d, "met")
cfg = h.line_config(d, broker.port, line.gateway_end, max_delay="50ms")
with open(cfg, "a") as f:
    f.write(f"signing:\n  key_file: {gw_key}.key\n")
gw = h.Gateway(cfg, d).start()
N = 40


def records():
    got = []
    for p in payloads:
        s = loopgate_pb2.SignedBatch()
        s.ParseFromString(p)
        b = loopgate_pb2.Batch()
        b.ParseFromString(s.batch)
        got += [r.int_value for r in b.readings if r.metric == "record"]
    return got


for half in (range(1, N // 2 + 1), range(N // 2 + 1, N + 1)):  # two bursts: at least two batches
    for n in half:
        line.write(f"T=1.5 N={n}\r\n")
    with arrived:
        assert arrived.wait_for(lambda: len(records()) >= half[-1], 20), f"only {len(records())} records arrived"
assert gw.stop() == 0
raw.loop_stop()
assert sorted(records()) == list(range(1, N + 1))

# The key id is what the specification says: SHA-256 of the raw public key, first 8 bytes in hex.
with open(f"{gw_key}.pub", "rb") as f:
    public = serialization.load_pem_public_key(f.read())
raw_public = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
key_id = hashlib.sha256(raw_public).digest()[:8].hex()


def verify(payload, key):
    path = os.path.join(d, "payload.bin")
    with open(path, "wb") as f:
        f.write(payload)
    return subprocess.run([h.LOOPGATE, "verify", "--key", f"{key}.pub", "--file", path], capture_output=True,
                          text=True, timeout=10)


for p in payloads:
    s = loopgate_pb2.SignedBatch()
    s.ParseFromString(p)
    assert s.key_id == key_id, f"key id {s.key_id}, expected {key_id}"
    public.verify(s.signature, s.batch)  # an independent Ed25519 implementation; raises if wrong
    batch = loopgate_pb2.Batch()
    batch.ParseFromString(s.batch)
    out = verify(p, gw_key)
    assert out.returncode == 0 and out.stdout.startswith(f"OK key {key_id}: gateway test-gw batch {batch.batch_sequence}"), \
        out.stdout + out.stderr

# One flipped bit in the signed bytes, or the wrong key, and the payload is refused.
s = loopgate_pb2.SignedBatch()
s.ParseFromString(payloads[0])
tampered = bytearray(s.batch)
tampered[-1] ^= 0x01
s.batch = bytes(tampered)
try:
    public.verify(s.signature, s.batch)
    raise AssertionError("cryptography accepted a tampered batch")
except InvalidSignature:
    pass
out = verify(s.SerializeToString(), gw_key)
assert out.returncode == 1 and "BAD SIGNATURE" in out.stdout, out.stdout + out.stderr
out = verify(payloads[0], other_key)
assert out.returncode == 1 and "BAD SIGNATURE (signed by key" in out.stdout, out.stdout + out.stderr

print(f"ok: {len(payloads)} signed batches ({N} records) verified by loopgate verify and by python3-cryptography; "
      "a tampered batch and a wrong key refused")
line.close()
broker.stop()
