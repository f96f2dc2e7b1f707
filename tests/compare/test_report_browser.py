"""Open the generated report.html in headless Chromium: no console errors, every image decodes, a screenshot.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``: NUL-separated JSON on
file descriptors 3 and 4), so the test needs only the standard library. It skips when ``/usr/bin/chromium`` is
absent (``.ci/run`` installs Debian's ``chromium``). The screenshot goes to ``$GENLAB_TEST_ARTIFACTS`` when set, else
to the test's temporary folder; its path is printed. With ``GENLAB_BROWSER_REPORT=path/to/report.html`` (e.g. after
``make demo``: ``demo_output/report.html``) the test opens that report instead of writing a small one.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium to run the browser test)")

_CHECK_IMAGES = """
Promise.all(Array.from(document.images).map(img => img.decode().then(
    () => ({alt: img.alt, width: img.naturalWidth, height: img.naturalHeight, ok: true}),
    () => ({alt: img.alt, width: img.naturalWidth, height: img.naturalHeight, ok: false}))))
"""


class Browser:
    """A headless Chromium and one page, driven by DevTools protocol messages over a pipe."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def child_fds() -> None:  # the protocol pipe must be fds 3 (commands in) and 4 (replies out)
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, pass_fds=(3, 4),  # kept open after preexec_fn, which made them the pipe
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable", session=True)
        except BaseException:
            self.close()
            raise

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            data = os.read(self._from_chrome, 1 << 16)
            if not data:
                raise RuntimeError("Chromium closed the protocol pipe")
            self._buffer += data
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False,
             timeout: float = 60.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(self._read_message(deadline))

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for("Page.loadEventFired")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries (failed loads) seen since :meth:`open`."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                found.append("exception: " + params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append("log: " + params["entry"]["text"])
        return found

    def images(self) -> list[dict[str, Any]]:
        result = self.call("Runtime.evaluate", {"expression": _CHECK_IMAGES, "awaitPromise": True,
                                                "returnByValue": True}, session=True)
        return result["result"]["value"]

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=True)
        path.write_bytes(base64.b64decode(data["data"]))

    def close(self) -> None:
        if self.process.poll() is not None:
            os.close(self._to_chrome)
            os.close(self._from_chrome)
            return
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path / "profile")
    yield b
    b.close()


@pytest.fixture
def report(tmp_path, small_text):
    given = os.environ.get("GENLAB_BROWSER_REPORT")
    if given:
        return Path(given).resolve()
    from genlab.compare import compare, save_results
    from genlab.compare.report import write_report

    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    out = tmp_path / "out"
    comparisons = [compare(path, "markov:order=2,hmm:states=3,iter=3", budget="60s", out_dir=out),
                   compare("digits", "gmm:components=1,kde:bandwidth=1.5", budget="60s", out_dir=out)]
    save_results(out, comparisons)
    return Path(write_report(out, comparisons))


def test_report_loads_cleanly_in_chromium(browser, report, tmp_path):
    browser.open(report.as_uri())
    assert browser.errors() == []
    images = browser.images()
    # bits and curves per comparison, the real digits and one grid per image model
    assert len(images) == 2 + 2 + 1 + 2 or (os.environ.get("GENLAB_BROWSER_REPORT") and images)
    assert all(image["ok"] and image["width"] > 0 and image["height"] > 0 for image in images), images
    artefacts = Path(os.environ.get("GENLAB_TEST_ARTIFACTS", tmp_path))
    artefacts.mkdir(parents=True, exist_ok=True)
    shot = artefacts / "report_screenshot.png"
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    """The same checks on a page with a console error and an undecodable image do fail (the test can fail)."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'></head><body>"
                    "<img alt='bad' src='data:image/png;base64,AAAA'><script>console.error('boom')</script>"
                    "</body></html>", encoding="utf-8")
    browser.open(page.as_uri())
    images = browser.images()
    assert [image["ok"] for image in images] == [False]
    assert any("boom" in error for error in browser.errors())


def test_chromium_binary_is_the_one_named():
    assert shutil.which(CHROMIUM) == CHROMIUM
