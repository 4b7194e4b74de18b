"""LongMemEval retrieval recall: each question's own haystack in its own namespace, searched alone.

A question's haystack is one dialogue (id = ``question_id``; one session per haystack session;
turn ids ``<session id>:<position>``, see graphmem.sources.benchmarks), ingested into the
namespace ``lme-<question id>``. Ingestion skips an unchanged haystack, so a re-run reuses the
store and extracts nothing (``haystacks_reused`` counts them). The retrieval unit is a turn.

For each question and mode every turn of the haystack is ranked, and then, for each k:

- ``turn_recall@k`` = |turns marked ``has_answer`` ∩ top-k turns| / |turns marked ``has_answer``|.
  A question with no ``has_answer`` turn is left out of this figure only (``turn_questions``
  counts those kept).
- ``session_recall@k`` = |``answer_session_ids`` ∩ top-k sessions| / |``answer_session_ids``|,
  where a session ranks at its best-ranked turn (as qa.py ranks a document at its best passage):
  the top-k sessions are the first k distinct sessions met going down the turn ranking.

Abstention questions (ids ending in ``_abs``) ask about something the haystack never says: their
"evidence" sessions and turns only resemble the question, so recall has no meaning for them. They
are excluded (not ingested, not scored) and counted in ``abstention_excluded``. Items the reader
quarantines are counted in ``quarantined``. Figures are percentages of the remaining questions,
overall and ``by_type`` (``question_type``); a figure with no question to average is null.

In the *oracle* variant a haystack holds only its evidence sessions, so session recall@k is
min(k, sessions) / sessions whatever the ranking; turn recall is the figure that tells modes apart.
Latency is one retrieval per question and mode, with the question embedded by the uncached model
(graphmem.eval.common).

Sessions are ingested in date order, and each namespace is then reconsolidated (``Memory.reconsolidate``,
incremental and idempotent: a re-run finds nothing new and writes nothing) unless ``reconsolidate`` is
False (``--no-reconsolidate``). ``knowledge_update.newest_first`` measures whether retrieval prefers the
new value of something that changed, on the ``knowledge-update`` questions. Their evidence sessions
(``answer_session_ids``) are the one where the user states the current value and earlier ones where the
user stated a value it replaced; the turns that state the value are the ones marked ``has_answer``. So:

- the *latest evidence session* is the answer session with the latest ``haystack_dates`` entry;
- a turn *states the new value* when it is a ``has_answer`` turn of the latest evidence session;
- a turn *states the old value* when it is a ``has_answer`` turn of an earlier evidence session.

A question counts as newest-first when the best-ranked new-value turn ranks above every old-value turn,
in the full ranking of the haystack's turns (so the figure does not depend on k). Questions with no
old-value or no new-value turn have nothing to order and are left out; ``questions`` counts those kept.
The figure is the percentage of kept questions that are newest-first (null when none is kept).
Without ``reconsolidate``, a namespace an earlier run reconsolidated would not measure the unreconsolidated
memory, so that raises ValueError: use another store.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from graphmem.embed import Embedder
from graphmem.eval import common
from graphmem.extract.types import Extractor
from graphmem.records import Supersession
from graphmem.retrieve import Hit
from graphmem.sources.benchmarks import is_longmemeval, longmemeval_turns, read_benchmark
from graphmem.sources.formats import DialogueInput

ABSTENTION_SUFFIX = "_abs"
KNOWLEDGE_UPDATE = "knowledge-update"
NAMESPACE_PREFIX = "lme"

Recalls = dict[tuple[str, int], list[float]]  # (question type, k) -> one recall per question
AtK = dict[int, float]  # k -> a question's recall


def is_abstention(item: dict[str, Any]) -> bool:
    return str(item.get("question_id", "")).endswith(ABSTENTION_SUFFIX)


def question_recalls(hits: Sequence[Hit], dialogue_id: str, turns: dict[str, tuple[str, bool]],
                     gold_sessions: set[str], ks: Sequence[int]) -> tuple[AtK, AtK | None]:  # fmt: skip
    """Session recall and turn recall at each k (turn recall is None without ``has_answer`` turns).

    ``turns`` maps each turn id of the haystack to its session and ``has_answer`` flag; hits are
    ranked turns of the dialogue, ids ``<dialogue id>/<turn id>``.
    """
    ranked = [hit.unit.id.removeprefix(dialogue_id + "/") for hit in hits]
    sessions = list(dict.fromkeys(turns[ref][0] for ref in ranked))
    session = {k: len(gold_sessions & set(sessions[:k])) / len(gold_sessions) for k in ks}
    gold_turns = {ref for ref, (_, has_answer) in turns.items() if has_answer}
    if not gold_turns:
        return session, None
    return session, {k: len(gold_turns & set(ranked[:k])) / len(gold_turns) for k in ks}


def update_turns(item: dict[str, Any]) -> tuple[set[str], set[str]] | None:
    """A knowledge-update question's (new-value turns, old-value turns), None when either is empty (module doc)."""
    if item.get("question_type") != KNOWLEDGE_UPDATE:
        return None
    dates = {str(s): str(d) for s, d in zip(item["haystack_session_ids"], item["haystack_dates"], strict=True)}
    evidence = sorted((dates[str(s)], str(s)) for s in item["answer_session_ids"] if str(s) in dates)
    if len(evidence) < 2:
        return None
    latest, earlier = evidence[-1][1], {s for _, s in evidence[:-1]}
    marked = [(ref, session) for ref, (session, has_answer) in longmemeval_turns(item).items() if has_answer]
    new = {ref for ref, session in marked if session == latest}
    old = {ref for ref, session in marked if session in earlier}
    return (new, old) if new and old else None


def newest_first(hits: Sequence[Hit], dialogue_id: str, new: set[str], old: set[str]) -> bool:
    """Whether the best-ranked new-value turn ranks above every old-value turn (a turn not ranked ranks last)."""
    ranked = [hit.unit.id.removeprefix(dialogue_id + "/") for hit in hits]
    first_new = next((i for i, ref in enumerate(ranked) if ref in new), None)
    first_old = next((i for i, ref in enumerate(ranked) if ref in old), None)
    return first_new is not None and (first_old is None or first_new < first_old)


def _in_date_order(dialogue: DialogueInput) -> DialogueInput:
    sessions = sorted(dialogue.sessions, key=lambda s: str(s.date))  # stable: an already ordered haystack is unchanged
    return dialogue if sessions == dialogue.sessions else dialogue.model_copy(update={"sessions": sessions})


def _figures(session: Recalls, turn: Recalls, ks: Sequence[int], types: Sequence[str] | None) -> dict[str, Any]:
    """Percentages over the questions of the given types (all when None)."""

    def pooled(recalls: Recalls, k: int) -> list[float]:
        return [r for (t, kk), values in recalls.items() if kk == k and (types is None or t in types) for r in values]

    figures: dict[str, Any] = {f"session_recall@{k}": common.percent(pooled(session, k)) for k in ks}
    return figures | {f"turn_recall@{k}": common.percent(pooled(turn, k)) for k in ks}


def _check_namespaces(items: Sequence[dict[str, Any]]) -> None:
    namespaces = Counter(common.eval_namespace(NAMESPACE_PREFIX, str(item["question_id"])) for item in items)
    clashes = sorted(ns for ns, n in namespaces.items() if n > 1)
    if clashes:
        raise ValueError(f"question ids that share a namespace (repeated, or alike once sanitised): {clashes[:5]}")


def evaluate_longmemeval(
    path: Path,
    modes: list[str],
    ks: list[int],
    store: str,
    progress: bool = True,
    *,
    extractor: Extractor | None = None,
    embedder: Embedder | None = None,
    reconsolidate: bool = True,
) -> dict[str, Any]:
    """Recall and newest-first per mode, overall and by question type; the extractor and embedder default to
    the Memory's. Each namespace is reconsolidated after ingestion unless ``reconsolidate`` is False."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not is_longmemeval(raw):
        raise ValueError(f"{path}: not a LongMemEval file (a list of questions with haystack_sessions)")
    batch = read_benchmark(raw, str(path))
    dialogues = {d.id: d for d in batch.dialogues}
    items = [item for item in raw if str(item.get("question_id")) in dialogues]
    scored = [item for item in items if not is_abstention(item)]
    _check_namespaces(scored)
    per_mode: dict[str, dict[str, Any]] = {
        m: {"session": defaultdict(list), "turn": defaultdict(list), "latency": [], "newest": []} for m in modes
    }
    questions: Counter[str] = Counter()
    turn_questions: Counter[str] = Counter()
    reused = 0
    with common.SharedMemories(store, extractor=extractor, embedder=embedder) as memories:
        for item in tqdm(scored, desc="longmemeval", unit="question", disable=not progress):
            dialogue = dialogues[str(item["question_id"])]
            memory = memories.memory(common.eval_namespace(NAMESPACE_PREFIX, dialogue.id))
            reused += memory.add_dialogue(_in_date_order(dialogue)).unchanged
            if reconsolidate:
                memory.reconsolidate()
            elif any(True for _ in memory.store.iter_edges(memory.namespace, Supersession.TYPE)):
                raise ValueError(f"{memory.namespace} was reconsolidated by an earlier run: use another --store")
            update = update_turns(item)
            retriever = common.eval_retriever(memory, modes)
            kind = str(item.get("question_type"))
            turns = longmemeval_turns(item)
            gold_sessions = {str(s) for s in item["answer_session_ids"]}
            questions[kind] += 1
            turn_questions[kind] += any(has_answer for _, has_answer in turns.values())
            for mode in modes:
                hits, ms = common.timed_retrieve(retriever, str(item["question"]), retriever.index.n_units, mode)
                per_mode[mode]["latency"].append(ms)
                session, turn = question_recalls(hits, dialogue.id, turns, gold_sessions, ks)
                if update is not None:
                    per_mode[mode]["newest"].append(float(newest_first(hits, dialogue.id, *update)))
                for k in ks:
                    per_mode[mode]["session"][(kind, k)].append(session[k])
                    if turn is not None:
                        per_mode[mode]["turn"][(kind, k)].append(turn[k])
    result: dict[str, Any] = {
        "dataset": "longmemeval", "questions": len(scored), "turn_questions": sum(turn_questions.values()),
        "abstention_excluded": len(items) - len(scored), "quarantined": len(batch.quarantined),
        "haystacks_reused": reused, "reconsolidated": reconsolidate, "modes": {},
    }  # fmt: skip
    for mode, data in per_mode.items():
        figures = _figures(data["session"], data["turn"], ks, None)
        figures["by_type"] = {
            kind: _figures(data["session"], data["turn"], ks, [kind])
            | {"questions": questions[kind], "turn_questions": turn_questions[kind]}
            for kind in sorted(questions)
        }  # fmt: skip
        figures["knowledge_update"] = {"newest_first": common.percent(data["newest"]), "questions": len(data["newest"])}
        result["modes"][mode] = figures | common.latency_figures(data["latency"])
    return result


def print_longmemeval(result: dict[str, Any], ks: list[int]) -> None:
    print(f"longmemeval: {result['questions']} questions ({result['abstention_excluded']} abstention questions "
          f"excluded); S = session recall, T = turn recall (over the {result['turn_questions']} questions "
          "with has_answer turns)")  # fmt: skip
    common.print_grouped(result, [("S", "session_recall"), ("T", "turn_recall")], ks, "by_type", str)
    state = "with" if result["reconsolidated"] else "without"
    for mode, figures in result["modes"].items():
        update = figures["knowledge_update"]
        cell = "-" if update["newest_first"] is None else f"{update['newest_first']:.1f}%"
        print(f"knowledge-update newest first ({state} reconsolidation), {mode}: {cell} of {update['questions']}")
