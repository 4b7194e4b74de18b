"""Arguments of relations: the full name a token stands for, with references resolved.

A ``Resolver`` works on one parsed passage. It turns a token into an ``Arg``: the
entity span it belongs to, or its noun phrase without determiners. Pronouns and bare
generic nouns ("the company") resolve to an antecedent in the passage or to the topic
(the document's title). In dialogue, "I" resolves to the speaker and "you" to the listener.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

NUMERIC_ENTS = {"CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"}
PERSON_PRONOUNS = {"he", "him", "his", "himself", "she", "her", "hers", "herself"}
NEUTER_PRONOUNS = {"it", "its", "itself"}
PLURAL_PRONOUNS = {"they", "them", "their", "theirs", "themselves"}
FIRST_PERSON = {"i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves"}
SECOND_PERSON = {"you", "your", "yours", "yourself", "yourselves"}
RELATIVE = {"who", "whom", "which", "that", "whose"}
NON_PERSON_TYPES = {"ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "NORP", "LAW", "LANGUAGE"}
# Bare nouns that stand for a named thing of these types ("the company" for an ORG).
GENERIC_NOUNS = {
    **dict.fromkeys(["company", "firm", "business", "shipyard", "yard", "bank", "band", "team", "club",
                     "group", "organisation", "organization", "institute", "institution", "university",
                     "college", "school", "charity", "party", "agency", "council", "choir", "paper",
                     "newspaper", "magazine", "journal", "label", "publisher", "society"], ("ORG",)),
    **dict.fromkeys(["town", "city", "village", "region", "country", "port", "harbour", "harbor", "county",
                     "province", "state", "district", "island", "valley", "capital"], ("GPE", "LOC")),
    **dict.fromkeys(["river", "lake", "mountain", "bay", "estuary", "coast", "forest", "peninsula"], ("LOC",)),
    **dict.fromkeys(["lighthouse", "building", "bridge", "museum", "church", "station", "hospital",
                     "library", "castle", "tower", "theatre", "theater", "stadium", "airport"], ("FAC", "ORG")),
    **dict.fromkeys(["festival", "event", "competition", "race", "war", "battle"], ("EVENT", "ORG")),
    **dict.fromkeys(["ship", "ferry", "vessel", "boat", "album", "book", "film", "song", "novel"],
                    ("PRODUCT", "WORK_OF_ART", "ORG")),
}  # fmt: skip
_NP_DEPS = {"compound", "amod", "nmod", "nummod", "quantmod", "poss_flat"}
# Head words that make a name a place, organisation or thing whatever NER guessed (it often takes
# unfamiliar names for people): "Haskeld Shipworks", "Pellam Dry Dock", "Calder Athletic".
NON_PERSON_HEADS = {
    **{noun: types[0] for noun, types in GENERIC_NOUNS.items()},
    **dict.fromkeys(["shipworks", "works", "labs", "lab", "brewery", "holdings", "ltd", "inc", "plc", "gazette",
                     "courier", "times", "post", "herald", "rovers", "athletic", "united", "city", "fc",
                     "academy", "foundation", "trust", "association", "company", "co", "corporation",
                     "records", "press", "studios", "hotel", "cafe", "restaurant", "inn", "market"], "ORG"),
    **dict.fromkeys(["dock", "quay", "pier", "wharf", "street", "road", "lane", "square", "park", "hall",
                     "house", "point", "head", "bridge", "gate", "mill", "farm", "tower"], "FAC"),
    **dict.fromkeys(["fells", "hills", "islands", "isles", "sound", "falls", "moor", "vale", "glen", "firth",
                     "bay", "cape", "ridge", "marsh", "fen", "heath", "wood", "woods"], "LOC"),
}  # fmt: skip


def plausible_type(text: str, ner_type: str) -> str:
    """NER's type, unless a name NER took for a person ends in a word no person's name ends in."""
    words = text.lower().split()
    if ner_type == "PERSON" and len(words) > 1:
        return NON_PERSON_HEADS.get(words[-1], ner_type)
    return ner_type


def _singular_words(text: str) -> set[str]:
    out = set()
    for word in text.lower().split():
        out.add(word)
        if word.endswith("s") and len(word) > 3:
            out.add(word[:-1])
    return out


@dataclass(frozen=True, slots=True)
class Arg:
    text: str
    type: str
    resolved: bool = False  # came from a pronoun, a generic noun or the speaker, not the words


def strip_article(text: str) -> str:
    for article in ("the ", "The ", "a ", "A ", "an ", "An "):
        if text.startswith(article):
            return text[len(article) :]
    return text


@dataclass(frozen=True, slots=True)
class PassageContext:
    topic: str | None = None
    topic_type: str | None = None  # PERSON, ORG, ... or None when unknown
    speaker: str | None = None
    listeners: tuple[str, ...] = ()
    anchor_date: object | None = None  # datetime; kept loose so this module needs no datetime logic


class Resolver:
    def __init__(self, doc: Doc, context: PassageContext) -> None:
        self.doc = doc
        self.context = context
        self.ent_of: dict[int, Span] = {}
        for ent in doc.ents:
            for i in range(ent.start, ent.end):
                self.ent_of[i] = ent
        self.full_person_names: list[str] = []
        if context.topic and context.topic_type in (None, "PERSON"):
            self.full_person_names.append(context.topic)
        if context.speaker:
            self.full_person_names.append(context.speaker)
        self.full_person_names += [strip_article(e.text) for e in doc.ents if e.label_ == "PERSON" and len(e) > 1]
        # resolved subject of each sentence's root, by sentence start: the salient antecedents
        self.sentence_subjects: dict[int, Arg] = {}
        self._sentences = list(doc.sents)
        # token index -> sentence number; Token.sent rescans the doc on every call
        self.sentence_index = [0] * len(doc)
        for number, sent in enumerate(self._sentences):
            self.sentence_index[sent.start : sent.end] = [number] * (sent.end - sent.start)
        self.sentence_text = [sent.text.strip() for sent in self._sentences]

    def sentence_of(self, token: Token) -> Span:
        return self._sentences[self.sentence_index[token.i]]

    # ------------------------------------------------------------ names and phrases

    def entity_arg(self, ent: Span) -> Arg | None:
        if ent.label_ in NUMERIC_ENTS:
            return None
        text = strip_article(ent.text.strip())
        if text.endswith(("'s", "’s")):
            text = text[:-2]
        root = ent.root
        if root.pos_ == "PROPN":
            phrase = self.noun_phrase(root)  # NER sometimes stops short: "Halloran" of "Halloran Vose"
            if len(phrase) > len(text) and text in phrase and all(
                t.pos_ == "PROPN" for t in self.doc[root.i - len(phrase.split()) + 1 : root.i + 1]
            ):
                text = phrase
        kind = plausible_type(text, ent.label_)
        if kind == "PERSON" and " " not in text:
            # a bare surname or first name stands for the full name used elsewhere in the passage
            for full in self.full_person_names:
                parts = full.split()
                if len(parts) > 1 and text in (parts[-1], parts[0]):
                    return Arg(full, "PERSON")
        return Arg(text, kind) if text else None

    def noun_phrase(self, token: Token) -> str:
        keep = {token.i}
        stack = [token]
        while stack:
            for child in stack.pop().children:
                if child.dep_ in _NP_DEPS and child.i < token.i:
                    keep.add(child.i)
                    stack.append(child)
        # the contiguous span, so that inner hyphens stay ("peer-reviewed journal")
        return self.doc[min(keep) : token.i + 1].text.strip()

    # ------------------------------------------------------------ resolution

    def arg(self, token: Token) -> Arg | None:
        lower = token.lower_
        if token.pos_ == "PRON" or token.tag_ in ("WDT", "WP", "WP$"):
            return self._pronoun(token, lower)
        ent = self.ent_of.get(token.i)
        if ent is not None and token.pos_ in ("PROPN", "NUM", "NOUN", "X", "ADJ"):
            return self.entity_arg(ent)
        if token.pos_ not in ("NOUN", "PROPN", "NUM"):
            return None
        named_appos = next((c for c in token.children if c.dep_ == "appos" and c.i in self.ent_of), None)
        if token.pos_ == "NOUN" and named_appos is not None:
            return self.arg(named_appos)  # "his daughter, Ilse Brandt, founded ..." is about Ilse Brandt
        phrase = self.noun_phrase(token)
        modifiers = [c for c in token.children if c.dep_ in ("compound", "amod", "nmod", "prep", "relcl")]
        if token.pos_ == "NOUN" and not modifiers and any(c.dep_ == "det" for c in token.children):
            generic = self._generic(token)
            if generic is not None:
                return generic
        if token.pos_ == "NOUN" and not modifiers and any(c.dep_ == "poss" for c in token.children):
            return None  # "her sister": an unnamed relative, no entity to store
        return Arg(phrase, "CONCEPT" if token.pos_ == "NOUN" else "THING") if phrase else None

    def _pronoun(self, token: Token, lower: str) -> Arg | None:
        ctx = self.context
        if lower in FIRST_PERSON:
            return Arg(ctx.speaker, "PERSON", True) if ctx.speaker else None
        if lower in SECOND_PERSON:
            return Arg(ctx.listeners[0], "PERSON", True) if len(ctx.listeners) == 1 else None
        if lower in RELATIVE:
            clause = token.head  # the verb of the relative clause; its head is the noun referred to
            if clause.dep_ not in ("relcl", "acl") or clause.head.i == token.i:
                return None
            noun = clause.head
            if noun.dep_ == "attr" and noun.pos_ == "NOUN":
                # "X is a footballer who plays for Y": the clause is about X
                subject = next((c for c in noun.head.children if c.dep_ in ("nsubj", "nsubjpass")), None)
                if subject is not None:
                    return self.arg(subject)
            return self.arg(noun)
        if lower in PERSON_PRONOUNS:
            return self._antecedent(token, person=True)
        if lower in NEUTER_PRONOUNS:
            return self._antecedent(token, person=False)
        if lower in PLURAL_PRONOUNS and ctx.topic:
            return Arg(ctx.topic, ctx.topic_type or "THING", True)
        return None

    def _compatible(self, arg: Arg, person: bool) -> bool:
        if arg.type in ("DATE", "TIME", "CONCEPT"):
            return False
        if person and arg.text in (self.context.speaker, *self.context.listeners):
            return False  # in dialogue, "he" and "she" are never the two people talking
        return (arg.type == "PERSON") == person or arg.type == "THING"

    def _antecedent(self, token: Token, person: bool) -> Arg | None:
        index = self.sentence_index[token.i]
        sentence = self._sentences[index]
        # 1. a name earlier in the same sentence, 2. the subject of the previous sentence
        for ent in reversed([e for e in self.doc.ents if sentence.start <= e.start and e.end <= token.i]):
            arg = self.entity_arg(ent)
            if arg and self._compatible(arg, person):
                return Arg(arg.text, arg.type, True)
        if index > 0:
            previous = self.sentence_subjects.get(self._sentences[index - 1].start)
            if previous and self._compatible(previous, person):
                return Arg(previous.text, previous.type, True)
        # 3. the topic, 4. the nearest earlier name of the passage
        ctx = self.context
        if ctx.topic and (ctx.topic_type is None or (ctx.topic_type == "PERSON") == person):
            return Arg(ctx.topic, ctx.topic_type or ("PERSON" if person else "THING"), True)
        for ent in reversed([e for e in self.doc.ents if e.end <= token.i]):
            arg = self.entity_arg(ent)
            if arg and self._compatible(arg, person):
                return Arg(arg.text, arg.type, True)
        # in a titled article, a pronoun with no better antecedent is about the topic, whatever NER said
        return Arg(ctx.topic, ctx.topic_type or "THING", True) if ctx.topic else None

    def _generic(self, token: Token) -> Arg | None:
        """ "the institute" → a name containing "institute", else a name of a fitting type, else the topic."""
        lemma = token.lemma_.lower()
        named = [a for e in self.doc.ents if e.end <= token.i and (a := self.entity_arg(e))]
        ctx = self.context
        topic = Arg(ctx.topic, plausible_type(ctx.topic, ctx.topic_type or "THING"), True) if ctx.topic else None
        for arg in [*([topic] if topic else []), *reversed(named)]:
            if lemma in _singular_words(arg.text) or token.lower_ in _singular_words(arg.text):
                return Arg(arg.text, arg.type, True)
        types = GENERIC_NOUNS.get(lemma)
        if types is None:
            return None
        if topic is not None and topic.type in (*types, "THING"):
            return topic
        for arg in reversed(named):
            if arg.type in types:
                return Arg(arg.text, arg.type, True)
        if topic is not None and topic.type != "PERSON":
            return topic
        return None
