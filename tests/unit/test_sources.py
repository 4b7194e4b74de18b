"""Reading files: good records kept, bad ones quarantined with file and line, unreadable files named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphmem.sources import SourceError, read_file, read_paths
from graphmem.sources.files import split_title

GOOD = {"id": "a", "title": "A", "text": "Alpha lives in Brill.", "date": "2021-03-04"}


def test_jsonl_quarantines_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps({"id": "b"}),  # no text
        "",
        json.dumps({**GOOD, "id": "c", "date": "yesterday-ish"}),
        json.dumps({**GOOD, "id": "d", "colour": "red"}),
        json.dumps({**GOOD, "id": "e"}),
    ]
    path.write_text("\n".join(lines))
    batch = read_file(path, "docs.jsonl")
    assert [d.id for d in batch.documents] == ["a", "e"]
    assert batch.documents[0].date is not None and batch.documents[0].date.year == 2021
    assert [(q.line, q.source) for q in batch.quarantined] == [(2, str(path)), (3, str(path)), (5, str(path)),
                                                                (6, str(path))]  # fmt: skip
    reasons = [str(q) for q in batch.quarantined]
    assert reasons[0].startswith(f"{path}:2: invalid JSON")
    assert "text: Field required" in reasons[1]
    assert "date" in reasons[2]
    assert "colour: Extra inputs are not permitted" in reasons[3]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"  \n\n ", "empty file"),
        ("blob.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
        ("latin.txt", b"Title\n\nCaf\xe9 in Brill", "latin.txt:3: not UTF-8"),
        ("table.csv", b"a,b\n1,2", "unsupported file type .csv"),
        ("broken.json", b'{"id": "x",\n "sessions": [', "broken.json:2: invalid JSON"),
    ],
)
def test_unreadable_files_get_a_clear_error_naming_them(tmp_path: Path, name: str, content: bytes,
                                                        message: str) -> None:  # fmt: skip
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message.replace(".", r"\.")):
        read_file(path, name)


def test_a_folder_reads_good_files_and_reports_bad_ones(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one.md").write_text("# One\n\nFirst text.")
    (tmp_path / "docs" / "two.txt").write_text("Two\n\nSecond text.")
    (tmp_path / "docs" / "bad.txt").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "docs" / ".hidden.md").write_text("# Hidden\n\nnot read")
    dialogue = {"id": "d", "sessions": [{"date": "2024-01-02T10:00:00Z", "turns": [{"speaker": "A", "text": "Hi"}]}]}
    (tmp_path / "docs" / "chat.json").write_text(json.dumps([dialogue, {"id": "bad", "sessions": []}]))
    batch = read_paths([tmp_path / "docs"])
    assert sorted(d.id for d in batch.documents) == ["docs/one.md", "docs/two.txt"]
    assert {d.title for d in batch.documents} == {"One", "Two"}
    assert [d.id for d in batch.dialogues] == ["d"]
    assert len(batch.quarantined) == 1 and "item 1: sessions" in str(batch.quarantined[0])
    assert len(batch.errors) == 1 and "bad.txt" in str(batch.errors[0])
    assert batch.files == 3  # files read; the unreadable one is in errors


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_paths([tmp_path / "nope"])


def test_titles() -> None:
    assert split_title("# Brill\n\nBody", ".md") == ("Brill", "Body")
    assert split_title("Brill\n\nBody", ".txt") == ("Brill", "Body")
    assert split_title("A long first sentence that runs on.\nBody", ".txt") == (
        None, "A long first sentence that runs on.\nBody")  # fmt: skip
