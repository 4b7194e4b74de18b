"""Optional extractor backed by any OpenAI-compatible chat-completions endpoint.

Standard library HTTP only. The reply is parsed as JSON and validated with pydantic; it is
data and is never evaluated. A passage the endpoint cannot serve goes to the fallback extractor.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from graphmem.extract.types import (
    EntitySpan,
    Extractor,
    NaryRelation,
    PassageExtraction,
    PassageInput,
    Role,
    Triple,
)

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 4_000_000
SNIPPET_CHARS = 400

SYSTEM_PROMPT = """You extract a knowledge graph from one passage. Reply with one JSON object only:
{"entities": [{"text": str, "type": str}],
 "triples": [{"subject": str, "predicate": str, "object": str, "subject_type": str, "object_type": str,
              "date": str|null, "negated": bool}],
 "hyperedges": [{"predicate": str, "roles": [{"role": str, "text": str, "type": str}], "date": str|null}]}
Rules:
- Arguments are full names ("Casimir Lovatt", not "Lovatt" once the full name is known) or noun phrases
  without articles or possessive determiners ("Kessaby Harbour Choir", "electric ferry").
- Never output a pronoun. Resolve he/she/it/they/his/its and generic references ("the company") to the
  nearest fitting named antecedent, else to the TITLE topic. In dialogue, I/me/my resolve to the SPEAKER,
  you/your to the single LISTENER.
- Predicates are lower-case snake_case built from lemmas: verb lemma ("order"); verb + preposition
  ("study_at", "move_to", "work_for"); particles kept ("set_up"). Passive: the agent is the subject
  ("design"); without an agent use participle + preposition ("born_in", "located_on"). Copula with a noun:
  noun + preposition ("mayor_of", "town_in") or "is_a". Appositives are copulas. Possessives use the noun
  ("mother", "daughter"). Negation: negated true and the predicate prefixed "not_" ("not_work_at").
- A clause joining three or more participants is also one hyperedge: roles "agent" (subject), "patient"
  (direct object), the preposition for each prepositional object ("in", "at", "as", ...), "time" for a date.
  Emit the clause's triples too.
- Dates: "date" is when the relation held or happened, as YYYY-MM-DD, or YYYY-MM / YYYY when only the
  month or year is known. Resolve relative dates ("last year") against DATE. A date that is the object
  ("founded in 1998") is the object too.
- Types: PERSON, ORG, GPE, LOC, FAC, DATE, EVENT, PRODUCT, WORK_OF_ART, NORP, or THING.
- Extract only what the passage states. Empty lists when there is nothing."""


class LLMError(RuntimeError):
    """The endpoint could not produce a usable extraction."""


class _Transient(Exception):
    """A failure worth retrying: network trouble, 429, 5xx, or a reply that is not JSON."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class LLMSettings:
    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)  # kept out of logs and reprs
    timeout: float = 30.0
    max_retries: int = 3
    backoff_base: float = 0.5
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if not re.match(r"https?://", self.base_url):
            raise ValueError(f"LLM base URL must start with http:// or https://, got {self.base_url!r}")

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMSettings | None:
        """Settings from GRAPHMEM_LLM_BASE_URL, _MODEL and _API_KEY; None when no base URL is set."""
        env = os.environ if environ is None else environ
        base_url = env.get("GRAPHMEM_LLM_BASE_URL", "").strip()
        if not base_url:
            return None
        model = env.get("GRAPHMEM_LLM_MODEL", "").strip()
        if not model:
            raise ValueError("GRAPHMEM_LLM_MODEL must be set when GRAPHMEM_LLM_BASE_URL is set")
        return cls(base_url=base_url, model=model, api_key=env.get("GRAPHMEM_LLM_API_KEY") or None)


def snake_case(text: str) -> str:
    """'Born In', 'bornIn' and 'born-in' all become 'born_in'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text.strip())
    return re.sub(r"[\W_]+", "_", spaced).strip("_").lower()


def _type_name(value: Any) -> str:
    text = re.sub(r"\W+", "_", str(value or "").strip()).strip("_").upper()
    return text[:64] or "THING"


def _optional_str(value: Any) -> Any:
    return None if value in (None, "") else str(value) if isinstance(value, int | float) else value


def _if_str(convert: Any) -> BeforeValidator:
    # Non-strings pass through untouched so pydantic reports them as type errors.
    return BeforeValidator(lambda value: convert(value) if isinstance(value, str) else value)


Argument = Annotated[str, _if_str(str.strip), StringConstraints(min_length=1, max_length=1_000)]
TypeName = Annotated[str, BeforeValidator(_type_name)]
PredicateName = Annotated[str, _if_str(snake_case), StringConstraints(min_length=1, max_length=200)]
DateText = Annotated[Annotated[str, StringConstraints(max_length=64)] | None, BeforeValidator(_optional_str)]


class _Item(BaseModel):
    # Models add stray keys; ignoring them costs nothing, rejecting them costs the passage.
    model_config = ConfigDict(extra="ignore")


class _Entity(_Item):
    text: Argument
    type: TypeName = "THING"


class _Triple(_Item):
    subject: Argument
    predicate: PredicateName
    object: Argument
    subject_type: TypeName = "THING"
    object_type: TypeName = "THING"
    date: DateText = None
    negated: bool = False


class _Role(_Item):
    role: PredicateName
    text: Argument
    type: TypeName = "THING"


class _Hyperedge(_Item):
    predicate: PredicateName
    roles: list[_Role]
    date: DateText = None


class _Reply(_Item):
    entities: Annotated[list[_Entity], Field(max_length=2_000)] = []
    triples: Annotated[list[_Triple], Field(max_length=2_000)] = []
    hyperedges: Annotated[list[_Hyperedge], Field(max_length=1_000)] = []


def parse_iso_date(text: str | None) -> tuple[str | None, str | None]:
    """'1998' gives ('1998-01-01', 'year'); 'March 2019' style text the model should not send gives (None, None)."""
    if not text:
        return None, None
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?(?:[T ].*)?", text.strip())
    if not match:
        return None, None
    year, month, day = match.group(1), match.group(2), match.group(3)
    precision = "day" if day else "month" if month else "year"
    try:
        value = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None, None
    return value.isoformat(), precision


def strip_fences(content: str) -> str:
    text = content.strip()
    fenced = re.fullmatch(r"```[A-Za-z0-9_-]*\s*(.*?)\s*```", text, flags=re.DOTALL)
    if fenced:
        return fenced.group(1)
    # Some models wrap the object in prose; the outermost braces hold it.
    if not text.startswith("{") and "{" in text and "}" in text:
        return text[text.index("{") : text.rindex("}") + 1]
    return text


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def _snippet(text: str) -> str:
    if len(text) <= SNIPPET_CHARS:
        return text.strip()
    return text[:SNIPPET_CHARS].rsplit(" ", 1)[0].strip()


def find_sentence(text: str, sentences: Sequence[str], arguments: Sequence[str]) -> str:
    """The sentence naming the most arguments (both, for a triple), else the start of the text.

    Ties go to the sentence naming more non-subject arguments: a subject resolved from a
    pronoun is written elsewhere, usually in an earlier sentence.
    """
    lowered = [a.lower() for a in arguments if a]
    best, best_score = "", (0, 0)
    for sentence in sentences:
        hits = [a in sentence.lower() for a in lowered]
        score = (sum(hits), sum(hits[1:]))
        if score > best_score:
            best, best_score = sentence, score
    return best if best_score[0] else _snippet(text)


def _user_prompt(passage: PassageInput) -> str:
    context = [
        ("TITLE", passage.title),
        ("DATE", passage.date.date().isoformat() if passage.date else None),
        ("SPEAKER", passage.speaker),
        ("LISTENER", ", ".join(passage.listeners)),
    ]
    lines = [f"{key}: {value}" for key, value in context if value]
    return "\n".join([*lines, "PASSAGE:", passage.text])


def chat_payload(settings: LLMSettings, system: str, user: str) -> bytes:
    """A chat-completions request body: the system and user messages, asking for one JSON object."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    json_only = {"type": "json_object"}
    body = {"model": settings.model, "temperature": settings.temperature, "response_format": json_only}
    return json.dumps({**body, "messages": messages}).encode("utf-8")


def _retry_after(err: urllib.error.HTTPError) -> float | None:
    value = err.headers.get("Retry-After") if err.headers else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


class LLMExtractor:
    """Extraction by a chat model, one request per passage, with retries and a fallback."""

    name = "llm"

    def __init__(self, settings: LLMSettings, fallback: Extractor | None = None) -> None:
        self.settings = settings
        self.fallback = fallback
        self.calls = 0  # HTTP requests sent, retries included
        self.retries = 0
        self.fallbacks = 0

    def extract(self, passages: Sequence[PassageInput]) -> list[PassageExtraction]:
        return [self._extract_one(passage) for passage in passages]

    def _extract_one(self, passage: PassageInput) -> PassageExtraction:
        try:
            return self._to_extraction(passage, self._reply(passage))
        except LLMError as err:
            if self.fallback is None:
                raise
            self.fallbacks += 1
            log.warning("LLM extraction failed for passage %s, using %s: %s", passage.id, self.fallback.name, err)
            results = self.fallback.extract([passage])
            if len(results) != 1:
                raise LLMError(
                    f"fallback {self.fallback.name} returned {len(results)} results for one passage"
                ) from err
            return results[0]

    def _reply(self, passage: PassageInput) -> _Reply:
        endpoint = self.settings.endpoint
        data = self._with_retries(passage)
        try:
            return _Reply.model_validate(data)
        except ValidationError as err:
            raise LLMError(f"{endpoint}: reply failed validation: {err.error_count()} errors, {err}") from err

    def _with_retries(self, passage: PassageInput) -> Any:
        payload = chat_payload(self.settings, SYSTEM_PROMPT, _user_prompt(passage))
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            try:
                return self._attempt(payload)
            except _Transient as err:
                if attempt + 1 >= attempts:
                    raise LLMError(f"{self.settings.endpoint}: {err} (after {attempts} attempts)") from err
                delay = self.settings.backoff_base * 2**attempt
                delay += random.uniform(0, delay / 4)  # jitter: parallel clients do not retry in step
                if err.retry_after is not None:
                    delay = max(delay, min(err.retry_after, self.settings.timeout))
                self.retries += 1
                log.info("retrying %s in %.2fs: %s", self.settings.endpoint, delay, err)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _attempt(self, payload: bytes) -> Any:
        endpoint = self.settings.endpoint
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        request = urllib.request.Request(endpoint, data=payload, headers=headers, method="POST")
        self.calls += 1
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
                raw = response.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as err:
            detail = err.read(300).decode("utf-8", "replace").strip() if err.fp else ""
            if err.code == 429 or err.code >= 500:
                raise _Transient(f"HTTP {err.code}", _retry_after(err)) from err
            raise LLMError(f"{endpoint}: HTTP {err.code} {err.reason}: {detail}") from err
        except urllib.error.URLError as err:
            raise _Transient(f"cannot reach endpoint: {err.reason}") from err
        except (http.client.HTTPException, OSError) as err:  # resets, timeouts mid-read
            raise _Transient(f"connection error: {type(err).__name__}: {err}") from err
        if len(raw) > MAX_REPLY_BYTES:
            raise LLMError(f"{endpoint}: reply larger than {MAX_REPLY_BYTES} bytes")
        return self._content_json(raw)

    def _content_json(self, raw: bytes) -> Any:
        """The JSON object inside choices[0].message.content."""
        try:
            envelope = json.loads(raw)
            content = envelope["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise _Transient(f"reply is not a chat completion: {raw[:200]!r}") from err
        if not isinstance(content, str):
            raise _Transient("reply has no message content")
        try:
            data = json.loads(strip_fences(content))
        except ValueError as err:
            raise _Transient(f"message content is not valid JSON: {content[:200]!r}") from err
        if not isinstance(data, dict):
            raise _Transient(f"message content is JSON but not an object: {content[:200]!r}")
        return data

    def _to_extraction(self, passage: PassageInput, reply: _Reply) -> PassageExtraction:
        text = passage.text
        sentences = _sentences(text)
        result = PassageExtraction(passage_id=passage.id)
        seen: set[tuple[str, str]] = set()
        for entity in reply.entities:
            if (entity.text, entity.type) in seen:
                continue
            seen.add((entity.text, entity.type))
            start = text.find(entity.text)
            end = start + len(entity.text) if start >= 0 else -1
            result.entities.append(EntitySpan(text=entity.text, type=entity.type, start=start, end=end))
        for item in reply.triples:
            predicate = item.predicate
            # The convention ties the flag and the prefix together; honour whichever the model gave.
            negated = item.negated or predicate.startswith("not_")
            if negated and not predicate.startswith("not_"):
                predicate = f"not_{predicate}"
            when, precision = parse_iso_date(item.date)
            result.triples.append(
                Triple(
                    subject=item.subject,
                    predicate=predicate,
                    object=item.object,
                    subject_type=item.subject_type,
                    object_type=item.object_type,
                    sentence=find_sentence(text, sentences, [item.subject, item.object]),
                    date=when,
                    date_precision=precision if when else None,
                    negated=negated,
                )
            )
        for edge in reply.hyperedges:
            # Two participants are a triple, not a hyperedge (CONVENTIONS.md).
            if len(edge.roles) < 3:
                continue
            roles = tuple(Role(role=r.role, text=r.text, type=r.type) for r in edge.roles)
            when, _ = parse_iso_date(edge.date)
            result.hyperedges.append(
                NaryRelation(
                    predicate=edge.predicate,
                    roles=roles,
                    sentence=find_sentence(text, sentences, [r.text for r in roles]),
                    date=when,
                )
            )
        return result
