"""The LLM behind the adjudicator (see graphmem.temporal.adjudicate): batched chat-completions requests
through the extractor's client, answers cached by conflict key in memory and in a JSON file, never raising."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
import urllib.error
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphmem.extract.llm import LLMError, LLMExtractor, LLMSettings, _Transient, chat_payload
from graphmem.temporal.adjudicate import Answers, Conflict

log = logging.getLogger(__name__)

DEFAULT_MAX_PAIRS = 200
DEFAULT_BATCH = 10
MAX_CONTENT_CHARS = 20_000  # what is searched for the JSON answer
ON = {"1", "true", "yes", "on"}

SYSTEM_PROMPT = """You judge whether a newer statement replaces an older one. The user gives numbered PAIRS,
each an OLDER and a NEWER fact ("subject | predicate | object") about the same subject, with the sentence
and date each was stated. A pair is replaced when the newer statement means the older fact no longer holds
(a new favourite, a changed habit, a new home or job). It is not replaced when both can hold at once (two
things liked, two places visited, two hobbies) or when you cannot tell. Reply with one JSON object only:
{"replaced": [the numbers of the replaced pairs]}
Use an empty list when no pair is replaced."""


class AdjudicationError(RuntimeError):
    """Why a reply could not be used; ``kind`` names the failure for the once-per-kind warning."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Chat(LLMExtractor):
    """The extractor's HTTP attempt (auth, size cap, which errors to retry), returning the message text."""

    def _content_json(self, raw: bytes) -> Any:
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise _Transient(f"reply is not a chat completion: {raw[:200]!r}") from err
        if not isinstance(content, str):
            raise AdjudicationError("malformed", "reply has no message content")
        return content


def _number(item: Any) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int | float):
        return int(item) if float(item).is_integer() else None
    match = re.fullmatch(r"(?:pair\s*)?#?\s*(\d+)\s*[.)]?", item.strip(), re.I) if isinstance(item, str) else None
    return int(match.group(1)) if match else None


def parse_replaced(content: str, count: int) -> set[int]:
    """The pair numbers (1..count) of the first ``{"replaced": [...]}`` in a reply; prose and fences around it
    are skipped. No such list, or one with no number in it, raises ``AdjudicationError`` ("malformed")."""
    text = content[:MAX_CONTENT_CHARS]
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value = decoder.raw_decode(text, match.start())[0]
        except ValueError:
            continue
        items = {str(k).strip().lower(): v for k, v in value.items()}.get("replaced")
        if isinstance(items, list):
            numbers = [_number(item) for item in items]
            if items and all(n is None for n in numbers):
                break
            return {n for n in numbers if n is not None and 1 <= n <= count}
    raise AdjudicationError("malformed", f'no {{"replaced": [numbers]}} in the reply: {content[:200]!r}')


def _user_prompt(batch: Sequence[Conflict]) -> str:
    lines = ["PAIRS:"]
    for number, c in enumerate(batch, start=1):
        lines.append(f"{number}. OLDER ({c.old.date}): {c.old.text}. Sentence: {json.dumps(c.old.sentence)}")
        lines.append(f"   NEWER ({c.new.date}): {c.new.text}. Sentence: {json.dumps(c.new.sentence)}")
    return "\n".join(lines)


def _kind(err: BaseException) -> str:
    """A short name for what went wrong, from the exception llm.py chained: http, timeout, unreachable..."""
    if isinstance(err, AdjudicationError):
        return err.kind
    cause = err.__cause__ or err
    if isinstance(cause, urllib.error.HTTPError):
        return "http"
    if isinstance(cause, urllib.error.URLError):
        cause = cause.reason if isinstance(cause.reason, BaseException) else cause
        return "timeout" if isinstance(cause, TimeoutError) else "unreachable"
    if isinstance(cause, TimeoutError):
        return "timeout"
    if isinstance(cause, OSError):
        return "connection"
    return "malformed" if isinstance(err, _Transient | LLMError) else "error"


class LLMAdjudicator:
    """Asks a chat model, ``batch`` pairs per request and at most ``max_pairs`` per ``decide`` (a run).

    Requests use ``settings`` (its timeout per attempt, ``max_retries`` more attempts after network trouble,
    429 or 5xx). A reply that reads badly is not retried: at temperature 0 the same request gives the same
    reply. After a failure other than a bad reply, the run's remaining pairs are not sent (an endpoint that
    is down would make every batch wait). Answers are cached by conflict key, and kept in ``cache_path``.
    """

    def __init__(self, settings: LLMSettings, *, max_pairs: int = DEFAULT_MAX_PAIRS, batch: int = DEFAULT_BATCH,
                 cache_path: str | Path | None = None) -> None:  # fmt: skip
        if max_pairs < 0 or batch < 1:
            raise ValueError("max_pairs must not be negative and batch must be positive")
        self.settings = settings
        self.max_pairs = max_pairs
        self.batch = batch
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self.requests = 0  # HTTP requests sent, retries included
        self._cache: dict[str, bool] | None = None
        self._warned: set[str] = set()

    def decide(self, conflicts: Sequence[Conflict]) -> Answers:
        cache = self._load()
        answers = Answers({})
        todo: dict[str, Conflict] = {}
        for conflict in conflicts:
            if conflict.key in cache:
                answers.decisions[conflict.key] = cache[conflict.key]
            else:
                todo.setdefault(conflict.key, conflict)
        answers.cached = len(answers.decisions)
        sent = list(todo.values())[: self.max_pairs]
        answers.skipped = len(todo) - len(sent)
        for start in range(0, len(sent), self.batch):
            batch = sent[start : start + self.batch]
            try:
                replaced = parse_replaced(self._ask(batch), len(batch))
            except Exception as err:  # any failure leaves the pairs open: reconsolidation must not fail
                answers.failed += len(batch)
                if self._failed(err, len(batch)) != "malformed":
                    answers.failed += len(sent) - start - len(batch)
                    break
                continue
            answers.asked += len(batch)
            for number, conflict in enumerate(batch, start=1):
                answers.decisions[conflict.key] = cache[conflict.key] = number in replaced
        if answers.asked:
            self._save(cache)
        return answers

    def _ask(self, batch: Sequence[Conflict]) -> str:
        payload = chat_payload(self.settings, SYSTEM_PROMPT, _user_prompt(batch))
        chat = _Chat(self.settings)
        try:
            for attempt in range(self.settings.max_retries + 1):
                try:
                    return str(chat._attempt(payload))
                except _Transient as err:
                    if attempt == self.settings.max_retries:
                        raise
                    pause = self.settings.backoff_base * 2**attempt * random.uniform(1, 1.25)
                    if err.retry_after is not None:
                        pause = max(pause, min(err.retry_after, self.settings.timeout))
                    log.info("retrying %s in %.2fs: %s", self.settings.endpoint, pause, err)
                    time.sleep(pause)
        finally:
            self.requests += chat.calls
        raise AssertionError("unreachable")

    def _failed(self, err: Exception, count: int) -> str:
        kind = _kind(err)
        first = kind not in self._warned
        self._warned.add(kind)
        report = log.warning if first else log.debug
        suffix = " (further failures of this kind are logged at debug level)" if first else ""
        report("conflict adjudication failed (%s), leaving %d pairs as the rules left them: %s%s", kind, count, err,
               suffix)  # fmt: skip
        return kind

    def _load(self) -> dict[str, bool]:
        if self._cache is None:
            self._cache = {}
            if self.cache_path is not None and self.cache_path.exists():
                try:
                    data = json.loads(self.cache_path.read_text(encoding="utf-8"))
                    self._cache = {str(k): v for k, v in data["decisions"].items() if isinstance(v, bool)}
                except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                    log.warning("ignoring the unreadable adjudication cache %s: %s", self.cache_path, err)
        return self._cache

    def _save(self, cache: Mapping[str, bool]) -> None:
        if self.cache_path is None:
            return
        try:  # a temporary file renamed over the old one: readers never see half a file
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.cache_path.with_name(self.cache_path.name + f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps({"version": 1, "decisions": dict(sorted(cache.items()))}), "utf-8")
            os.replace(temporary, self.cache_path)
        except OSError as err:  # the answers still count for this run
            log.warning("could not write the adjudication cache %s: %s", self.cache_path, err)


def default_adjudicator(environ: Mapping[str, str] | None = None, *, cache_path: str | Path | None = None,
                        force: bool = False) -> LLMAdjudicator | None:  # fmt: skip
    """An ``LLMAdjudicator`` when an LLM is configured and ``GRAPHMEM_LLM_ADJUDICATE`` is on (or ``force``),
    else None. ``force`` without an LLM configured raises ``ValueError``, as a base URL without a model does.

    ``GRAPHMEM_LLM_ADJUDICATE_MAX_PAIRS`` caps the pairs sent per run (default 200) and
    ``GRAPHMEM_LLM_ADJUDICATE_CACHE`` overrides ``cache_path``.
    """
    env = os.environ if environ is None else environ
    if not force and env.get("GRAPHMEM_LLM_ADJUDICATE", "").strip().lower() not in ON:
        return None
    settings = LLMSettings.from_env(env)
    if settings is None:
        if force:
            raise ValueError("the adjudicator needs an LLM: set GRAPHMEM_LLM_BASE_URL and GRAPHMEM_LLM_MODEL")
        return None
    cap = env.get("GRAPHMEM_LLM_ADJUDICATE_MAX_PAIRS", "").strip()
    try:
        max_pairs = int(cap) if cap else DEFAULT_MAX_PAIRS
    except ValueError as err:
        raise ValueError(f"GRAPHMEM_LLM_ADJUDICATE_MAX_PAIRS must be a whole number, got {cap!r}") from err
    path = env.get("GRAPHMEM_LLM_ADJUDICATE_CACHE", "").strip() or cache_path
    return LLMAdjudicator(settings, max_pairs=max_pairs, cache_path=path)
