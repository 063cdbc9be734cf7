"""The two .deb files the system test installs: this tree's, built by scripts/package.sh, and the previous
release's, built from a fixed commit of the repository.

Both build only what the package holds (the loopgate target, no tests) through ccache with paths
relative to the tree, so the package build reuses what the release build compiled and the previous
release reuses all that did not change since. The previous release's .deb is cached under
/var/cache/loopgate-test/ keyed on its commit: built once per machine."""

import os
import re
import shutil
import subprocess
import tempfile
import time

import nspawn

SOURCE = os.environ.get("LOOPGATE_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The previous release: main before the system test fixed the package (ExecReload needed procps's
# /bin/kill). No tags exist; a release is a commit of main.
PREVIOUS_RELEASE = "e0eb5c9068ecc005ffa5d1bd61e5911bbeb38acb"


def _ccache_env():
    env = dict(os.environ)
    if shutil.which("ccache") and not env.get("CMAKE_CXX_COMPILER_LAUNCHER"):
        env["CMAKE_CXX_COMPILER_LAUNCHER"] = env["CMAKE_C_COMPILER_LAUNCHER"] = "ccache"
    if env.get("CMAKE_CXX_COMPILER_LAUNCHER") == "ccache":
        # Relative to the tree and not hashing the build directory: a tree in build/prev-*/ hits what
        # this one compiled.
        env.setdefault("CCACHE_BASEDIR", SOURCE)
        env.setdefault("CCACHE_NOHASHDIR", "1")
    return env


def _run_logged(cmd, log, timeout, cwd=None, env=None):
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        r = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if r.returncode != 0:
        with open(log, errors="replace") as f:
            tail = "".join(f.readlines()[-40:])
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}); see {log}:\n{tail}")


def current(log):
    """This tree's package, as scripts/package.sh builds it (--no-tests: the suite running this test
    has tested the same sources)."""
    started = time.monotonic()
    with open(log, "ab") as out:
        r = subprocess.run([os.path.join(SOURCE, "scripts/package.sh"), "--no-tests"], cwd=SOURCE,
                           env=_ccache_env(), stdout=subprocess.PIPE, stderr=out, text=True, timeout=3000)
        out.write(r.stdout.encode())
    if r.returncode != 0:
        raise AssertionError(f"scripts/package.sh --no-tests failed ({r.returncode}); see {log}")
    deb = os.path.join(SOURCE, r.stdout.strip().splitlines()[-1])
    assert deb.endswith(".deb") and os.path.isfile(deb), f"package.sh printed no .deb: {r.stdout[-500:]}"
    print(f"packages: {deb} built in {time.monotonic() - started:.0f}s", flush=True)
    return deb


def previous(log, commit=PREVIOUS_RELEASE):
    """The previous release's package, from `commit` (cached); None when the clone lacks that commit."""
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    cached = os.path.join(nspawn.CACHE, f"loopgate-{commit[:12]}_{arch}.deb")
    if os.path.isfile(cached):
        return cached
    os.makedirs(nspawn.CACHE, exist_ok=True)
    if subprocess.run(["git", "-C", SOURCE, "cat-file", "-e", f"{commit}^{{commit}}"],
                      capture_output=True).returncode != 0:
        # A shallow clone: the rest of the test is still worth running, so say so loudly and let the
        # caller fall back to a reinstall over a backlog (what dpkg runs for an upgrade, minus a new binary).
        print(f"WARNING: the previous release {commit} is not in this clone (shallow?): the upgrade is tested "
              "as a reinstall of this tree's package; `git fetch --unshallow` to test the real upgrade",
              flush=True)
        return None
    started = time.monotonic()
    # Under build/ at the depth of build/release, so ccache's relative paths are the same.
    tree = os.path.join(SOURCE, "build", f"prev-{commit[:12]}")
    build = os.path.join(tree, "build", "pkg")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    try:
        archive = subprocess.Popen(["git", "-C", SOURCE, "archive", commit], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", tree], stdin=archive.stdout, check=True, timeout=300)
        archive.stdout.close()
        assert archive.wait(timeout=60) == 0, f"git archive {commit} failed"
        env = _ccache_env()
        # The flags of scripts/package.sh (and build/release), so the compiler cache serves them.
        _run_logged(["cmake", "-S", tree, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                     "-DCMAKE_INSTALL_PREFIX=/usr", "-DLOOPGATE_WERROR=ON", "-DLOOPGATE_TESTS=OFF",
                     f"-DLOOPGATE_DEB_ARCH={arch}"], log, 600, env=env)
        _run_logged(["cmake", "--build", build, "--target", "loopgate", "-j", str(os.cpu_count() or 2)], log, 3000,
                    env=env)
        _run_logged(["cpack", "-G", "DEB"], log, 600, cwd=build, env=env)
        debs = [f for f in os.listdir(build) if re.fullmatch(rf"loopgate_.*_{arch}\.deb", f)]
        assert len(debs) == 1, f"cpack made {debs}"
        fd, partial = tempfile.mkstemp(dir=nspawn.CACHE, suffix=".partial")
        os.close(fd)
        shutil.copyfile(os.path.join(build, debs[0]), partial)
        os.chmod(partial, 0o644)
        os.rename(partial, cached)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    print(f"packages: previous release {commit[:12]} built in {time.monotonic() - started:.0f}s, cached as {cached}",
          flush=True)
    return cached


def depends(deb):
    """The names of the packages `deb` depends on (first of each alternative), for the root's list."""
    field = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True, check=True).stdout
    return [alt.split("|")[0].split("(")[0].split(":")[0].strip() for alt in field.split(",") if alt.strip()]


def extracted_file(deb, path):
    """The bytes of `path` as packaged in `deb`."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["dpkg-deb", "-x", deb, d], check=True, timeout=120)
        with open(os.path.join(d, path.lstrip("/")), "rb") as f:
            return f.read()
