"""Acoustic conditions of the mini corpus: tempo, a room, and noise, drawn per utterance.

With ``acoustics="varied"`` each utterance's synthesised (dry) wav is turned into the corpus's wav by
:func:`apply`: a tempo change (sox ``tempo``: duration changes, pitch does not), in half of the
utterances a room (the dry signal convolved with a generated impulse response: the direct sound,
then exponentially decaying noise of a sampled reverberation time), and in three quarters of them
noise at a sampled SNR: white, pink, or babble (3-5 other utterances of the same split, mixed).
Nothing comes from outside the corpus. :func:`draw` draws an utterance's :class:`Conditions` from a
generator seeded by the corpus seed and the set's name, so the same seed gives the same
conditions, and the noise and the room's tail come from a generator seeded by the conditions
themselves, so the same conditions give the same samples.
"""
from __future__ import annotations

import hashlib
import io
import random
import shutil
import subprocess
from typing import NamedTuple, Sequence, Tuple

import numpy as np
import soundfile
from scipy.signal import fftconvolve

from ctcot import ExternalProgramError

__all__ = ["ACOUSTICS", "Conditions", "DRY", "draw", "apply", "sox_binary"]

ACOUSTICS = ("clean", "varied")

TEMPO_RANGE = (0.9, 1.1)
ROOM_PROBABILITY = 0.5
RT60_RANGE = (0.15, 0.6)  # seconds: a small office to a classroom
NOISES = ("none", "white", "pink", "babble")  # drawn with equal probability
SNR_RANGE = (5.0, 20.0)  # dB
BABBLE_TALKERS = (3, 5)
PEAK = 0.9  # the mixture's peak after scaling, below PCM-16's full scale


class Conditions(NamedTuple):
    """How one utterance was "recorded"."""

    tempo: float  # 1: as synthesised; 1.1: 10 % faster
    rt60: float  # reverberation time (s) of the room; 0: no room
    noise: str  # one of NOISES
    snr_db: float  # speech-to-noise ratio; unused with noise "none"
    babble: Tuple[str, ...]  # utterance ids whose dry speech makes the babble

    def seed(self, key: str) -> int:
        """The seed of the noise's and the room's samples: the conditions and the dry wav's ``key``."""
        return int(hashlib.sha1(f"{key}|{self!r}".encode()).hexdigest()[:15], 16)


DRY = Conditions(1.0, 0.0, "none", 0.0, ())


def draw(rng: random.Random, others: Sequence[str]) -> Conditions:
    """Draw one utterance's conditions; babble talkers come from ``others`` (the split's other utterances)."""
    tempo = round(rng.uniform(*TEMPO_RANGE), 3)
    rt60 = round(rng.uniform(*RT60_RANGE), 3) if rng.random() < ROOM_PROBABILITY else 0.0
    noise = rng.choice(NOISES)
    snr_db = round(rng.uniform(*SNR_RANGE), 1) if noise != "none" else 0.0
    babble = tuple(rng.sample(list(others), rng.randint(*BABBLE_TALKERS))) if noise == "babble" else ()
    return Conditions(tempo, rt60, noise, snr_db, babble)


def sox_binary() -> str:
    binary = shutil.which("sox")
    if binary is None:
        raise FileNotFoundError("sox not found on PATH; the mini corpus's varied acoustics need it for tempo changes. "
                                "Install it with `apt-get install sox` (tools/setup_env.sh does, as root), "
                                "or use --acoustics clean")
    return binary


def _tempo(sox: str, audio: np.ndarray, rate: int, tempo: float) -> np.ndarray:
    if tempo == 1.0:
        return audio
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, rate, subtype="FLOAT", format="WAV")
    command = [sox, "-t", "wav", "-", "-t", "wav", "-e", "floating-point", "-", "tempo", "-s", f"{tempo:g}"]
    result = subprocess.run(command, input=buffer.getvalue(), capture_output=True)
    if result.returncode != 0:
        raise ExternalProgramError(f"{' '.join(command)} failed: {result.stderr.decode(errors='replace').strip()}")
    return soundfile.read(io.BytesIO(result.stdout), dtype="float64")[0]


def _room(audio: np.ndarray, rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Convolve with the direct sound plus a tail decaying by 60 dB in ``rt60`` seconds."""
    t = np.arange(int(rt60 * rate)) / rate
    tail = rng.standard_normal(t.size) * np.exp(-6.9078 * t / rt60)  # ln(1000): 60 dB of amplitude
    tail[: int(0.003 * rate)] = 0.0  # the first reflections arrive a few ms after the direct sound
    impulse = np.concatenate([[1.0], 0.3 * tail / np.sqrt(np.sum(tail ** 2) + 1e-12)])
    return fftconvolve(audio, impulse)[: audio.size]


def _pink(size: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with power falling as 1/f (white noise shaped in the frequency domain)."""
    spectrum = np.fft.rfft(rng.standard_normal(size))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1.0))
    return np.fft.irfft(spectrum, n=size)


def _babble(size: int, talkers: Sequence[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Talkers at equal power, each looped to ``size`` from a random start."""
    mix = np.zeros(size)
    for speech in talkers:
        looped = np.resize(np.roll(speech, -int(rng.integers(speech.size))), size)
        mix += looped / (np.sqrt(np.mean(looped ** 2)) + 1e-12)
    return mix


def apply(audio: np.ndarray, rate: int, conditions: Conditions, key: str, talkers: Sequence[np.ndarray] = (),
          sox: str = "sox") -> np.ndarray:
    """The dry ``audio`` (float samples, shape (T,)) as heard in ``conditions``, peak-scaled to ``PEAK``.

    Args:
        audio: the dry wav's samples.
        rate: their sample rate.
        conditions: what to apply.
        key: names the dry wav; with ``conditions`` it seeds the noise and the room.
        talkers: the dry samples of ``conditions.babble``'s utterances, in that order.
        sox: the sox program, for a tempo change.

    Returns:
        The new samples, shape (T',): T' = T / tempo, give or take sox's rounding.
    """
    rng = np.random.default_rng(conditions.seed(key))
    out = _tempo(sox, audio, rate, conditions.tempo)
    if conditions.rt60 > 0:
        out = _room(out, rate, conditions.rt60, rng)
    if conditions.noise != "none":
        noise = {"white": lambda: rng.standard_normal(out.size), "pink": lambda: _pink(out.size, rng),
                 "babble": lambda: _babble(out.size, talkers, rng)}[conditions.noise]()
        speech_power = np.mean(out ** 2)
        noise *= np.sqrt(speech_power / (np.mean(noise ** 2) + 1e-12) / 10 ** (conditions.snr_db / 10))
        out = out + noise
    return out * (PEAK / (np.max(np.abs(out)) + 1e-12))
