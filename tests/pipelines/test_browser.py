"""The Dagster UI in a real browser: the webserver serves this code location and the asset graph page names
every asset. A screenshot is kept in test-artifacts/pipelines/ (git-ignored)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.assets import ALL_ASSETS

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "pipelines"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Without the networking flags Chromium stalls on a machine with no internet.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1600,1000", "--virtual-time-budget=20000"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed, so the Dagster UI was not opened in a browser "
    "(make test installs Debian's chromium with apt-get where it can)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def webserver(tmp_path: Path) -> Iterator[str]:
    """``dagster-webserver -m pipelines`` on loopback, with the instance config of docker/ and a store of its own."""
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(REPO / "docker" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "GRAPHMEM_STORE": str(tmp_path / "graph.sqlite3"),
           "GRAPHMEM_INBOX": str(tmp_path / "inbox")}  # fmt: skip
    log = (tmp_path / "webserver.log").open("w")
    command = [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
               "-m", "pipelines"]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not start:\n{(tmp_path / 'webserver.log').read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the webserver and the code server it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)  # fmt: skip


def test_asset_graph_page_shows_every_asset(webserver: str, tmp_path: Path) -> None:
    page = f"{webserver}/asset-groups"  # the global asset lineage: the asset graph
    dom = _chromium(tmp_path, "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", dom.stdout, flags=re.S)).split())
    assert "Global asset lineage" in text
    names = [a.key.to_user_string() for a in ALL_ASSETS]
    missing = [name for name in names if not re.search(rf"(?<![\w/]){re.escape(name)}(?![\w/])", text)]
    assert missing == [], f"not on the asset graph page: {missing}"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = tmp_path / "asset-graph.png"
    taken = _chromium(tmp_path, f"--screenshot={shot}", page)
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    shutil.copy(shot, ARTIFACTS / "asset-graph.png")
    (ARTIFACTS / "asset-graph.html").write_text(dom.stdout)
