"""`loopgate mbus-scan` on a pty with five meters answering with real meters' recorded frames
(libmbus's test frames): the primary scan lists each at its address with the identification
number, manufacturer, medium and version of its header, and reports the two meters sharing an
address as a collision; the secondary search finds every identification number, the meters at the
shared address included."""

import subprocess

import harness as h
import mbus_meter

names = ["kamstrup_multical_601", "landis+gyr_ultraheat_t230", "ELS_Elster-F96-Plus",
         "itron_cf_51", "sontex_supercal_531_telegram1"]
frames = {n: mbus_meter.frame(n) for n in names}
ids = {n: mbus_meter.identification(f) for n, f in frames.items()}
# Primary addresses as the frames carry them: Kamstrup 17, Landis+Gyr 0, Elster 0: a shared address.
addresses = {n: f[5] for n, f in frames.items()}
assert addresses["landis+gyr_ultraheat_t230"] == addresses["ELS_Elster-F96-Plus"], addresses

d = h.workdir("mbus_scan")
line = h.PtyPair(d, "mbusscan")
line.close_sensor_side()
meters = [mbus_meter.Meter([f], address=addresses[n], secondary=True) for n, f in frames.items()]
bus = mbus_meter.Bus(line.sensor_end, meters)


def scan(*extra):
    r = subprocess.run([h.LOOPGATE, "mbus-scan", "--port", line.gateway_end, "--retries", "0", *extra],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r
    return [l.split() for l in r.stdout.splitlines()[1:]]


rows = scan()
by_address = {}
for row in rows:
    by_address.setdefault(int(row[0]), []).append(row)
shared = addresses["ELS_Elster-F96-Plus"]
for n in names:
    a = addresses[n]
    if a == shared:
        continue
    (row,) = by_address[a]
    assert row[1] == ids[n], (n, row)
assert "several" in " ".join(by_address[shared][0]), by_address[shared]
kam = by_address[17][0]
assert kam[1:4] == ["06855817", "KAM", "8"], kam

rows = scan("--secondary")
found = sorted(row[1] for row in rows)
assert found == sorted(ids.values()), (found, ids)

bus.stop()
line.close()
print(f"ok: primary scan {len(by_address)} addresses (one shared), secondary search {len(found)} meters")
