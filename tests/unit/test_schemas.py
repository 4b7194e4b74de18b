"""schemas/ matches the models, and the shipped sample corpus conforms to the input schemas."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from graphmem import schemas

REPO = Path(__file__).resolve().parents[2]


def test_schemas_folder_is_current() -> None:
    assert schemas.stale() == [], "schemas/ is stale: run `make schemas` and commit the result"


def test_stale_detects_edits(tmp_path: Path) -> None:
    schemas.write(tmp_path)
    assert schemas.stale(tmp_path) == []
    (tmp_path / "record.entity.schema.json").write_text("{}")
    (tmp_path / "record.gone.schema.json").write_text("{}")
    assert schemas.stale(tmp_path) == ["record.entity.schema.json", "record.gone.schema.json"]


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / "schemas" / name).read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sample_corpus_conforms_to_the_input_schemas() -> None:
    documents = _validator("input.document.schema.json")
    lines = (REPO / "data/sample/documents.jsonl").read_text().splitlines()
    for line in lines:
        documents.validate(json.loads(line))
    dialogues = _validator("input.dialogue.schema.json")
    files = sorted((REPO / "data/sample/dialogues").glob("*.json"))
    for path in files:
        dialogues.validate(json.loads(path.read_text()))
    assert len(lines) >= 4 and len(files) == 2


def test_schema_rejects_a_document_without_text() -> None:
    errors = list(_validator("input.document.schema.json").iter_errors({"id": "x"}))
    assert any("'text' is a required property" in e.message for e in errors)
