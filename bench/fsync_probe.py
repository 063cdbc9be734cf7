#!/usr/bin/python3
"""The disk's floor for a durable commit: latency of append 4 KiB + fdatasync(), as SQLite's WAL
commit with synchronous=FULL does (it also syncs once per commit). Usage: fsync_probe.py DIR [N]"""
import os, sys, time
d = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
path = os.path.join(d, "fsync-probe.bin")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
block = b"\0" * 4096
lat = []
try:
    for _ in range(n):
        t = time.perf_counter_ns()
        os.write(fd, block)
        os.fdatasync(fd)
        lat.append((time.perf_counter_ns() - t) / 1e6)
finally:
    os.close(fd)
    os.unlink(path)
lat.sort()
print(f"fsync_ms_p50 {lat[len(lat)//2]:.2f}\nfsync_ms_p99 {lat[int(len(lat)*0.99)]:.2f}\nfsync_per_s {1000/lat[len(lat)//2]:.0f}")
