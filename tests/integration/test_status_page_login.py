#!/usr/bin/python3
"""The status page off loopback: a login is required (HTTP Basic against gateway.http.users, hashes
made by `loopgate passwd` and checked here with Python's own PBKDF2), every request without one gets
401, bad logins are logged with the address and, after five, refused outright for the minute (429);
no secret is ever served. With cert_file and key_file the same server speaks HTTPS only."""

import base64
import hashlib
import hmac
import json
import os
import re
import ssl
import subprocess
import urllib.error
import urllib.request

import harness as h

d = h.workdir("status-login")
broker = h.Mosquitto(h.free_port(), d).start()
line = h.PtyPair(d)

# --- a password hash, and an independent check of it ---
made = subprocess.run([h.LOOPGATE, "passwd", "--user", "tech"], input="s3cret-at-the-cabinet\n", capture_output=True,
                      text=True, timeout=30)
assert made.returncode == 0, made.stderr
entry = made.stdout.strip()
m = re.fullmatch(r'- \{name: tech, password_hash: "(pbkdf2-sha256\$(\d+)\$([^$]+)\$([^$"]+))"\}', entry)
assert m, entry
password_hash, iterations, salt, digest = m.group(1), int(m.group(2)), base64.b64decode(m.group(3)), base64.b64decode(m.group(4))
assert iterations == 100000 and len(salt) == 16
assert hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", b"s3cret-at-the-cabinet", salt, iterations), digest)
assert "s3cret" not in made.stdout + made.stderr

http_port = h.free_port()
cfg = h.line_config(d, broker.port, line.gateway_end, metrics=f"0.0.0.0:{http_port}")

# --- off loopback without users is refused at start, naming the field ---
check = subprocess.run([h.LOOPGATE, "check-config", cfg], capture_output=True, text=True, timeout=30)
assert check.returncode == 1 and "gateway.metrics" in check.stderr and "gateway.http.users" in check.stderr, check.stderr


def add_http(extra=""):
    text = open(cfg).read().split("uplink:")
    text = text[0].rstrip("\n") + f"\n  http:\n    users:\n      {entry}\n{extra}uplink:" + text[1]
    with open(cfg, "w") as f:
        f.write(text)


add_http()
gw = h.Gateway(cfg, d).start()
base = f"http://127.0.0.1:{http_port}"


def get(path, user=None, password=None, url=None, context=None):
    request = urllib.request.Request((url or base) + path)
    if user is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


for path in ("/", "/api/status", "/api/events", "/metrics"):
    code, headers, body = get(path)
    assert code == 401, (path, code, body)
    assert headers["WWW-Authenticate"].startswith('Basic realm="loopgate"'), headers
    assert "loopgate_readings_total" not in body and "uplink" not in body, body

code, _, body = get("/api/status", "tech", "s3cret-at-the-cabinet")
assert code == 200, (code, body)
status = json.loads(body)
assert status["gateway"]["id"] == "test-gw"
assert "pbkdf2" not in body and "s3cret" not in body and "password" not in body, "no secret on the page"
assert get("/metrics", "tech", "s3cret-at-the-cabinet")[0] == 200
assert "<title>" in get("/", "tech", "s3cret-at-the-cabinet")[2]

table = subprocess.run([h.LOOPGATE, "status", "--url", base, "--user", "tech"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, LOOPGATE_PASSWORD="s3cret-at-the-cabinet"))
assert table.returncode == 0 and "gateway test-gw" in table.stdout, table
no_login = subprocess.run([h.LOOPGATE, "status", "--url", base], capture_output=True, text=True, timeout=30)
assert no_login.returncode == 1 and "--user" in no_login.stderr, no_login

# --- bad credentials: 401, logged with the address; the fifth shuts the address out for the minute ---
for attempt in range(1, 6):
    code, _, _ = get("/api/status", "tech", f"guess-{attempt}")
    assert code == 401, (attempt, code)
h.wait_until(lambda: "http: bad credentials for user 'tech' from 127.0.0.1" in gw.log_text(), 10, "the bad login in the log")
assert "refused for a minute" in gw.log_text()
code, headers, _ = get("/api/status", "tech", "s3cret-at-the-cabinet")
assert code == 429 and headers["Retry-After"] == "60", (code, headers)
assert gw.stop() == 0

# --- HTTPS with cert_file and key_file ---
cert, key = os.path.join(d, "http.crt"), os.path.join(d, "http.key")
made = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=cabinet-7",
                       "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True, timeout=60)
assert made.returncode == 0, made.stderr
with open(cfg) as f:
    text = f.read()
with open(cfg, "w") as f:
    f.write(text.replace("uplink:", f"    cert_file: {cert}\n    key_file: {key}\nuplink:", 1))
gw = h.Gateway(cfg, d).start()
https = f"https://127.0.0.1:{http_port}"
verified = ssl.create_default_context(cafile=cert)
code, _, body = get("/api/status", "tech", "s3cret-at-the-cabinet", url=https, context=verified)
assert code == 200 and json.loads(body)["gateway"]["id"] == "test-gw", (code, body)
assert get("/api/status", url=https, context=verified)[0] == 401
try:
    urllib.request.urlopen(base + "/api/status", timeout=10)
    raise AssertionError("plain HTTP was answered on the HTTPS port")
except (urllib.error.URLError, ConnectionError, OSError) as e:
    assert not isinstance(e, urllib.error.HTTPError), e
env = dict(os.environ, LOOPGATE_PASSWORD="s3cret-at-the-cabinet")
table = subprocess.run([h.LOOPGATE, "status", "--url", https, "--user", "tech", "--insecure"], capture_output=True,
                       text=True, timeout=30, env=env)
assert table.returncode == 0 and "gateway test-gw" in table.stdout, table
untrusted = subprocess.run([h.LOOPGATE, "status", "--url", https, "--user", "tech"], capture_output=True, text=True,
                           timeout=30, env=env)
assert untrusted.returncode == 1 and "certificate" in untrusted.stderr, untrusted
assert gw.stop() == 0

# --- the users as a systemd credential (gateway.http.users_file: credential:<name>) ---
line_entry = subprocess.run([h.LOOPGATE, "passwd", "--user", "night-shift", "--line"], input="n1ght\n",
                            capture_output=True, text=True, timeout=30)
assert line_entry.returncode == 0 and line_entry.stdout.startswith("night-shift:pbkdf2-sha256$"), line_entry
credentials = os.path.join(d, "credentials")
os.makedirs(credentials)
with open(os.path.join(credentials, "web-users"), "w") as f:
    f.write("# loopgate passwd --user NAME --line\n" + line_entry.stdout)
with open(cfg) as f:
    text = f.read()
start, end = text.index("  http:\n"), text.index("uplink:")
with open(cfg, "w") as f:
    f.write(text[:start] + "  http:\n    users_file: credential:web-users\n" + text[end:])
assert subprocess.run([h.LOOPGATE, "check-config", cfg], capture_output=True, timeout=30).returncode == 0
gw = h.Gateway(cfg, d, env={"CREDENTIALS_DIRECTORY": credentials}).start()
assert get("/api/status")[0] == 401
assert get("/api/status", "night-shift", "n1ght")[0] == 200
assert get("/api/status", "tech", "s3cret-at-the-cabinet")[0] == 401, "only the credential's users"
assert gw.stop() == 0
# Without the credential the server does not start rather than serve without a login.
gw = h.Gateway(cfg, d)
# The log file is shared with the runs above: look only at what this run writes.
mark = len(gw.log_text()) if os.path.exists(gw.log_path) else 0
gw.start()
h.wait_until(lambda: "names a systemd credential, but CREDENTIALS_DIRECTORY is not set" in gw.log_text()[mark:], 10,
             "the missing credential in the log")
# (Stopped only once connected: a stop while the first connect is in flight is another matter.)
h.wait_until(lambda: "uplink: connected" in gw.log_text()[mark:], 30, "the uplink")
try:
    urllib.request.urlopen(base + "/api/status", timeout=5)
    raise AssertionError("served without its users")
except urllib.error.HTTPError as e:
    raise AssertionError(f"served without its users: {e.code}")
except (urllib.error.URLError, ConnectionError, OSError):
    pass
code = gw.stop()
assert code == 0, code
line.close()
broker.stop()
print("ok: off loopback every path answers 401 without a login, 200 with it, bad logins are logged and throttled "
      "(429); HTTPS with cert_file/key_file; users from a systemd credential")
