"""Small made-up corpora for the tenant tests: one per namespace, each with its own people, places and things.

Half of the document ids are the same in every corpus ("doc-00" ...), and a few place names too (so the
same entity id exists in every namespace): a leak by id alone would then show up as a wrong text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SYLLABLES = ["bra", "cor", "dil", "fen", "gar", "hol", "jun", "kas", "lor", "mir", "nad", "orv", "pel", "quin",
             "ros", "sab", "tor", "ulm", "vex", "wen", "yar", "zel", "tam", "rik", "sol", "vin", "dar"]  # fmt: skip
THINGS = ["lighthouse", "mill", "bridge", "organ", "clock", "ferry", "kiln", "loom", "observatory", "granary"]
SHARED_PLACES = ["London", "Lisbon", "Oslo"]
TEMPLATES = [
    "{person} was born in {place} in {year}.",
    "{person} founded {org} in {place}.",
    "{person} repaired the {thing} of {place}.",
    "{person} worked for {org} with {other}.",
    "{person} sold a {thing} to {org} in {year}.",
    "{person} moved from {place} to {shared}.",
]


@dataclass(frozen=True)
class Corpus:
    namespace: str
    documents: list[dict[str, str]]
    words: list[str]  # the made-up names and the words of the texts, for random queries


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def make_corpus(namespace: str, seed: int, size: int = 30, taken: set[str] | None = None) -> Corpus:
    """``size`` short documents about made-up people; ``taken`` holds names other corpora use (kept distinct)."""
    rng = random.Random(seed)
    used = taken if taken is not None else set()

    def fresh(parts: int, suffix: str = "") -> str:
        while True:
            name = _name(rng, parts) + suffix
            if name not in used:
                used.add(name)
                return name

    people = [f"{fresh(2)} {fresh(3)}" for _ in range(size)]
    places = [fresh(3) for _ in range(12)]
    orgs = [f"{fresh(2)} {rng.choice(['Company', 'Guild', 'Works', 'Society'])}" for _ in range(8)]
    documents = []
    for i, person in enumerate(people):
        sentences = [
            template.format(person=person, place=rng.choice(places), year=rng.randint(1820, 1990), org=rng.choice(orgs),
                            thing=rng.choice(THINGS), other=rng.choice(people), shared=rng.choice(SHARED_PLACES))
            for template in rng.sample(TEMPLATES, 3)
        ]  # fmt: skip
        doc_id = f"doc-{i:02d}" if i % 2 == 0 else f"{namespace}-doc-{i:02d}"
        documents.append({"id": doc_id, "title": person, "text": " ".join(sentences)})
    words = sorted({w.strip(".") for d in documents for w in d["text"].split()} | set(people) | set(orgs))
    return Corpus(namespace, documents, words)
