"""Spectrograms of one sentence read by several of the mini corpus's voices, side by side.

Usage:
    python -m ctcot.bin.voices_figure --output docs/voices_mini.png
"""
from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ctcot import InputError
from ctcot.corpora.mini_st import acoustics
from ctcot.corpora.mini_st.speech import SAMPLE_RATE, VOICE_SETS, Voice, read_wav, synthesize
from ctcot.fileio import atomic_write

__all__ = ["DEFAULT_TEXT", "DEFAULT_FIGURE_VOICES", "all_voices", "plot_voices"]

DEFAULT_TEXT = "Did the women carry the cup?"  # test utterance 000001 of the default corpus
# Seen voices of espeak-ng and flite, unseen ones of flite and festival.
DEFAULT_FIGURE_VOICES = ("spk00", "spk08", "flite-awb1", "flite-slt1", "festival-ked1", "festival-slt1")


def all_voices() -> dict:
    """Voice id -> (voice, "seen" or "unseen" in the ``many`` voice set)."""
    many = VOICE_SETS["many"]
    return {**{v.id: (v, "seen") for v in many.seen}, **{v.id: (v, "unseen") for v in many.unseen}}


def plot_voices(output: Path, text: str = DEFAULT_TEXT, voice_ids: Sequence[str] = DEFAULT_FIGURE_VOICES,
                varied_seed: int = 0, nj: int = 2) -> Path:
    """Draw a row of spectrograms (linear frequency) of ``text`` read by each voice; below each, the same
    reading in acoustic conditions drawn with ``varied_seed`` (their tempo, room and noise in the title).

    Returns:
        ``output``, a PNG.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    known = all_voices()
    unknown = [i for i in voice_ids if i not in known]
    if unknown:
        raise InputError(f"unknown voice(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    voices: list[Voice] = [known[i][0] for i in voice_ids]
    with tempfile.TemporaryDirectory() as tmp:
        wavs = [Path(tmp) / f"{v.id}.wav" for v in voices]
        synthesize([(v, text, w) for v, w in zip(voices, wavs)], nj)
        dry = [read_wav(w) for w in wavs]
    sox = acoustics.sox_binary()
    rng = random.Random(varied_seed)
    fig, axes = plt.subplots(2, len(voices), figsize=(3.2 * len(voices), 5.2), squeeze=False)
    for column, (voice, audio) in enumerate(zip(voices, dry)):
        others = [i for i in range(len(dry)) if i != column] or [column]  # one voice babbles with itself
        pool = [str(i) for i in others] * acoustics.BABBLE_TALKERS[1]  # draw() samples up to 5 talkers
        while True:  # a condition with noise, so that the second row shows some
            conditions = acoustics.draw(rng, pool)
            if conditions.noise != "none":
                break
        talkers = [dry[int(i)] for i in conditions.babble]
        varied = acoustics.apply(audio, SAMPLE_RATE, conditions, voice.id, talkers, sox)
        for row, (samples, title) in enumerate([
                (audio, f"{voice.id} ({known[voice.id][1]})\n{voice.engine}: {voice.name}"),
                (varied, f"varied: tempo {conditions.tempo:.2f}, "
                         f"{'room ' + format(conditions.rt60, '.2f') + ' s' if conditions.rt60 else 'no room'},\n"
                         f"{conditions.noise} noise {conditions.snr_db:.0f} dB")]):
            ax = axes[row][column]
            ax.specgram(samples + 1e-9 * np.random.default_rng(0).standard_normal(samples.size),
                        NFFT=400, Fs=SAMPLE_RATE, noverlap=240, cmap="magma")
            ax.set_title(title, fontsize=8)
            ax.set_ylim(0, 8000)
            ax.tick_params(labelsize=7)
            if column == 0:
                ax.set_ylabel("Hz", fontsize=8)
            if row == 1:
                ax.set_xlabel("s", fontsize=8)
    fig.suptitle(f'"{text}"', fontsize=10)
    fig.tight_layout()
    figure, png = io.BytesIO(), io.BytesIO()
    fig.savefig(figure, dpi=80)
    plt.close(fig)
    # Noise does not compress: 64 colours keep the picture and take a fifth of the bytes.
    Image.open(figure).convert("RGB").quantize(64).save(png, format="PNG", optimize=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(output, png.getvalue())
    return output
