"""The mini corpus's lexicon: English words with their German forms, and German inflection tables.

Each entry carries what the German realisation needs (gender, plural, weak-noun forms,
conjugation, separable particle, perfect auxiliary, object case) and what the sampler selects on
(semantic kinds, the prepositions that can place something at a noun, the adverbs a verb takes).
Which part of the lexicon a corpus uses is a difficulty level's choice (``grammar.LEVELS``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, NamedTuple, Tuple

__all__ = [
    "Noun", "Adjective", "Verb", "Adverb", "TimeAdverb", "Preposition", "Determiner", "Modal",
    "Conjunction", "NOUNS", "ADJECTIVES", "VERBS", "SAYING_VERBS", "MANNER_ADVERBS", "TIME_ADVERBS",
    "PREPOSITIONS", "DETERMINERS", "MODALS", "CONJUNCTIONS", "WH_WORDS", "NAMES", "NUMBERS",
    "ANIMATE", "ANYTHING", "kind_set",
]


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


def kind_set(text: str) -> FrozenSet[str]:
    return frozenset(text.split())


# Semantic classes. "portable" things can be carried, bought, given; "text" can be read.
ANIMATE = "person animal"
ANYTHING = "person animal thing food place"
# Where something can be: keys of PREPOSITIONS.
_BUILDING = "in behind next_to in_front_of"
_AREA = "in"
_FURNITURE = "on under behind next_to in_front_of"


def _noun(en: str, en_pl: str, de: str, de_pl: str, gender: str, kinds: str,
          locations: str = "", oblique: str = "") -> Noun:
    return Noun(en, en_pl, de, de_pl, gender, kind_set(kinds), kind_set(locations), oblique)


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
    return Adjective(en, de, stem or de, kind_set(kinds))


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
    _adj("hungry", "hungrig", ANIMATE),
    _adj("tired", "müde", ANIMATE, stem="müd"),
    _adj("happy", "glücklich", ANIMATE),
    _adj("sad", "traurig", ANIMATE),
    _adj("clever", "klug", ANIMATE),
    _adj("friendly", "freundlich", ANIMATE),
    _adj("angry", "wütend", ANIMATE),
    _adj("lazy", "faul", ANIMATE),
    _adj("brave", "mutig", ANIMATE),
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
    return Verb(*en.split(), *de.split(), aux, kind_set(subject), kind_set(obj), case, kind_set(iobj),
                en_particle, de_particle, tuple(pps.split()), tuple(manners.split()))


_VERB_LIST = (
    # intransitive
    _verb("sleep sleeps slept", "schläft schlafen geschlafen", ANIMATE, pps="loc", manners="well"),
    _verb("run runs ran", "läuft laufen gelaufen", ANIMATE, aux="sein",
          pps="loc goal with without", manners="quickly slowly"),
    _verb("walk walks walked", "geht gehen gegangen", ANIMATE, aux="sein",
          pps="loc goal with without", manners="quickly slowly"),
    _verb("laugh laughs laughed", "lacht lachen gelacht", "person", pps="loc with",
          manners="loudly quietly happily"),
    _verb("sing sings sang", "singt singen gesungen", "person", pps="loc with for",
          manners="loudly quietly well happily"),
    _verb("swim swims swam", "schwimmt schwimmen geschwommen", ANIMATE, aux="sein",
          pps="goal with", manners="quickly slowly well"),
    _verb("wait waits waited", "wartet warten gewartet", ANIMATE, pps="loc with", manners="quietly"),
    _verb("work works worked", "arbeitet arbeiten gearbeitet", "person", pps="loc with for",
          manners="quickly slowly well carefully"),
    _verb("play plays played", "spielt spielen gespielt", ANIMATE, pps="loc with without",
          manners="quietly loudly happily"),
    _verb("dance dances danced", "tanzt tanzen getanzt", "person", pps="loc with without",
          manners="well happily"),
    _verb("cry cries cried", "weint weinen geweint", "person", pps="loc", manners="loudly quietly"),
    _verb("jump jumps jumped", "springt springen gesprungen", ANIMATE, aux="sein", pps="loc"),
    _verb("sit sits sat", "sitzt sitzen gesessen", ANIMATE, pps="loc", manners="quietly"),
    _verb("come comes came", "kommt kommen zurückgekommen", ANIMATE, aux="sein",
          particles="back/zurück", pps="with without", manners="quickly slowly"),
    _verb("get gets got", "steht stehen aufgestanden", "person", aux="sein", particles="up/auf",
          manners="quickly slowly"),
    _verb("fall falls fell", "schläft schlafen eingeschlafen", ANIMATE, aux="sein",
          particles="asleep/ein", pps="loc", manners="quickly"),
    _verb("wake wakes woke", "wacht wachen aufgewacht", ANIMATE, aux="sein", particles="up/auf",
          pps="loc", manners="slowly"),
    _verb("go goes went", "geht gehen weggegangen", ANIMATE, aux="sein", particles="away/weg",
          pps="with without", manners="quickly quietly"),
    _verb("fly flies flew", "fliegt fliegen geflogen", "flyer", aux="sein", pps="goal",
          manners="quickly slowly"),
    _verb("drive drives drove", "fährt fahren gefahren", "person", aux="sein", pps="goal with",
          manners="quickly slowly carefully"),
    _verb("smile smiles smiled", "lächelt lächeln gelächelt", "person", manners="happily"),
    _verb("talk talks talked", "spricht sprechen gesprochen", "person", pps="loc with",
          manners="quietly loudly slowly quickly"),
    # transitive, accusative object
    _verb("see sees saw", "sieht sehen gesehen", ANIMATE, ANYTHING, pps="loc"),
    _verb("hear hears heard", "hört hören gehört", ANIMATE, "person animal thing", pps="loc"),
    _verb("like likes liked", "mag mögen gemocht", ANIMATE, ANYTHING),
    _verb("love loves loved", "liebt lieben geliebt", "person", "person animal food place"),
    _verb("eat eats ate", "isst essen gegessen", ANIMATE, "food", pps="loc",
          manners="quickly slowly"),
    _verb("buy buys bought", "kauft kaufen gekauft", "person", "portable food", pps="loc for"),
    _verb("find finds found", "findet finden gefunden", ANIMATE, "portable food animal", pps="loc",
          manners="quickly"),
    _verb("carry carries carried", "trägt tragen getragen", ANIMATE, "portable food", pps="goal",
          manners="carefully slowly"),
    _verb("read reads read", "liest lesen gelesen", "person", "text", pps="loc for",
          manners="slowly quietly loudly"),
    _verb("write writes wrote", "schreibt schreiben geschrieben", "person", "text", pps="loc for",
          manners="slowly quickly carefully"),
    _verb("draw draws drew", "zeichnet zeichnen gezeichnet", "person", ANYTHING, pps="loc for",
          manners="carefully well"),
    _verb("paint paints painted", "malt malen gemalt", "person", ANYTHING, pps="loc for",
          manners="well"),
    _verb("wash washes washed", "wäscht waschen gewaschen", "person", "animal thing food", pps="loc",
          manners="carefully"),
    _verb("catch catches caught", "fängt fangen gefangen", ANIMATE, "animal portable", pps="loc",
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
    _verb("watch watches watched", "beobachtet beobachten beobachtet", ANIMATE, "person animal",
          pps="loc"),
    _verb("cook cooks cooked", "kocht kochen gekocht", "person", "food", pps="loc for"),
    _verb("meet meets met", "trifft treffen getroffen", "person", "person", pps="loc"),
    _verb("have has had", "hat haben gehabt", ANIMATE, "portable food animal"),
    _verb("need needs needed", "braucht brauchen gebraucht", ANIMATE, "portable food"),
    _verb("kiss kisses kissed", "küsst küssen geküsst", "person", "person animal"),
    _verb("hug hugs hugged", "umarmt umarmen umarmt", "person", "person animal"),
    _verb("sell sells sold", "verkauft verkaufen verkauft", "person", "portable food animal",
          pps="loc"),
    _verb("lose loses lost", "verliert verlieren verloren", "person", "portable", pps="loc"),
    _verb("clean cleans cleaned", "putzt putzen geputzt", "person", "thing place",
          manners="carefully"),
    _verb("feed feeds fed", "füttert füttern gefüttert", "person", "animal", pps="loc"),
    _verb("chase chases chased", "jagt jagen gejagt", "animal", ANIMATE, pps="loc"),
    _verb("ask asks asked", "fragt fragen gefragt", "person", "person"),
    # transitive, dative object
    _verb("help helps helped", "hilft helfen geholfen", ANIMATE, ANIMATE, case="dat"),
    _verb("follow follows followed", "folgt folgen gefolgt", ANIMATE, ANIMATE, case="dat",
          aux="sein", manners="quietly slowly"),
    _verb("thank thanks thanked", "dankt danken gedankt", "person", "person", case="dat"),
    _verb("answer answers answered", "antwortet antworten geantwortet", "person", "person",
          case="dat"),
    # ditransitive: dative indirect object, accusative direct object
    _verb("give gives gave", "gibt geben gegeben", "person", "portable food", iobj=ANIMATE),
    _verb("show shows showed", "zeigt zeigen gezeigt", "person", "portable food animal",
          iobj="person"),
    _verb("bring brings brought", "bringt bringen gebracht", "person", "portable food",
          iobj=ANIMATE),
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
NUMBERS = ("two zwei", "three drei", "four vier", "five fünf", "six sechs", "seven sieben",
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
    **{en: Determiner("", en, de, "invariant") for en, de in map(str.split, NUMBERS)},
}

MODALS: Dict[str, Modal] = {
    "can": Modal("can", "can", "kann", "können", en_to=False, negatable=True),
    "must": Modal("must", "must", "muss", "müssen", en_to=False, negatable=False),  # must not ≠ muss nicht
    "want": Modal("want", "wants", "will", "wollen", en_to=True, negatable=True),
}
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
