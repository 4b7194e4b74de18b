"""`graphmem demo` on a fresh store prints what it stored; a second run finds everything unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _demo(store: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "graphmem.cli", "demo", "--store", str(store)],
                          capture_output=True, text=True, cwd=REPO, timeout=300, check=True)  # fmt: skip
    return done.stdout


def test_demo_ingests_the_sample_and_is_idempotent(tmp_path: Path) -> None:
    store = tmp_path / "demo.sqlite3"
    first = _demo(store)
    assert "14 documents, 2 dialogues (0 unchanged" in first
    assert "Dialogue 2, Document 14" in first and "Turn 80" in first
    assert "[documents/" in first  # a stored passage is shown with its document id
    # the two-hop question: its answer is the second hit, reached through the bridge entity
    assert "asked (ppr retrieval)" in first and "2. " in first and "[documents/corvin-ashdale.md" in first
    assert "—mentions→ Corvin Ashdale —mentioned in→" in first
    second = _demo(store)
    assert "(16 unchanged, 0 replaced)" in second
