"""ctcot.corpora.mini_st: the grammar against hand-checked German, corpus-wide agreement and
word-order properties at each difficulty level, and the tiny corpus end to end (the voices of three
engines and their split, the espeak-ng corpus of old, data dirs, reproducibility, re-runs, missing
engines, acoustic conditions)."""
import hashlib
import io
import logging
import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from ctcot import ExternalProgramError, InputError
from ctcot.bin.prepare_mini_st import get_parser
from ctcot.corpora import mini_st
from ctcot.corpora.mini_st import (
    ADJECTIVES,
    LEVELS,
    MODALS,
    NOUNS,
    SAYING_VERBS,
    SETS,
    SIZES,
    TIME_ADVERBS,
    VERBS,
    VOICE_SETS,
    Clause,
    NounPhrase,
    PrepPhrase,
    Sentence,
    acoustics,
    speech,
)
from ctcot.corpora.normalize import remove_punctuation

DATA_FILES = {"wav.scp", "utt2spk", "spk2utt", "utt2engine", "text.tc.en", "text.lc.rm.en", "text.tc.de"}
OLD_CORPUS = os.path.join(os.path.dirname(__file__), "data", "mini_st_tiny_espeak_seed0.sha1")
SUBORDINATORS = ("weil", "dass", "wenn", "während", "obwohl")


def np_(det, noun, adj=None, plural=False):
    return NounPhrase(det, NOUNS[noun], ADJECTIVES[adj] if adj else None, plural)


def when(en):
    return next(t for t in TIME_ADVERBS if t.en == en)


GOLDEN = [
    (Sentence(Clause(np_("the", "cat"), VERBS["see"], obj=np_("a", "dog", "big"))),
     "The cat sees a big dog.", "Die Katze sieht einen großen Hund."),
    (Sentence(Clause(np_("a", "dog", "big"), VERBS["sleep"])),
     "A big dog sleeps.", "Ein großer Hund schläft."),
    (Sentence(Clause(np_("a", "child", "small"), VERBS["like"], obj=np_("this", "horse", "white"))),
     "A small child likes this white horse.", "Ein kleines Kind mag dieses weiße Pferd."),
    (Sentence(Clause(np_("the", "dog", "big"), VERBS["see"], obj=np_("the", "cat", "small"),
                     time=when("today")), front_time=True),
     "Today, the big dog sees the small cat.", "Heute sieht der große Hund die kleine Katze."),
    (Sentence(Clause(np_("the", "woman"), VERBS["help"], obj=np_("the", "boy"))),
     "The woman helps the boy.", "Die Frau hilft dem Jungen."),
    (Sentence(Clause(np_("the", "man"), VERBS["open"], obj=np_("the", "door"))),
     "The man opens the door.", "Der Mann macht die Tür auf."),
    (Sentence(Clause(np_("the", "dog"), VERBS["sleep"]), conjunction="because",
              other=Clause(np_("the", "man"), VERBS["open"], obj=np_("the", "door"))),
     "The dog sleeps because the man opens the door.",
     "Der Hund schläft, weil der Mann die Tür aufmacht."),
    (Sentence(Clause(np_("the", "boy"), VERBS["sing"]), conjunction="because", other_first=True,
              other=Clause(np_("the", "cat"), VERBS["fall asleep"], tense="past")),
     "Because the cat fell asleep, the boy sings.", "Weil die Katze eingeschlafen ist, singt der Junge."),
    (Sentence(Clause(np_("the", "child", plural=True), VERBS["run"], tense="past",
                     pp=PrepPhrase("to", np_("the", "school")), time=when("yesterday")), front_time=True),
     "Yesterday, the children ran to the school.", "Gestern sind die Kinder zur Schule gelaufen."),
    (Sentence(Clause(np_("the", "girl"), VERBS["see"], obj=np_("a", "dog"), negated=True)),
     "The girl does not see a dog.", "Das Mädchen sieht keinen Hund."),
    (Sentence(Clause(np_("the", "girl"), VERBS["see"], obj=np_("the", "dog"), negated=True)),
     "The girl does not see the dog.", "Das Mädchen sieht den Hund nicht."),
    (Sentence(Clause(np_("the", "dog", plural=True), VERBS["eat"],
                     obj=np_("bare", "apple", "green", plural=True), negated=True)),
     "The dogs do not eat green apples.", "Die Hunde essen keine grünen Äpfel."),
    (Sentence(Clause(np_("many", "cat", "black", plural=True), VERBS["sleep"],
                     pp=PrepPhrase("under", np_("the", "table")))),
     "Many black cats sleep under the table.", "Viele schwarze Katzen schlafen unter dem Tisch."),
    (Sentence(Clause(np_("the", "bird"), VERBS["sit"],
                     pp=PrepPhrase("in_front_of", np_("a", "house", "old")))),
     "The bird sits in front of an old house.", "Der Vogel sitzt vor einem alten Haus."),
    (Sentence(Clause(np_("the", "woman"), VERBS["play"],
                     pp=PrepPhrase("with", np_("the", "child", plural=True)))),
     "The woman plays with the children.", "Die Frau spielt mit den Kindern."),
    (Sentence(Clause(np_("the", "cat"), VERBS["sleep"], pp=PrepPhrase("in", np_("the", "house"))),
              question="yes_no"),
     "Does the cat sleep in the house?", "Schläft die Katze im Haus?"),
    (Sentence(Clause(np_("the", "dog"), VERBS["follow"]), question="who_dat"),
     "Who does the dog follow?", "Wem folgt der Hund?"),
    (Sentence(Clause(None, VERBS["see"], obj=np_("the", "cat")), question="who_subject"),
     "Who sees the cat?", "Wer sieht die Katze?"),
    (Sentence(Clause(np_("the", "girl"), VERBS["pick up"], tense="past"), question="what"),
     "What did the girl pick up?", "Was hat das Mädchen aufgehoben?"),
    (Sentence(Clause(NounPhrase("my", NOUNS["brother"]), VERBS["give"],
                     iobj=np_("the", "dog", plural=True), obj=np_("two", "ball", "red", plural=True))),
     "My brother gives the dogs two red balls.", "Mein Bruder gibt den Hunden zwei rote Bälle."),
    (Sentence(Clause(np_("the", "woman"), SAYING_VERBS["say"], tense="past"), conjunction="that",
              other=Clause(np_("the", "child"), VERBS["sleep"], tense="past")),
     "The woman said that the child slept.", "Die Frau hat gesagt, dass das Kind geschlafen hat."),
    (Sentence(Clause(np_("the", "cat"), VERBS["open"], obj=np_("the", "box"), modal="can", negated=True)),
     "The cat cannot open the box.", "Die Katze kann die Kiste nicht aufmachen."),
    (Sentence(Clause(np_("the", "boy"), VERBS["get up"], modal="want", negated=True)),
     "The boy does not want to get up.", "Der Junge will nicht aufstehen."),
    (Sentence(Clause(np_("the", "man", "old"), None, "future", adjective=ADJECTIVES["tired"],
                     time=when("tomorrow")), front_time=True),
     "Tomorrow, the old man will be tired.", "Morgen ist der alte Mann müde."),
    (Sentence(Clause(NounPhrase(name="Anna"), VERBS["laugh"], tense="past"), conjunction="although",
              other=Clause(np_("the", "dog"), VERBS["come back"], tense="past", negated=True)),
     "Anna laughed, although the dog did not come back.",
     "Anna hat gelacht, obwohl der Hund nicht zurückgekommen ist."),
]


@pytest.mark.parametrize("sentence, english, german", GOLDEN, ids=[g[1] for g in GOLDEN])
def test_hand_checked_translations(sentence, english, german):
    assert sentence.english() == english
    assert sentence.german() == german


def test_invalid_phrases_are_rejected():
    with pytest.raises(ValueError, match="cannot go with a plural"):
        np_("a", "dog", plural=True)
    with pytest.raises(ValueError, match="unknown determiner"):
        np_("an", "apple")
    with pytest.raises(ValueError, match="cannot come first"):
        Sentence(Clause(np_("the", "dog"), VERBS["sleep"]), conjunction="and",
                 other=Clause(np_("the", "cat"), VERBS["sleep"]), other_first=True)


# What 3000 pairs of each level must show (counts of checked cases are lower bounds).
EXPECTED = {
    "easy": dict(entries=(60, 100), en_types=(100, 250), de_types=(150, 400), accusatives=30,
                 subjects=200, datives=60, verb_final=100, verb_second=200,
                 markers=(", weil ", " nicht", " kein", "?", " im ", " zum ", " zur ", " den Jungen",
                          " hat ", " ist ", " sind ", " auf.", " auf?")),
    "hard": dict(entries=(250, 500), en_types=(400, 800), de_types=(600, 1200), accusatives=30,
                 subjects=200, datives=100, verb_final=500, verb_second=200,
                 markers=(", weil ", ", dass ", ", obwohl ", "Weil ", " nicht", " kein", "?", "Wen ",
                          "Wem ", "Wer ", " im ", " zum ", " zur ", " den Jungen", " hat ", " ist ",
                          " kann ", " will ", " auf.", " ein.", " zurück", " viele ", " zwei ", " und ",
                          ", aber ")),
}


@pytest.fixture(scope="module", params=sorted(LEVELS))
def level(request):
    return request.param


@pytest.fixture(scope="module")
def pairs(level):
    return mini_st.generate_pairs(3000, seed=1, level=level)


def finite_forms():
    forms = {"hat", "haben", "ist", "sind", "war", "waren"}
    for v in (*VERBS.values(), *SAYING_VERBS.values()):
        forms |= {v.de_3sg, v.de_3pl, v.de_particle + v.de_3sg, v.de_particle + v.de_3pl}
    for m in MODALS.values():
        forms |= {m.de_3sg, m.de_3pl}
    return forms


def words(text):
    return re.findall(r"[\wäöüÄÖÜß]+", text)


def test_deterministic_and_distinct(pairs, level):
    assert mini_st.generate_pairs(300, seed=1, level=level) == pairs[:300]
    assert mini_st.generate_pairs(300, seed=2, level=level) != pairs[:300]
    assert len({p.en_lc_rm for p in pairs}) == len(pairs)
    assert len({p.de_tc for p in pairs}) == len(pairs)
    grammar = LEVELS[level]
    for p in pairs:
        assert grammar.min_words <= len(p.en_lc_rm.split()) <= grammar.max_words, p
        assert p.en_lc_rm == remove_punctuation(p.en_tc.lower())
        assert re.fullmatch(r"[a-z' ]+", p.en_lc_rm), p
        assert p.en_tc[0].isupper() and p.de_tc[0].isupper()
        assert p.en_tc[-1] in ".?" and p.de_tc[-1] == p.en_tc[-1]


def test_at_most_one_negation_per_clause(pairs):
    for p in pairs:
        for clause in re.split(r", | (?:because|while|although|when|and|but|that) ", p.en_tc.lower()):
            assert len(re.findall(r"\b(?:no|not|cannot)\b", clause)) <= 1, p


def test_vocabulary_size(pairs, level):
    expected = EXPECTED[level]
    total = sum(LEVELS[level].vocabulary_size().values())
    assert expected["entries"][0] <= total <= expected["entries"][1], LEVELS[level].vocabulary_size()
    en_types = {w for p in pairs for w in p.en_lc_rm.split()}
    de_types = {w for p in pairs for w in words(p.de_tc)}
    # Word types include inflected forms (hard: 576 English, 891 German for this seed).
    assert expected["en_types"][0] <= len(en_types) <= expected["en_types"][1], len(en_types)
    assert expected["de_types"][0] <= len(de_types) <= expected["de_types"][1], len(de_types)


def test_levels_nest_and_the_easy_level_keeps_to_its_lexicon():
    easy, hard = LEVELS["easy"], LEVELS["hard"]
    for part in ("nouns", "adjectives", "verbs", "names", "time_adverbs"):
        assert set(getattr(easy, part)) < set(getattr(hard, part)), part
    assert easy.max_words < hard.max_words and mini_st.DEFAULT_LEVEL == "easy"
    allowed = {w for n in easy.nouns for w in f"{n.en} {n.en_pl}".split()}
    allowed |= {w for a in easy.adjectives for w in a.en.split()}
    allowed |= {w for v in easy.verbs for w in f"{v.en} {v.en_3sg} {v.en_past} {v.en_particle}".split()}
    allowed |= {w for t in easy.time_adverbs for w in t.en.split()} | {n.lower() for n in easy.names}
    function_words = set("the a an my is are was were not do does did because to in on under behind "
                         "next in front of with without for".split())
    for p in mini_st.generate_pairs(2000, seed=3, level="easy"):
        unknown = set(p.en_lc_rm.split()) - allowed - function_words
        assert not unknown, (unknown, p)


def test_unknown_level_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown level 'medium'; choose from"):
        mini_st.generate_pairs(10, seed=0, level="medium")
    with pytest.raises(ValueError, match="unknown level"):
        mini_st.prepare_mini_st(tmp_path, size="tiny", level="medium")


def test_every_construction_occurs(pairs, level):
    german = " ".join(p.de_tc for p in pairs)
    for marker in EXPECTED[level]["markers"]:
        assert marker in german, marker


def test_masculine_direct_objects_are_accusative(pairs, level):
    """"sees the/a (adj) dog" → "den/einen/keinen (adj-en) Hund" (weak nouns: "den Jungen")."""
    verbs = [v for v in VERBS.values() if v.obj and v.obj_case == "acc" and not v.iobj]
    verb_forms = sorted({f"{form} {v.en_particle}".strip() for v in verbs
                         for form in (v.en, v.en_3sg, v.en_past)}, key=len, reverse=True)
    checked = 0
    for noun in (n for n in NOUNS.values() if n.gender == "m"):
        en_pattern = re.compile(rf"\b(?:{'|'.join(verb_forms)}) (?:the|an?) (?:\w+ )?{noun.en}\b(?! officer)")
        de_pattern = re.compile(rf"\b(?:den|einen|keinen) (?:\w+en )?{noun.german('acc', False)}\b")
        for p in pairs:
            if en_pattern.search(p.en_lc_rm):
                checked += 1
                assert de_pattern.search(p.de_tc), p
    assert checked >= EXPECTED[level]["accusatives"]


GENDER_ARTICLES = {"the": {"m": ("Der", "e"), "f": ("Die", "e"), "n": ("Das", "e")},
                   "a": {"m": ("Ein", "er"), "f": ("Eine", "e"), "n": ("Ein", "es")}}


def test_sentence_initial_subjects_agree(pairs, level):
    """"The/A (adj) noun ..." opening a statement → German article and adjective ending by gender."""
    nouns = "|".join(sorted(NOUNS, key=len, reverse=True))
    opening = re.compile(rf"(The|An?) (?:({'|'.join(ADJECTIVES)}) )?({nouns})[ ,.]")  # singular only
    checked = 0
    for p in pairs:
        m = opening.match(p.en_tc)
        if m is None:
            continue
        noun = NOUNS[m.group(3)]
        article, ending = GENDER_ARTICLES["the" if m.group(1) == "The" else "a"][noun.gender]
        adjective = ADJECTIVES[m.group(2)].de_stem + ending + " " if m.group(2) else ""
        assert p.de_tc.startswith(f"{article} {adjective}{noun.de} "), p
        checked += 1
    assert checked >= EXPECTED[level]["subjects"]


def test_prepositions_take_dative_and_contract(pairs, level):
    """"with/to/in the (adj) noun" → "mit dem/der", "zum/zur", "im/in der" + adjective in -en."""
    expected = {"with": {"m": "mit dem", "f": "mit der", "n": "mit dem"},
                "to": {"m": "zum", "f": "zur", "n": "zum"},
                "in": {"m": "im", "f": "in der", "n": "im"}}
    checked = 0
    for noun in NOUNS.values():
        for prep, by_gender in expected.items():
            en = re.compile(rf"(?<!next )\b{prep} the (?:(\w+) )?{noun.en}\b(?! officer)")
            for p in pairs:
                m = en.search(p.en_lc_rm)
                if m and (m.group(1) is None or m.group(1) in ADJECTIVES):
                    adjective = ADJECTIVES[m.group(1)].de_stem + "en " if m.group(1) else ""
                    assert f"{by_gender[noun.gender]} {adjective}{noun.german('dat', False)}" in p.de_tc, p
                    checked += 1
    assert checked >= EXPECTED[level]["datives"]


def test_english_indefinite_article(pairs):
    for p in pairs:
        for article, word in re.findall(r"\b(an?) (\w+)", p.en_lc_rm):
            assert (article == "an") == (word[0] in "aeiou"), p


def test_verb_final_in_subordinate_clauses(pairs, level):
    finite = finite_forms()
    checked = 0
    for p in pairs:
        text = p.de_tc.rstrip(".?")
        for conj in SUBORDINATORS:
            if f", {conj} " in text:
                clause = text.split(f", {conj} ", 1)[1]
            elif text.startswith(conj.capitalize() + " "):
                clause, main = text.split(", ", 1)
                assert main.split()[0] in finite, p  # the fronted clause fills the first position
            else:
                continue
            assert clause.split()[-1] in finite, p
            checked += 1
    assert checked >= EXPECTED[level]["verb_final"]


def test_verb_second_after_fronted_time_adverb(pairs, level):
    finite = finite_forms()
    adverbs = sorted(TIME_ADVERBS, key=lambda t: len(t.de), reverse=True)
    checked = 0
    for p in pairs:
        time = next((t for t in adverbs if p.de_tc.startswith(t.de[0].upper() + t.de[1:] + " ")), None)
        if time is None:
            continue
        assert p.en_tc.startswith(time.en[0].upper() + time.en[1:] + ", "), p
        assert p.de_tc[len(time.de) + 1:].split()[0] in finite, p
        checked += 1
    assert checked >= EXPECTED[level]["verb_second"]


def lemma_maps():
    """English and German word form → lemma, for nouns and (non-auxiliary) verbs; None if ambiguous."""
    en, de = {}, {}

    def add(table, form, lemma):
        for word in form.split():
            table[word] = lemma if table.get(word, lemma) == lemma else None

    for n in NOUNS.values():
        for form in (n.en, n.en_pl):
            add(en, form.lower(), n.en)
        for form in (n.de, n.de_pl, n.german("dat", True), n.german("acc", False)):
            add(de, form, n.en)
    for v in VERBS.values():
        if v.key == "have":  # "hat" is also the auxiliary of the perfect
            continue
        for form in (v.en, v.en_3sg, v.en_past):
            add(en, form, v.key)
        for form in (v.de_3sg, v.de_3pl, v.de_participle, v.de_infinitive,
                     v.de_particle + v.de_3sg, v.de_particle + v.de_3pl):
            add(de, form, v.key)
    return en, de


def test_translation_is_not_word_for_word(pairs):
    """Nouns and verbs come in another order in German in a good share of the sentences."""
    en_map, de_map = lemma_maps()

    def sequence(tokens, table):
        lemmas = [table[t] for t in tokens if table.get(t)]
        return [lemma for i, lemma in enumerate(lemmas) if i == 0 or lemmas[i - 1] != lemma]

    compared = reordered = 0
    for p in pairs:
        en = sequence(p.en_lc_rm.split(), en_map)
        de = sequence(words(p.de_tc), de_map)
        if sorted(en) == sorted(de):
            compared += 1
            reordered += en != de
    assert compared >= 0.5 * len(pairs)
    assert reordered >= 0.35 * compared, (reordered, compared)


# --------------------------------------------------------------------------------------------
# The tiny corpus end to end
# --------------------------------------------------------------------------------------------

def read_table(path):
    return [line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny corpus of the many voices, made by the program."""
    root = tmp_path_factory.mktemp("mini_st")
    cmd = [sys.executable, "-m", "ctcot.bin.prepare_mini_st", "--output_dir", str(root / "data"),
           "--size", "tiny", "--seed", "0", "--voices", "many", "--nj", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result.stderr


def voice_of(utt_id):
    voice_id = utt_id.rsplit("-", 1)[0]
    return next(v for vs in VOICE_SETS.values() for v in vs.seen + vs.unseen if v.id == voice_id)


def sha1(path):
    return hashlib.sha1(open(path, "rb").read()).hexdigest()


def test_tiny_data_dirs(tiny):
    root, log = tiny
    wavs = {path for split in SETS for _, path in read_table(root / "data" / split / "wav.scp")}
    counts = re.search(r"Synthesis: (\d+) wavs to write \(espeak (\d+), festival (\d+), flite (\d+)\)", log).groups()
    engines = [voice_of(os.path.basename(os.path.dirname(w)) + "-0").engine for w in wavs]
    assert [int(c) for c in counts] == [len(wavs), *(engines.count(e) for e in ("espeak", "festival", "flite"))]
    assert "elapsed=" in log
    sizes = {**SIZES["tiny"]._asdict(), "test_espeak": SIZES["tiny"].test}
    assert sorted(p.name for p in (root / "data").iterdir()) == sorted(SETS)  # no staging dir left
    for split, size in sizes.items():
        d = root / "data" / split
        assert {f.name for f in d.iterdir()} == DATA_FILES
        tables = {name: read_table(d / name) for name in DATA_FILES - {"spk2utt"}}
        ids = [row[0] for row in tables["wav.scp"]]
        assert len(ids) == size and len(set(ids)) == size
        assert ids == sorted(ids, key=lambda i: i.encode())
        for name, rows in tables.items():
            assert [row[0] for row in rows] == ids, name
        for utt, spk in tables["utt2spk"]:
            assert utt.startswith(spk + "-") and voice_of(utt).id == spk
        assert all(engine == voice_of(utt).engine for utt, engine in tables["utt2engine"])
        spk2utt = {spk: utts.split() for spk, utts in read_table(d / "spk2utt")}
        assert list(spk2utt) == sorted(spk2utt)
        assert spk2utt == {s: [u for u, s2 in tables["utt2spk"] if s2 == s] for s in spk2utt}
        for (_, tc), (_, lc) in zip(tables["text.tc.en"], tables["text.lc.rm.en"]):
            assert lc == remove_punctuation(tc.lower())


@pytest.mark.parametrize("name", sorted(VOICE_SETS))
def test_voice_sets_hold_out_whole_voices(name):
    """No unseen voice is a seen one: a test voice's (engine, voice name) never reads train or dev (an espeak-ng
    voice name is an accent and a variant, "en-gb-x-rp+f2")."""
    voice_set = VOICE_SETS[name]
    ids = [v.id for v in voice_set.seen + voice_set.unseen]
    assert len(ids) == len(set(ids))
    seen = {(v.engine, v.name) for v in voice_set.seen}
    assert not seen & {(v.engine, v.name) for v in voice_set.unseen}
    assert all(v.engine in speech.ENGINES for v in voice_set.seen + voice_set.unseen)


def test_many_voices_hold_out_an_engine_and_the_same_speakers_of_another():
    many = VOICE_SETS["many"]
    assert {v.engine for v in many.seen} == {"espeak", "flite"}
    assert {v.engine for v in many.unseen} == {"espeak", "flite", "festival"}
    # flite's and festival's kal and slt are the same recorded speakers: neither engine's reads training.
    seen_names = {v.name for v in many.seen}
    assert not any(speaker in name for name in seen_names for speaker in ("kal", "slt"))
    assert many.seen[:20] == VOICE_SETS["espeak"].seen and many.unseen[:4] == VOICE_SETS["espeak"].unseen


def test_tiny_splits_hold_out_voices_and_sentences(tiny):
    root, _ = tiny
    voices = {s: {spk for _, spk in read_table(root / "data" / s / "utt2spk")} for s in SETS}
    engines = {s: {e for _, e in read_table(root / "data" / s / "utt2engine")} for s in SETS}
    sentences = {s: {text for _, text in read_table(root / "data" / s / "text.lc.rm.en")} for s in SETS}
    many = VOICE_SETS["many"]
    assert voices["test"] and voices["test"] <= {v.id for v in many.unseen}
    assert not voices["test"] & (voices["train"] | voices["dev"])
    assert voices["train"] == {v.id for v in many.seen}
    assert engines["train"] == engines["dev"] == {"espeak", "flite"}
    assert engines["test"] == {"espeak", "flite", "festival"} and engines["test_espeak"] == {"espeak"}
    assert voices["test_espeak"] <= {v.id for v in VOICE_SETS["espeak"].unseen}
    assert not sentences["test"] & sentences["train"] and not sentences["dev"] & sentences["train"]
    assert not sentences["test"] & sentences["dev"]
    # test_espeak: the same sentences, with the same indices.
    def by_index(split):
        return {utt.rsplit("-", 1)[1]: text for utt, text in read_table(root / "data" / split / "text.tc.de")}
    assert by_index("test") == by_index("test_espeak")


def test_tiny_audio(tiny):
    root, _ = tiny
    for split in SETS:
        for utt, path in read_table(root / "data" / split / "wav.scp"):
            info = soundfile.info(path)
            assert path.startswith("/") and info.samplerate == 16000 and info.channels == 1
            assert info.subtype == "PCM_16" and 0.5 < info.duration < 12, (utt, info)
            audio, _ = soundfile.read(path)
            assert np.sqrt(np.mean(audio ** 2)) > 0.01, utt


def test_resampling_keeps_duration(tiny):
    """16 kHz output lasts as long as espeak-ng's own 22.05 kHz output (the ratio is 320/441)."""
    root, _ = tiny
    utt, path = read_table(root / "data" / "test_espeak" / "wav.scp")[0]
    text = dict(read_table(root / "data" / "test_espeak" / "text.tc.en"))[utt]
    voice = voice_of(utt)
    raw = subprocess.run(["espeak-ng", "-v", voice.name, "-s", f"{voice.rate:g}", "-p", f"{voice.pitch:g}",
                          "--stdout", text], capture_output=True, check=True).stdout
    assert soundfile.info(path).duration == pytest.approx(soundfile.info(io.BytesIO(raw)).duration, abs=1e-3)


def test_espeak_voices_give_the_corpus_of_old(tmp_path):
    """--voices espeak: the wavs and data files of the corpus made before flite and festival, byte for byte
    (checksums of that corpus, tiny, seed 0); test_espeak is test."""
    written = mini_st.prepare_mini_st(tmp_path / "data", size="tiny", seed=0, voices="espeak",
                                      wav_dir=tmp_path / "wav", nj=2)
    assert list(written) == list(SETS)
    expected = dict(line.split("  ")[::-1] for line in open(OLD_CORPUS).read().splitlines())
    wavs = {str(p.relative_to(tmp_path / "wav")): sha1(p) for p in (tmp_path / "wav").rglob("*.wav")}
    assert wavs == {k: v for k, v in expected.items() if k.endswith(".wav")}
    for key, digest in expected.items():
        if not key.endswith(".wav"):
            text = (tmp_path / "data" / key).read_text(encoding="utf-8").replace(f"{tmp_path / 'wav'}/", "")
            assert hashlib.sha1(text.encode()).hexdigest() == digest, key
    for name in ("wav.scp", "text.tc.de", "utt2engine"):
        assert (tmp_path / "data/test" / name).read_bytes() == (tmp_path / "data/test_espeak" / name).read_bytes()


@pytest.mark.parametrize("acoustic_conditions", acoustics.ACOUSTICS)
def test_same_seed_same_wavs_per_engine(tmp_path, acoustic_conditions):
    """Two corpora made apart from the same seed have the same wavs, engine by engine; another seed does not."""
    def make(name, seed=0):
        mini_st.prepare_mini_st(tmp_path / name / "data", size="tiny", seed=seed, voices="many",
                                wav_dir=tmp_path / name / "wav",
                                acoustic_conditions=acoustic_conditions, nj=2)
        wav_of = dict(read_table(tmp_path / name / "data/test/wav.scp"))
        by_engine = {}
        for utt, engine in read_table(tmp_path / name / "data/test/utt2engine"):
            by_engine.setdefault(engine, {})[utt] = sha1(wav_of[utt])
        return by_engine
    first = make("a")
    assert sorted(first) == ["espeak", "festival", "flite"]
    assert make("b") == first
    other = make("c", seed=1)
    assert all(set(first[e].values()).isdisjoint(other[e].values()) for e in first)


def test_rerun_reuses_valid_wavs(tiny, caplog):
    root, log = tiny
    total = sum(int(n) for n in re.search(r"Synthesis: (\d+) wavs", log).groups())
    scp = read_table(root / "data" / "train" / "wav.scp")
    wavs = [p for _, p in scp]
    before = {p: os.stat(p).st_mtime_ns for p in wavs}
    texts_before = (root / "data" / "train" / "text.tc.de").read_text(encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="ctcot.corpora.mini_st"):
        written = mini_st.prepare_mini_st(root / "data", size="tiny", seed=0, voices="many", nj=2)
    assert f"0 wavs to write (espeak 0, festival 0, flite 0), {total} already done" in caplog.text
    assert written == {split: root / "data" / split for split in SETS}
    assert sorted(p.name for p in (root / "data").iterdir()) == sorted(SETS)  # no staging dir left
    assert {p: os.stat(p).st_mtime_ns for p in wavs} == before
    assert (root / "data" / "train" / "text.tc.de").read_text(encoding="utf-8") == texts_before

    # A missing and a corrupt wav are synthesised again, and only those.
    missing, corrupt = wavs[0], wavs[1]
    os.remove(missing)
    with open(corrupt, "wb") as f:
        f.write(b"not a wav")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ctcot.corpora.mini_st"):
        mini_st.prepare_mini_st(root / "data", size="tiny", seed=0, voices="many", nj=2)
    assert re.search(rf"Synthesis: 2 wavs to write \(.*\), {total - 2} already done", caplog.text)
    assert soundfile.info(missing).samplerate == soundfile.info(corrupt).samplerate == 16000
    assert all(os.stat(p).st_mtime_ns == t for p, t in before.items() if p not in (missing, corrupt))


@pytest.mark.parametrize("program, engine", [("espeak-ng", "espeak"), ("flite", "flite"), ("text2wave", "festival")])
def test_missing_engine_is_reported(tmp_path, monkeypatch, program, engine):
    which = speech.shutil.which
    monkeypatch.setattr(speech.shutil, "which", lambda name: None if name == program else which(name))
    packages = " ".join(speech.ENGINES[engine].packages)
    with pytest.raises(FileNotFoundError, match=rf"{program} \({engine}\) not found.*apt-get install {packages}"):
        mini_st.prepare_mini_st(tmp_path / "data", size="tiny", voices="many", wav_dir=tmp_path / "wav")
    assert not (tmp_path / "data").exists() and not (tmp_path / "wav").exists()
    if engine != "espeak":  # the espeak-ng corpus does not need the others
        mini_st.prepare_mini_st(tmp_path / "data", size="tiny", voices="espeak", wav_dir=tmp_path / "wav")


def test_missing_voice_and_sox_are_reported(tmp_path, monkeypatch):
    many = VOICE_SETS["many"]
    ghost = speech.Voice("festival-ghost1", "festival", "ghost_diphone", 1.0, 0)
    monkeypatch.setitem(VOICE_SETS, "many", many._replace(unseen=many.unseen + (ghost,)))
    with pytest.raises(FileNotFoundError, match="festival has no voice 'ghost_diphone'.*apt-get install festival"):
        mini_st.prepare_mini_st(tmp_path / "data", size="tiny", voices="many", wav_dir=tmp_path / "wav")
    ghost = speech.Voice("flite-ghost1", "flite", "ghost", 1.0, 0)
    monkeypatch.setitem(VOICE_SETS, "many", many._replace(unseen=many.unseen + (ghost,)))
    with pytest.raises(FileNotFoundError, match=r"flite has no voice 'ghost' \(`flite -lv`: .*slt"):
        mini_st.prepare_mini_st(tmp_path / "data", size="tiny", voices="many", wav_dir=tmp_path / "wav")
    monkeypatch.setitem(VOICE_SETS, "many", many)
    which = acoustics.shutil.which
    monkeypatch.setattr(acoustics.shutil, "which", lambda name: None if name == "sox" else which(name))
    with pytest.raises(FileNotFoundError, match="sox not found.*--acoustics clean"):
        mini_st.prepare_mini_st(tmp_path / "data", size="tiny", acoustic_conditions="varied", wav_dir=tmp_path / "wav")
    assert not (tmp_path / "data").exists() and not (tmp_path / "wav").exists()


def test_unknown_engine_is_named():
    with pytest.raises(InputError, match="voice robot1: unknown engine 'robot'"):
        speech.check_engines([speech.Voice("robot1", "robot", "r2d2", 1.0, 0)])


def test_engine_failure_names_the_voice_and_command(tmp_path):
    voice = speech.Voice("festival-bad1", "festival", "kal_diphone", 1.0, 0)
    bad = voice._replace(name="no_such_voice")
    binaries = speech.check_engines([voice])
    with pytest.raises(ExternalProgramError, match="text2wave failed for voice festival-bad1.*voice_no"):
        speech._synthesize_one(binaries["festival"], bad, "Hello.", tmp_path / "a.wav")
    assert list(tmp_path.iterdir()) == []


def tone(seconds=2.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))


@pytest.mark.parametrize("noise", ["white", "pink", "babble"])
def test_noise_is_added_at_the_drawn_snr(noise):
    dry = tone()
    t = np.arange(16000) / 16000
    talkers = [0.2 * np.sin(2 * np.pi * 510 * t), np.sin(2 * np.pi * 730 * t[:9000])] if noise == "babble" else []
    conditions = acoustics.Conditions(1.0, 0.0, noise, 7.5, ("a", "b") if talkers else ())
    out = acoustics.apply(dry, 16000, conditions, "key", talkers)
    scale = np.dot(out, dry) / np.dot(dry, dry)  # noise is independent of the tone: the projection is the gain
    added = out / scale - dry
    snr = 10 * np.log10(np.mean(dry ** 2) / np.mean(added ** 2))
    assert snr == pytest.approx(7.5, abs=0.3)
    assert np.max(np.abs(out)) == pytest.approx(acoustics.PEAK)
    assert np.array_equal(out, acoustics.apply(dry, 16000, conditions, "key", talkers))  # same key: same noise
    assert not np.array_equal(out, acoustics.apply(dry, 16000, conditions, "other", talkers))


def test_pink_noise_falls_by_3_db_an_octave():
    power = np.abs(np.fft.rfft(acoustics._pink(2 ** 18, np.random.default_rng(0)))) ** 2
    band = [power[2 ** k: 2 ** (k + 1)].sum() for k in (8, 12)]  # equal power per octave: 1/f
    assert band[1] / band[0] == pytest.approx(1.0, rel=0.1)


def test_room_and_tempo():
    dry = tone()
    sox = acoustics.sox_binary()
    faster = acoustics.apply(dry, 16000, acoustics.Conditions(1.08, 0.0, "none", 0.0, ()), "k", sox=sox)
    assert faster.size == pytest.approx(dry.size / 1.08, rel=0.01)
    impulse = np.zeros(16000)
    impulse[100] = 1.0
    room = acoustics.apply(impulse, 16000, acoustics.Conditions(1.0, 0.4, "none", 0.0, ()), "k")
    tail = room[100 + 48:] ** 2  # after the direct sound and the first 3 ms
    energy_db = 10 * np.log10(np.cumsum(tail[::-1])[::-1] / tail.sum())  # Schroeder's backward integral
    t20 = np.argmax(energy_db < -25) - np.argmax(energy_db < -5)  # the decay from -5 to -25 dB, times 3: RT60
    assert 3 * t20 / 16000 == pytest.approx(0.4, rel=0.15)
    assert np.argmax(np.abs(room)) == 100  # the direct sound stays the loudest


def test_conditions_are_drawn_from_the_seed():
    others = [f"u{i}" for i in range(50)]
    draws = [acoustics.draw(random.Random(3), others) for _ in range(2)]
    assert draws[0] == draws[1]
    many = [acoustics.draw(random.Random(seed), others) for seed in range(400)]
    assert {c.noise for c in many} == set(acoustics.NOISES)
    assert 0.4 < np.mean([c.rt60 > 0 for c in many]) < 0.6
    assert all(acoustics.TEMPO_RANGE[0] <= c.tempo <= acoustics.TEMPO_RANGE[1] for c in many)
    assert all(3 <= len(c.babble) <= 5 and set(c.babble) <= set(others) for c in many if c.noise == "babble")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown size"):
        mini_st.prepare_mini_st(tmp_path, size="huge")
    with pytest.raises(ValueError, match="unknown voices 'robots'"):
        mini_st.prepare_mini_st(tmp_path, size="tiny", voices="robots")
    with pytest.raises(ValueError, match="unknown acoustic conditions 'loud'"):
        mini_st.prepare_mini_st(tmp_path, size="tiny", acoustic_conditions="loud")
    with pytest.raises(ValueError, match="nj"):
        mini_st.prepare_mini_st(tmp_path, size="tiny", nj=0)
    parser = get_parser()
    assert all(action.help for action in parser._actions)
    for flag in ("--nj", "--num_jobs"):  # --num_jobs: the old spelling
        assert parser.parse_args(["--output_dir", "data", flag, "3"]).nj == 3
    args = parser.parse_args(["--output_dir", "data"])
    assert (args.voices, args.acoustics) == (speech.DEFAULT_VOICES, "clean")


def test_setup_env_installs_every_engine_and_sox():
    """tools/setup_env.sh's system packages are the engines' packages and sox."""
    script = open(os.path.join(os.path.dirname(__file__), "..", "tools", "setup_env.sh"), encoding="utf-8").read()
    listed = set(re.search(r"^system_packages=\(([^)]*)\)", script, re.M).group(1).split())
    assert listed == {p for engine in speech.ENGINES.values() for p in engine.packages} | {"sox"}


def test_voices_figure(tmp_path):
    """python -m ctcot.bin.voices_figure: one column per voice, two rows (dry, varied); an unknown voice is named."""
    from PIL import Image

    out = tmp_path / "voices.png"
    cmd = [sys.executable, "-m", "ctcot.bin.voices_figure", "--output", str(out), "--voices", "spk00", "flite-slt1"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    width, height = Image.open(out).size
    assert (width, height) == (round(3.2 * 2 * 80), round(5.2 * 80))
    result = subprocess.run(cmd[:-1] + ["flite-ghost"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "unknown voice(s) flite-ghost" in result.stderr
