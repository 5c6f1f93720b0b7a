"""A headless chromium driven over the DevTools protocol on a pipe, with the stdlib only.

``--remote-debugging-pipe`` makes chromium read commands on fd 3 and write replies and
events on fd 4, each a JSON object ended by a NUL byte: no port is opened, no package
needed (selenium, playwright). ``Browser.open(url)`` loads a page in a new tab and collects
its console errors, uncaught exceptions and error log entries (CSP violations, failed
loads) in ``Tab.errors``; ``Tab.eval`` returns a JavaScript expression's value.

``find_chromium()`` is None when Debian's chromium is not installed: the tests skip then,
except under CI (``CI=true``), where .ci/run installs it and a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any, Optional

import pytest


def find_chromium() -> Optional[str]:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def need_chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing under CI (.ci/run installs Debian's chromium)")
        pytest.skip("no chromium on this machine (apt-get install chromium); "
                    "the report's browser check needs it")
    return path


class Browser:
    def __init__(self, exe: str, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="netpool-chromium-")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                "--disable-dev-shm-usage", "--disable-background-networking",
                f"--user-data-dir={self._profile}", "--remote-debugging-pipe", "about:blank"]
        # fds 3 and 4 of the browser are our pipes' ends (what --remote-debugging-pipe reads).
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}', "chromium", *args],
            pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._ids = 0
        self._replies: dict[int, "queue.Queue[dict]"] = {}
        self._events: "queue.Queue[dict]" = queue.Queue()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._r, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._events.put({"method": "closed"})
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        q = self._replies.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                else:
                    self._events.put(msg)

    def send(self, method: str, params: Optional[dict] = None,
             session: Optional[str] = None) -> dict:
        """A command's result; raises ``RuntimeError`` for an error reply, ``TimeoutError``."""
        with self._lock:
            self._ids += 1
            mid = self._ids
            q = self._replies[mid] = queue.Queue()
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        try:
            reply = q.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(f"chromium did not answer {method} in {self.timeout}s") from None
        finally:
            with self._lock:
                self._replies.pop(mid, None)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def open(self, url: str) -> "Tab":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        tab = Tab(self, session)
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session)
        tab.wait_event("Page.loadEventFired")
        return tab

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Tab:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session
        self.errors: list[str] = []

    def _note(self, ev: dict) -> None:
        if ev.get("sessionId") != self.session:
            return
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.errors.append(f"exception: {p['exceptionDetails'].get('text')} "
                               f"{p['exceptionDetails'].get('exception', {}).get('description')}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                      for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.errors.append(f"log ({p['entry'].get('source')}): {p['entry'].get('text')}")

    def pump(self, until: float) -> Optional[dict]:
        """Note the events that arrive before ``until``; the first one, or None."""
        try:
            ev = self.browser._events.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            return None
        if ev.get("method") == "closed":
            raise RuntimeError("chromium exited")
        self._note(ev)
        return ev

    def wait_event(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = self.pump(deadline)
            if ev is not None and ev.get("method") == method and ev.get("sessionId") == self.session:
                return ev
        raise TimeoutError(f"no {method} within {timeout}s")

    def settle(self, seconds: float = 0.3) -> None:
        """Collect the events of the next ``seconds`` (late console errors)."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self.pump(until)

    def eval(self, expression: str) -> Any:
        """The value of ``expression`` in the page (JSON-able); raises for a JS exception."""
        r = self.browser.send("Runtime.evaluate", {"expression": expression,
                                                   "returnByValue": True}, self.session)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")
