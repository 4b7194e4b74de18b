"""A headless Chromium driven over the Chrome DevTools Protocol: just what the Neo4j Browser test needs
(open a page, wait for the DOM, click, type, drop a file, take a screenshot). No browser is downloaded:
it runs the system's chromium."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Self

from websockets.sync.client import ClientConnection, connect

# Without the networking flags Chromium stalls on a machine with no internet.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-dev-shm-usage", "--remote-debugging-port=0",
         "--window-size=1600,1000"]  # fmt: skip


class DevToolsError(RuntimeError):
    """Chromium answered a command with an error, or a condition was not met in time."""


class Chromium:
    """One headless Chromium process with one page, closed on exit."""

    def __init__(self, executable: str, profile: Path, timeout: float = 60.0) -> None:
        self.timeout = timeout
        profile.mkdir(parents=True, exist_ok=True)
        self._log = (profile / "chromium.log").open("w")
        self._process = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                         stdout=self._log, stderr=subprocess.STDOUT)  # fmt: skip
        self._ids = itertools.count(1)
        try:
            self._socket = self._connect(profile / "DevToolsActivePort")
        except BaseException:  # no page to drive: leave no browser behind
            self._process.kill()
            self._process.wait()
            self._log.close()
            raise

    def _connect(self, port_file: Path) -> ClientConnection:
        deadline = time.monotonic() + self.timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise DevToolsError(f"Chromium did not open its DevTools port (exit code {self._process.poll()})")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.load(response) if t["type"] == "page"]
        connection = connect(pages[0]["webSocketDebuggerUrl"], max_size=64 * 2**20, open_timeout=10)
        return connection.__enter__()  # as a context manager (websockets 17 deprecates the bare connection)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._socket.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are dropped."""
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=self.timeout))
            if message.get("id") != message_id:
                continue
            if "error" in message:
                raise DevToolsError(f"{method}: {message['error']}")
            return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float | None = None) -> Any:
        """Poll a JavaScript expression until it is truthy and return its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise DevToolsError(f"timed out waiting for {what}")
            time.sleep(0.25)

    def open(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", f"{url} to load")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the first element matching a CSS selector."""
        box = self.wait_for(f"""(() => {{
            const el = document.querySelector({json.dumps(selector)});
            if (!el) return null;
            el.scrollIntoView({{block: 'center'}});
            const r = el.getBoundingClientRect();
            return r.width > 0 ? {{x: r.x + r.width / 2, y: r.y + r.height / 2}} : null;
        }})()""", f"{selector} to be visible")  # fmt: skip
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def type_into(self, selector: str, text: str) -> None:
        """Click an input and type text into it, as a person would (React sees the input events)."""
        self.click(selector)
        self.call("Input.insertText", text=text)

    def press(self, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
        """Press and release one key (modifiers: 2 = Ctrl, 8 = Shift)."""
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code, windowsVirtualKeyCode=key_code,
                      modifiers=modifiers)  # fmt: skip

    def drop_file(self, selector: str, name: str, content: str | bytes) -> None:
        """Drop a file (text, or bytes such as a zip) on an element, as dragging it from the desktop does."""
        raw = content.encode("utf-8") if isinstance(content, str) else content
        self.evaluate(f"""(() => {{
            const target = document.querySelector({json.dumps(selector)});
            const bytes = Uint8Array.from(atob({json.dumps(base64.b64encode(raw).decode())}), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], {json.dumps(name)}));
            for (const type of ['dragenter', 'dragover', 'drop']) {{
                target.dispatchEvent(new DragEvent(type, {{bubbles: true, cancelable: true, dataTransfer: data}}));
            }}
        }})()""")  # fmt: skip

    def screenshot(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
