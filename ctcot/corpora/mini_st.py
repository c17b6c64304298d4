"""mini_st: a small, synthetic English→German speech-translation corpus, built offline.

The text comes from a grammar embedded below: a few hundred words, each with its German
gender, plural, case forms or conjugation, and sentence patterns whose German translation is
exact and not word for word: gender and case agreement (``den großen Hund``, ``einem Kind``,
weak nouns such as ``den Jungen``), adjective declension, verb second after a fronted adverb
or clause, verb final after ``weil`` / ``dass`` / ``obwohl``, the verb bracket (perfect tense,
modal verbs, separable verbs such as ``macht … auf``), ``nicht`` / ``kein`` negation, questions,
and preposition–article contractions (``im``, ``zum``, ``zur``). The speech is the English side
read by espeak-ng with several accents, voice variants, speeds and pitches (one "speaker" each),
resampled to 16 kHz mono 16-bit PCM. The test speakers never occur in train or dev, and no
sentence occurs in two splits. Everything is deterministic given ``--seed``.

A sample record (``default`` size, seed 0)::

    text.tc.en     spk10-002879 Last year, no father thanked the young police officer.
    text.lc.rm.en  spk10-002879 last year no father thanked the young police officer
    text.tc.de     spk10-002879 Letztes Jahr hat kein Vater dem jungen Polizisten gedankt.

Output: ``<output_dir>/{train,dev,test}/`` with ``wav.scp``, ``utt2spk``, ``spk2utt``,
``text.tc.en``, ``text.lc.rm.en`` and ``text.tc.de``, each sorted by utterance id (C locale);
utterance ids start with the speaker id. The audio goes to ``--wav_dir``; a wav that is
already there and valid is not synthesised again.

Requires the ``espeak-ng`` program (Debian/Ubuntu: ``apt-get install espeak-ng``).

Usage:
    python -m ctcot.corpora.mini_st --output_dir data --size tiny --seed 0 --nj 2
"""
from __future__ import annotations

import argparse
import hashlib
import io
import logging
import math
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import soundfile
from scipy.signal import resample_poly
from tqdm import tqdm

__all__ = [
    "Noun", "Adjective", "Verb", "Adverb", "TimeAdverb", "Preposition", "Determiner", "Modal",
    "Conjunction", "NounPhrase", "PrepPhrase", "Clause", "Sentence", "SentencePair", "Speaker",
    "SplitSizes", "NOUNS", "ADJECTIVES", "VERBS", "SAYING_VERBS", "MANNER_ADVERBS", "TIME_ADVERBS",
    "PREPOSITIONS", "DETERMINERS", "MODALS", "CONJUNCTIONS", "WH_WORDS", "NAMES", "SPEAKERS",
    "TEST_SPEAKERS", "SIZES", "SAMPLE_RATE", "MIN_WORDS", "MAX_WORDS", "vocabulary_size",
    "sample_sentence", "generate_pairs", "lowercase_remove_punctuation", "synthesize",
    "prepare_mini_st", "get_parser", "main",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MIN_WORDS, MAX_WORDS = 3, 15  # English words per sentence


# --------------------------------------------------------------------------------------------
# Lexicon
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Noun:
    """A countable noun and its German forms.

    Attributes:
        en: English singular ("child").
        en_pl: English plural ("children").
        de: German nominative singular ("Kind").
        de_pl: German nominative plural ("Kinder"); the dative plural adds "-n" unless it
            already ends in "n" or "s".
        gender: German gender, "m", "f" or "n".
        kinds: semantic classes that verbs, adjectives and prepositions select on.
        locations: keys of ``PREPOSITIONS`` that can place something at this noun.
        de_oblique: accusative and dative singular of weak masculine nouns ("Jungen").
    """

    en: str
    en_pl: str
    de: str
    de_pl: str
    gender: str
    kinds: FrozenSet[str]
    locations: FrozenSet[str] = frozenset()
    de_oblique: str = ""

    def german(self, case: str, plural: bool) -> str:
        """The German form in ``case`` ("nom", "acc" or "dat")."""
        if plural:
            if case == "dat" and not self.de_pl.endswith(("n", "s")):
                return self.de_pl + "n"
            return self.de_pl
        return self.de_oblique if case != "nom" and self.de_oblique else self.de


@dataclass(frozen=True)
class Adjective:
    """An adjective: predicative German form, attributive stem, the noun kinds it fits."""

    en: str
    de: str
    de_stem: str
    kinds: FrozenSet[str]


@dataclass(frozen=True)
class Verb:
    """A verb with its English forms and German third-person forms.

    German infinitives equal the third-person plural for every verb here, so ``de_3pl``
    doubles as the infinitive (prefixed by ``de_particle`` for separable verbs).

    Attributes:
        en, en_3sg, en_past: English base form, 3rd person singular present, simple past.
        de_3sg, de_3pl: German present tense, without the separable particle.
        de_participle: German past participle, with the particle ("aufgemacht").
        aux: auxiliary of the German perfect, "haben" or "sein".
        subject: noun kinds allowed as subject.
        obj: noun kinds allowed as direct object; empty for intransitive verbs.
        obj_case: case of the direct object, "acc" or "dat" ("hilft dem Mann").
        iobj: noun kinds allowed as dative indirect object; non-empty for "give" etc.
        en_particle: English particle ("pick up").
        de_particle: German separable particle ("auf").
        pps: kinds of prepositional phrase the verb takes: "loc", "goal", "with", "without", "for".
        manners: keys of ``MANNER_ADVERBS`` that fit the verb.
    """

    en: str
    en_3sg: str
    en_past: str
    de_3sg: str
    de_3pl: str
    de_participle: str
    aux: str
    subject: FrozenSet[str]
    obj: FrozenSet[str] = frozenset()
    obj_case: str = "acc"
    iobj: FrozenSet[str] = frozenset()
    en_particle: str = ""
    de_particle: str = ""
    pps: Tuple[str, ...] = ()
    manners: Tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.en} {self.en_particle}".strip()

    @property
    def de_infinitive(self) -> str:
        return self.de_particle + self.de_3pl


class Adverb(NamedTuple):
    en: str
    de: str


class TimeAdverb(NamedTuple):
    """A time adverbial and the English tense it goes with ("future" → German present)."""

    en: str
    de: str
    tense: str


class Preposition(NamedTuple):
    en: str
    de: str
    case: str


class Determiner(NamedTuple):
    """A determiner and how it inflects in German.

    ``inflection`` is "definite" (der/die/das), "der" (stem + der-word endings: dieser, alle),
    "ein" (stem + ein-word endings: ein, kein, mein), "strong" (stem + strong plural endings:
    viele, einige) or "invariant" (numbers, bare plurals). Adjectives after "definite" and "der"
    are weak, after "ein" mixed, after the others strong.
    """

    en_sg: str
    en_pl: str
    de: str
    inflection: str


class Modal(NamedTuple):
    """A modal verb (present tense only). ``en_to``: English "wants to" (with do-support)."""

    en: str
    en_3sg: str
    de_3sg: str
    de_3pl: str
    en_to: bool
    negatable: bool


class Conjunction(NamedTuple):
    """``subordinating``: German verb-final clause; ``en_comma``/``de_comma``: comma before it."""

    en: str
    de: str
    subordinating: bool
    en_comma: bool
    de_comma: bool


def _kinds(text: str) -> FrozenSet[str]:
    return frozenset(text.split())


# Semantic classes. "portable" things can be carried, bought, given; "text" can be read.
_ANIMATE = "person animal"
_ANYTHING = "person animal thing food place"
# Where something can be: keys of PREPOSITIONS.
_BUILDING = "in behind next_to in_front_of"
_AREA = "in"
_FURNITURE = "on under behind next_to in_front_of"


def _noun(en: str, en_pl: str, de: str, de_pl: str, gender: str, kinds: str,
          locations: str = "", oblique: str = "") -> Noun:
    return Noun(en, en_pl, de, de_pl, gender, _kinds(kinds), _kinds(locations), oblique)


_NOUN_LIST = (
    # people
    _noun("man", "men", "Mann", "Männer", "m", "person"),
    _noun("woman", "women", "Frau", "Frauen", "f", "person"),
    _noun("boy", "boys", "Junge", "Jungen", "m", "person", oblique="Jungen"),
    _noun("girl", "girls", "Mädchen", "Mädchen", "n", "person"),
    _noun("child", "children", "Kind", "Kinder", "n", "person"),
    _noun("baby", "babies", "Baby", "Babys", "n", "person"),
    _noun("teacher", "teachers", "Lehrer", "Lehrer", "m", "person"),
    _noun("doctor", "doctors", "Arzt", "Ärzte", "m", "person"),
    _noun("student", "students", "Student", "Studenten", "m", "person", oblique="Studenten"),
    _noun("king", "kings", "König", "Könige", "m", "person"),
    _noun("queen", "queens", "Königin", "Königinnen", "f", "person"),
    _noun("farmer", "farmers", "Bauer", "Bauern", "m", "person", oblique="Bauern"),
    _noun("neighbor", "neighbors", "Nachbar", "Nachbarn", "m", "person", oblique="Nachbarn"),
    _noun("friend", "friends", "Freund", "Freunde", "m", "person"),
    _noun("brother", "brothers", "Bruder", "Brüder", "m", "person"),
    _noun("sister", "sisters", "Schwester", "Schwestern", "f", "person"),
    _noun("mother", "mothers", "Mutter", "Mütter", "f", "person"),
    _noun("father", "fathers", "Vater", "Väter", "m", "person"),
    _noun("grandmother", "grandmothers", "Großmutter", "Großmütter", "f", "person"),
    _noun("grandfather", "grandfathers", "Großvater", "Großväter", "m", "person"),
    _noun("police officer", "police officers", "Polizist", "Polizisten", "m", "person",
          oblique="Polizisten"),
    _noun("baker", "bakers", "Bäcker", "Bäcker", "m", "person"),
    _noun("singer", "singers", "Sänger", "Sänger", "m", "person"),
    # animals
    _noun("dog", "dogs", "Hund", "Hunde", "m", "animal"),
    _noun("cat", "cats", "Katze", "Katzen", "f", "animal"),
    _noun("bird", "birds", "Vogel", "Vögel", "m", "animal flyer"),
    _noun("horse", "horses", "Pferd", "Pferde", "n", "animal"),
    _noun("cow", "cows", "Kuh", "Kühe", "f", "animal"),
    _noun("mouse", "mice", "Maus", "Mäuse", "f", "animal"),
    _noun("rabbit", "rabbits", "Kaninchen", "Kaninchen", "n", "animal"),
    _noun("lion", "lions", "Löwe", "Löwen", "m", "animal", oblique="Löwen"),
    _noun("bear", "bears", "Bär", "Bären", "m", "animal", oblique="Bären"),
    _noun("monkey", "monkeys", "Affe", "Affen", "m", "animal", oblique="Affen"),
    _noun("elephant", "elephants", "Elefant", "Elefanten", "m", "animal", oblique="Elefanten"),
    _noun("duck", "ducks", "Ente", "Enten", "f", "animal flyer"),
    _noun("goat", "goats", "Ziege", "Ziegen", "f", "animal"),
    _noun("pig", "pigs", "Schwein", "Schweine", "n", "animal"),
    _noun("frog", "frogs", "Frosch", "Frösche", "m", "animal"),
    _noun("fox", "foxes", "Fuchs", "Füchse", "m", "animal"),
    _noun("wolf", "wolves", "Wolf", "Wölfe", "m", "animal"),
    _noun("snake", "snakes", "Schlange", "Schlangen", "f", "animal"),
    _noun("tiger", "tigers", "Tiger", "Tiger", "m", "animal"),
    _noun("owl", "owls", "Eule", "Eulen", "f", "animal flyer"),
    _noun("chicken", "chickens", "Huhn", "Hühner", "n", "animal"),
    _noun("donkey", "donkeys", "Esel", "Esel", "m", "animal"),
    _noun("squirrel", "squirrels", "Eichhörnchen", "Eichhörnchen", "n", "animal"),
    # things
    _noun("ball", "balls", "Ball", "Bälle", "m", "thing portable"),
    _noun("book", "books", "Buch", "Bücher", "n", "thing portable text openable"),
    _noun("cup", "cups", "Tasse", "Tassen", "f", "thing portable"),
    _noun("box", "boxes", "Kiste", "Kisten", "f", "thing portable openable",
          "in on under behind next_to in_front_of"),
    _noun("key", "keys", "Schlüssel", "Schlüssel", "m", "thing portable"),
    _noun("hat", "hats", "Hut", "Hüte", "m", "thing portable"),
    _noun("bag", "bags", "Tasche", "Taschen", "f", "thing portable openable", "in"),
    _noun("letter", "letters", "Brief", "Briefe", "m", "thing portable text openable"),
    _noun("newspaper", "newspapers", "Zeitung", "Zeitungen", "f", "thing portable text"),
    _noun("picture", "pictures", "Bild", "Bilder", "n", "thing portable"),
    _noun("pen", "pens", "Stift", "Stifte", "m", "thing portable"),
    _noun("shoe", "shoes", "Schuh", "Schuhe", "m", "thing portable"),
    _noun("coat", "coats", "Mantel", "Mäntel", "m", "thing portable"),
    _noun("bottle", "bottles", "Flasche", "Flaschen", "f", "thing portable openable"),
    _noun("spoon", "spoons", "Löffel", "Löffel", "m", "thing portable"),
    _noun("knife", "knives", "Messer", "Messer", "n", "thing portable"),
    _noun("plate", "plates", "Teller", "Teller", "m", "thing portable"),
    _noun("toy", "toys", "Spielzeug", "Spielzeuge", "n", "thing portable"),
    _noun("umbrella", "umbrellas", "Regenschirm", "Regenschirme", "m", "thing portable"),
    _noun("flower", "flowers", "Blume", "Blumen", "f", "thing portable"),
    _noun("stone", "stones", "Stein", "Steine", "m", "thing portable"),
    _noun("shirt", "shirts", "Hemd", "Hemden", "n", "thing portable"),
    _noun("candle", "candles", "Kerze", "Kerzen", "f", "thing portable"),
    _noun("clock", "clocks", "Uhr", "Uhren", "f", "thing portable"),
    _noun("phone", "phones", "Telefon", "Telefone", "n", "thing portable"),
    _noun("lamp", "lamps", "Lampe", "Lampen", "f", "thing portable", "under next_to"),
    _noun("chair", "chairs", "Stuhl", "Stühle", "m", "thing", _FURNITURE),
    _noun("table", "tables", "Tisch", "Tische", "m", "thing", _FURNITURE),
    _noun("bed", "beds", "Bett", "Betten", "n", "thing", "in on under next_to"),
    _noun("sofa", "sofas", "Sofa", "Sofas", "n", "thing", "on behind next_to in_front_of"),
    _noun("door", "doors", "Tür", "Türen", "f", "thing openable", "behind next_to in_front_of"),
    _noun("window", "windows", "Fenster", "Fenster", "n", "thing openable", "next_to in_front_of"),
    _noun("car", "cars", "Auto", "Autos", "n", "thing openable", "in under behind next_to in_front_of"),
    _noun("bicycle", "bicycles", "Fahrrad", "Fahrräder", "n", "thing", "behind next_to in_front_of"),
    _noun("boat", "boats", "Boot", "Boote", "n", "thing", "in on next_to"),
    _noun("tree", "trees", "Baum", "Bäume", "m", "thing", "under behind next_to in_front_of"),
    _noun("bridge", "bridges", "Brücke", "Brücken", "f", "thing", "on under in_front_of"),
    # food
    _noun("apple", "apples", "Apfel", "Äpfel", "m", "food"),
    _noun("banana", "bananas", "Banane", "Bananen", "f", "food"),
    _noun("cake", "cakes", "Kuchen", "Kuchen", "m", "food"),
    _noun("egg", "eggs", "Ei", "Eier", "n", "food"),
    _noun("carrot", "carrots", "Karotte", "Karotten", "f", "food"),
    _noun("pear", "pears", "Birne", "Birnen", "f", "food"),
    _noun("tomato", "tomatoes", "Tomate", "Tomaten", "f", "food"),
    _noun("potato", "potatoes", "Kartoffel", "Kartoffeln", "f", "food"),
    _noun("cookie", "cookies", "Keks", "Kekse", "m", "food"),
    _noun("orange", "oranges", "Orange", "Orangen", "f", "food"),
    _noun("sausage", "sausages", "Wurst", "Würste", "f", "food"),
    _noun("pizza", "pizzas", "Pizza", "Pizzas", "f", "food"),
    _noun("soup", "soups", "Suppe", "Suppen", "f", "food"),
    _noun("lemon", "lemons", "Zitrone", "Zitronen", "f", "food"),
    _noun("cherry", "cherries", "Kirsche", "Kirschen", "f", "food"),
    _noun("sandwich", "sandwiches", "Sandwich", "Sandwiches", "n", "food"),
    # places
    _noun("house", "houses", "Haus", "Häuser", "n", "place", _BUILDING),
    _noun("garden", "gardens", "Garten", "Gärten", "m", "place", _AREA),
    _noun("park", "parks", "Park", "Parks", "m", "place", _AREA),
    _noun("school", "schools", "Schule", "Schulen", "f", "place", _BUILDING),
    _noun("kitchen", "kitchens", "Küche", "Küchen", "f", "place", _AREA),
    _noun("forest", "forests", "Wald", "Wälder", "m", "place", _AREA),
    _noun("city", "cities", "Stadt", "Städte", "f", "place", _AREA),
    _noun("village", "villages", "Dorf", "Dörfer", "n", "place", _AREA),
    _noun("church", "churches", "Kirche", "Kirchen", "f", "place", _BUILDING),
    _noun("station", "stations", "Bahnhof", "Bahnhöfe", "m", "place", _BUILDING),
    _noun("library", "libraries", "Bibliothek", "Bibliotheken", "f", "place", _BUILDING),
    _noun("office", "offices", "Büro", "Büros", "n", "place", _AREA),
    _noun("shop", "shops", "Laden", "Läden", "m", "place", _BUILDING),
    _noun("room", "rooms", "Zimmer", "Zimmer", "n", "place", _AREA),
    _noun("castle", "castles", "Schloss", "Schlösser", "n", "place", _BUILDING),
    _noun("museum", "museums", "Museum", "Museen", "n", "place", _BUILDING),
    _noun("hospital", "hospitals", "Krankenhaus", "Krankenhäuser", "n", "place", _BUILDING),
    _noun("zoo", "zoos", "Zoo", "Zoos", "m", "place", _AREA),
)
NOUNS: Dict[str, Noun] = {n.en: n for n in _NOUN_LIST}


def _adj(en: str, de: str, kinds: str, stem: str = "") -> Adjective:
    return Adjective(en, de, stem or de, _kinds(kinds))


_ADJECTIVE_LIST = (
    _adj("big", "groß", "person animal thing food place"),
    _adj("small", "klein", "person animal thing food place"),
    _adj("old", "alt", "person animal thing place"),
    _adj("young", "jung", "person animal"),
    _adj("new", "neu", "thing place"),
    _adj("beautiful", "schön", "person animal thing food place"),
    _adj("ugly", "hässlich", "person animal thing place"),
    _adj("red", "rot", "thing food"),
    _adj("blue", "blau", "thing"),
    _adj("green", "grün", "thing food"),
    _adj("yellow", "gelb", "thing food"),
    _adj("black", "schwarz", "thing animal"),
    _adj("white", "weiß", "thing animal"),
    _adj("brown", "braun", "thing animal"),
    _adj("gray", "grau", "thing animal"),
    _adj("hungry", "hungrig", _ANIMATE),
    _adj("tired", "müde", _ANIMATE, stem="müd"),
    _adj("happy", "glücklich", _ANIMATE),
    _adj("sad", "traurig", _ANIMATE),
    _adj("clever", "klug", _ANIMATE),
    _adj("friendly", "freundlich", _ANIMATE),
    _adj("angry", "wütend", _ANIMATE),
    _adj("lazy", "faul", _ANIMATE),
    _adj("brave", "mutig", _ANIMATE),
    _adj("quiet", "ruhig", "person animal place"),
    _adj("loud", "laut", "person animal thing"),
    _adj("fast", "schnell", "person animal"),
    _adj("heavy", "schwer", "thing food"),
    _adj("expensive", "teuer", "thing food", stem="teur"),
    _adj("cheap", "billig", "thing food"),
    _adj("dark", "dunkel", "thing place", stem="dunkl"),
    _adj("warm", "warm", "thing food place"),
    _adj("cold", "kalt", "thing food place"),
    _adj("sweet", "süß", "person animal food"),
    _adj("fresh", "frisch", "food"),
    _adj("dirty", "schmutzig", "person animal thing place"),
    _adj("clean", "sauber", "thing place"),
    _adj("long", "lang", "thing"),
)
ADJECTIVES: Dict[str, Adjective] = {a.en: a for a in _ADJECTIVE_LIST}


def _verb(en: str, de: str, subject: str, obj: str = "", *, case: str = "acc", iobj: str = "",
          aux: str = "haben", particles: str = "", pps: str = "", manners: str = "") -> Verb:
    """``en``: "base 3sg past"; ``de``: "3sg 3pl participle"; ``particles``: "english german"."""
    en_particle, de_particle = particles.split("/") if particles else ("", "")
    return Verb(*en.split(), *de.split(), aux, _kinds(subject), _kinds(obj), case, _kinds(iobj),
                en_particle, de_particle, tuple(pps.split()), tuple(manners.split()))


_VERB_LIST = (
    # intransitive
    _verb("sleep sleeps slept", "schläft schlafen geschlafen", _ANIMATE, pps="loc", manners="well"),
    _verb("run runs ran", "läuft laufen gelaufen", _ANIMATE, aux="sein",
          pps="loc goal with without", manners="quickly slowly"),
    _verb("walk walks walked", "geht gehen gegangen", _ANIMATE, aux="sein",
          pps="loc goal with without", manners="quickly slowly"),
    _verb("laugh laughs laughed", "lacht lachen gelacht", "person", pps="loc with",
          manners="loudly quietly happily"),
    _verb("sing sings sang", "singt singen gesungen", "person", pps="loc with for",
          manners="loudly quietly well happily"),
    _verb("swim swims swam", "schwimmt schwimmen geschwommen", _ANIMATE, aux="sein",
          pps="goal with", manners="quickly slowly well"),
    _verb("wait waits waited", "wartet warten gewartet", _ANIMATE, pps="loc with", manners="quietly"),
    _verb("work works worked", "arbeitet arbeiten gearbeitet", "person", pps="loc with for",
          manners="quickly slowly well carefully"),
    _verb("play plays played", "spielt spielen gespielt", _ANIMATE, pps="loc with without",
          manners="quietly loudly happily"),
    _verb("dance dances danced", "tanzt tanzen getanzt", "person", pps="loc with without",
          manners="well happily"),
    _verb("cry cries cried", "weint weinen geweint", "person", pps="loc", manners="loudly quietly"),
    _verb("jump jumps jumped", "springt springen gesprungen", _ANIMATE, aux="sein", pps="loc"),
    _verb("sit sits sat", "sitzt sitzen gesessen", _ANIMATE, pps="loc", manners="quietly"),
    _verb("come comes came", "kommt kommen zurückgekommen", _ANIMATE, aux="sein",
          particles="back/zurück", pps="with without", manners="quickly slowly"),
    _verb("get gets got", "steht stehen aufgestanden", "person", aux="sein", particles="up/auf",
          manners="quickly slowly"),
    _verb("fall falls fell", "schläft schlafen eingeschlafen", _ANIMATE, aux="sein",
          particles="asleep/ein", pps="loc", manners="quickly"),
    _verb("wake wakes woke", "wacht wachen aufgewacht", _ANIMATE, aux="sein", particles="up/auf",
          pps="loc", manners="slowly"),
    _verb("go goes went", "geht gehen weggegangen", _ANIMATE, aux="sein", particles="away/weg",
          pps="with without", manners="quickly quietly"),
    _verb("fly flies flew", "fliegt fliegen geflogen", "flyer", aux="sein", pps="goal",
          manners="quickly slowly"),
    _verb("drive drives drove", "fährt fahren gefahren", "person", aux="sein", pps="goal with",
          manners="quickly slowly carefully"),
    _verb("smile smiles smiled", "lächelt lächeln gelächelt", "person", manners="happily"),
    _verb("talk talks talked", "spricht sprechen gesprochen", "person", pps="loc with",
          manners="quietly loudly slowly quickly"),
    # transitive, accusative object
    _verb("see sees saw", "sieht sehen gesehen", _ANIMATE, _ANYTHING, pps="loc"),
    _verb("hear hears heard", "hört hören gehört", _ANIMATE, "person animal thing", pps="loc"),
    _verb("like likes liked", "mag mögen gemocht", _ANIMATE, _ANYTHING),
    _verb("love loves loved", "liebt lieben geliebt", "person", "person animal food place"),
    _verb("eat eats ate", "isst essen gegessen", _ANIMATE, "food", pps="loc",
          manners="quickly slowly"),
    _verb("buy buys bought", "kauft kaufen gekauft", "person", "portable food", pps="loc for"),
    _verb("find finds found", "findet finden gefunden", _ANIMATE, "portable food animal", pps="loc",
          manners="quickly"),
    _verb("carry carries carried", "trägt tragen getragen", _ANIMATE, "portable food", pps="goal",
          manners="carefully slowly"),
    _verb("read reads read", "liest lesen gelesen", "person", "text", pps="loc for",
          manners="slowly quietly loudly"),
    _verb("write writes wrote", "schreibt schreiben geschrieben", "person", "text", pps="loc for",
          manners="slowly quickly carefully"),
    _verb("draw draws drew", "zeichnet zeichnen gezeichnet", "person", _ANYTHING, pps="loc for",
          manners="carefully well"),
    _verb("paint paints painted", "malt malen gemalt", "person", _ANYTHING, pps="loc for",
          manners="well"),
    _verb("wash washes washed", "wäscht waschen gewaschen", "person", "animal thing food", pps="loc",
          manners="carefully"),
    _verb("catch catches caught", "fängt fangen gefangen", _ANIMATE, "animal portable", pps="loc",
          manners="quickly"),
    _verb("visit visits visited", "besucht besuchen besucht", "person", "person place"),
    _verb("forget forgets forgot", "vergisst vergessen vergessen", "person", "portable", pps="loc"),
    _verb("open opens opened", "macht machen aufgemacht", "person", "openable", particles="/auf",
          manners="quietly slowly"),
    _verb("close closes closed", "macht machen zugemacht", "person", "openable", particles="/zu",
          manners="quietly loudly"),
    _verb("pick picks picked", "hebt heben aufgehoben", "person", "portable food", particles="up/auf",
          pps="loc", manners="carefully quickly"),
    _verb("call calls called", "ruft rufen angerufen", "person", "person", particles="/an"),
    _verb("take takes took", "nimmt nehmen genommen", "person", "portable food"),
    _verb("throw throws threw", "wirft werfen geworfen", "person", "portable"),
    _verb("watch watches watched", "beobachtet beobachten beobachtet", _ANIMATE, "person animal",
          pps="loc"),
    _verb("cook cooks cooked", "kocht kochen gekocht", "person", "food", pps="loc for"),
    _verb("meet meets met", "trifft treffen getroffen", "person", "person", pps="loc"),
    _verb("have has had", "hat haben gehabt", _ANIMATE, "portable food animal"),
    _verb("need needs needed", "braucht brauchen gebraucht", _ANIMATE, "portable food"),
    _verb("kiss kisses kissed", "küsst küssen geküsst", "person", "person animal"),
    _verb("hug hugs hugged", "umarmt umarmen umarmt", "person", "person animal"),
    _verb("sell sells sold", "verkauft verkaufen verkauft", "person", "portable food animal",
          pps="loc"),
    _verb("lose loses lost", "verliert verlieren verloren", "person", "portable", pps="loc"),
    _verb("clean cleans cleaned", "putzt putzen geputzt", "person", "thing place",
          manners="carefully"),
    _verb("feed feeds fed", "füttert füttern gefüttert", "person", "animal", pps="loc"),
    _verb("chase chases chased", "jagt jagen gejagt", "animal", _ANIMATE, pps="loc"),
    _verb("ask asks asked", "fragt fragen gefragt", "person", "person"),
    # transitive, dative object
    _verb("help helps helped", "hilft helfen geholfen", _ANIMATE, _ANIMATE, case="dat"),
    _verb("follow follows followed", "folgt folgen gefolgt", _ANIMATE, _ANIMATE, case="dat",
          aux="sein", manners="quietly slowly"),
    _verb("thank thanks thanked", "dankt danken gedankt", "person", "person", case="dat"),
    _verb("answer answers answered", "antwortet antworten geantwortet", "person", "person",
          case="dat"),
    # ditransitive: dative indirect object, accusative direct object
    _verb("give gives gave", "gibt geben gegeben", "person", "portable food", iobj=_ANIMATE),
    _verb("show shows showed", "zeigt zeigen gezeigt", "person", "portable food animal",
          iobj="person"),
    _verb("bring brings brought", "bringt bringen gebracht", "person", "portable food",
          iobj=_ANIMATE),
    _verb("send sends sent", "schickt schicken geschickt", "person", "text", iobj="person"),
)
VERBS: Dict[str, Verb] = {v.key: v for v in _VERB_LIST}

# Verbs that take a "that" clause ("..., dass ...").
SAYING_VERBS: Dict[str, Verb] = {v.key: v for v in (
    _verb("say says said", "sagt sagen gesagt", "person"),
    _verb("think thinks thought", "denkt denken gedacht", "person"),
    _verb("know knows knew", "weiß wissen gewusst", "person"),
    _verb("hope hopes hoped", "hofft hoffen gehofft", "person"),
    _verb("believe believes believed", "glaubt glauben geglaubt", "person"),
)}

MANNER_ADVERBS: Dict[str, Adverb] = {a.en: a for a in (
    Adverb("quickly", "schnell"), Adverb("slowly", "langsam"), Adverb("quietly", "leise"),
    Adverb("loudly", "laut"), Adverb("well", "gut"), Adverb("happily", "fröhlich"),
    Adverb("carefully", "vorsichtig"),
)}

# English future ("will sleep") with a future adverb is German present ("morgen schläft").
TIME_ADVERBS: Tuple[TimeAdverb, ...] = (
    TimeAdverb("today", "heute", "present"), TimeAdverb("now", "jetzt", "present"),
    TimeAdverb("often", "oft", "present"), TimeAdverb("sometimes", "manchmal", "present"),
    TimeAdverb("every day", "jeden Tag", "present"),
    TimeAdverb("in the morning", "am Morgen", "present"),
    TimeAdverb("in the evening", "am Abend", "present"),
    TimeAdverb("on Sunday", "am Sonntag", "present"),
    TimeAdverb("yesterday", "gestern", "past"), TimeAdverb("last week", "letzte Woche", "past"),
    TimeAdverb("this morning", "heute Morgen", "past"), TimeAdverb("last night", "letzte Nacht", "past"),
    TimeAdverb("last year", "letztes Jahr", "past"),
    TimeAdverb("tomorrow", "morgen", "future"), TimeAdverb("next week", "nächste Woche", "future"),
    TimeAdverb("tomorrow morning", "morgen früh", "future"),
    TimeAdverb("next year", "nächstes Jahr", "future"),
)

PREPOSITIONS: Dict[str, Preposition] = {
    "in": Preposition("in", "in", "dat"),
    "on": Preposition("on", "auf", "dat"),
    "under": Preposition("under", "unter", "dat"),
    "behind": Preposition("behind", "hinter", "dat"),
    "next_to": Preposition("next to", "neben", "dat"),
    "in_front_of": Preposition("in front of", "vor", "dat"),
    "to": Preposition("to", "zu", "dat"),
    "with": Preposition("with", "mit", "dat"),
    "without": Preposition("without", "ohne", "acc"),
    "for": Preposition("for", "für", "acc"),
}
# Preposition + definite article, contracted as German always does in unstressed use.
_CONTRACTIONS = {("in", "dem"): "im", ("zu", "dem"): "zum", ("zu", "der"): "zur"}

_NUMBERS = ("two zwei", "three drei", "four vier", "five fünf", "six sechs", "seven sieben",
            "eight acht", "nine neun", "ten zehn", "eleven elf", "twelve zwölf")
DETERMINERS: Dict[str, Determiner] = {
    "the": Determiner("the", "the", "", "definite"),
    "a": Determiner("a", "", "ein", "ein"),
    "no": Determiner("no", "no", "kein", "ein"),
    "this": Determiner("this", "these", "dies", "der"),
    "my": Determiner("my", "my", "mein", "ein"),
    "his": Determiner("his", "his", "sein", "ein"),
    "her": Determiner("her", "her", "ihr", "ein"),
    "our": Determiner("our", "our", "unser", "ein"),
    "their": Determiner("their", "their", "ihr", "ein"),
    "all": Determiner("", "all", "all", "der"),
    "many": Determiner("", "many", "viel", "strong"),
    "some": Determiner("", "some", "einig", "strong"),
    "bare": Determiner("", "", "", "invariant"),
    **{en: Determiner("", en, de, "invariant") for en, de in map(str.split, _NUMBERS)},
}

# German endings, columns masculine, feminine, neuter, plural.
_DEFINITE = {"nom": ("der", "die", "das", "die"), "acc": ("den", "die", "das", "die"),
             "dat": ("dem", "der", "dem", "den")}
_DER_ENDINGS = {"nom": ("er", "e", "es", "e"), "acc": ("en", "e", "es", "e"),
                "dat": ("em", "er", "em", "en")}
_EIN_ENDINGS = {"nom": ("", "e", "", "e"), "acc": ("en", "e", "", "e"), "dat": ("em", "er", "em", "en")}
_WEAK = {"nom": ("e", "e", "e", "en"), "acc": ("en", "e", "e", "en"), "dat": ("en", "en", "en", "en")}
_MIXED = {"nom": ("er", "e", "es", "en"), "acc": ("en", "e", "es", "en"), "dat": ("en", "en", "en", "en")}
_STRONG_PLURAL = {"nom": "e", "acc": "e", "dat": "en"}

MODALS: Dict[str, Modal] = {
    "can": Modal("can", "can", "kann", "können", en_to=False, negatable=True),
    "must": Modal("must", "must", "muss", "müssen", en_to=False, negatable=False),  # must not ≠ muss nicht
    "want": Modal("want", "wants", "will", "wollen", en_to=True, negatable=True),
}
_SEIN = {"present": ("ist", "sind"), "past": ("war", "waren"), "future": ("ist", "sind")}
_BE = {"present": ("is", "are"), "past": ("was", "were")}

CONJUNCTIONS: Dict[str, Conjunction] = {
    "because": Conjunction("because", "weil", True, False, True),
    "when": Conjunction("when", "wenn", True, False, True),  # present only: past "when" is "als"
    "while": Conjunction("while", "während", True, False, True),
    "although": Conjunction("although", "obwohl", True, True, True),
    "that": Conjunction("that", "dass", True, False, True),
    "and": Conjunction("and", "und", False, False, False),
    "but": Conjunction("but", "aber", False, True, True),
}

# Question words: English, German. The "who" keys differ in the German case.
WH_WORDS: Dict[str, Tuple[str, str]] = {
    "where": ("where", "wo"), "when": ("when", "wann"), "why": ("why", "warum"),
    "what": ("what", "was"), "who_subject": ("who", "wer"), "who_acc": ("who", "wen"),
    "who_dat": ("who", "wem"),
}

NAMES = ("Anna", "Tom", "Maria", "Peter", "Lisa", "Paul", "Emma", "Ben", "Laura", "David")


def vocabulary_size() -> Dict[str, int]:
    """Number of lexical entries per part of speech (an English word with its German forms)."""
    return {
        "nouns": len(NOUNS), "names": len(NAMES), "adjectives": len(ADJECTIVES),
        "verbs": len(VERBS) + len(SAYING_VERBS) + len(MODALS),
        "adverbs": len(MANNER_ADVERBS) + len(TIME_ADVERBS),
        "determiners and numbers": len(DETERMINERS) - 1,  # "bare" is no word
        "prepositions": len(PREPOSITIONS), "conjunctions": len(CONJUNCTIONS),
        "question words": len({en for en, _ in WH_WORDS.values()}),
    }


# --------------------------------------------------------------------------------------------
# Phrases, clauses, sentences and their two realisations
# --------------------------------------------------------------------------------------------

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
            raise ValueError("NounPhrase needs a noun or a name")
        if self.det not in DETERMINERS:
            raise ValueError(f"unknown determiner {self.det!r}; choose from {sorted(DETERMINERS)}")
        det = DETERMINERS[self.det]
        if (self.plural and not det.en_pl and self.det != "bare") or (not self.plural and not det.en_sg):
            number = "plural" if self.plural else "singular"
            raise ValueError(f"determiner {self.det!r} cannot go with a {number} noun")

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
            raise ValueError(f"unknown question {self.question!r}")
        if self.conjunction and self.conjunction not in CONJUNCTIONS:
            raise ValueError(f"unknown conjunction {self.conjunction!r}")
        if bool(self.conjunction) != (self.other is not None):
            raise ValueError("a conjunction needs the other clause, and vice versa")
        if self.front_time and self.clause.time is None:
            raise ValueError("front_time needs a clause with a time adverb")
        if self.other_first and self.conjunction not in ("because", "when", "while", "although"):
            raise ValueError(f"a clause with {self.conjunction or 'no conjunction'!r} cannot come first")

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
# Sampling
# --------------------------------------------------------------------------------------------

# Relative weights of the determiners; a determiner is possible with a number iff listed there.
_SINGULAR_DETS = {"the": 8.0, "a": 4.0, "this": 1.0, "my": 0.6, "his": 0.6, "her": 0.6,
                  "our": 0.4, "their": 0.4, "no": 0.6}
_PLURAL_DETS = {"the": 5.0, "bare": 2.0, "this": 1.0, "my": 0.4, "his": 0.4, "her": 0.4,
                "our": 0.3, "their": 0.3, "many": 0.7, "some": 0.7, "all": 0.5, "no": 0.5,
                **{pair.split()[0]: 0.15 for pair in _NUMBERS}}
_ALL_DETS = frozenset(DETERMINERS)
# What a negated clause can put "nicht" after, or turn into "kein" ("a", "bare").
_NEGATABLE_DETS = frozenset("the a this my his her our their bare".split())
_LOCATION_DETS = frozenset("the a this my his her our their".split())
_SENTENCE_FORMS = {"statement": 30, "fronted": 15, "yes_no": 8, "wh": 10, "subordinate": 13,
                   "subordinate_first": 8, "that": 8, "coordinate": 8}
_WH_WEIGHTS = {"where": 2, "when": 1, "why": 2, "what": 3, "who_subject": 2, "who_acc": 1.5,
               "who_dat": 1}


def _choose(rng: random.Random, weights: Dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _np_kinds(np: NounPhrase) -> FrozenSet[str]:
    return np.noun.kinds if np.noun else _kinds("person")


def _one_no(dets: FrozenSet[str], *taken: Optional[NounPhrase]) -> FrozenSet[str]:
    """``dets`` without "no" once a phrase has it: "no men catch a wolf", not "... no wolf"."""
    return dets - {"no"} if any(np is not None and np.det == "no" for np in taken) else dets


def _sample_np(rng: random.Random, kinds: FrozenSet[str], used: set, *,
               dets: FrozenSet[str] = _ALL_DETS, plural: float = 0.3, names: float = 0.12,
               adjective: float = 0.3, nouns: Optional[Sequence[Noun]] = None) -> NounPhrase:
    """A noun phrase whose noun has one of ``kinds`` (from ``nouns`` if given), with a
    determiner from ``dets``; its head is added to ``used`` and never taken from it."""
    if "person" in kinds and rng.random() < names:
        name = rng.choice([n for n in NAMES if n not in used])
        used.add(name)
        return NounPhrase(name=name)
    noun = rng.choice([n for n in (nouns or NOUNS.values()) if n.kinds & kinds and n.en not in used])
    used.add(noun.en)
    is_plural = rng.random() < plural
    weights = _PLURAL_DETS if is_plural else _SINGULAR_DETS
    adjectives = [a for a in ADJECTIVES.values() if a.kinds & noun.kinds]
    adj = rng.choice(adjectives) if rng.random() < adjective else None
    return NounPhrase(_choose(rng, {d: w for d, w in weights.items() if d in dets}), noun, adj,
                      is_plural)


def _sample_pp(rng: random.Random, kind: str, used: set, dets: FrozenSet[str]) -> PrepPhrase:
    """A prepositional phrase of ``kind`` ("loc", "goal", "with", "without", "for")."""
    if kind == "loc":
        np = _sample_np(rng, _kinds(_ANYTHING), used, dets=dets & _LOCATION_DETS, plural=0.0,
                        names=0.0, adjective=0.2, nouns=[n for n in NOUNS.values() if n.locations])
        return PrepPhrase(rng.choice(sorted(np.noun.locations)), np)
    if kind == "goal":
        goals = [n for n in NOUNS.values() if n.locations or n.kinds & _kinds("place person animal")]
        np = _sample_np(rng, _kinds(_ANYTHING), used, dets=dets & _LOCATION_DETS, plural=0.1,
                        adjective=0.2, nouns=goals)
        return PrepPhrase("to", np)
    kinds = _kinds("person" if kind == "for" else _ANIMATE)
    return PrepPhrase(kind, _sample_np(rng, kinds, used, dets=dets - {"no"}, adjective=0.2))


def _sample_clause(rng: random.Random, tense: str, *, time: Optional[TimeAdverb] = None,
                   negation: float = 0.2, question: str = "", extras: float = 1.0) -> Clause:
    """A clause in ``tense``.

    ``question`` ("yes_no" or a key of ``WH_WORDS``) picks a verb that can be asked about
    and leaves the asked-for slot empty; ``extras`` scales the chance of the optional
    prepositional phrase and manner adverb (lower in two-clause sentences).
    """
    negated = not question and rng.random() < negation
    # No double negation, no "Does no dog sleep?"
    dets = _ALL_DETS - {"no"} if negated or question else _ALL_DETS
    used: set = set()

    if question in ("", "yes_no", "where", "why", "who_subject") and rng.random() < 0.15:
        # The copula: "the dog is (not) tired", "the cat was under the table".
        if question == "where" or rng.random() < 0.4:
            subject = _sample_np(rng, _kinds("person animal portable"), used, dets=dets)
            pp = None if question == "where" else _sample_pp(rng, "loc", used, dets)
            adjective = None
        else:
            kinds = _kinds("person" if question == "who_subject" else _ANYTHING)
            subject = _sample_np(rng, kinds, used, dets=dets, adjective=0.15)
            adjective = rng.choice([a for a in ADJECTIVES.values()
                                    if a.kinds & _np_kinds(subject) and a != subject.adj])
            pp = None
        subject = None if question == "who_subject" else subject
        return Clause(subject, None, tense, pp=pp, adjective=adjective, time=time, negated=negated)

    verbs = list(VERBS.values())
    if question == "where":
        verbs = [v for v in verbs if "loc" in v.pps]
    elif question == "what":
        verbs = [v for v in verbs if v.obj_case == "acc" and v.obj - _kinds("person")]
    elif question in ("who_acc", "who_dat"):
        case = question[len("who_"):]
        verbs = [v for v in verbs if v.obj_case == case and "person" in v.obj and not v.iobj]
    elif question == "who_subject":
        verbs = [v for v in verbs if "person" in v.subject]
    verb = rng.choice(verbs)

    subject = _sample_np(rng, verb.subject, used, dets=dets)
    subject = None if question == "who_subject" else subject
    iobj = obj = None
    if verb.iobj:
        iobj = _sample_np(rng, verb.iobj, used, dets=_one_no(dets, subject), adjective=0.15)
    if verb.obj and question not in ("what", "who_acc", "who_dat"):
        obj_dets = dets & _NEGATABLE_DETS if negated else _one_no(dets, subject, iobj)
        obj = _sample_np(rng, verb.obj, used, dets=obj_dets)
    pps = [k for k in verb.pps if not (question == "where" and k == "loc")]
    pp = _sample_pp(rng, rng.choice(pps), used, dets) if pps and rng.random() < 0.35 * extras else None
    manner = rng.choice(verb.manners) if verb.manners and rng.random() < 0.2 * extras else ""
    modal = ""
    if tense == "present" and rng.random() < 0.12:
        # "must not" means "darf nicht", and "Must the dog ...?" is stilted: leave those out.
        modal = rng.choice([k for k in MODALS if k != "must" or not (negated or question)])
    return Clause(subject, verb, tense, obj, iobj, pp, manner, time, None, modal, negated)


def sample_sentence(rng: random.Random) -> Sentence:
    """Draw one sentence from the grammar (its length is checked by ``generate_pairs``)."""
    form = _choose(rng, _SENTENCE_FORMS)
    if form in ("statement", "fronted", "yes_no"):
        tense = _choose(rng, {"present": 5, "past": 4, "future": 2})
        time = None
        if tense == "future" or form == "fronted" or rng.random() < 0.2:  # future needs its adverb
            time = rng.choice([t for t in TIME_ADVERBS if t.tense == tense])
        question = "yes_no" if form == "yes_no" else ""
        clause = _sample_clause(rng, tense, time=time, question=question, negation=0.25)
        return Sentence(clause, question=question, front_time=form == "fronted")
    tense = _choose(rng, {"present": 5, "past": 4})
    if form == "wh":
        question = _choose(rng, _WH_WEIGHTS)
        return Sentence(_sample_clause(rng, tense, question=question), question=question)
    if form == "that":
        verb = rng.choice(list(SAYING_VERBS.values()))
        negated = rng.random() < 0.15
        subject = _sample_np(rng, verb.subject, set(), adjective=0.15,
                             dets=_ALL_DETS - {"no"} if negated else _ALL_DETS)
        main = Clause(subject, verb, tense, negated=negated)
        return Sentence(main, conjunction="that", other=_sample_clause(rng, tense, extras=0.5))
    if form == "coordinate":
        conjunction = rng.choice(["and", "but"])
    else:
        conjunction = rng.choice(["because", "while", "although"] + ["when"] * (tense == "present"))
    main = _sample_clause(rng, tense, extras=0.5)
    other = _sample_clause(rng, tense, extras=0.5)
    return Sentence(main, conjunction=conjunction, other=other,
                    other_first=form == "subordinate_first")


class SentencePair(NamedTuple):
    """English true case with punctuation, English lower case without it, German true case."""

    en_tc: str
    en_lc_rm: str
    de_tc: str


def lowercase_remove_punctuation(text: str) -> str:
    """ESPnet's ``lc.rm`` normalisation: lower-case, punctuation removed, single spaces."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def generate_pairs(num_pairs: int, seed: int) -> List[SentencePair]:
    """``num_pairs`` distinct sentence pairs of ``MIN_WORDS``–``MAX_WORDS`` English words.

    Deterministic for a seed; a pair whose English (lower-cased) or German text was already
    drawn is skipped, so no source or target sentence occurs twice.
    """
    if num_pairs < 0:
        raise ValueError(f"num_pairs must be >= 0, got {num_pairs}")
    rng = random.Random(seed)
    pairs: List[SentencePair] = []
    seen_en, seen_de = set(), set()
    for _ in range(100 * num_pairs + 1000):
        if len(pairs) == num_pairs:
            return pairs
        sentence = sample_sentence(rng)
        en, de = sentence.english(), sentence.german()
        en_lc = lowercase_remove_punctuation(en)
        if not MIN_WORDS <= len(en_lc.split()) <= MAX_WORDS or en_lc in seen_en or de in seen_de:
            continue
        seen_en.add(en_lc)
        seen_de.add(de)
        pairs.append(SentencePair(en, en_lc, de))
    if len(pairs) < num_pairs:
        raise RuntimeError(f"the grammar gave only {len(pairs)} distinct sentences of {num_pairs}")
    return pairs


# --------------------------------------------------------------------------------------------
# Speakers, sizes, synthesis
# --------------------------------------------------------------------------------------------

class Speaker(NamedTuple):
    """An espeak-ng voice (accent, optional ``+variant``), speed in words/min and pitch 0–99."""

    id: str
    voice: str
    wpm: int
    pitch: int


# 8 accents x 3 voice variants (default, female "f2", male "m3"), with spread speeds and pitches.
SPEAKERS: Dict[str, Speaker] = {s.id: s for s in (
    Speaker("spk00", "en-us", 145, 35),
    Speaker("spk01", "en-gb", 175, 50),
    Speaker("spk02", "en-gb-scotland", 160, 65),
    Speaker("spk03", "en-gb-x-rp", 190, 35),
    Speaker("spk04", "en-gb-x-gbclan", 145, 50),
    Speaker("spk05", "en-gb-x-gbcwmd", 175, 65),
    Speaker("spk06", "en-029", 160, 35),
    Speaker("spk07", "en-us-nyc", 190, 50),
    Speaker("spk08", "en-us+f2", 160, 50),
    Speaker("spk09", "en-gb+f2", 190, 65),
    Speaker("spk10", "en-gb-scotland+f2", 145, 35),
    Speaker("spk11", "en-gb-x-rp+f2", 175, 50),
    Speaker("spk12", "en-gb-x-gbclan+f2", 160, 65),
    Speaker("spk13", "en-gb-x-gbcwmd+f2", 190, 35),
    Speaker("spk14", "en-029+f2", 145, 50),
    Speaker("spk15", "en-us-nyc+f2", 175, 65),
    Speaker("spk16", "en-us+m3", 175, 65),
    Speaker("spk17", "en-gb+m3", 145, 35),
    Speaker("spk18", "en-gb-scotland+m3", 190, 50),
    Speaker("spk19", "en-gb-x-rp+m3", 160, 65),
    Speaker("spk20", "en-gb-x-gbclan+m3", 175, 35),
    Speaker("spk21", "en-gb-x-gbcwmd+m3", 145, 50),
    Speaker("spk22", "en-029+m3", 190, 65),
    Speaker("spk23", "en-us-nyc+m3", 160, 35),
)}
# Held out: only in test. Different accents, both sexes; each accent also has train speakers.
TEST_SPEAKERS = ("spk03", "spk12", "spk17", "spk22")


class SplitSizes(NamedTuple):
    """Number of utterances (= distinct sentences) per split."""

    train: int
    dev: int
    test: int


# Measured with --nj 2 on 2 CPU cores: tiny 0.8 s (+1 s start-up), default 30-35 s for 2.7 h
# of audio (300 MB of wavs).
SIZES: Dict[str, SplitSizes] = {
    "tiny": SplitSizes(train=60, dev=15, test=15),  # CI
    "default": SplitSizes(train=3000, dev=200, test=200),  # the demo recipe
}


class _Utterance(NamedTuple):
    utt_id: str
    speaker: Speaker
    pair: SentencePair
    wav: Path


def _espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise FileNotFoundError(
            "espeak-ng not found on PATH; mini_st needs it to synthesise speech. "
            "Install it with `apt-get install espeak-ng` (or run tools/setup_env.sh).")
    return binary


def _is_valid_wav(path: Path) -> bool:
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError):  # missing or not a sound file (LibsndfileError is a RuntimeError)
        return False
    return (info.samplerate == SAMPLE_RATE and info.channels == 1 and info.subtype == "PCM_16"
            and info.frames > 0)


def _synthesize_one(binary: str, speaker: Speaker, text: str, wav: Path) -> None:
    """Read ``text`` with ``speaker`` and write ``wav`` (16 kHz mono PCM-16) atomically."""
    command = [binary, "-v", speaker.voice, "-s", str(speaker.wpm), "-p", str(speaker.pitch),
               "--stdout", text]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"espeak-ng failed ({' '.join(command)}): "
                           f"{result.stderr.decode(errors='replace').strip()}")
    audio, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float64")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    gcd = math.gcd(SAMPLE_RATE, rate)
    audio = np.clip(resample_poly(audio, SAMPLE_RATE // gcd, rate // gcd), -1.0, 1.0)
    # Write beside the target, then rename: an interrupted run never leaves a partial wav.
    fd, tmp = tempfile.mkstemp(suffix=".wav.tmp", dir=wav.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            soundfile.write(f, audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        os.replace(tmp, wav)
    except BaseException:
        os.unlink(tmp)
        raise


def synthesize(items: Sequence[Tuple[Speaker, str, Path]], num_jobs: int = 1) -> int:
    """Synthesise ``(speaker, text, wav)`` items whose wav is missing or invalid.

    Args:
        items: what to read, by whom, and where to write it.
        num_jobs: parallel espeak-ng processes.

    Returns:
        The number of wavs written (the others were there already).
    """
    if num_jobs < 1:
        raise ValueError(f"num_jobs must be >= 1, got {num_jobs}")
    binary = _espeak_binary()
    todo = [item for item in items if not _is_valid_wav(item[2])]
    logger.info(f"espeak-ng: {len(todo)} wavs to synthesise, {len(items) - len(todo)} already done")
    for directory in {wav.parent for _, _, wav in todo}:
        directory.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=num_jobs) as pool, \
            tqdm(total=len(todo), desc="espeak-ng", unit="utt") as bar:
        futures = [pool.submit(_synthesize_one, binary, *item) for item in todo]
        try:
            for future in as_completed(futures):
                future.result()
                bar.update()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return len(todo)


def _wav_path(wav_dir: Path, speaker: Speaker, text: str) -> Path:
    # Named by content (voice settings + text): a wav is reused only for the same reading,
    # whatever the seed or size that asked for it.
    digest = hashlib.sha1(f"{speaker.voice}|{speaker.wpm}|{speaker.pitch}|{text}".encode()).hexdigest()
    return wav_dir / speaker.id / f"{digest[:16]}.wav"


def _assign(pairs: Sequence[SentencePair], first_index: int, speakers: Sequence[Speaker],
            rng: random.Random, wav_dir: Path) -> List[_Utterance]:
    """One speaker per sentence, round robin over the shuffled speakers (balanced splits)."""
    order = list(speakers)
    rng.shuffle(order)
    utts = []
    for i, pair in enumerate(pairs):
        speaker = order[i % len(order)]
        utt_id = f"{speaker.id}-{first_index + i:06d}"
        utts.append(_Utterance(utt_id, speaker, pair, _wav_path(wav_dir, speaker, pair.en_tc)))
    return utts


def _write_data_dir(directory: Path, utts: Sequence[_Utterance]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    utts = sorted(utts, key=lambda u: u.utt_id)  # code-point order = C-locale byte order (ASCII)
    columns = {
        "wav.scp": [str(u.wav.absolute()) for u in utts],
        "utt2spk": [u.speaker.id for u in utts],
        "text.tc.en": [u.pair.en_tc for u in utts],
        "text.lc.rm.en": [u.pair.en_lc_rm for u in utts],
        "text.tc.de": [u.pair.de_tc for u in utts],
    }
    for name, values in columns.items():
        lines = "".join(f"{u.utt_id} {value}\n" for u, value in zip(utts, values))
        (directory / name).write_text(lines, encoding="utf-8")
    spk2utt: Dict[str, List[str]] = {}
    for u in utts:
        spk2utt.setdefault(u.speaker.id, []).append(u.utt_id)
    (directory / "spk2utt").write_text(
        "".join(f"{spk} {' '.join(ids)}\n" for spk, ids in sorted(spk2utt.items())), encoding="utf-8")


def prepare_mini_st(output_dir: Union[str, Path], size: str = "tiny", seed: int = 0,
                    num_jobs: int = 1, wav_dir: Union[str, Path, None] = None) -> Dict[str, Path]:
    """Generate the corpus: sentence pairs, espeak-ng audio and the train/dev/test data dirs.

    Args:
        output_dir: where ``train/``, ``dev/`` and ``test/`` are written.
        size: a key of ``SIZES``.
        seed: seed of the sentences and of the speaker assignment.
        num_jobs: parallel espeak-ng processes.
        wav_dir: where the audio goes; default ``<output_dir>/../downloads/mini_st/wav``.

    Returns:
        The data directory of each split, by split name.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose from {sorted(SIZES)}")
    if num_jobs < 1:
        raise ValueError(f"num_jobs must be >= 1, got {num_jobs}")
    _espeak_binary()  # fail before doing anything
    start = time.perf_counter()
    output_dir = Path(output_dir)
    wav_dir = Path(wav_dir) if wav_dir is not None else \
        output_dir.absolute().parent / "downloads" / "mini_st" / "wav"
    sizes = SIZES[size]

    pairs = generate_pairs(sizes.train + sizes.dev + sizes.test, seed)
    logger.info(f"Generated {len(pairs)} distinct English-German sentence pairs (size={size}, "
                f"seed={seed}) in {time.perf_counter() - start:.2f}s")
    seen = [s for s in SPEAKERS.values() if s.id not in TEST_SPEAKERS]
    held_out = [SPEAKERS[s] for s in TEST_SPEAKERS]
    rng = random.Random(seed)
    splits = {
        "test": _assign(pairs[:sizes.test], 0, held_out, rng, wav_dir),
        "dev": _assign(pairs[sizes.test:sizes.test + sizes.dev], sizes.test, seen, rng, wav_dir),
        "train": _assign(pairs[sizes.test + sizes.dev:], sizes.test + sizes.dev, seen, rng, wav_dir),
    }

    all_utts = [u for utts in splits.values() for u in utts]
    synthesize([(u.speaker, u.pair.en_tc, u.wav) for u in all_utts], num_jobs)
    # Data dirs only after all audio exists: a failed run leaves no dir that looks complete.
    result = {}
    for name, utts in splits.items():
        result[name] = output_dir / name
        _write_data_dir(result[name], utts)
        logger.info(f"Wrote {result[name]}: {len(utts)} utterances, "
                    f"{len({u.speaker.id for u in utts})} speakers")
    logger.info(f"mini_st ({size}) ready in {output_dir}, audio in {wav_dir} "
                f"[elapsed={time.perf_counter() - start:.1f}s]")
    return result


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ctcot.corpora.mini_st", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--output_dir", type=Path, required=True,
                        help="Where the train/, dev/ and test/ data directories are written")
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny",
                        help="Corpus size (train/dev/test utterances): "
                             + ", ".join(f"{k}={tuple(v)}" for k, v in SIZES.items()))
    parser.add_argument("--seed", type=int, default=0, help="Seed of sentences and speaker assignment")
    parser.add_argument("--nj", type=int, default=1, help="Parallel espeak-ng processes")
    parser.add_argument("--wav_dir", type=Path, default=None,
                        help="Where the audio goes; None: <output_dir>/../downloads/mini_st/wav")
    return parser


def main(cmd: Optional[List[str]] = None) -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s")
    args = get_parser().parse_args(cmd)
    prepare_mini_st(args.output_dir, args.size, args.seed, args.nj, args.wav_dir)


if __name__ == "__main__":
    main()
