"""Preparation of the mini corpus: sentence pairs, espeak-ng audio, Kaldi data directories.

Output: ``<output_dir>/{train,dev,test}/`` with ``wav.scp``, ``utt2spk``, ``spk2utt``,
``text.tc.en``, ``text.lc.rm.en`` and ``text.tc.de``, each sorted by utterance id (C locale);
utterance ids start with the speaker id. The audio goes to ``wav_dir``; a wav that is
already there and valid is not synthesised again. The test speakers never occur in train or
dev, and no sentence occurs in two splits. Everything is deterministic given ``seed``.

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

from ctcot import InputError
from ctcot.corpora.mini_st.grammar import DEFAULT_LEVEL, LEVELS, SentencePair, generate_pairs
from ctcot.corpora.mini_st.speech import SPEAKERS, TEST_SPEAKERS, Speaker, espeak_binary, synthesize
from ctcot.data_dir import write_data_dirs

__all__ = ["SplitSizes", "SIZES", "prepare_mini_st"]

logger = logging.getLogger(__name__)


class SplitSizes(NamedTuple):
    """Number of utterances (= distinct sentences) per split."""

    train: int
    dev: int
    test: int


# Measured with --nj 2 on 2 CPU cores: tiny 0.8 s (+1 s start-up); default, easy level, about 40 s
# for 1.9 h of audio (210 MB of wavs; hard level: 2.7 h).
SIZES: Dict[str, SplitSizes] = {
    "tiny": SplitSizes(train=60, dev=15, test=15),  # CI
    "default": SplitSizes(train=3000, dev=200, test=200),  # the demo recipe
}


class _Utterance(NamedTuple):
    utt_id: str
    speaker: Speaker
    pair: SentencePair
    wav: Path


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


def _tables(utts: Sequence[_Utterance]) -> Dict[str, Dict[str, str]]:
    """The files of one data dir (``spk2utt`` apart)."""
    return {"wav.scp": {u.utt_id: str(u.wav.absolute()) for u in utts},
            "utt2spk": {u.utt_id: u.speaker.id for u in utts},
            "text.tc.en": {u.utt_id: u.pair.en_tc for u in utts},
            "text.lc.rm.en": {u.utt_id: u.pair.en_lc_rm for u in utts},
            "text.tc.de": {u.utt_id: u.pair.de_tc for u in utts}}


def prepare_mini_st(output_dir: Union[str, Path], *, level: str = DEFAULT_LEVEL, size: str = "tiny", seed: int = 0,
                    wav_dir: Union[str, Path, None] = None, nj: int = 1) -> Dict[str, Path]:
    """Generate the corpus: sentence pairs, espeak-ng audio and the train/dev/test data dirs.

    The corpus is generated, so there is no corpus directory to read.

    Args:
        output_dir: where ``train/``, ``dev/`` and ``test/`` are written (replacing them).
        level: the grammar's difficulty, a key of ``grammar.LEVELS``.
        size: a key of ``SIZES``.
        seed: seed of the sentences and of the speaker assignment.
        wav_dir: where the audio goes; default ``<output_dir>/../downloads/mini_st/wav``.
        nj: parallel espeak-ng processes.

    Returns:
        The data dir written for each split, train, dev and test.
    """
    if size not in SIZES:
        raise InputError(f"unknown size {size!r}; choose from {sorted(SIZES)}")
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}; choose from {sorted(LEVELS)}")
    if nj < 1:
        raise InputError(f"nj must be >= 1, got {nj}")
    espeak_binary()  # fail before doing anything
    start = time.perf_counter()
    output_dir = Path(output_dir)
    wav_dir = Path(wav_dir) if wav_dir is not None else \
        output_dir.absolute().parent / "downloads" / "mini_st" / "wav"
    sizes = SIZES[size]

    pairs = generate_pairs(sizes.train + sizes.dev + sizes.test, seed, level)
    logger.info(f"Generated {len(pairs)} distinct English-German sentence pairs (level={level}, "
                f"size={size}, seed={seed}) in {time.perf_counter() - start:.2f}s")
    seen = [s for s in SPEAKERS.values() if s.id not in TEST_SPEAKERS]
    held_out = [SPEAKERS[s] for s in TEST_SPEAKERS]
    rng = random.Random(seed)
    splits = {
        "test": _assign(pairs[:sizes.test], 0, held_out, rng, wav_dir),
        "dev": _assign(pairs[sizes.test:sizes.test + sizes.dev], sizes.test, seen, rng, wav_dir),
        "train": _assign(pairs[sizes.test + sizes.dev:], sizes.test + sizes.dev, seen, rng, wav_dir),
    }

    all_utts = [u for utts in splits.values() for u in utts]
    synthesize([(u.speaker, u.pair.en_tc, u.wav) for u in all_utts], nj)
    # Data dirs only after all audio exists: a failed run leaves no dir that looks complete.
    names = SplitSizes._fields
    written = dict(zip(names, write_data_dirs(output_dir, {name: _tables(splits[name]) for name in names})))
    for name, path in written.items():
        logger.info(f"Wrote {path}: {len(splits[name])} utterances, "
                    f"{len({u.speaker.id for u in splits[name]})} speakers")
    logger.info(f"mini_st ({level}, {size}) ready in {output_dir}, audio in {wav_dir} "
                f"[elapsed={time.perf_counter() - start:.1f}s]")
    return written

