"""Read files and folders into document and dialogue inputs.

A malformed record is quarantined with its file, line and reason while the rest of the
file is read; a file that cannot be read at all (empty, binary, not UTF-8, unknown kind)
is reported as a per-file error. Nothing here writes to a store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from graphmem.sources.formats import DialogueInput, DocumentInput

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
SUFFIXES = TEXT_SUFFIXES | {".jsonl", ".json"}
_TITLE_MAX = 200


@dataclass(frozen=True)
class Quarantined:
    """A record left out of ingestion, and why."""

    source: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.reason}"


class SourceError(ValueError):
    """A whole file could not be read; the message names the file."""


@dataclass
class SourceBatch:
    documents: list[DocumentInput] = field(default_factory=list)
    dialogues: list[DialogueInput] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    files: int = 0

    def extend(self, other: SourceBatch) -> None:
        self.documents += other.documents
        self.dialogues += other.dialogues
        self.quarantined += other.quarantined
        self.errors += other.errors
        self.files += other.files


def validation_reason(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(x) for x in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:3]]
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "; ".join(parts) + more


def read_text(path: Path) -> str:
    """The file's text; SourceError if it is empty, binary or not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if b"\x00" in data[:65_536]:
        raise SourceError(f"{path}: binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(f"{path}:{line}: not UTF-8 (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise SourceError(f"{path}: empty file")
    return text


def split_title(text: str, suffix: str) -> tuple[str | None, str]:
    """A Markdown ``# Title`` line, or a short first line followed by a blank line, is the title."""
    lines = text.split("\n")
    first = lines[0].strip()
    if suffix in {".md", ".markdown"} and first.startswith("# "):
        return first[2:].strip() or None, "\n".join(lines[1:]).strip("\n")
    if first and len(first) <= _TITLE_MAX and len(lines) > 1 and not lines[1].strip():
        return first.lstrip("# ").strip(), "\n".join(lines[2:]).strip("\n")
    return None, text


def read_file(path: Path, doc_id: str) -> SourceBatch:
    """Read one file; ``doc_id`` is the id a plain text file's document gets."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SourceError(f"{path}: unsupported file type {suffix or '(none)'}; expected one of {sorted(SUFFIXES)}")
    text = read_text(path)
    batch = SourceBatch(files=1)
    if suffix in TEXT_SUFFIXES:
        title, body = split_title(text, suffix)
        batch.documents.append(DocumentInput(id=doc_id, title=title or path.stem, text=body, source=str(path)))
    elif suffix == ".jsonl":
        _read_jsonl(path, text, batch)
    else:
        _read_dialogue_json(path, text, batch)
    return batch


def _read_jsonl(path: Path, text: str, batch: SourceBatch) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            batch.quarantined.append(Quarantined(str(path), number, f"invalid JSON: {exc.msg} at column {exc.colno}"))
            continue
        try:
            document = DocumentInput.model_validate(raw)
        except ValidationError as exc:
            batch.quarantined.append(Quarantined(str(path), number, validation_reason(exc)))
            continue
        if document.source is None:
            document = document.model_copy(update={"source": f"{path}:{number}"})
        batch.documents.append(document)


def _read_dialogue_json(path: Path, text: str, batch: SourceBatch) -> None:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    from graphmem.sources.benchmarks import is_locomo, is_longmemeval, read_benchmark

    if is_locomo(raw) or is_longmemeval(raw):
        batch.extend(read_benchmark(raw, str(path)))
        batch.files -= 1  # read_benchmark counts the file, and so did read_file
        return
    items = raw if isinstance(raw, list) else [raw]
    for index, item in enumerate(items):
        where = f"item {index}" if isinstance(raw, list) else None
        try:
            dialogue = DialogueInput.model_validate(item)
        except ValidationError as exc:
            reason = validation_reason(exc)
            batch.quarantined.append(Quarantined(str(path), None, f"{where}: {reason}" if where else reason))
            continue
        batch.dialogues.append(dialogue if dialogue.source else dialogue.model_copy(update={"source": str(path)}))


def expand(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """Files under the given paths with the document id each plain file gets.

    The id is the path relative to the parent of the argument (``data/sample`` gives
    ``sample/documents/kessaby.md``), so re-ingesting the same argument gives the same ids.
    """
    out: list[tuple[Path, str]] = []
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise SourceError(f"{root}: no such file or folder")
        if root.is_file():
            out.append((root, root.name))
            continue
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if (
                path.is_file()
                and path.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in relative.parts)
            ):
                out.append((path, (Path(root.resolve().name) / relative).as_posix()))
    return out


def read_paths(paths: Iterable[str | Path]) -> SourceBatch:
    """Read every supported file under ``paths``; per-file failures are collected, not raised."""
    batch = SourceBatch()
    for path, doc_id in expand(paths):
        try:
            batch.extend(read_file(path, doc_id))
        except SourceError as exc:
            batch.errors.append(exc)
    return batch
