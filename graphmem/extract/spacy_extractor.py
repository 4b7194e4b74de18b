"""The default extractor: spaCy's parse plus the rules in ``rules.py``, LLM-free."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

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
        self._topics: dict[str, tuple[bool, str | None]] = {}

    def classify_titles(self, titles: Iterable[str]) -> None:
        """Decide for each new title whether it names a topic entity (not a headline), and its type.

        One batched pass without the parser: only part-of-speech tags and entities are needed.
        """
        todo = [t for t in dict.fromkeys(titles) if t not in self._topics]
        short = [t for t in todo if len(t.split()) <= MAX_TOPIC_WORDS]
        self._topics.update((t, (False, None)) for t in todo if len(t.split()) > MAX_TOPIC_WORDS)
        for title, doc in zip(short, self.nlp.pipe(short, batch_size=256, disable=["parser"]), strict=True):
            if any(t.pos_ == "VERB" for t in doc):
                self._topics[title] = (False, None)
                continue
            whole = [e for e in doc.ents if e.label_ not in NUMERIC_ENTS and len(e) >= len(doc) - 1]
            self._topics[title] = (True, whole[0].label_ if whole else None)
        if len(self._topics) > 100_000:
            self._topics.clear()  # bounded memory over very long ingestions

    def context(self, passage: PassageInput) -> PassageContext:
        topic, topic_type = None, None
        if passage.title and passage.speaker is None:
            title = passage.title.strip()
            if title not in self._topics:
                self.classify_titles([title])
            is_topic, topic_type = self._topics[title]
            topic = strip_article(passage.title.strip()) if is_topic else None
        return PassageContext(topic=topic, topic_type=topic_type if topic else None, speaker=passage.speaker,
                              listeners=passage.listeners, anchor_date=passage.date)  # fmt: skip

    def parse(self, passages: Sequence[PassageInput]) -> Iterator[Doc]:
        return self.nlp.pipe((p.text for p in passages), batch_size=self.batch_size, n_process=self.n_process)

    def extract_docs(self, passages: Sequence[PassageInput], docs: Iterable[Doc]) -> list[PassageExtraction]:
        self.classify_titles(p.title.strip() for p in passages if p.title and p.speaker is None)
        return [extract_passage(p.id, doc, self.context(p)) for p, doc in zip(passages, docs, strict=True)]

    def extract(self, passages: Sequence[PassageInput]) -> list[PassageExtraction]:
        return self.extract_docs(passages, self.parse(passages))
