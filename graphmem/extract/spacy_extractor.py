"""The default extractor: spaCy's parse plus the rules in ``rules.py``, LLM-free."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc

from graphmem.extract.arguments import NUMERIC_ENTS, PassageContext, strip_article
from graphmem.extract.nlp import load_nlp
from graphmem.extract.rules import extract_passage
from graphmem.extract.types import PassageExtraction, PassageInput

MAX_TOPIC_WORDS = 8


class SpacyExtractor:
    """Extracts entities, triples and hyperedges with spaCy (``nlp.pipe`` in batches)."""

    name = "spacy"

    def __init__(self, nlp: Language | None = None, batch_size: int = 64, n_process: int = 1) -> None:
        self.nlp = nlp or load_nlp()
        self.batch_size = batch_size
        self.n_process = n_process
        self._topic_type = lru_cache(maxsize=50_000)(self._classify_topic)

    def _classify_topic(self, title: str) -> tuple[bool, str | None]:
        """Whether a title names a topic entity (not a headline), and the entity's type if spaCy knows it."""
        if len(title.split()) > MAX_TOPIC_WORDS:
            return False, None
        doc = self.nlp(title)
        if any(t.pos_ == "VERB" for t in doc):
            return False, None
        whole = [e for e in doc.ents if e.label_ not in NUMERIC_ENTS and len(e) >= len(doc) - 1]
        return True, (whole[0].label_ if whole else None)

    def context(self, passage: PassageInput) -> PassageContext:
        topic, topic_type = None, None
        if passage.title and passage.speaker is None:
            is_topic, topic_type = self._topic_type(passage.title.strip())
            topic = strip_article(passage.title.strip()) if is_topic else None
        return PassageContext(topic=topic, topic_type=topic_type if topic else None, speaker=passage.speaker,
                              listeners=passage.listeners, anchor_date=passage.date)  # fmt: skip

    def parse(self, passages: Sequence[PassageInput]) -> Iterator[Doc]:
        return self.nlp.pipe((p.text for p in passages), batch_size=self.batch_size, n_process=self.n_process)

    def extract_docs(self, passages: Sequence[PassageInput], docs: Sequence[Doc]) -> list[PassageExtraction]:
        return [extract_passage(p.id, doc, self.context(p)) for p, doc in zip(passages, docs, strict=True)]

    def extract(self, passages: Sequence[PassageInput]) -> list[PassageExtraction]:
        return [extract_passage(p.id, doc, self.context(p)) for p, doc in zip(passages, self.parse(passages),
                                                                             strict=True)]  # fmt: skip
