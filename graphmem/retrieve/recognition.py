"""Optional "recognition memory" (HippoRAG 2): an LLM drops the candidate facts that do not help answer.

graphmem retrieves without an LLM. When one is configured (``GRAPHMEM_LLM_BASE_URL``, ``_MODEL``,
``_API_KEY``; see ``graphmem.extract.llm.LLMSettings``) and ``GRAPHMEM_LLM_RECOGNITION`` is not "0",
``default_fact_filter()`` gives an ``LLMFactFilter``: one chat-completions request per question, listing
the candidate facts numbered and asking for ``{"relevant": [numbers]}``. The filter never fails a query:
on any failure (HTTP error, timeout, unreadable reply) it keeps every fact and warns once per kind of
failure. The request itself (auth header, size cap, which errors are worth retrying) is the extractor's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import urllib.error
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from graphmem.extract.llm import LLMError, LLMExtractor, LLMSettings, _Transient, chat_payload, strip_fences

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds for the whole request, retries included: a query waits at most this long
DEFAULT_RETRIES = 1
DEFAULT_CACHE_SIZE = 256
MAX_CONTENT_CHARS = 20_000  # what is searched for the JSON answer
OFF = {"0", "false", "no", "off"}

SYSTEM_PROMPT = """You pick the facts that help answer a question. The user gives a QUESTION and numbered FACTS
("subject predicate object"). A fact is relevant when it states part of the answer or a step towards it
(for a question needing several steps, every step counts). Reply with one JSON object only:
{"relevant": [the numbers of the relevant facts]}
Use an empty list when no fact is relevant."""


class FactFilter(Protocol):
    def keep(self, question: str, facts: Sequence[str]) -> list[bool]:
        """One flag per fact ("subject predicate object"): True to keep it as a seed."""
        ...


class RecognitionError(RuntimeError):
    """Why a reply could not be used; ``kind`` names the failure for the once-per-kind warning."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Chat(LLMExtractor):
    """The extractor's HTTP attempt, returning the message content as text: the filter reads it itself."""

    def _content_json(self, raw: bytes) -> Any:
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise _Transient(f"reply is not a chat completion: {raw[:200]!r}") from err
        if not isinstance(content, str):
            raise RecognitionError("malformed", "reply has no message content")
        return content


def _json_values(text: str) -> Iterator[Any]:
    """Every JSON object or array that starts somewhere in ``text``, in order (prose around is skipped)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[{\[]", text):
        try:
            yield decoder.raw_decode(text, match.start())[0]
        except ValueError:
            continue


def _answer_list(text: str) -> list[Any] | None:
    """The list of the first ``{"relevant": [...]}`` in the text; a lone list value or a bare list will do."""
    fallback = None
    for value in _json_values(text):
        if isinstance(value, dict):
            lists = {str(key).strip().lower(): item for key, item in value.items() if isinstance(item, list)}
            if "relevant" in lists:
                return lists["relevant"]
            if len(lists) == 1 and fallback is None:
                fallback = next(iter(lists.values()))
        elif isinstance(value, list) and fallback is None:
            fallback = value
    return fallback


def _fact_number(item: Any, facts: Sequence[str]) -> int | None:
    """1-based fact number of one answer item: 3, 3.0, "3", "#3", "fact 3", or the fact's own text."""
    if isinstance(item, bool):
        return None
    if isinstance(item, int | float):
        return int(item) if float(item).is_integer() else None
    if not isinstance(item, str):
        return None
    match = re.fullmatch(r"(?:fact\s*)?#?\s*(\d+)\s*[.)]?", item.strip(), flags=re.IGNORECASE)
    if match:
        return int(match.group(1))
    lowered = item.strip().lower()
    return next((i + 1 for i, fact in enumerate(facts) if fact.strip().lower() == lowered), None)


def parse_relevant(content: str, facts: Sequence[str]) -> list[bool]:
    """Which facts the reply calls relevant. Numbers out of range are ignored; a reply with no list, or
    with a list none of whose items reads as a fact, raises ``RecognitionError`` ("malformed")."""
    text = strip_fences(content[:MAX_CONTENT_CHARS])
    items = _answer_list(text)
    if items is None:
        raise RecognitionError("malformed", f"no list of fact numbers in the reply: {content[:200]!r}")
    numbers = [_fact_number(item, facts) for item in items]
    if items and all(number is None for number in numbers):
        raise RecognitionError("malformed", f"no fact number in the reply's list: {content[:200]!r}")
    chosen = {number for number in numbers if number is not None}
    return [i + 1 in chosen for i in range(len(facts))]


def _user_prompt(question: str, facts: Sequence[str]) -> str:
    lines = [f"{i}. {' '.join(fact.split())}" for i, fact in enumerate(facts, start=1)]
    return "\n".join(["QUESTION: " + " ".join(question.split()), "FACTS:", *lines])


def _kind(err: BaseException) -> str:
    """A short name for what went wrong, from the exception llm.py chained: http, timeout, unreachable..."""
    if isinstance(err, RecognitionError):
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


class LLMFactFilter:
    """Recognition memory by a chat model: one request per (question, facts), cached, never raising.

    ``timeout`` bounds the whole call, retries and their back-off included; ``max_retries`` more
    attempts follow a retryable failure (network trouble, 429, 5xx) while time is left. A reply that
    reads badly is not retried: at temperature 0 the same request gives the same reply.
    """

    def __init__(
        self,
        settings: LLMSettings,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_RETRIES,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if timeout <= 0 or max_retries < 0 or cache_size < 0:
            raise ValueError("timeout must be positive, max_retries and cache_size not negative")
        self.settings = settings
        self.timeout = timeout
        self.max_retries = max_retries
        self.cache_size = cache_size
        self.requests = 0  # HTTP requests sent, retries included
        self.failures = 0  # calls that kept every fact because the model could not answer
        self._cache: OrderedDict[tuple[str, tuple[str, ...]], tuple[bool, ...]] = OrderedDict()
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def keep(self, question: str, facts: Sequence[str]) -> list[bool]:
        if not facts:
            return []
        key = (question, tuple(facts))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return list(self._cache[key])
        try:
            flags = parse_relevant(self._ask(question, facts), facts)
        except Exception as err:  # any failure keeps every fact: the filter must never fail a query
            self._failed(err, len(facts))
            return [True] * len(facts)
        with self._lock:
            self._cache[key] = tuple(flags)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return flags

    def _ask(self, question: str, facts: Sequence[str]) -> str:
        payload = chat_payload(self.settings, SYSTEM_PROMPT, _user_prompt(question, facts))
        deadline = time.monotonic() + self.timeout
        for attempt in range(self.max_retries + 1):
            chat = _Chat(replace(self.settings, timeout=max(deadline - time.monotonic(), 0.01)))
            try:
                return str(chat._attempt(payload))
            except _Transient as err:
                pause = self.settings.backoff_base * 2**attempt
                if attempt == self.max_retries or time.monotonic() + pause >= deadline:
                    raise
                log.info("retrying %s in %.2fs: %s", self.settings.endpoint, pause, err)
                time.sleep(pause)
            finally:
                self.requests += chat.calls
        raise AssertionError("unreachable")

    def _failed(self, err: Exception, count: int) -> None:
        kind = _kind(err)
        with self._lock:
            self.failures += 1
            first = kind not in self._warned
            self._warned.add(kind)
        report = log.warning if first else log.debug
        suffix = " (further failures of this kind are logged at debug level)" if first else ""
        report("fact recognition failed (%s), keeping all %d facts: %s%s", kind, count, err, suffix)


def default_fact_filter(environ: Mapping[str, str] | None = None) -> FactFilter | None:
    """An ``LLMFactFilter`` when an LLM is configured and ``GRAPHMEM_LLM_RECOGNITION`` is not "0", else None.

    ``GRAPHMEM_LLM_RECOGNITION_TIMEOUT`` sets the timeout in seconds (default 10). A base URL without a
    model raises ``ValueError``, as it does for extraction.
    """
    env = os.environ if environ is None else environ
    if env.get("GRAPHMEM_LLM_RECOGNITION", "").strip().lower() in OFF:
        return None
    settings = LLMSettings.from_env(env)
    if settings is None:
        return None
    timeout = env.get("GRAPHMEM_LLM_RECOGNITION_TIMEOUT", "").strip()
    try:
        seconds = float(timeout) if timeout else DEFAULT_TIMEOUT
    except ValueError as err:
        raise ValueError(f"GRAPHMEM_LLM_RECOGNITION_TIMEOUT must be a number of seconds, got {timeout!r}") from err
    return LLMFactFilter(settings, timeout=seconds)
