"""Preparation of the mini corpus: sentence pairs, synthesised audio, Kaldi data directories.

Output: ``<output_dir>/{train,dev,test,test_espeak}/`` with ``wav.scp``, ``utt2spk``, ``spk2utt``,
``utt2engine`` (the synthesiser of each utterance), ``text.tc.en``, ``text.lc.rm.en`` and
``text.tc.de``, each sorted by utterance id (C locale); utterance ids start with the speaker (voice)
id and end with the sentence's index. ``test`` is read by the voice set's unseen voices, which never
occur in train or dev; ``test_espeak`` is the same sentences read by the unseen espeak-ng voices
alone (with ``voices="espeak"`` it is ``test``). No sentence occurs in two of train, dev and test.
The audio goes to ``wav_dir``; a wav that is already there and valid is not made again.
Everything is deterministic given ``seed``.

Usage:
    python -m ctcot.bin.prepare_mini_st --output_dir data --level easy --size default --seed 0 --nj 2
"""
from __future__ import annotations

import hashlib
import logging
import random
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Sequence, Union

from ctcot import ExternalProgramError, InputError
from ctcot.corpora.mini_st import acoustics
from ctcot.corpora.mini_st.grammar import DEFAULT_LEVEL, LEVELS, SentencePair, generate_pairs
from ctcot.corpora.mini_st.speech import (
    DEFAULT_VOICES,
    SAMPLE_RATE,
    VOICE_SETS,
    Voice,
    check_engines,
    is_valid_wav,
    read_wav,
    run_threads,
    synthesize,
    write_wav,
)
from ctcot.data_dir import write_data_dirs

__all__ = ["SplitSizes", "SIZES", "SETS", "prepare_mini_st"]

logger = logging.getLogger(__name__)


class SplitSizes(NamedTuple):
    """Number of utterances (= distinct sentences) per split."""

    train: int
    dev: int
    test: int


# Utterances per split; the time each takes to make: README of egs2/mini_st/st1.
SIZES: Dict[str, SplitSizes] = {
    "tiny": SplitSizes(train=60, dev=15, test=15),  # CI
    "default": SplitSizes(train=3000, dev=200, test=200),  # the demo recipe
}
SETS = ("train", "dev", "test", "test_espeak")  # the data dirs written


class _Utterance(NamedTuple):
    utt_id: str
    voice: Voice
    pair: SentencePair
    dry: Path  # the synthesised wav
    wav: Path  # the corpus's wav: ``dry``, or ``dry`` in its acoustic conditions
    conditions: acoustics.Conditions


def _assign(pairs: Sequence[SentencePair], first_index: int, voices: Sequence[Voice],
            rng: random.Random, wav_dir: Path) -> List[_Utterance]:
    """One voice per sentence, round robin over the shuffled voices (balanced splits)."""
    order = list(voices)
    rng.shuffle(order)
    utts = []
    for i, pair in enumerate(pairs):
        voice = order[i % len(order)]
        dry = wav_dir / voice.id / f"{voice.cache_key(pair.en_tc)}.wav"
        utts.append(_Utterance(f"{voice.id}-{first_index + i:06d}", voice, pair, dry, dry, acoustics.DRY))
    return utts


def _vary(utts: List[_Utterance], rng: random.Random) -> List[_Utterance]:
    """Draw each utterance's acoustic conditions; its wav is named by its dry wav and the conditions."""
    ids = [u.utt_id for u in utts]
    dry_of = {u.utt_id: u.dry for u in utts}
    varied = []
    for i, u in enumerate(utts):
        conditions = acoustics.draw(rng, ids[:i] + ids[i + 1:])
        name = hashlib.sha1(f"{u.dry.stem}|{conditions!r}|{[dry_of[b].stem for b in conditions.babble]}"
                            .encode()).hexdigest()[:16]
        varied.append(u._replace(wav=u.dry.parent / "varied" / f"{name}.wav", conditions=conditions))
    return varied


def _record(utts: Sequence[_Utterance], nj: int) -> None:
    """Write the varied wavs of ``utts`` (from :func:`_vary`) that are missing or invalid; their dry wavs exist."""
    dry_of = {u.utt_id: u.dry for u in utts}
    todo = [u for u in utts if not is_valid_wav(u.wav)]
    logger.info(f"Acoustic conditions: {len(todo)} wavs to write, {len(utts) - len(todo)} already done")
    if not todo:
        return
    sox = acoustics.sox_binary()

    def one(u: _Utterance) -> None:
        talkers = [read_wav(dry_of[b]) for b in u.conditions.babble]
        u.wav.parent.mkdir(parents=True, exist_ok=True)
        try:
            varied = acoustics.apply(read_wav(u.dry), SAMPLE_RATE, u.conditions, u.dry.stem, talkers, sox)
        except ExternalProgramError as e:
            raise ExternalProgramError(f"{u.utt_id} ({u.dry} -> {u.wav}): {e}") from e
        write_wav(u.wav, varied)

    run_threads(one, todo, nj, "acoustics")


def _tables(utts: Sequence[_Utterance]) -> Dict[str, Dict[str, str]]:
    """The files of one data dir (``spk2utt`` apart)."""
    return {"wav.scp": {u.utt_id: str(u.wav.absolute()) for u in utts},
            "utt2spk": {u.utt_id: u.voice.id for u in utts},
            "utt2engine": {u.utt_id: u.voice.engine for u in utts},
            "text.tc.en": {u.utt_id: u.pair.en_tc for u in utts},
            "text.lc.rm.en": {u.utt_id: u.pair.en_lc_rm for u in utts},
            "text.tc.de": {u.utt_id: u.pair.de_tc for u in utts}}


def prepare_mini_st(output_dir: Union[str, Path], *, level: str = DEFAULT_LEVEL, size: str = "tiny", seed: int = 0,
                    voices: str = DEFAULT_VOICES, acoustic_conditions: str = "clean",
                    wav_dir: Union[str, Path, None] = None, nj: int = 1) -> Dict[str, Path]:
    """Generate the corpus: sentence pairs, synthesised audio and the data dirs of ``SETS``.

    The corpus is generated, so there is no corpus directory to read.

    Args:
        output_dir: where the data dirs are written (replacing them).
        level: the grammar's difficulty, a key of ``grammar.LEVELS``.
        size: a key of ``SIZES``.
        seed: seed of the sentences, of the voice assignment and of the acoustic conditions.
        voices: a key of ``speech.VOICE_SETS``.
        acoustic_conditions: ``clean`` (the synthesised wavs) or ``varied`` (tempo, room and noise per
            utterance, ``acoustics``).
        wav_dir: where the audio goes; default ``<output_dir>/../downloads/mini_st/wav``.
        nj: parallel synthesis processes.

    Returns:
        The data dir written for each of ``SETS``.
    """
    if size not in SIZES:
        raise InputError(f"unknown size {size!r}; choose from {sorted(SIZES)}")
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}; choose from {sorted(LEVELS)}")
    if voices not in VOICE_SETS:
        raise InputError(f"unknown voices {voices!r}; choose from {sorted(VOICE_SETS)}")
    if acoustic_conditions not in acoustics.ACOUSTICS:
        raise InputError(f"unknown acoustic conditions {acoustic_conditions!r}; "
                         f"choose from {list(acoustics.ACOUSTICS)}")
    if nj < 1:
        raise InputError(f"nj must be >= 1, got {nj}")
    voice_set = VOICE_SETS[voices]
    check_engines(voice_set.seen + voice_set.unseen)  # fail before doing anything
    if acoustic_conditions == "varied":
        acoustics.sox_binary()
    start = time.perf_counter()
    output_dir = Path(output_dir)
    wav_dir = Path(wav_dir) if wav_dir is not None else \
        output_dir.absolute().parent / "downloads" / "mini_st" / "wav"
    sizes = SIZES[size]

    pairs = generate_pairs(sizes.train + sizes.dev + sizes.test, seed, level)
    logger.info(f"Generated {len(pairs)} distinct English-German sentence pairs (level={level}, "
                f"size={size}, seed={seed}) in {time.perf_counter() - start:.2f}s")
    rng = random.Random(seed)
    test_pairs, dev_pairs = pairs[:sizes.test], pairs[sizes.test:sizes.test + sizes.dev]
    # The draws of the espeak-ng corpus come first and in its order: with voices="espeak" and clean
    # acoustics, the corpus is the one made before the other engines existed.
    splits = {"test_espeak": _assign(test_pairs, 0, VOICE_SETS["espeak"].unseen, rng, wav_dir)}
    splits["test"] = splits["test_espeak"] if voices == "espeak" else \
        _assign(test_pairs, 0, voice_set.unseen, rng, wav_dir)
    splits["dev"] = _assign(dev_pairs, sizes.test, voice_set.seen, rng, wav_dir)
    splits["train"] = _assign(pairs[sizes.test + sizes.dev:], sizes.test + sizes.dev, voice_set.seen, rng, wav_dir)

    unique = {u.dry: u for utts in splits.values() for u in utts}.values()
    synthesize([(u.voice, u.pair.en_tc, u.dry) for u in unique], nj)
    if acoustic_conditions == "varied":
        for name in ("test", "dev", "train") + (("test_espeak",) if voices != "espeak" else ()):
            # Each set's conditions from its own generator, so that the sets stay independent.
            splits[name] = _vary(splits[name], random.Random(f"{seed}|{name}|acoustics"))
            _record(splits[name], nj)
        if voices == "espeak":
            splits["test_espeak"] = splits["test"]
    # Data dirs only after all audio exists: a failed run leaves no dir that looks complete.
    written = dict(zip(SETS, write_data_dirs(output_dir, {name: _tables(splits[name]) for name in SETS})))
    for name, path in written.items():
        engines = sorted({u.voice.engine for u in splits[name]})
        logger.info(f"Wrote {path}: {len(splits[name])} utterances, "
                    f"{len({u.voice.id for u in splits[name]})} voices ({', '.join(engines)})")
    logger.info(f"mini_st ({level}, {size}, voices {voices}, {acoustic_conditions} acoustics) ready in {output_dir}, "
                f"audio in {wav_dir} [elapsed={time.perf_counter() - start:.1f}s]")
    return written
