#!/usr/bin/python3
"""The command line as people expect it: `loopgate <command> --help` (or -h, or `loopgate help
<command>`) prints that command's usage with every option it takes, on stdout, exit 0;
`loopgate --help` lists every command; misuse exits 2 and points at --help."""

import subprocess

import harness as h

OPTIONS = {
    "run": ["--config", "--verbose"],
    "check-config": ["FILE"],
    "list-ports": [],
    "tail": ["--config", "--broker", "--prefix", "--gateway", "--count", "--timeout", "--json"],
    "decode": ["--driver", "--config", "--port"],
    "simulate": ["--dir", "--line", "--nmea", "--modbus", "--interval", "--count"],
    "keygen": ["--out"],
    "verify": ["--key", "--file"],
    "status": ["--url", "--config", "--user", "--insecure", "--timeout"],
    "passwd": ["--user", "--line"],
    "config": ["push", "revert", "keygen", "--key", "--broker", "--gateway", "--version", "--prefix", "--expires",
               "--timeout", "--config", "--out"],
}


def loopgate(*args):
    return subprocess.run([h.LOOPGATE, *args], capture_output=True, text=True, timeout=30)


for command, options in OPTIONS.items():
    for asked in ([command, "--help"], [command, "-h"], ["help", command]):
        out = loopgate(*asked)
        assert out.returncode == 0, (asked, out.returncode, out.stderr)
        assert out.stdout.startswith(f"usage: loopgate {command}"), (asked, out.stdout)
        for option in options:
            assert option in out.stdout, (asked, option, out.stdout)
    # --help wins over whatever else is on the line, required options missing included.
    assert loopgate(command, "--bogus", "--help").returncode == 0, command

top = loopgate("--help")
assert top.returncode == 0, top
for command in OPTIONS:
    assert f"  {command} " in top.stdout, (command, top.stdout)
assert "--version" in top.stdout and "--help" in top.stdout, top.stdout
assert loopgate("-h").stdout == top.stdout

misuse = loopgate("tail", "--colour")
assert misuse.returncode == 2 and "unexpected argument '--colour'" in misuse.stderr, misuse
assert "loopgate tail --help" in misuse.stderr, misuse.stderr
bad_number = loopgate("tail", "--count", "many")
assert bad_number.returncode == 2 and "--count expects a number" in bad_number.stderr, bad_number
unknown = loopgate("tial")
assert unknown.returncode == 2 and "unknown command 'tial'" in unknown.stderr, unknown
assert loopgate().returncode == 2

print("ok: every command answers --help with its options")
