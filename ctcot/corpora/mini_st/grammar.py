"""The mini corpus's grammar: phrases and clauses, their English and German realisations, and
the difficulty levels that sample them.

A sentence is built once, independent of word order (``Clause``, ``Sentence``), and realised
twice: English (do-support, inversion in questions) and German (case and gender agreement,
adjective declension, verb second, verb-final subordinate clauses, the verb bracket of the
perfect and of separable verbs, ``kein``/``nicht`` negation, contractions such as ``im``).
A ``Level`` chooses the lexicon and the constructions; ``generate_pairs`` draws distinct pairs.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Sequence, Tuple

from ctcot import InputError
from ctcot.corpora.mini_st.lexicon import (
    ADJECTIVES,
    ANIMATE,
    ANYTHING,
    CONJUNCTIONS,
    DETERMINERS,
    MANNER_ADVERBS,
    MODALS,
    NAMES,
    NOUNS,
    NUMBERS,
    PREPOSITIONS,
    SAYING_VERBS,
    TIME_ADVERBS,
    VERBS,
    WH_WORDS,
    Adjective,
    Noun,
    TimeAdverb,
    Verb,
    kind_set,
)
from ctcot.corpora.normalize import remove_punctuation

__all__ = [
    "NounPhrase", "PrepPhrase", "Clause", "Sentence", "Level", "LEVELS", "DEFAULT_LEVEL",
    "SentencePair", "sample_sentence", "generate_pairs",
]

# Preposition + definite article, contracted as German always does in unstressed use.
_CONTRACTIONS = {("in", "dem"): "im", ("zu", "dem"): "zum", ("zu", "der"): "zur"}

# German endings, columns masculine, feminine, neuter, plural.
_DEFINITE = {"nom": ("der", "die", "das", "die"), "acc": ("den", "die", "das", "die"),
             "dat": ("dem", "der", "dem", "den")}
_DER_ENDINGS = {"nom": ("er", "e", "es", "e"), "acc": ("en", "e", "es", "e"),
                "dat": ("em", "er", "em", "en")}
_EIN_ENDINGS = {"nom": ("", "e", "", "e"), "acc": ("en", "e", "", "e"), "dat": ("em", "er", "em", "en")}
_WEAK = {"nom": ("e", "e", "e", "en"), "acc": ("en", "e", "e", "en"), "dat": ("en", "en", "en", "en")}
_MIXED = {"nom": ("er", "e", "es", "en"), "acc": ("en", "e", "es", "en"), "dat": ("en", "en", "en", "en")}
_STRONG_PLURAL = {"nom": "e", "acc": "e", "dat": "en"}

_SEIN = {"present": ("ist", "sind"), "past": ("war", "waren"), "future": ("ist", "sind")}
_BE = {"present": ("is", "are"), "past": ("was", "were")}


@dataclass(frozen=True)
class NounPhrase:
    """A determiner, an optional adjective and a noun, or a proper name."""

    det: str = "the"
    noun: Optional[Noun] = None
    adj: Optional[Adjective] = None
    plural: bool = False
    name: str = ""

    def __post_init__(self):
        if self.name:
            return
        if self.noun is None:
            raise InputError("NounPhrase needs a noun or a name")
        if self.det not in DETERMINERS:
            raise InputError(f"unknown determiner {self.det!r}; choose from {sorted(DETERMINERS)}")
        det = DETERMINERS[self.det]
        if (self.plural and not det.en_pl and self.det != "bare") or (not self.plural and not det.en_sg):
            number = "plural" if self.plural else "singular"
            raise InputError(f"determiner {self.det!r} cannot go with a {number} noun")

    def english(self) -> str:
        if self.name:
            return self.name
        det = DETERMINERS[self.det]
        words = [det.en_pl if self.plural else det.en_sg]
        if self.adj:
            words.append(self.adj.en)
        words.append(self.noun.en_pl if self.plural else self.noun.en)
        if words[0] == "a" and words[1][0] in "aeiou":  # the lexicon has no "a uniform"/"an hour"
            words[0] = "an"
        return " ".join(w for w in words if w)

    def german(self, case: str) -> str:
        """The German noun phrase in ``case`` ("nom", "acc" or "dat")."""
        if self.name:
            return self.name
        det = DETERMINERS[self.det]
        column = 3 if self.plural else "mfn".index(self.noun.gender)
        if det.inflection == "definite":
            article, adj_ending = _DEFINITE[case][column], _WEAK[case][column]
        elif det.inflection == "der":
            article, adj_ending = det.de + _DER_ENDINGS[case][column], _WEAK[case][column]
        elif det.inflection == "ein":
            article, adj_ending = det.de + _EIN_ENDINGS[case][column], _MIXED[case][column]
        elif det.inflection == "strong":
            article, adj_ending = det.de + _STRONG_PLURAL[case], _STRONG_PLURAL[case]
        else:
            article, adj_ending = det.de, _STRONG_PLURAL[case]
        words = [article, self.adj.de_stem + adj_ending if self.adj else "",
                 self.noun.german(case, self.plural)]
        return " ".join(w for w in words if w)


@dataclass(frozen=True)
class PrepPhrase:
    """A preposition (key of ``PREPOSITIONS``) and its noun phrase."""

    prep: str
    np: NounPhrase

    def english(self) -> str:
        return f"{PREPOSITIONS[self.prep].en} {self.np.english()}"

    def german(self) -> str:
        prep = PREPOSITIONS[self.prep]
        np = self.np.german(prep.case)
        if self.np.det == "the" and not self.np.name:
            article, rest = np.split(" ", 1)
            if (prep.de, article) in _CONTRACTIONS:
                return f"{_CONTRACTIONS[prep.de, article]} {rest}"
        return f"{prep.de} {np}"


@dataclass(frozen=True)
class Clause:
    """One clause, independent of word order.

    Attributes:
        subject: the subject; None where "who" asks for it.
        verb: the verb; None for the copula "be" with ``adjective`` and/or ``pp`` as predicate.
        tense: "present", "past" (German perfect) or "future" (German present).
        obj: direct object; None where "what"/"who" asks for it.
        iobj: indirect (dative) object.
        pp: a prepositional phrase (place, goal, company, beneficiary).
        manner: key of ``MANNER_ADVERBS`` or "".
        time: a time adverbial.
        adjective: predicative adjective of the copula.
        modal: key of ``MODALS`` or "".
        negated: the clause is negated (German "kein" on an indefinite object, else "nicht").
    """

    subject: Optional[NounPhrase]
    verb: Optional[Verb] = None
    tense: str = "present"
    obj: Optional[NounPhrase] = None
    iobj: Optional[NounPhrase] = None
    pp: Optional[PrepPhrase] = None
    manner: str = ""
    time: Optional[TimeAdverb] = None
    adjective: Optional[Adjective] = None
    modal: str = ""
    negated: bool = False

    @property
    def plural(self) -> bool:
        return self.subject is not None and self.subject.plural


def _english_verbs(c: Clause, operator: bool) -> List[str]:
    """The English verb group; with ``operator`` its first word is an auxiliary (do-support)."""
    neg = ["not"] if c.negated else []
    if c.verb is None:
        if c.tense == "future":
            return ["will", *neg, "be"]
        return [_BE[c.tense][c.plural], *neg]

    def lexical(base: str, third: str, past: str) -> List[str]:
        if c.tense == "future":
            return ["will", *neg, base]
        if c.tense == "past":
            return ["did", *neg, base] if operator else [past]
        if operator:
            return ["do" if c.plural else "does", *neg, base]
        return [base if c.plural else third]

    particle = [c.verb.en_particle] if c.verb.en_particle else []
    if c.modal:
        modal = MODALS[c.modal]
        if modal.en_to:
            return [*lexical(modal.en, modal.en_3sg, ""), "to", c.verb.en, *particle]
        return ["cannot" if c.negated else modal.en, c.verb.en, *particle]
    return [*lexical(c.verb.en, c.verb.en_3sg, c.verb.en_past), *particle]


def _english_clause(c: Clause, question: str = "", front_time: bool = False) -> str:
    """English clause, declarative unless ``question`` ("yes_no" or a key of ``WH_WORDS``)."""
    inverted = bool(question) and question != "who_subject"
    verbs = _english_verbs(c, operator=inverted or c.negated)
    subject = c.subject.english() if c.subject else WH_WORDS["who_subject"][0]
    words = []
    if inverted and question != "yes_no":
        words.append(WH_WORDS[question][0])
    if c.time and front_time:
        words.append(c.time.en + ",")
    if inverted:
        words += [verbs[0], subject, *verbs[1:]]
    else:
        words += [subject, *verbs]
    if c.adjective:
        words.append(c.adjective.en)
    for np in (c.iobj, c.obj):
        if np:
            words.append(np.english())
    if c.manner:
        words.append(MANNER_ADVERBS[c.manner].en)
    if c.pp:
        words.append(c.pp.english())
    if c.time and not front_time:
        words.append(c.time.en)
    return " ".join(words)


def _german_clause(c: Clause, order: str, vorfeld: str = "", time_in_vorfeld: bool = False) -> str:
    """German clause in ``order``: "v2" (``vorfeld`` or else the subject, finite verb, rest),
    "v1" (finite verb first: questions, main clause after a fronted clause) or "final"
    (subordinate clause: verbs last, finite verb at the very end)."""
    joined = ""  # present tense of a separable verb, as it stands in a subordinate clause
    if c.verb is None:
        finite, right = _SEIN[c.tense][c.plural], [c.adjective.de] if c.adjective else []
    elif c.modal:
        modal = MODALS[c.modal]
        finite, right = modal.de_3pl if c.plural else modal.de_3sg, [c.verb.de_infinitive]
    elif c.tense == "past":
        aux = {"haben": ("hat", "haben"), "sein": ("ist", "sind")}[c.verb.aux]
        finite, right = aux[c.plural], [c.verb.de_participle]
    else:
        finite = c.verb.de_3pl if c.plural else c.verb.de_3sg
        right = [c.verb.de_particle] if c.verb.de_particle else []
        joined = c.verb.de_particle + finite

    obj, nicht = c.obj, c.negated
    if nicht and obj is not None and not obj.name and obj.det in ("a", "bare"):
        obj, nicht = NounPhrase("no", obj.noun, obj.adj, obj.plural), False  # "sieht keinen Hund"
    subject = c.subject.german("nom") if c.subject else ""
    in_vorfeld = order == "v2" and not vorfeld
    middle = [
        subject if not in_vorfeld else "",
        c.time.de if c.time and not time_in_vorfeld else "",
        c.iobj.german("dat") if c.iobj else "",
        obj.german(c.verb.obj_case) if obj else "",
        "nicht" if nicht else "",
        MANNER_ADVERBS[c.manner].de if c.manner else "",
        c.pp.german() if c.pp else "",
    ]
    if order == "final":
        words = [*middle, joined] if joined else [*middle, *right, finite]
    elif order == "v1":
        words = [finite, *middle, *right]
    else:
        words = [vorfeld or subject, finite, *middle, *right]
    return " ".join(w for w in words if w)


@dataclass(frozen=True)
class Sentence:
    """A main clause, possibly a question or with a fronted time adverb, possibly joined to a
    second clause by a conjunction (placed before the main clause if ``other_first``)."""

    clause: Clause
    question: str = ""
    front_time: bool = False
    conjunction: str = ""
    other: Optional[Clause] = None
    other_first: bool = False

    def __post_init__(self):
        if self.question and self.question not in WH_WORDS and self.question != "yes_no":
            raise InputError(f"unknown question {self.question!r}")
        if self.conjunction and self.conjunction not in CONJUNCTIONS:
            raise InputError(f"unknown conjunction {self.conjunction!r}")
        if bool(self.conjunction) != (self.other is not None):
            raise InputError("a conjunction needs the other clause, and vice versa")
        if self.front_time and self.clause.time is None:
            raise InputError("front_time needs a clause with a time adverb")
        if self.other_first and self.conjunction not in ("because", "when", "while", "although"):
            raise InputError(f"a clause with {self.conjunction or 'no conjunction'!r} cannot come first")

    def english(self) -> str:
        text = _english_clause(self.clause, self.question, self.front_time)
        if self.conjunction:
            conj = CONJUNCTIONS[self.conjunction]
            other = f"{conj.en} {_english_clause(self.other)}"
            if self.other_first:
                text = f"{other}, {text}"
            else:
                text = f"{text}{',' if conj.en_comma else ''} {other}"
        return text[0].upper() + text[1:] + ("?" if self.question else ".")

    def german(self) -> str:
        c = self.clause
        if self.conjunction and self.other_first:
            main = _german_clause(c, "v1")
        elif self.question == "yes_no":
            main = _german_clause(c, "v1")
        elif self.question:
            main = _german_clause(c, "v2", WH_WORDS[self.question][1])
        else:
            vorfeld = c.time.de if self.front_time else ""
            main = _german_clause(c, "v2", vorfeld, time_in_vorfeld=self.front_time)
        text = main
        if self.conjunction:
            conj = CONJUNCTIONS[self.conjunction]
            other = _german_clause(self.other, "final" if conj.subordinating else "v2")
            other = f"{conj.de} {other}"
            if self.other_first:
                text = f"{other}, {main}"
            else:
                text = f"{main}{',' if conj.de_comma else ''} {other}"
        return text[0].upper() + text[1:] + ("?" if self.question else ".")


# --------------------------------------------------------------------------------------------
# Difficulty levels
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    """A difficulty level: the part of the lexicon and the constructions the sampler draws from.

    Attributes:
        name, description: how the level is called and what it is for.
        nouns, adjectives, verbs, saying_verbs, names, time_adverbs, modals: the lexicon it uses
            (entries of ``lexicon``; ``modals`` and the verbs' manner adverbs are keys).
        forms: relative weights of the sentence forms: "statement", "fronted" (time adverb
            first: German verb second), "yes_no", "wh", "subordinate" / "subordinate_first"
            (a clause with one of ``conjunctions``, German verb final), "that" (a saying verb
            and a "dass" clause), "coordinate" (and / but).
        conjunctions: subordinating conjunctions of the "subordinate" forms.
        tenses: relative weights of "present", "past" (German perfect) and "future" in
            statements, fronted sentences and yes/no questions (other forms: present and past).
        singular_dets, plural_dets: relative weights of the determiners (keys of ``DETERMINERS``).
        plural, adjective, names_rate: chance that a noun phrase is plural, has an adjective, is
            a name.
        negation, modal, copula, pp, manner: chance that a clause is negated, has a modal verb,
            is a copula ("is tired"), has a prepositional phrase, a manner adverb.
        min_words, max_words: English words per sentence.
    """

    name: str
    description: str
    nouns: Tuple[Noun, ...]
    adjectives: Tuple[Adjective, ...]
    verbs: Tuple[Verb, ...]
    saying_verbs: Tuple[Verb, ...]
    names: Tuple[str, ...]
    time_adverbs: Tuple[TimeAdverb, ...]
    modals: Tuple[str, ...]
    forms: Dict[str, float]
    conjunctions: Tuple[str, ...]
    tenses: Dict[str, float]
    singular_dets: Dict[str, float]
    plural_dets: Dict[str, float]
    plural: float
    adjective: float
    names_rate: float
    negation: float
    modal: float
    copula: float
    pp: float
    manner: float
    min_words: int
    max_words: int

    def vocabulary_size(self) -> Dict[str, int]:
        """Number of lexical entries per part of speech (an English word with its German forms)."""
        forms = {form for form, weight in self.forms.items() if weight > 0}
        conjunctions = set(self.conjunctions) if forms & {"subordinate", "subordinate_first"} else set()
        conjunctions |= ({"that"} if "that" in forms else set()) | \
            ({"and", "but"} if "coordinate" in forms else set())
        manners = {m for v in self.verbs for m in v.manners} if self.manner > 0 else set()
        return {
            "nouns": len(self.nouns), "names": len(self.names), "adjectives": len(self.adjectives),
            "verbs": len(self.verbs) + len(self.saying_verbs) + len(self.modals),
            "adverbs": len(manners) + len(self.time_adverbs),
            "determiners": len({*self.singular_dets, *self.plural_dets} - {"bare"}),
            "conjunctions": len(conjunctions),
            "question words": len({WH_WORDS[k][0] for k in _WH_WEIGHTS}) if "wh" in forms else 0,
        }


def _pick(table: Dict[str, object], keys: str) -> Tuple:
    return tuple(table[k] for k in keys.split(","))


# Relative weights of the determiners; a determiner is possible with a number iff listed there.
_SINGULAR_DETS = {"the": 8.0, "a": 4.0, "this": 1.0, "my": 0.6, "his": 0.6, "her": 0.6,
                  "our": 0.4, "their": 0.4, "no": 0.6}
_PLURAL_DETS = {"the": 5.0, "bare": 2.0, "this": 1.0, "my": 0.4, "his": 0.4, "her": 0.4,
                "our": 0.3, "their": 0.3, "many": 0.7, "some": 0.7, "all": 0.5, "no": 0.5,
                **{pair.split()[0]: 0.15 for pair in NUMBERS}}
_WH_WEIGHTS = {"where": 2, "when": 1, "why": 2, "what": 3, "who_subject": 2, "who_acc": 1.5,
               "who_dat": 1}

LEVELS: Dict[str, Level] = {level.name: level for level in (
    Level(
        name="easy",
        description="the demo's level, learnable in minutes on 2 CPU cores: 3-8 words, "
                    "statements, fronted time adverbs, yes/no questions and 'because' clauses, "
                    "present and perfect tense, a small lexicon",
        nouns=_pick(NOUNS, "man,woman,boy,girl,child,teacher,friend,dog,cat,bird,horse,mouse,"
                           "ball,book,cup,box,key,hat,letter,table,door,car,apple,cake,banana,"
                           "house,garden,school"),
        adjectives=_pick(ADJECTIVES, "big,small,old,young,new,red,happy,tired"),
        verbs=_pick(VERBS, "sleep,run,play,sing,see,like,eat,buy,find,read,carry,open,pick up,"
                           "wake up,help,give"),
        saying_verbs=(),
        names=("Anna", "Tom", "Maria", "Ben"),
        time_adverbs=tuple(t for t in TIME_ADVERBS
                           if t.en in ("today", "now", "every day", "yesterday", "last week")),
        modals=(),
        forms={"statement": 55, "fronted": 20, "yes_no": 10, "subordinate": 40},  # most are too long
        conjunctions=("because",),
        tenses={"present": 5, "past": 4},
        singular_dets={"the": 8.0, "a": 4.0, "my": 1.0},
        plural_dets={"the": 5.0, "bare": 2.0, "my": 0.5},
        plural=0.25, adjective=0.25, names_rate=0.12, negation=0.15, modal=0.0, copula=0.1,
        pp=0.3, manner=0.0, min_words=3, max_words=8,
    ),
    Level(
        name="hard",
        description="the whole grammar, for GPUs: 3-15 words, questions, subordinate, 'that' "
                    "and coordinate clauses, modal verbs, three tenses, the whole lexicon",
        nouns=tuple(NOUNS.values()), adjectives=tuple(ADJECTIVES.values()),
        verbs=tuple(VERBS.values()), saying_verbs=tuple(SAYING_VERBS.values()), names=NAMES,
        time_adverbs=TIME_ADVERBS, modals=tuple(MODALS),
        forms={"statement": 30, "fronted": 15, "yes_no": 8, "wh": 10, "subordinate": 13,
               "subordinate_first": 8, "that": 8, "coordinate": 8},
        conjunctions=("because", "while", "although", "when"),
        tenses={"present": 5, "past": 4, "future": 2},
        singular_dets=_SINGULAR_DETS, plural_dets=_PLURAL_DETS,
        plural=0.3, adjective=0.3, names_rate=0.12, negation=0.2, modal=0.12, copula=0.15,
        pp=0.35, manner=0.2, min_words=3, max_words=15,
    ),
)}
DEFAULT_LEVEL = "easy"


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------

_ALL_DETS = frozenset(DETERMINERS)
# What a negated clause can put "nicht" after, or turn into "kein" ("a", "bare").
_NEGATABLE_DETS = frozenset("the a this my his her our their bare".split())
_LOCATION_DETS = frozenset("the a this my his her our their".split())


def _choose(rng: random.Random, weights: Dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _np_kinds(np: NounPhrase) -> FrozenSet[str]:
    return np.noun.kinds if np.noun else kind_set("person")


def _one_no(dets: FrozenSet[str], *taken: Optional[NounPhrase]) -> FrozenSet[str]:
    """``dets`` without "no" once a phrase has it: "no men catch a wolf", not "... no wolf"."""
    return dets - {"no"} if any(np is not None and np.det == "no" for np in taken) else dets


def _sample_np(rng: random.Random, level: Level, wanted: FrozenSet[str], used: set, *,
               dets: FrozenSet[str] = _ALL_DETS, plural: Optional[float] = None,
               names: Optional[float] = None, adjective: Optional[float] = None,
               nouns: Optional[Sequence[Noun]] = None) -> NounPhrase:
    """A noun phrase whose noun has one of the ``wanted`` kinds (from ``nouns`` if given, else
    the level's), with a determiner from ``dets``; its head is added to ``used`` and never
    taken from it. ``plural``, ``names``, ``adjective``: chances, the level's by default."""
    names = level.names_rate if names is None else names
    if "person" in wanted and rng.random() < names:
        name = rng.choice([n for n in level.names if n not in used])
        used.add(name)
        return NounPhrase(name=name)
    noun = rng.choice([n for n in (nouns or level.nouns) if n.kinds & wanted and n.en not in used])
    used.add(noun.en)
    is_plural = rng.random() < (level.plural if plural is None else plural)
    weights = level.plural_dets if is_plural else level.singular_dets
    adjectives = [a for a in level.adjectives if a.kinds & noun.kinds]
    has_adj = adjectives and rng.random() < (level.adjective if adjective is None else adjective)
    adj = rng.choice(adjectives) if has_adj else None
    return NounPhrase(_choose(rng, {d: w for d, w in weights.items() if d in dets}), noun, adj,
                      is_plural)


def _sample_pp(rng: random.Random, level: Level, kind: str, used: set,
               dets: FrozenSet[str]) -> PrepPhrase:
    """A prepositional phrase of ``kind`` ("loc", "goal", "with", "without", "for")."""
    if kind == "loc":
        np = _sample_np(rng, level, kind_set(ANYTHING), used, dets=dets & _LOCATION_DETS, plural=0.0,
                        names=0.0, adjective=0.2, nouns=[n for n in level.nouns if n.locations])
        return PrepPhrase(rng.choice(sorted(np.noun.locations)), np)
    if kind == "goal":
        goals = [n for n in level.nouns if n.locations or n.kinds & kind_set("place person animal")]
        np = _sample_np(rng, level, kind_set(ANYTHING), used, dets=dets & _LOCATION_DETS, plural=0.1,
                        adjective=0.2, nouns=goals)
        return PrepPhrase("to", np)
    wanted = kind_set("person" if kind == "for" else ANIMATE)
    return PrepPhrase(kind, _sample_np(rng, level, wanted, used, dets=dets - {"no"}, adjective=0.2))


def _sample_clause(rng: random.Random, level: Level, tense: str, *,
                   time: Optional[TimeAdverb] = None, negation: Optional[float] = None,
                   question: str = "", extras: float = 1.0) -> Clause:
    """A clause in ``tense``.

    ``question`` ("yes_no" or a key of ``WH_WORDS``) picks a verb that can be asked about
    and leaves the asked-for slot empty; ``extras`` scales the chance of the optional
    prepositional phrase and manner adverb (lower in two-clause sentences).
    """
    negation = level.negation if negation is None else negation
    negated = not question and rng.random() < negation
    # No double negation, no "Does no dog sleep?"
    dets = _ALL_DETS - {"no"} if negated or question else _ALL_DETS
    used: set = set()

    if question in ("", "yes_no", "where", "why", "who_subject") and rng.random() < level.copula:
        # The copula: "the dog is (not) tired", "the cat was under the table".
        if question == "where" or rng.random() < 0.4:
            subject = _sample_np(rng, level, kind_set("person animal portable"), used, dets=dets)
            pp = None if question == "where" else _sample_pp(rng, level, "loc", used, dets)
            adjective = None
        else:
            wanted = kind_set("person" if question == "who_subject" else ANYTHING)
            subject = _sample_np(rng, level, wanted, used, dets=dets, adjective=0.15)
            adjective = rng.choice([a for a in level.adjectives
                                    if a.kinds & _np_kinds(subject) and a != subject.adj])
            pp = None
        subject = None if question == "who_subject" else subject
        return Clause(subject, None, tense, pp=pp, adjective=adjective, time=time, negated=negated)

    verbs = list(level.verbs)
    if question == "where":
        verbs = [v for v in verbs if "loc" in v.pps]
    elif question == "what":
        verbs = [v for v in verbs if v.obj_case == "acc" and v.obj - kind_set("person")]
    elif question in ("who_acc", "who_dat"):
        case = question[len("who_"):]
        verbs = [v for v in verbs if v.obj_case == case and "person" in v.obj and not v.iobj]
    elif question == "who_subject":
        verbs = [v for v in verbs if "person" in v.subject]
    verb = rng.choice(verbs)

    subject = _sample_np(rng, level, verb.subject, used, dets=dets)
    subject = None if question == "who_subject" else subject
    iobj = obj = None
    if verb.iobj:
        iobj = _sample_np(rng, level, verb.iobj, used, dets=_one_no(dets, subject), adjective=0.15)
    if verb.obj and question not in ("what", "who_acc", "who_dat"):
        obj_dets = dets & _NEGATABLE_DETS if negated else _one_no(dets, subject, iobj)
        obj = _sample_np(rng, level, verb.obj, used, dets=obj_dets)
    pps = [k for k in verb.pps if not (question == "where" and k == "loc")]
    pp = None
    if pps and rng.random() < level.pp * extras:
        pp = _sample_pp(rng, level, rng.choice(pps), used, dets)
    manner = rng.choice(verb.manners) if verb.manners and rng.random() < level.manner * extras else ""
    modal = ""
    if tense == "present" and level.modals and rng.random() < level.modal:
        # "must not" means "darf nicht", and "Must the dog ...?" is stilted: leave those out.
        modal = rng.choice([k for k in level.modals if k != "must" or not (negated or question)])
    return Clause(subject, verb, tense, obj, iobj, pp, manner, time, None, modal, negated)


def sample_sentence(rng: random.Random, level: Level = LEVELS[DEFAULT_LEVEL]) -> Sentence:
    """Draw one sentence of ``level`` (its length is checked by ``generate_pairs``)."""
    form = _choose(rng, level.forms)
    if form in ("statement", "fronted", "yes_no"):
        tense = _choose(rng, level.tenses)
        time = None
        if tense == "future" or form == "fronted" or rng.random() < 0.2:  # future needs its adverb
            time = rng.choice([t for t in level.time_adverbs if t.tense == tense])
        question = "yes_no" if form == "yes_no" else ""
        clause = _sample_clause(rng, level, tense, time=time, question=question,
                                negation=level.negation * 1.25)
        return Sentence(clause, question=question, front_time=form == "fronted")
    tense = _choose(rng, {t: w for t, w in level.tenses.items() if t != "future"})
    if form == "wh":
        question = _choose(rng, _WH_WEIGHTS)
        return Sentence(_sample_clause(rng, level, tense, question=question), question=question)
    if form == "that":
        verb = rng.choice(level.saying_verbs)
        negated = rng.random() < 0.15
        subject = _sample_np(rng, level, verb.subject, set(), adjective=0.15,
                             dets=_ALL_DETS - {"no"} if negated else _ALL_DETS)
        main = Clause(subject, verb, tense, negated=negated)
        return Sentence(main, conjunction="that",
                        other=_sample_clause(rng, level, tense, extras=0.5))
    if form == "coordinate":
        conjunction = rng.choice(["and", "but"])
    else:
        conjunction = rng.choice([c for c in level.conjunctions if c != "when" or tense == "present"])
    main = _sample_clause(rng, level, tense, extras=0.5)
    other = _sample_clause(rng, level, tense, extras=0.5)
    return Sentence(main, conjunction=conjunction, other=other,
                    other_first=form == "subordinate_first")


class SentencePair(NamedTuple):
    """English true case with punctuation, English lower case without it, German true case."""

    en_tc: str
    en_lc_rm: str
    de_tc: str


def generate_pairs(num_pairs: int, seed: int, level: str = DEFAULT_LEVEL) -> List[SentencePair]:
    """``num_pairs`` distinct sentence pairs of ``level`` (a key of ``LEVELS``), each of the
    level's ``min_words``–``max_words`` English words.

    Deterministic for a seed; a pair whose English (lower-cased) or German text was already
    drawn is skipped, so no source or target sentence occurs twice.
    """
    if num_pairs < 0:
        raise InputError(f"num_pairs must be >= 0, got {num_pairs}")
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}; choose from {sorted(LEVELS)}")
    grammar = LEVELS[level]
    rng = random.Random(seed)
    pairs: List[SentencePair] = []
    seen_en, seen_de = set(), set()
    for _ in range(100 * num_pairs + 1000):
        if len(pairs) == num_pairs:
            return pairs
        sentence = sample_sentence(rng, grammar)
        en, de = sentence.english(), sentence.german()
        en_lc = remove_punctuation(en.lower())  # the lc.rm of every corpus (ctcot.corpora.normalize)
        if (not grammar.min_words <= len(en_lc.split()) <= grammar.max_words
                or en_lc in seen_en or de in seen_de):
            continue
        seen_en.add(en_lc)
        seen_de.add(de)
        pairs.append(SentencePair(en, en_lc, de))
    if len(pairs) < num_pairs:
        raise InputError(f"level {level!r} gave only {len(pairs)} distinct sentences of {num_pairs}")
    return pairs

