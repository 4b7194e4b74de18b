"""Relation rules over a dependency parse: triples and hyperedges from one parsed passage.

Pure: a spaCy ``Doc`` and its ``PassageContext`` in, a ``PassageExtraction`` out. The
patterns, and the predicate each one yields, are listed in CONVENTIONS.md.
"""

from __future__ import annotations

from datetime import datetime

from spacy.tokens import Doc, Token

from graphmem.extract.arguments import Arg, PassageContext, Resolver
from graphmem.extract.dates import normalise_date
from graphmem.extract.types import EntitySpan, NaryRelation, PassageExtraction, Role, Triple

SUBJECT_DEPS = {"nsubj", "nsubjpass", "csubj"}
COPULAS = {"be", "become", "remain"}
DATE_TYPES = {"DATE", "TIME"}
TIME_PREPS = {"in", "on", "since", "from", "until", "till", "by", "during", "after", "before"}
NEGATIONS = {"not", "n't", "never", "no"}


def _conjuncts(token: Token) -> list[Token]:
    return [token, *[t for t in token.conjuncts if t.i > token.i]]


def _snake(*parts: str) -> str:
    return "_".join(p.lower().replace(" ", "_").replace("-", "_") for p in parts if p)


class ClauseReader:
    """Reads the clauses of one passage; collects triples, hyperedges and the entities they use."""

    def __init__(self, doc: Doc, context: PassageContext) -> None:
        self.doc = doc
        self.context = context
        self.resolver = Resolver(doc, context)
        self.triples: list[Triple] = []
        self.hyperedges: list[NaryRelation] = []

    # -------------------------------------------------------------- helpers

    def _args(self, token: Token) -> list[Arg]:
        return [a for t in _conjuncts(token) if (a := self.resolver.arg(t)) is not None]

    def _subjects(self, verb: Token) -> list[Arg]:
        for child in verb.children:
            if child.dep_ in SUBJECT_DEPS:
                return self._args(child)
        if verb.dep_ in ("conj", "xcomp") and verb.head is not verb:
            return self._subjects(verb.head)  # "he returned ... and joined ..."
        if verb.dep_ in ("relcl", "acl"):
            head = self.resolver.arg(verb.head)
            return [head] if head else []
        return []

    def _date(self, token: Token) -> tuple[str, str] | None:
        ent = self.resolver.ent_of.get(token.i)
        if ent is None or ent.label_ not in DATE_TYPES:
            return None
        anchor = self.context.anchor_date
        return normalise_date(ent.text, anchor if isinstance(anchor, datetime) else None)

    def _passive(self, verb: Token) -> bool:
        if any(c.dep_ == "auxpass" for c in verb.children) or (verb.dep_ == "acl" and verb.tag_ == "VBN"):
            return True
        # "was taken over by X and later sold to Y": the second participle shares the passive
        own_subject = any(c.dep_ in SUBJECT_DEPS for c in verb.children)
        return verb.dep_ == "conj" and verb.tag_ == "VBN" and not own_subject and self._passive(verb.head)

    def _negated(self, verb: Token) -> bool:
        for child in verb.children:
            if child.dep_ == "neg" or (child.dep_ == "advmod" and child.lower_ in NEGATIONS):
                return True
            if child.dep_ == "advmod" and any(g.dep_ == "neg" for g in child.children):
                return True  # "no longer"
        return False

    def _add(self, subject: Arg, predicate: str, obj: Arg, sentence: str, when: tuple[str, str] | None,
             negated: bool) -> None:  # fmt: skip
        if subject.text.lower() == obj.text.lower() or not predicate:
            return
        self.triples.append(Triple(
            subject=subject.text, predicate=("not_" if negated else "") + predicate, object=obj.text,
            subject_type=subject.type, object_type=obj.type, sentence=sentence,
            date=when[0] if when else None, date_precision=when[1] if when else None, negated=negated,
            confidence=0.8 if (subject.resolved or obj.resolved) else 1.0,
        ))  # fmt: skip

    # -------------------------------------------------------------- clauses

    def clause(self, verb: Token) -> None:
        sentence = self.resolver.sentence_text[self.resolver.sentence_index[verb.i]]
        subjects = self._subjects(verb)
        passive = self._passive(verb)
        negated = self._negated(verb)
        particle = next((c.lower_ for c in verb.children if c.dep_ == "prt"), "")
        lemma = verb.lemma_.lower()
        predicate = _snake(lemma, particle)
        objects: list[Arg] = []
        agents: list[Arg] = []
        preps: list[tuple[str, Arg, Token]] = []
        when: tuple[str, str] | None = None
        for child in verb.children:
            if child.dep_ in ("dobj", "obj"):
                objects += self._args(child)
            elif child.dep_ == "agent":
                agents += [a for p in child.children if p.dep_ == "pobj" for a in self._args(p)]
            elif child.dep_ == "prep":
                for pobj in (p for p in child.children if p.dep_ == "pobj"):
                    date = self._date(pobj)
                    if date and child.lower_ in TIME_PREPS:
                        when = when or date
                        if child.i < verb.i:
                            continue  # "In 2012 he returned": a time adverbial, not the relation's object
                    preps += [(child.lower_, a, pobj) for a in self._args(pobj)]
            elif child.dep_ in ("npadvmod", "advmod") and (date := self._date(child)):
                when = when or date
        if lemma in COPULAS and any(c.dep_ in ("attr", "acomp") for c in verb.children):
            self._copula(verb, subjects, sentence, when, negated)
            return
        if passive:
            for agent in agents:
                for patient in subjects:
                    self._add(agent, predicate, patient, sentence, when, negated)
            participle = _snake(verb.lower_, particle)
            for prep, obj, _ in preps:
                for subject in subjects:
                    self._add(subject, _snake(participle, prep), obj, sentence, when, negated)
        else:
            for subject in subjects:
                for obj in objects:
                    self._add(subject, predicate, obj, sentence, when, negated)
                for prep, obj, _ in preps:
                    self._add(subject, _snake(predicate, prep), obj, sentence, when, negated)
        self._hyperedge(
            _snake(verb.lower_, particle) if passive else predicate,
            subjects,
            agents,
            objects,
            preps,
            when,
            passive,
            sentence,
        )

    def _hyperedge(self, predicate: str, subjects: list[Arg], agents: list[Arg], objects: list[Arg],
                   preps: list[tuple[str, Arg, Token]], when: tuple[str, str] | None, passive: bool,
                   sentence: str) -> None:  # fmt: skip
        roles: list[Role] = []
        if passive:
            roles += [Role("agent", a.text, a.type) for a in agents]
            roles += [Role("patient", s.text, s.type) for s in subjects]
        else:
            roles += [Role("agent", s.text, s.type) for s in subjects]
            roles += [Role("patient", o.text, o.type) for o in objects]
        for prep, arg, _ in preps:
            roles.append(Role("time" if arg.type in DATE_TYPES else prep, arg.text, arg.type))
        unique = {r.text.lower() for r in roles}
        if len(unique) >= 3 and any(r.role in ("agent", "patient") for r in roles):
            self.hyperedges.append(NaryRelation(predicate, tuple(roles), sentence, when[0] if when else None))

    def _copula(self, verb: Token, subjects: list[Arg], sentence: str, when: tuple[str, str] | None,
                negated: bool) -> None:  # fmt: skip
        subject_token = next((c for c in verb.children if c.dep_ in SUBJECT_DEPS), None)
        for attr in (c for c in verb.children if c.dep_ == "attr"):
            for attr_token in _conjuncts(attr):
                self._relate_nouns(subject_token, subjects, attr_token, sentence, when, negated)

    def _relate_nouns(self, left: Token | None, left_args: list[Arg], noun: Token, sentence: str,
                      when: tuple[str, str] | None, negated: bool) -> None:  # fmt: skip
        """X is/, the <noun> ...: the relations an attribute or appositive noun states about X."""
        resolver = self.resolver
        noun_arg = resolver.arg(noun)
        named = noun.i in resolver.ent_of or noun.pos_ == "PROPN"
        owner = next((c for c in noun.children if c.dep_ == "poss"), None)
        if left is not None and any(c.dep_ == "poss" for c in left.children) and named and noun_arg:
            # "His mother was Ilse Marrick": (X, mother, Ilse Marrick)
            holder = resolver.arg(next(c for c in left.children if c.dep_ == "poss"))
            if holder:
                self._add(holder, _snake(left.lemma_), noun_arg, sentence, when, negated)
            return
        if owner is not None and not named:
            # "Ilse is his daughter": (X, daughter, Ilse)
            holder = resolver.arg(owner)
            for arg in left_args:
                if holder:
                    self._add(holder, _snake(noun.lemma_), arg, sentence, when, negated)
            return
        if named:
            return  # "X is Y" between two names: an identity, not a relation
        preps = [(c, p) for c in noun.children if c.dep_ == "prep" for p in c.children if p.dep_ == "pobj"]
        for arg in left_args:
            if preps:
                for prep, pobj in preps:
                    for obj in self._args(pobj):
                        self._add(arg, _snake(noun.lemma_, prep.lower_), obj, sentence, when, negated)
            elif noun_arg and noun.pos_ == "NOUN":
                self._add(arg, "is_a", Arg(resolver.noun_phrase(noun), "CONCEPT"), sentence, when, negated)

    def appositive(self, appos: Token) -> None:
        head = appos.head
        sentence = self.resolver.sentence_text[self.resolver.sentence_index[appos.i]]
        resolver = self.resolver
        head_named = head.i in resolver.ent_of or head.pos_ == "PROPN"
        appos_named = appos.i in resolver.ent_of or appos.pos_ == "PROPN"
        if head_named and not appos_named:
            head_arg = resolver.entity_arg(resolver.ent_of[head.i]) if head.i in resolver.ent_of else None
            head_arg = head_arg or resolver.arg(head)
            if head_arg:
                self._relate_nouns(None, [head_arg], appos, sentence, None, False)
        elif appos_named and not head_named:
            appos_arg = resolver.arg(appos)
            if appos_arg is None:
                return
            if any(c.dep_ == "poss" for c in head.children):
                # "Lovatt's daughter, Ines": (Lovatt, daughter, Ines)
                self._relate_nouns(head, [appos_arg], appos, sentence, None, False)
            else:
                # "the founder of Tidewater Labs, Mara Voss": (Mara Voss, founder_of, Tidewater Labs)
                self._relate_nouns(None, [appos_arg], head, sentence, None, False)

    # -------------------------------------------------------------- passage

    def read(self) -> None:
        for sentence in self.doc.sents:
            root = sentence.root
            subjects = self._subjects(root)
            for token in sentence:
                if token.pos_ in ("VERB", "AUX") and token.dep_ not in ("aux", "auxpass"):
                    self.clause(token)
                elif token.dep_ == "appos":
                    self.appositive(token)
            if subjects:
                self.resolver.sentence_subjects[sentence.start] = subjects[0]


def extract_passage(passage_id: str, doc: Doc, context: PassageContext) -> PassageExtraction:
    reader = ClauseReader(doc, context)
    reader.read()
    entities: dict[str, EntitySpan] = {}
    for ent in doc.ents:
        arg = reader.resolver.entity_arg(ent)
        if arg:
            entities.setdefault(arg.text.lower(), EntitySpan(arg.text, arg.type, ent.start_char, ent.end_char))
    for triple in reader.triples:
        entities.setdefault(triple.subject.lower(), EntitySpan(triple.subject, triple.subject_type))
        entities.setdefault(triple.object.lower(), EntitySpan(triple.object, triple.object_type))
    for relation in reader.hyperedges:
        for role in relation.roles:
            entities.setdefault(role.text.lower(), EntitySpan(role.text, role.type))
    for name, kind in ((context.topic, context.topic_type), (context.speaker, "PERSON")):
        if name:
            entities.setdefault(name.lower(), EntitySpan(name, kind or "THING"))
    unique_triples = list(dict.fromkeys(reader.triples))
    return PassageExtraction(passage_id, list(entities.values()), unique_triples, reader.hyperedges)
