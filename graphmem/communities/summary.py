"""Community summaries: extractive by default, written by an LLM only when one is configured.

The extractive summary is built from the projection alone, with no model call:
- the most central entities: weighted degree inside the community, then passages naming them;
- the facts that join members, most often stated first (facts retired by reconsolidation last);
- the passages those facts come from (else the passages naming the central entities), ranked by embedding
  centrality: the cosine of each passage's vector with the mean of them all. From the most central passages,
  the sentence naming the most members is the representative sentence.
The title joins the three most central names. An LLM, when configured, rewrites title and summary from
the same material; any failure keeps the extractive one.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from graphmem.index import RetrievalIndex
from graphmem.retrieve.trust_gate import TrustGate
from graphmem.texts import statement_text
from graphmem.trust import TrustPolicy

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class SummaryConfig:
    entities: int = 5  # central entities named in the summary
    title_entities: int = 3
    facts: int = 8  # top facts kept (fact_ids) and written out
    passages: int = 5  # supporting passages kept (passage_ids)
    sentences: int = 3  # representative sentences quoted
    max_chars: int = 1_200  # the embedding model reads about 256 word pieces


@dataclass
class Summary:
    title: str
    text: str
    fact_ids: list[str] = field(default_factory=list)
    passage_ids: list[str] = field(default_factory=list)
    by: str = "extractive"
    material: dict[str, Any] = field(default_factory=dict)  # what an LLM is given


class Summariser(Protocol):
    def rewrite(self, material: dict[str, Any]) -> tuple[str, str] | None:
        """(title, summary) for the extractive material, or None to keep the extractive summary."""
        ...


class SummaryContext:
    """What every community's summary reads from one index, computed once."""

    def __init__(self, index: RetrievalIndex, graph: sp.csr_matrix, gate: TrustGate | None = None) -> None:
        self.index = index
        self.graph = graph
        self.passage_counts = index.entity_passage_counts()
        self.facts_of: dict[int, list[int]] = defaultdict(list)
        for position, (subject, _, obj, _) in enumerate(index.facts):
            self.facts_of[subject].append(position)
            self.facts_of[obj].append(position)
        self.unit_row = {unit.id: row for row, unit in enumerate(index.units)}
        # What default retrieval leaves out (flagged units of untrusted sources) stays out of summaries too,
        # with the facts only such units state: a summary must not carry an injected instruction to an agent.
        gate = gate or TrustGate(index, TrustPolicy())
        excluded = np.flatnonzero(gate.excluded) if gate.excluded is not None else ()
        self.excluded_units = {index.units[row].id for row in excluded}
        self._admitted = gate.facts(None)  # per fact: stated by some admitted unit (None: nothing excluded)
        self.mentions = index.mentions.tocsr()
        norms = np.linalg.norm(index.unit_vectors, axis=1, keepdims=True) if index.unit_vectors.size else None
        self.unit_vectors = index.unit_vectors / np.maximum(norms, 1e-12) if norms is not None else index.unit_vectors

    def central(self, members: Sequence[int]) -> list[int]:
        """Members, most central first: weighted degree inside the community, then passage count, then id."""
        rows = np.asarray(members, dtype=np.int64)
        degree = np.asarray(self.graph[rows][:, rows].sum(axis=1)).ravel()
        ids = self.index.entity_ids
        ranked = sorted(range(len(rows)), key=lambda i: (-degree[i], -self.passage_counts[rows[i]], ids[rows[i]]))
        return [int(rows[i]) for i in ranked]

    def joining_facts(self, members: Sequence[int], rank: dict[int, int]) -> list[int]:
        """Facts with both ends among the members: current first, most often stated, ends most central."""
        inside = set(members)
        found = {f for m in members for f in self.facts_of.get(m, ()) if self.index.facts[f][0] in inside
                 and self.index.facts[f][2] in inside and self.admitted(f)}  # fmt: skip
        expired = self.index.fact_expired_at

        def key(f: int) -> tuple[bool, int, int, str]:
            s, _, o, fact_id = self.index.facts[f]
            retired = len(expired) > f and not math.isnan(expired[f])
            return (retired, -len(self.index.fact_provenance[f]), rank[s] + rank[o], fact_id)

        return sorted(found, key=key)

    def admitted(self, fact: int) -> bool:
        """Whether a fact is stated by some unit that default retrieval returns."""
        return self._admitted is None or bool(self._admitted[fact])

    def supporting_units(self, facts: Sequence[int], central: Sequence[int], limit: int) -> list[int]:
        """Unit rows of the facts' provenance (else naming the central entities), by embedding centrality; never
        an excluded unit."""
        rows: list[int] = []
        for f in facts:
            rows += [r for p in self.index.fact_provenance[f]
                     if p not in self.excluded_units and (r := self.unit_row.get(p)) is not None]  # fmt: skip
        if not rows:
            for entity in central[:3]:
                rows += [r for r in self.mentions[entity].indices.tolist()
                         if self.index.units[r].id not in self.excluded_units]  # fmt: skip
        rows = list(dict.fromkeys(rows))[: limit * 8]
        if not rows or not len(self.unit_vectors):
            return rows[:limit]
        vectors = self.unit_vectors[rows]
        centre = vectors.mean(axis=0)
        scores = vectors @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
        order = sorted(range(len(rows)), key=lambda i: (-round(float(scores[i]), 6), self.index.units[rows[i]].id))
        return [rows[i] for i in order[:limit]]


def _sentence(text: str, names: Sequence[str]) -> str:
    """The sentence of ``text`` naming the most of ``names`` (the first on ties)."""
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]
    if not sentences:
        return ""
    lowered = [n.lower() for n in names if n]
    return max(sentences, key=lambda s: sum(n in s.lower() for n in lowered))


def summarise(context: SummaryContext, members: Sequence[int], config: SummaryConfig | None = None) -> Summary:
    """The extractive summary of the community of these entity rows."""
    config = config or SummaryConfig()
    index = context.index
    central = context.central(members)
    rank = {row: i for i, row in enumerate(central)}
    names = [index.entity_names[row] for row in central]
    facts = context.joining_facts(members, rank)[: config.facts]
    units = context.supporting_units(facts, central, config.passages)
    fact_lines = [statement_text(index.entity_names[s], p, index.entity_names[o]) for s, p, o, _ in
                  (index.facts[f] for f in facts)]  # fmt: skip
    sentences = list(dict.fromkeys(s for row in units[: config.sentences] if (s := _sentence(index.units[row].text,
                                                                                             names))))  # fmt: skip
    title = ", ".join(names[: config.title_entities])
    parts = [f"{title}: a community of {len(members)} entities."]
    if len(names) > config.title_entities:
        parts.append("Central: " + ", ".join(names[: config.entities]) + ".")
    if fact_lines:
        parts.append("Facts: " + "; ".join(fact_lines) + ".")
    if sentences:
        parts.append("Sentences: " + " ".join(sentences))
    text = " ".join(parts)
    if len(text) > config.max_chars:
        text = text[: config.max_chars - 3].rstrip() + "..."
    material = {"entities": names[: config.entities * 2], "facts": fact_lines, "sentences": sentences}
    return Summary(title=title[:1_000] or "(unnamed)", text=text, fact_ids=[index.facts[f][3] for f in facts],
                   passage_ids=[index.units[row].id for row in units], material=material)  # fmt: skip


SYSTEM_PROMPT = """You write a short report on one community of a knowledge graph. The user gives its ENTITIES
(most central first), FACTS ("subject predicate object") and SENTENCES from the source text. Use only them.
Reply with one JSON object only: {"title": "a few words naming the community", "summary": "two to four sentences"}"""


class LLMSummariser:
    """Title and summary by the chat model of GRAPHMEM_LLM_*, through the extractor's HTTP client. Never raises."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.failures = 0

    def rewrite(self, material: dict[str, Any]) -> tuple[str, str] | None:
        from graphmem.extract.llm import chat_payload, strip_fences
        from graphmem.retrieve.recognition import _Chat, _json_values

        user = "\n".join(["ENTITIES: " + ", ".join(material.get("entities", [])), "FACTS:",
                          *material.get("facts", []), "SENTENCES:", *material.get("sentences", [])])  # fmt: skip
        try:
            content = str(_Chat(self.settings)._attempt(chat_payload(self.settings, SYSTEM_PROMPT, user)))
            for value in _json_values(strip_fences(content)):
                if isinstance(value, dict) and isinstance(value.get("summary"), str) and value["summary"].strip():
                    title = str(value.get("title") or "").strip()[:200]
                    return title, " ".join(value["summary"].split())[:4_000]
            raise ValueError(f"no summary in the reply: {content[:200]!r}")
        except Exception as err:  # the summary is optional: keep the extractive one
            self.failures += 1
            (log.warning if self.failures == 1 else log.debug)("LLM community summary failed: %s", err)
            return None


def default_summariser() -> Summariser | None:
    """An LLMSummariser when GRAPHMEM_LLM_BASE_URL (and _MODEL) are set, else None: extractive only."""
    from graphmem.extract.llm import LLMSettings

    settings = LLMSettings.from_env()
    return LLMSummariser(settings) if settings is not None else None
