"""ruff stays clean and no module grows past the size a reader can hold in mind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAX_LINES = 400


def test_ruff_is_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_module_is_too_long() -> None:
    sources = [p for folder in ("graphmem", "pipelines", "tests") for p in (REPO / folder).rglob("*.py")]
    too_long = {str(p.relative_to(REPO)): n for p in sources if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert sources and too_long == {}
