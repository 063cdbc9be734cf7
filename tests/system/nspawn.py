"""A Debian 12 box booted with systemd-nspawn: a real systemd as PID 1, sharing the host's network (so a
broker on a loopback port of the host is reachable from inside) and nothing else of it.

The root file system comes from debootstrap (minbase plus the packages asked for), cached under
/var/cache/loopgate-test/ keyed on the suite, the mirror and the package list, so only the first run
on a machine pays for it (about 2 minutes, 250 MB). Each test boots a copy of it, removed at exit.

Every wait is bounded. Nothing is left behind: the container is powered off (or its init killed,
which ends the whole PID namespace) when the test ends, pass or fail, and also when the test is killed
(nspawn gets SIGTERM when its parent dies, and powers the container off)."""

import atexit
import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import time

CACHE = os.environ.get("LOOPGATE_TEST_CACHE", "/var/cache/loopgate-test")
SUITE = "bookworm"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class CannotRun(Exception):
    """nspawn cannot boot a container on this machine: the test is skipped, saying why."""


def mirror():
    """The Debian mirror apt already uses here (CI reaches Debian's archive and nothing else)."""
    for path in sorted(glob.glob("/etc/apt/sources.list") + glob.glob("/etc/apt/sources.list.d/*")):
        try:
            text = open(path).read()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if path.endswith(".sources") and words[:1] == ["URIs:"]:
                uri = words[1]
            elif words[:1] == ["deb"]:
                uri = next((w for w in words[1:] if "://" in w), "")
            else:
                continue
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return "http://deb.debian.org/debian"


@contextlib.contextmanager
def _cache_lock():
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def prepared_root(packages, log):
    """A private copy of the cached root with `packages` installed (debootstrapped on first use). The
    Container booted from it removes it once it has shut down."""
    packages = sorted(set(packages))
    source = mirror()
    key = hashlib.sha256(f"{SUITE} {source} minbase {','.join(packages)}".encode()).hexdigest()[:16]
    cached = os.path.join(CACHE, f"root-{key}")
    runs = os.path.join(CACHE, "runs")
    copy = os.path.join(runs, str(os.getpid()))
    with _cache_lock():
        if not os.path.isdir(cached):
            partial = cached + ".partial"
            shutil.rmtree(partial, ignore_errors=True)
            print(f"nspawn: debootstrap {SUITE} from {source} with {','.join(packages)} into {cached} "
                  "(cached for later runs)", flush=True)
            started = time.monotonic()
            with open(log, "ab") as out:
                r = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE,
                                    partial, source], stdout=out, stderr=subprocess.STDOUT, timeout=1500)
            if r.returncode != 0:
                raise AssertionError(f"debootstrap failed ({r.returncode}); see {log}:\n{_tail(log)}")
            os.rename(partial, cached)
            print(f"nspawn: root ready in {time.monotonic() - started:.0f}s", flush=True)
            # Roots of other package lists are stale: the list is derived from the packages' Depends.
            for old in glob.glob(os.path.join(CACHE, "root-*")):
                if old != cached:
                    shutil.rmtree(old, ignore_errors=True)
        # Copies a killed run left behind (never one a container still runs from).
        for stale in glob.glob(os.path.join(runs, "*")):
            name = os.path.basename(stale)
            if (not name.isdigit() or not _pid_alive(int(name))) and not _in_use(stale):
                shutil.rmtree(stale, ignore_errors=True)
        os.makedirs(runs, exist_ok=True)
        subprocess.run(["cp", "-a", "--reflink=auto", cached, copy], check=True, timeout=600)
    return copy


def _in_use(root):
    """Whether a systemd-nspawn process runs a container from `root`."""
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"systemd-nspawn") for a in args[:3]) and root.encode() in args:
            return True
    return False


def _tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Container:
    """systemd-nspawn --boot of `root`; run() executes a command inside it (nsenter into all of the
    container's namespaces), as root, with a clean environment. `root` is removed at exit, once the
    container is gone."""

    def __init__(self, root, name, log):
        self.root = root
        self.name = name
        self.log = log
        self.proc = None
        self.init_pid = None
        self.boots = 0
        atexit.register(self.shutdown)

    def path(self, inside):
        """The host's path of a file inside the container (not for /tmp, /run or /dev: those are
        mounted inside)."""
        return os.path.join(self.root, inside.lstrip("/"))

    def boot(self, timeout=90):
        """Boots the container and returns once systemd reports the system running (or degraded)."""
        self.boots += 1
        with open(self.log, "ab") as out:
            out.write(f"\n==== boot {self.boots}\n".encode())
        out = open(self.log, "ab")
        # --keep-unit and --register=no: the host has no system bus (nor machined) to register with.
        # setpriv --pdeathsig: nspawn gets SIGTERM if the test dies (killed by ctest's timeout), and
        # answers it by powering the container off, so no box is left running.
        self.proc = subprocess.Popen(["setpriv", "--pdeathsig", "SIGTERM", "systemd-nspawn", "-D", self.root, "--boot",
                                      "--register=no", "--keep-unit", "--console=pipe", f"--machine={self.name}"],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + timeout
        self.init_pid = None
        while self.init_pid is None:
            if self.proc.poll() is not None:
                raise CannotRun(f"systemd-nspawn exited with {self.proc.returncode} before the container booted:\n"
                                f"{_tail(self.log)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no init process in the container after {timeout}s:\n{_tail(self.log)}")
            self.init_pid = self._init_of(self.proc.pid)
            if self.init_pid is None:
                time.sleep(0.05)
        # The container's bus (and systemctl) answers once systemd has set itself up.
        state = ""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the container's systemd did not come up within {timeout}s (last state "
                                     f"{state!r}):\n{_tail(self.log)}")
            r = self.run(["systemctl", "is-system-running", "--wait"], check=False, timeout=max(1, left))
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                break
            if self.proc.poll() is not None:
                raise CannotRun(f"systemd-nspawn exited with {self.proc.returncode}:\n{_tail(self.log)}")
            time.sleep(0.1)
        if state == "degraded":
            failed = self.run(["systemctl", "--failed", "--no-legend", "--plain"], check=False).stdout
            raise AssertionError(f"the container booted degraded, failed units:\n{failed}")

    @staticmethod
    def _children_of(pid):
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(stat) as f:
                    text = f.read()
            except OSError:
                continue
            comm, fields = text[text.index("(") + 1:text.rindex(")")], text.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append((int(stat.split("/")[2]), comm))
        return children

    @classmethod
    def _init_of(cls, pid):
        """The container's PID 1 once it runs systemd: nspawn's child of that name (nspawn has other
        children while it sets the container up)."""
        return next((child for child, comm in cls._children_of(pid) if comm == "systemd"), None)

    def run(self, args, check=True, timeout=60, input=None):
        """Runs `args` inside the container; returns the CompletedProcess (text). With check, a non-zero
        exit fails the test, quoting the command's output."""
        cmd = ["nsenter", "-t", str(self.init_pid), "-a", "env", "-i", f"PATH={PATH}", "LANG=C.UTF-8",
               "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "TERM=dumb", "DEBIAN_FRONTEND=noninteractive", *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"in the container: {' '.join(args)} exited with {r.returncode}\n"
                                 f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r

    def sh(self, script, **kw):
        return self.run(["sh", "-c", script], **kw)

    def reboot(self, timeout=90):
        """`systemctl reboot` inside; nspawn exits when the container reboots (status 133), and the
        container is booted again from the same root, as a box's firmware would."""
        self.run(["systemctl", "reboot"], check=False)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the container did not shut down for the reboot within {timeout}s:\n"
                                 f"{_tail(self.log)}")
        assert code == 133, f"systemd-nspawn exited with {code} on a reboot, expected 133:\n{_tail(self.log)}"
        self.boot(timeout)

    def shutdown(self, timeout=60):
        """Powers the container off; if it does not go within `timeout`, kills nspawn's children (its
        init, and with it every process of the container). Then removes the root."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                if not self.init_pid:
                    raise OSError("the container never came up")
                self.run(["systemctl", "poweroff"], check=False, timeout=10)
                self.proc.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, OSError):
                for child, _ in self._children_of(self.proc.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)
                self.proc.wait(timeout=30)
        if self.proc is None or self.proc.poll() is not None:
            shutil.rmtree(self.root, ignore_errors=True)
