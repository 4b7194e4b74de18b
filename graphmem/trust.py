"""Trust and provenance: how far each source is believed, and what retrieval does with that.

Every document and dialogue, and each of its passages and turns, carries a trust level: "trusted",
"normal" or "untrusted". An input record may set its own (``trust`` in the input formats); otherwise
``TrustDefaults`` gives the level for its kind of source. Ingestion also screens every passage and turn
for text that reads as instructions to an agent (graphmem.extract.injection) and stores the reasons.

``TrustPolicy`` (``RetrievalConfig.trust``) decides what retrieval returns: by default a flagged unit is
left out unless its source is trusted, in every mode, and it neither seeds nor carries the graph walk.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from graphmem.records import TRUST_LEVELS, TrustLevel
from graphmem.sources import DialogueInput, DocumentInput, SourceBatch
from graphmem.store import GraphStore


@dataclass(frozen=True)
class TrustDefaults:
    """The trust level of a source that does not state its own, per kind of source.

    Documents and dialogues handed to the API (``Memory.add_documents``/``add_dialogue``) are what the
    calling program chose to store: "normal". Files read from disk (``Memory.add_paths``, ``graphmem
    ingest``, the pipelines' inbox) may come from anywhere, such as saved web pages or mail: "untrusted".
    """

    document: TrustLevel = "normal"
    dialogue: TrustLevel = "normal"
    file: TrustLevel = "untrusted"

    def level(self, item: DocumentInput | DialogueInput) -> TrustLevel:
        """The item's own level, else the default of its kind (files are stamped when read: ``stamp``)."""
        if item.trust is not None:
            return item.trust
        return self.document if isinstance(item, DocumentInput) else self.dialogue


def stamp(batch: SourceBatch, level: TrustLevel) -> SourceBatch:
    """The batch's documents and dialogues with ``level`` where they state none (files get the ``file`` default)."""

    def stamped(item: Any) -> Any:
        return item if item.trust is not None else item.model_copy(update={"trust": level})

    batch.documents = [stamped(d) for d in batch.documents]
    batch.dialogues = [stamped(d) for d in batch.dialogues]
    return batch


@dataclass(frozen=True)
class TrustPolicy:
    """What retrieval returns, by trust level and flags.

    ``include_flagged``: also return flagged units of sources short of "trusted" (default: left out).
    ``lowest``: the least trusted level returned at all ("untrusted": every level; "trusted": trusted only).
    ``weights``: optional multipliers of a unit's final score per level, e.g. ``{"untrusted": 0.8}``
    (levels not named keep their score); a negative score is divided instead, so it also moves down.
    Kept as sorted (level, weight) pairs, so that a policy stays hashable like the rest of RetrievalConfig.
    """

    include_flagged: bool = False
    lowest: TrustLevel = "untrusted"
    weights: Mapping[str, float] | tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        pairs = tuple(sorted(dict(self.weights).items()))
        object.__setattr__(self, "weights", pairs)
        unknown = sorted({self.lowest, *(level for level, _ in pairs)} - set(TRUST_LEVELS))
        if unknown:
            raise ValueError(f"unknown trust level(s) {unknown}; choose among {', '.join(TRUST_LEVELS)}")
        if any(w <= 0 for _, w in pairs):
            raise ValueError("trust weights must be positive")

    def weight(self, trust: str) -> float:
        """The multiplier of a unit's score at this trust level (1 when the policy names none)."""
        return dict(self.weights).get(trust, 1.0)  # type: ignore[arg-type]

    def excludes(self, trust: str, flagged: bool) -> bool:
        """Whether a unit of this trust level, flagged or not, is left out of retrieval."""
        rank = TRUST_LEVELS.index(trust) if trust in TRUST_LEVELS else TRUST_LEVELS.index("normal")
        if rank > TRUST_LEVELS.index(self.lowest):
            return True
        return flagged and not self.include_flagged and trust != "trusted"


@dataclass(frozen=True)
class FlaggedUnit:
    """A stored passage or turn that reads as instructions to an agent (``Memory.flagged``)."""

    id: str
    label: str  # "Passage" or "Turn"
    source_id: str  # its document or dialogue
    trust: str
    reasons: list[str]
    excerpt: str
    retrieved: bool  # whether default retrieval still returns it (only when its source is trusted)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def excerpt(text: str, width: int = 160) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" ...")


def flagged_units(store: GraphStore, namespace: str) -> list[FlaggedUnit]:
    """Every flagged passage and turn of a namespace, by source then id."""
    default = TrustPolicy()
    out = []
    for label, source_key in (("Passage", "document_id"), ("Turn", "dialogue_id")):
        for node in store.iter_nodes(namespace, label):
            flags = [str(f) for f in node.props.get("flags") or []]  # type: ignore[union-attr]
            if not flags:
                continue
            trust = str(node.props.get("trust") or "normal")
            text = excerpt(str(node.props.get("text", "")))
            out.append(FlaggedUnit(node.id, label, str(node.props.get(source_key, "")), trust, flags, text,
                                   not default.excludes(trust, True)))  # fmt: skip
    return sorted(out, key=lambda f: (f.source_id, f.id))
