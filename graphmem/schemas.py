"""JSON Schemas of the graph records and input formats, generated from the pydantic models.

``python -m graphmem.schemas --write schemas`` regenerates ``schemas/``; ``--check`` exits 1
when the folder is stale (a test runs the same comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from graphmem.records import NODE_RECORDS, Mention, Supersession, Synonym
from graphmem.sources.formats import DialogueInput, DocumentInput

REPO_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"

INPUTS: dict[str, type[BaseModel]] = {
    "input.document.schema.json": DocumentInput,  # one object per line of a documents .jsonl file
    "input.dialogue.schema.json": DialogueInput,
}


def generated() -> dict[str, str]:
    """File name to schema text for every record and input format."""
    models: dict[str, type[BaseModel]] = {f"record.{cls.LABEL.lower()}.schema.json": cls for cls in NODE_RECORDS}
    models["record.mention.schema.json"] = Mention
    models["record.synonym.schema.json"] = Synonym
    models["record.supersession.schema.json"] = Supersession  # the SUPERSEDED_BY edge (graphmem.temporal)
    models.update(INPUTS)
    out = {}
    for name, model in sorted(models.items()):
        schema = model.model_json_schema()
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema}
        out[name] = json.dumps(schema, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    return out


def stale(folder: Path = REPO_SCHEMAS) -> list[str]:
    """Names of schema files that are missing, different or no longer generated."""
    want = generated()
    have = {p.name for p in folder.glob("*.schema.json")} if folder.is_dir() else set()
    changed = [n for n, text in want.items() if not (folder / n).is_file() or (folder / n).read_text() != text]
    return sorted(set(changed) | (have - set(want)))


def write(folder: Path = REPO_SCHEMAS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    want = generated()
    for old in folder.glob("*.schema.json"):
        if old.name not in want:
            old.unlink()
    for name, text in want.items():
        (folder / name).write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, metavar="DIR", help="write the schemas into DIR")
    parser.add_argument("--check", action="store_true", help="exit 1 if schemas/ is stale")
    args = parser.parse_args()
    if args.write:
        write(args.write)
        print(f"wrote {len(generated())} schemas to {args.write}")
    if args.check:
        names = stale()
        if names:
            print("stale schemas: " + ", ".join(names) + " (run `make schemas`)", file=sys.stderr)
            return 1
        print("schemas/ is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
