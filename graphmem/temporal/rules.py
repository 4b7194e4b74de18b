"""The rules reconsolidation applies, as data: predicate families, synonyms, end verbs, cues, date ranges.

Predicate names are the ones the extractors emit (see graphmem/extract/CONVENTIONS.md): lemma + "_" +
preposition, copula nouns with their preposition ("ceo_of"), possessive nouns ("girlfriend"), and
"not_" for negation. Everything a person may want to tune sits in ``ReconsolidationConfig``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from graphmem.extract.dates import MONTHS, absolute_date

RULES_VERSION = 2  # bump when a rule changes meaning: every fact is then checked again

# Predicates that hold one value per subject at a time, by family: a newer value of the family
# supersedes an older one ("move_to Oslo" ends "live_in Brill").
SUBJECT_FAMILIES: dict[str, tuple[str, ...]] = {
    "residence": ("live_in", "reside_in", "based_in", "move_to", "relocate_to", "settle_in", "settle_into",
                  "move_back_to", "return_to"),
    "employer": ("work_at", "work_for", "employed_at", "employed_by", "start_at"),
    "occupation": ("work_as",),
    "spouse": ("married_to", "marry", "wed", "wife", "husband", "spouse"),
    "partner": ("partner", "girlfriend", "boyfriend", "fiance", "fiancee", "engaged_to", "date"),
    "location": ("located_in", "headquartered_in", "hq_in"),
}  # fmt: skip
# Posts one holder fills at a time, by the post's object: "Ben ceo_of Tidewater" (2020) supersedes
# "Ana ceo_of Tidewater" (2015). The single value here is the subject.
OBJECT_FAMILIES: dict[str, tuple[str, ...]] = {
    "leader": ("ceo_of", "chief_executive_of", "executive_of", "president_of", "chair_of", "chairman_of",
               "chairwoman_of", "head_of", "director_of", "mayor_of", "principal_of", "captain_of", "skipper_of",
               "editor_of", "manager_of", "leader_of", "governor_of"),
}  # fmt: skip
# Predicates that say the same thing (canonical first): the same subject and object under two of
# them is one fact said twice. Only pairs that differ in wording, never in meaning.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("live_in", "reside_in"),
    ("work_at", "work_for", "employed_at", "employed_by"),
    ("marry", "married_to", "wed"),
    ("ceo_of", "chief_executive_of"),
    ("move_to", "relocate_to"),
    ("headquartered_in", "hq_in"),
)
# Verbs that end a state held with their object: "left Brindlemoss" ends "work_at Brindlemoss Institute".
END_VERBS = ("leave", "quit", "resign", "retire", "divorce", "break_up", "split_up", "split", "separate",
             "move_from", "move_out", "sell", "stop", "drop_out", "step_down")  # fmt: skip
# When an end verb's object names none of the subject's values, it ends the whole family ("we broke
# up in September" ends the partner; "I quit my job" ends the employer).
END_FAMILIES: dict[str, tuple[str, ...]] = {
    "quit": ("employer",), "resign": ("employer",), "retire": ("employer",),
    "divorce": ("spouse",), "break_up": ("partner", "spouse"), "split_up": ("partner", "spouse"),
    "separate": ("partner", "spouse"),
}  # fmt: skip
# Besides the families and prepositional relations ("reporter_at", "member_of"), the states an end
# verb can end ("sold my Volvo" ends "drive Volvo"). A plain verb ("visit", "hire") is an event, not a state.
STATE_SUFFIXES = ("_at", "_of", "_for", "_with", "_in", "_on")
END_STATES = ("have", "own", "drive", "be_at", "be_in", "be_on", "be_with", "study_at", "attend", "member_of",
              "play_for", "keep", "rent")  # fmt: skip
# Explicit change in a dialogue turn: the statement supersedes the speaker's older value of the same predicate.
CHANGE_CUES = (r"now", r"nowadays", r"these days", r"no longer", r"any ?more", r"moved to", r"moving to",
               r"switched to", r"changed to", r"new job", r"just (?:got|started|moved|joined)(?! back)",
               r"started (?:at|as)", r"quit", r"broke up", r"split up")  # fmt: skip
# "now" that marks no change: "for now", "right now", "for nine months now", "now that ...".
NOT_A_CHANGE = r"\b(?:for|right|by|until|up to|from)\b[^.,;!?]{0,30}?\bnow\b|\bnow that\b"
# Verbs that hold many values at once: a cue does not make them change one ("I have more questions now").
LIGHT_VERBS = ("have", "get", "need", "want", "think", "know", "see", "say", "tell", "ask", "make", "do", "go",
               "try", "find", "look", "feel", "give", "take", "help", "like", "love", "hope", "plan", "hear", "mean",
               "be", "come", "let", "put", "start", "stop", "enjoy", "spend")  # fmt: skip
# Predicates whose common-noun values a cue may change ("I am now a nurse"); elsewhere only named values.
GENERIC_CUE_PREDICATES = ("is_a",)
# Words that make a cue sentence add a value rather than change one ("now I also drive a Tesla").
ADDITIVE_CUES = (r"also", r"too", r"as well", r"still", r"another")
# Counts and amounts: "I've read 120 pages" then "I've read 220 pages" (same verb, same unit) is one running
# value that changed. The number comes first, as a digit or a word, perhaps ordinal ("my 5th project").
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "fifteen", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "first", "second", "third",
                "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "a dozen", "dozens of",
                "half")  # fmt: skip
APPROXIMATELY = ("about", "around", "over", "almost", "nearly", "roughly", "more than", "less than", "at least",
                 "only", "just", "another")  # fmt: skip
# Units too vague to make two counts rivals ("3 of them", "two different ones").
VAGUE_UNITS = ("one", "ones", "other", "others", "thing", "things", "them", "lot", "bit", "couple")
NEVER_SINGLE_VALUED = ("is_a",)  # categories a subject has many of at once
GENERIC_TYPES = frozenset({"THING", "CONCEPT"})
NUMERIC_TYPES = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"})


@dataclass(frozen=True)
class ReconsolidationConfig:
    """What reconsolidation treats as a conflict. The defaults are the curated lists above."""

    subject_families: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(SUBJECT_FAMILIES))
    object_families: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(OBJECT_FAMILIES))
    synonyms: tuple[tuple[str, ...], ...] = SYNONYMS
    end_verbs: tuple[str, ...] = END_VERBS
    end_families: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(END_FAMILIES))
    end_states: tuple[str, ...] = END_STATES
    change_cues: tuple[str, ...] = CHANGE_CUES
    additive_cues: tuple[str, ...] = ADDITIVE_CUES
    not_a_change: str = NOT_A_CHANGE
    light_verbs: tuple[str, ...] = LIGHT_VERBS
    generic_cue_predicates: tuple[str, ...] = GENERIC_CUE_PREDICATES
    # a newer count or amount of the same unit under the same predicate supersedes the subject's older one
    quantities: bool = True
    vague_units: tuple[str, ...] = VAGUE_UNITS
    # Learning single-valued predicates from the data: a predicate qualifies when at least
    # ``learn_min_subjects`` subjects use it, they have at most ``learn_max_values`` distinct values on
    # average, at least ``learn_min_changes`` of them have two, and at most a ``learn_max_same_date``
    # share of them state two values on one date.
    learn: bool = True
    learn_min_subjects: int = 20
    learn_min_changes: int = 2
    learn_max_values: float = 1.25
    learn_max_same_date: float = 0.02
    read_batch: int = 2_000  # facts read per store call
    write_batch: int = 5_000  # records written per store call

    def digest(self, learned: frozenset[str] = frozenset()) -> str:
        """A short digest of the rules, stored on each checked fact: a change means every fact is checked again."""
        rules = {k: v for k, v in asdict(self).items() if k not in ("read_batch", "write_batch")}
        data = json.dumps([RULES_VERSION, rules, sorted(learned)], sort_keys=True, default=list)
        return f"r{RULES_VERSION}:" + hashlib.sha256(data.encode()).hexdigest()[:16]


class Rules:
    """The config compiled for lookups."""

    def __init__(self, config: ReconsolidationConfig, learned: frozenset[str] = frozenset()) -> None:
        self.config = config
        self.learned = learned
        self.subject_family = {p: f for f, preds in config.subject_families.items() for p in preds}
        self.object_family = {p: f for f, preds in config.object_families.items() for p in preds}
        self.canonical = {p: (group[0], rank) for group in config.synonyms for rank, p in enumerate(group)}
        self.states = frozenset({*self.subject_family, *self.object_family, *learned, *config.end_states})
        self._cue = re.compile(r"\b(?:" + "|".join(config.change_cues) + r")\b", re.I)
        self._additive = re.compile(r"\b(?:" + "|".join(config.additive_cues) + r")\b", re.I)
        self._not_a_change = re.compile(config.not_a_change, re.I)
        self._quantity = re.compile(
            r"^(?:(?:" + "|".join(APPROXIMATELY) + r") )?(?:\d[\d,.]*(?:st|nd|rd|th)?|(?:"
            + "|".join(NUMBER_WORDS) + r"))\b[ -]+(.*\S)$", re.I)  # fmt: skip
        self._vague_units = frozenset(config.vague_units)
        self._heads: dict[str, str | None] = {}  # per predicate: lookups run for every fact
        self._slots: dict[str, tuple[str, str, bool] | None] = {}

    def is_change(self, sentence: str) -> bool:
        """Whether a sentence says something changed ("I now work at X"), not that it grew ("I also ...")."""
        sentence = self._not_a_change.sub(" ", sentence)
        return bool(self._cue.search(sentence)) and not self._additive.search(sentence)

    def cue_changes(self, predicate: str, kind: str) -> bool:
        """Whether a change cue can make a value of this free predicate (in no family) and class ("named" or
        "generic") replace another."""
        if predicate.split("_")[0] in self.config.light_verbs:
            return False
        return kind == "named" or predicate in self.config.generic_cue_predicates

    def quantity_unit(self, name: str | None) -> str | None:
        """The unit of a count or amount ("about 6 months" -> "month", "three tops" -> "top", "5th project" ->
        "project"), or None when the name is no number of something (or quantities are off)."""
        if not self.config.quantities or not name:
            return None
        match = self._quantity.match(name.strip())
        if match is None:
            return None
        word = match.group(1).split()[-1].lower().strip(".,'")
        if not word.isalpha() or word in self._vague_units:
            return None
        if len(word) > 4 and word.endswith("ies"):
            return word[:-3] + "y"
        return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word

    def is_state(self, predicate: str) -> bool:
        """Whether an end verb can end this predicate (see STATE_SUFFIXES)."""
        if predicate.startswith("not_") or predicate in NEVER_SINGLE_VALUED or self.end_head(predicate):
            return False
        return predicate in self.states or predicate.endswith(STATE_SUFFIXES)

    def end_head(self, predicate: str) -> str | None:
        """The end verb a predicate is built on ("quit_at" -> "quit"), or None."""
        if predicate not in self._heads:
            self._heads[predicate] = self._end_head(predicate)
        return self._heads[predicate]

    def _end_head(self, predicate: str) -> str | None:
        if predicate.endswith(("_for", "_to", "_as")):
            return None  # "left for Oslo" starts something
        for head in self.config.end_verbs:
            if predicate == head or predicate.startswith(head + "_"):
                return head
        return None

    def slot(self, predicate: str) -> tuple[str, str, bool] | None:
        """(keyed by "subject" or "object", slot name, single-valued) for a predicate reconsolidation tracks."""
        if predicate not in self._slots:
            self._slots[predicate] = self._slot(predicate)
        return self._slots[predicate]

    def _slot(self, predicate: str) -> tuple[str, str, bool] | None:
        if predicate.startswith("not_") or self.end_head(predicate) is not None:
            return None
        if predicate in self.subject_family:
            return "subject", f"single_valued:{self.subject_family[predicate]}", True
        if predicate in self.object_family:
            return "object", f"single_valued:{self.object_family[predicate]}", True
        if predicate in self.learned:
            return "subject", f"learned_single_valued:{predicate}", True
        return "subject", f"change_cue:{predicate}", False


# ---------------------------------------------------------------- values and referents


def value_class(name: str | None, entity_type: str | None) -> str | None:
    """'named' or 'generic' (a common noun, lower case); None for dates and numbers, which never conflict.

    Only values of one class compete: "flat" and "Dunmaren" are both where someone lives, at two scales.
    """
    if entity_type in NUMERIC_TYPES or not name or name[0].isdigit():
        return None
    return "generic" if name == name.lower() else "named"


def same_referent(a: str, b: str) -> bool:
    """Whether two entity keys may name one thing: equal, or one is the other's leading or trailing words
    ("institute" / "brindlemoss institute", "brindlemoss" / "brindlemoss institute")."""
    if a == b:
        return True
    short, long = sorted((a.split(), b.split()), key=len)
    if not short or len(short) == len(long):
        return False
    return long[-len(short) :] == short or long[: len(short)] == short


# ---------------------------------------------------------------- sentences and date ranges

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE = rf"((?:[0-3]?\d(?:st|nd|rd|th)? )?(?:(?:{_MONTH})\.? )?(?:1\d{{3}}|20\d{{2}}))"
_RANGES = (
    re.compile(rf"\bfrom {_DATE} (?:to|until|till|through) {_DATE}", re.I),
    re.compile(rf"\bbetween {_DATE} and {_DATE}", re.I),
    re.compile(r"\b(1\d{3}|20\d{2}) ?[-–] ?(1\d{3}|20\d{2})\b"),
)
_UNTIL = re.compile(rf"\b(?:until|till) {_DATE}", re.I)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def sentences_about(text: str, name: str | None, sentence: str) -> list[str]:
    """The sentences of a unit's text that state a fact: those naming its object, else its own sentence."""
    found = [s for s in sentences(text) if name and name.lower() in s.lower()]
    if not found and sentence and sentence in text:
        found = [sentence]
    return found


def _when(text: str | None) -> datetime | None:
    found = absolute_date(text) if text else None
    return datetime.fromisoformat(found[0]).replace(tzinfo=UTC) if found else None


def date_range(texts: list[str]) -> tuple[datetime | None, datetime | None] | None:
    """The one explicit range these sentences state ("from 2010 to 2015", "between 2012 and 2018",
    "1998–2004", "until 2015"), or None when they state none or several different ones."""
    found: set[tuple[datetime | None, datetime | None]] = set()
    for text in texts:
        matched = False
        for pattern in _RANGES:
            for match in pattern.finditer(text):
                start, end = _when(match.group(1)), _when(match.group(2))
                if start and end and start <= end:
                    found.add((start, end))
                    matched = True
        if not matched:
            for match in _UNTIL.finditer(text):
                if (end := _when(match.group(1))) is not None:
                    found.add((None, end))
    return found.pop() if len(found) == 1 else None
