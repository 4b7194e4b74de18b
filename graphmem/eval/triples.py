"""Triple precision and recall against a hand-labelled gold set (tests/data/extraction_gold.jsonl).

    python -m graphmem.eval.triples [GOLD.jsonl] [--show-errors]

A predicted triple matches a gold one when both arguments name the same thing (equal
normalised keys, or one key's words contained in the other's) and the predicates agree word
by word on their first four letters ("founded_in" ~ "found_in"). Each gold triple matches once.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from graphmem.extract.types import Extractor, PassageInput
from graphmem.resolve import normalise_key

DEFAULT_GOLD = Path(__file__).resolve().parents[2] / "tests" / "data" / "extraction_gold.jsonl"


def same_argument(a: str, b: str) -> bool:
    ka, kb = normalise_key(a), normalise_key(b)
    if ka == kb:
        return True
    wa, wb = set(ka.split()), set(kb.split())
    return bool(wa and wb) and (wa <= wb or wb <= wa)


def same_predicate(a: str, b: str) -> bool:
    pa, pb = a.lower().split("_"), b.lower().split("_")
    return len(pa) == len(pb) and all(x[:4] == y[:4] for x, y in zip(pa, pb, strict=True))


def matches(predicted: tuple[str, str, str], gold: tuple[str, str, str]) -> bool:
    return same_argument(predicted[0], gold[0]) and same_predicate(predicted[1], gold[1]) and same_argument(
        predicted[2], gold[2])  # fmt: skip


@dataclass
class Score:
    predicted: int = 0
    gold: int = 0
    matched_predicted: int = 0
    matched_gold: int = 0
    misses: list[tuple[str, tuple[str, str, str]]] = field(default_factory=list)
    spurious: list[tuple[str, tuple[str, str, str]]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched_predicted / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched_gold / self.gold if self.gold else 0.0


def load_gold(path: Path = DEFAULT_GOLD) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def passage_input(item: dict) -> PassageInput:
    when = datetime.fromisoformat(item["date"]).replace(tzinfo=UTC) if item.get("date") else None
    if item.get("kind") == "dialogue":
        listeners = (item["other"],) if item.get("other") else ()
        return PassageInput(item["id"], item["text"], date=when, speaker=item.get("speaker"), listeners=listeners)
    return PassageInput(item["id"], item["text"], title=item.get("title"), date=when)


def score(extractor: Extractor, gold_items: list[dict]) -> Score:
    result = Score()
    extractions = extractor.extract([passage_input(item) for item in gold_items])
    for item, extraction in zip(gold_items, extractions, strict=True):
        gold = [tuple(t) for t in item["triples"]]
        predicted = list(dict.fromkeys((t.subject, t.predicate, t.object) for t in extraction.triples))
        result.gold += len(gold)
        result.predicted += len(predicted)
        unmatched = list(gold)
        for p in predicted:
            hit = next((g for g in unmatched if matches(p, g)), None)
            if hit is not None:
                unmatched.remove(hit)
                result.matched_predicted += 1
            elif any(matches(p, g) for g in gold):
                result.matched_predicted += 1  # a second wording of a gold triple already matched
            else:
                result.spurious.append((item["id"], p))
        result.matched_gold += len(gold) - len(unmatched)
        result.misses += [(item["id"], g) for g in unmatched]  # type: ignore[misc]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gold", nargs="?", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    from graphmem.extract.spacy_extractor import SpacyExtractor

    items = load_gold(args.gold)
    result = score(SpacyExtractor(), items)
    print(f"{len(items)} passages, {result.gold} gold triples, {result.predicted} predicted")
    print(f"precision {result.precision:.3f}  recall {result.recall:.3f}")
    if args.show_errors:
        texts = {i["id"]: i for i in items}
        for pid, triple in result.misses:
            print(f"MISS {pid} {triple}  | {texts[pid]['text'][:150]}")
        for pid, triple in result.spurious:
            print(f"EXTRA {pid} {triple}")


if __name__ == "__main__":
    main()
