#!/usr/bin/python3
"""TLS to the broker, with certificates made by openssl during the test: mosquitto requires a client
certificate (mutual TLS, TLS 1.2+); the test subscriber uses a second, plain listener of the same
broker. Checks: the gateway connects and readings arrive; a wrong CA, a server certificate for
another host name, an expired client certificate and a client certificate from another CA are
refused, and so is a server certificate naming the host only in its subject CN (no subjectAltName),
each with a log line saying why."""

import os
import subprocess
import sys
import time

import harness


def sh(*args, cwd):
    subprocess.run(list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_pki(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        sh("openssl", "req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
           "-subj", f"/CN={ca}", cwd=d)

    def leaf(name, ca, san=None, days="2", cn=None):
        sh("openssl", "req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
           f"/CN={cn or name}", cwd=d)
        ext = os.path.join(d, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
        sh("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
           "-CAcreateserial", "-out", f"{name}.pem", "-days", days, "-extfile", ext, cwd=d)

    leaf("server", "ca", "IP:127.0.0.1,DNS:localhost")
    leaf("server-wrong-name", "ca", "DNS:broker.example.com")
    # Names the host only in its subject CN, without a subjectAltName: RFC 6125 says not to accept it.
    leaf("server-cn-only", "ca", cn="localhost")
    leaf("client", "ca")
    leaf("untrusted-client", "other-ca")
    # OpenSSL 3.0's x509 cannot back-date; `openssl ca` takes explicit start and end dates.
    os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(f"[ca]\ndefault_ca=CA_default\n[CA_default]\ndir={d}\ndatabase={d}/index.txt\n"
                f"new_certs_dir={d}/newcerts\nserial={d}/serial\ndefault_md=sha256\npolicy=any\n"
                "[any]\ncommonName=supplied\n")
    sh("openssl", "req", "-new", *ec, "-keyout", "expired-client.key", "-out", "expired-client.csr",
       "-subj", "/CN=expired-client", cwd=d)
    sh("openssl", "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
       "-in", "expired-client.csr", "-out", "expired-client.pem", "-startdate", "20200101000000Z",
       "-enddate", "20200201000000Z", "-notext", cwd=d)
    # mosquitto started as root drops to its own user: let it read the test's (throwaway) files.
    os.chmod(d, 0o755)
    for name in os.listdir(d):
        if name.endswith((".pem", ".key")):
            os.chmod(os.path.join(d, name), 0o644)


def broker(d, server_cert):
    plain, tls = harness.free_port(), harness.free_port()
    conf = os.path.join(d, f"mosquitto-tls-{tls}.conf")
    with open(conf, "w") as f:
        f.write(f"allow_anonymous true\npersistence false\nlistener {plain} 127.0.0.1\n"
                f"listener {tls} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/{server_cert}.pem\n"
                f"keyfile {d}/{server_cert}.key\nrequire_certificate true\ntls_version tlsv1.2\n")
    m = harness.Mosquitto(plain, d)
    m.conf = conf  # ours, with both listeners
    m.start()
    harness.wait_until(lambda: m.accepts(tls), 10, "the TLS listener")
    return m, plain, tls


def config(d, name, tls_port, pty, ca="ca", client="client", host="127.0.0.1"):
    sub = os.path.join(d, name)
    os.makedirs(sub)
    path = harness.line_config(sub, 0, pty.gateway_end)
    with open(path) as f:
        text = f.read()
    text = text.replace("broker: tcp://127.0.0.1:0",
                        f"broker: ssl://{host}:{tls_port}\n  tls:\n    ca_file: {d}/{ca}.pem\n"
                        f"    cert_file: {d}/{client}.pem\n    key_file: {d}/{client}.key")
    with open(path, "w") as f:
        f.write(text)
    return path, sub


def expect_refused(d, name, tls_port, pty, why, **kw):
    path, sub = config(d, name, tls_port, pty, **kw)
    gw = harness.Gateway(path, sub).start()
    try:
        harness.wait_until(lambda: "cannot connect" in gw.log_text(), 15, f"{name}: the cannot-connect log line")
        line = next(l for l in gw.log_text().splitlines() if "cannot connect" in l)
        print(f"  {name}: {line}")
        # Paho C++ 1.2 reports only a code; the gateway's own OpenSSL probe supplies the reason.
        assert "TLS handshake failed" in line and why in line, f"{name}: expected '{why}' in: {line}"
        assert "connected to" not in gw.log_text(), gw.log_text()
    except BaseException:
        print(gw.log_text())
        raise
    finally:
        assert gw.stop() == 0


def main():
    d = harness.workdir("tls")
    make_pki(d)
    m, plain, tls = broker(d, "server")
    pty = harness.PtyPair(d)
    sub = harness.Subscriber(plain)
    try:
        # Mutual TLS works: readings travel over it.
        path, gsub = config(d, "good", tls, pty)
        gw = harness.Gateway(path, gsub).start()
        try:
            harness.wait_until(lambda: "uplink: connected" in gw.log_text(), 15, "the TLS connection")
            for n in range(1, 4):
                pty.write(f"T=20.5 N={n}\r\n")
            sub.wait_for(lambda s: len(harness.records_by_number(s.readings())) >= 3, 15, "3 records over TLS")
            # Also with the DNS name in the certificate.
        finally:
            assert gw.stop() == 0
        path, gsub = config(d, "good-localhost", tls, pty, host="localhost")
        gw = harness.Gateway(path, gsub).start()
        try:
            harness.wait_until(lambda: "uplink: connected" in gw.log_text(), 15, "the TLS connection to localhost")
        finally:
            assert gw.stop() == 0

        expect_refused(d, "wrong-ca", tls, pty, "certificate verify failed", ca="other-ca")
        expect_refused(d, "expired-client", tls, pty, "certificate expired", client="expired-client")
        expect_refused(d, "untrusted-client", tls, pty, "unknown ca", client="untrusted-client")
    finally:
        sub.close()
        m.stop()

    # The broker's certificate names another host: the host name check refuses it.
    m2, _, tls2 = broker(d, "server-wrong-name")
    try:
        expect_refused(d, "wrong-host-name", tls2, pty, "certificate verify failed")
    finally:
        m2.stop()

    # The host name only in the subject CN: refused, and the log names the host and the reason.
    m3, _, tls3 = broker(d, "server-cn-only")
    try:
        expect_refused(d, "cn-only", tls3, pty, "host 'localhost' is not in the server certificate's subjectAltName",
                       host="localhost")
    finally:
        m3.stop()
    print("tls: mutual TLS works; wrong CA, wrong host name, CN-only server cert, expired and untrusted client "
          "certs refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
