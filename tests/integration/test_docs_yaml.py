#!/usr/bin/python3
"""Every YAML example a reader may copy is a config the real binary accepts: each ```yaml block of
README.md, docs/**/*.md and drivers/*/README.md, and every drivers/*/sample.yaml, passes
`loopgate check-config`.

A block is a whole config unless the line right before its fence is a marker:
  <!-- check-config: fragment -->        some top-level sections only (say `ports:`); each missing
                                          section of a minimal config is appended, then it is checked
  <!-- check-config: skip (reason) -->   not checked; the reason is required
Each config is checked in a fresh directory (its cwd), where Ed25519 keys the block names by a
relative path are made first with `loopgate keygen`, so a doc can show signing or operator keys.

The test also proves it can fail: a fragment with a misspelt key is refused, and a block with an
unknown marker, or a skip without a reason, fails the test."""

import glob
import os
import re
import subprocess
import sys

import harness

SOURCE = os.environ.get("LOOPGATE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))

MARKER = re.compile(r"^<!--\s*check-config:\s*(?P<kind>[a-z]+)(?:\s*\((?P<reason>[^)]*)\))?\s*-->\s*$")
TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:")
RELATIVE_KEY_FILE = re.compile(r"(?<![\w./-])(?!/)([\w.-][\w./-]*)\.(key|pub)\b")

# The smallest config check-config accepts, section by section; a fragment lacks some of them.
MINIMAL = {
    "gateway": "gateway: {id: docs-check}\n",
    "uplink": "uplink: {broker: tcp://127.0.0.1:1883}\n",
    "store": "store: {path: store.db}\n",
    "ports": "ports: []\n",
}


def doc_files():
    files = [os.path.join(SOURCE, "README.md")]
    files += sorted(glob.glob(os.path.join(SOURCE, "docs", "**", "*.md"), recursive=True))
    files += sorted(glob.glob(os.path.join(SOURCE, "drivers", "*", "README.md")))
    return files


def yaml_blocks(path):
    """(line of the fence, marker kind or None, reason, text) for each ```yaml block of a Markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)(```+|~~~+)\s*ya?ml\s*$", lines[i])
        if not fence:
            i += 1
            continue
        indent, ticks = fence.group(1), fence.group(2)
        start = i
        j = i + 1
        while j < len(lines) and lines[j].strip() != ticks:
            j += 1
        assert j < len(lines), f"{path}:{start + 1}: yaml block never closed"
        body = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in lines[start + 1:j]) + "\n"
        kind = reason = None
        before = lines[start - 1].strip() if start > 0 else ""
        if before.startswith("<!--") and "check-config" in before:
            m = MARKER.match(before)
            assert m, f"{path}:{start}: malformed check-config marker: {before}"
            kind, reason = m.group("kind"), (m.group("reason") or "").strip()
            assert kind in ("fragment", "skip"), f"{path}:{start}: unknown check-config marker '{kind}'"
            assert kind != "skip" or reason, f"{path}:{start}: a check-config skip needs a reason in parentheses"
        blocks.append((start + 1, kind, reason, body))
        i = j + 1
    return blocks


def completed(fragment):
    """The fragment first (so check-config's line numbers are the block's), then each missing section."""
    present = {m.group(1) for m in map(TOP_LEVEL_KEY.match, fragment.split("\n")) if m}
    return fragment + "".join(text for section, text in MINIMAL.items() if section not in present)


def check(text, where, workdir):
    """Runs check-config on `text` in a directory of its own; returns the CompletedProcess."""
    d = os.path.join(workdir, re.sub(r"[^A-Za-z0-9]+", "_", where).strip("_"))
    os.makedirs(d)
    for prefix, _ in RELATIVE_KEY_FILE.findall(text):
        if not os.path.exists(os.path.join(d, prefix + ".key")):
            os.makedirs(os.path.dirname(os.path.join(d, prefix)) or d, exist_ok=True)
            harness.keygen(d, prefix)
    path = os.path.join(d, "config.yaml")
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run([harness.LOOPGATE, "check-config", path], cwd=d, capture_output=True, text=True,
                          timeout=30)


def main():
    work = harness.workdir("docs-yaml")
    failures = []
    checked = skipped = 0

    # The minimal config on its own must pass, or every fragment would fail for a reason of ours.
    out = check(completed(""), "minimal", work)
    assert out.returncode == 0, ("the minimal config is refused", out.stderr)
    # And the check catches what it is for: the nmea0183 doc once showed `device:` for `path:`.
    typo = "ports:\n  - {name: gps, device: /dev/ttyUSB0, driver: nmea0183}\n"
    out = check(completed(typo), "self-test typo", work)
    assert out.returncode == 1 and "unknown key 'device'" in out.stderr, (out.returncode, out.stderr)
    # The marker parser refuses a skip without a reason and an unknown marker.
    for bad in ("<!-- check-config: skip -->", "<!-- check-config: partial -->"):
        probe = os.path.join(work, "probe.md")
        with open(probe, "w") as f:
            f.write(f"{bad}\n```yaml\na: 1\n```\n")
        try:
            yaml_blocks(probe)
        except AssertionError:
            continue
        raise AssertionError(f"the marker {bad} was accepted")

    sources = []
    for doc in doc_files():
        rel = os.path.relpath(doc, SOURCE)
        for line, kind, reason, body in yaml_blocks(doc):
            sources.append((f"{rel}:{line}", kind, reason, body, line))
    for sample in sorted(glob.glob(os.path.join(SOURCE, "drivers", "*", "sample.yaml"))):
        sources.append((os.path.relpath(sample, SOURCE), None, None, open(sample, encoding="utf-8").read(), 0))
    driver_folders = sorted(d for d in glob.glob(os.path.join(SOURCE, "drivers", "*", "")) if
                            glob.glob(os.path.join(d, "*_driver.cpp")))
    for folder in driver_folders:
        for name in ("README.md", "sample.yaml"):
            if not os.path.exists(os.path.join(folder, name)):
                failures.append(f"{os.path.relpath(folder, SOURCE)}: a driver folder without {name}")

    for where, kind, reason, body, fence_line in sources:
        if kind == "skip":
            print(f"  {where}: skipped ({reason})")
            skipped += 1
            continue
        text = completed(body) if kind == "fragment" else body
        out = check(text, where, work)
        checked += 1
        if out.returncode != 0:
            # check-config names config.yaml:LINE:COL; point at the line in the doc instead.
            error = re.sub(r"\S*config\.yaml:(\d+):",
                           lambda m: f"{where.split(':')[0]}:{int(m.group(1)) + fence_line}:", out.stderr.strip())
            failures.append(f"{where} ({kind or 'whole config'}): exit {out.returncode}: {error}")
        else:
            print(f"  {where} ({kind or 'whole config'}): OK")

    for f in failures:
        print("FAIL", f, file=sys.stderr)
    assert not failures, f"{len(failures)} YAML examples refused"
    assert checked >= len(driver_folders) * 2, (checked, "fewer examples than driver READMEs and samples")
    print(f"docs YAML: {checked} examples pass check-config, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
