"""A real browser for tests: Debian's chromium, headless, driven over the DevTools protocol (through
python3-websocket), so a test can load a page, read what its script made of the DOM as it changes,
and take a screenshot.

The browser runs in its own process group with its own profile directory; both are gone when the
test ends, pass or fail. Every wait is bounded."""

import atexit
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import websocket

import harness as h


def chromium_path():
    """The chromium binary, or exit 77 (skipped) when it is not installed."""
    path = shutil.which("chromium")
    if not path:
        print("skipped: chromium is not installed (scripts/install-deps.sh installs it)")
        sys.exit(77)
    return path


class Chromium:
    def __init__(self, directory, width=1280, height=1400):
        self.profile = os.path.join(directory, "chromium-profile")
        os.makedirs(self.profile)
        self.log = open(os.path.join(directory, "chromium.log"), "wb")
        # --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
        self.proc = subprocess.Popen(
            [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "--remote-allow-origins=*",
             f"--window-size={width},{height}", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.close)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        h.wait_until(lambda: self._alive() and os.path.exists(port_file) and open(port_file).read().count("\n") >= 1,
                     30, "chromium to open its DevTools port")
        port = int(open(port_file).read().split("\n")[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self._next_id = 0

    def _alive(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"chromium exited with {self.proc.returncode}")
        return True

    def call(self, method, **params):
        """One DevTools command; returns its result (events arriving meanwhile are skipped)."""
        self._next_id += 1
        self.ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg["result"]
        raise AssertionError(f"no answer to {method} within 30 s")

    def navigate(self, url):
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-serializable)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout, what):
        """Waits until the expression is truthy in the page; returns its value."""
        return h.wait_until(lambda: self.evaluate(expression), timeout, what)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.log.close()
