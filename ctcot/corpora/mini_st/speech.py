"""The mini corpus's speech: voices of several synthesisers, and the synthesis of 16 kHz mono PCM-16 wavs.

A voice (:class:`Voice`) is one "speaker" of the corpus: an engine (``ENGINES``: espeak-ng, flite,
festival), one of the engine's voices, and its speaking rate and pitch. A voice set
(``VOICE_SETS``) splits its voices into ``seen`` ones, which read train and dev, and ``unseen``
ones, which read only test:

- ``espeak``: the corpus as it was, 24 espeak-ng voices (8 accents x 3 variants), 4 of them unseen.
- ``many``: those 20 seen espeak-ng voices and 10 of flite (awb, rms); the unseen are the 4
  espeak-ng ones, 4 of flite's other voices (slt, kal16) and 5 of festival, an engine never heard
  in training. flite's and festival's kal and slt are the same recorded speakers, so both engines'
  are unseen.

Each engine is a Debian program (``Engine.packages``); :func:`check_engines` names a missing one.
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Sequence, Tuple, TypeVar

import numpy as np
import soundfile
from scipy.signal import resample_poly
from tqdm import tqdm

from ctcot import ExternalProgramError, InputError

__all__ = ["Voice", "VoiceSet", "Engine", "ENGINES", "ESPEAK_VOICES", "VOICE_SETS", "DEFAULT_VOICES",
           "SAMPLE_RATE", "check_engines", "read_wav", "write_wav", "is_valid_wav", "synthesize"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

SAMPLE_RATE = 16000


class Voice(NamedTuple):
    """One speaker of the corpus: an engine's voice read at a rate and a pitch.

    ``rate`` and ``pitch`` are in the engine's own units: espeak-ng words per minute and pitch
    0-99; flite and festival a duration stretch (1: the voice's own speed, > 1: slower) and a mean
    F0 in Hz (0: the voice's own). flite's rms and festival's HTS voice ignore the F0 target, and the
    HTS voice the stretch: their variants set 0 and 1.
    """

    id: str  # the speaker id in the data dirs; utterance ids start with it
    engine: str  # a key of ENGINES
    name: str  # the engine's name of the voice
    rate: float
    pitch: float

    def cache_key(self, text: str) -> str:
        """What a wav is named by: the reading (voice settings and text), whatever corpus asked for it."""
        if self.engine == "espeak":  # the key espeak-ng's wavs always had, so that they are reused
            reading = f"{self.name}|{self.rate:g}|{self.pitch:g}|{text}"
        else:
            reading = f"{self.engine}|{self.name}|{self.rate:g}|{self.pitch:g}|{text}"
        return hashlib.sha1(reading.encode()).hexdigest()[:16]


class VoiceSet(NamedTuple):
    """Seen voices read train and dev; unseen voices read only test."""

    seen: Tuple[Voice, ...]
    unseen: Tuple[Voice, ...]
    description: str


class Engine(NamedTuple):
    """A synthesiser run as a program."""

    name: str
    program: str  # looked up on PATH
    packages: Tuple[str, ...]  # Debian's, for the message when it is missing


ENGINES: Dict[str, Engine] = {e.name: e for e in (
    Engine("espeak", "espeak-ng", ("espeak-ng",)),
    Engine("flite", "flite", ("flite",)),
    Engine("festival", "text2wave",
           ("festival", "festvox-kallpc16k", "festvox-kdlpc16k", "festvox-us-slt-hts")),
)}

FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices")


def _espeak(voice_id: str, name: str, wpm: int, pitch: int) -> Voice:
    return Voice(voice_id, "espeak", name, wpm, pitch)


# 8 accents x 3 voice variants (default, female "f2", male "m3"), with spread speeds and pitches.
ESPEAK_VOICES: Dict[str, Voice] = {v.id: v for v in (
    _espeak("spk00", "en-us", 145, 35),
    _espeak("spk01", "en-gb", 175, 50),
    _espeak("spk02", "en-gb-scotland", 160, 65),
    _espeak("spk03", "en-gb-x-rp", 190, 35),
    _espeak("spk04", "en-gb-x-gbclan", 145, 50),
    _espeak("spk05", "en-gb-x-gbcwmd", 175, 65),
    _espeak("spk06", "en-029", 160, 35),
    _espeak("spk07", "en-us-nyc", 190, 50),
    _espeak("spk08", "en-us+f2", 160, 50),
    _espeak("spk09", "en-gb+f2", 190, 65),
    _espeak("spk10", "en-gb-scotland+f2", 145, 35),
    _espeak("spk11", "en-gb-x-rp+f2", 175, 50),
    _espeak("spk12", "en-gb-x-gbclan+f2", 160, 65),
    _espeak("spk13", "en-gb-x-gbcwmd+f2", 190, 35),
    _espeak("spk14", "en-029+f2", 145, 50),
    _espeak("spk15", "en-us-nyc+f2", 175, 65),
    _espeak("spk16", "en-us+m3", 175, 65),
    _espeak("spk17", "en-gb+m3", 145, 35),
    _espeak("spk18", "en-gb-scotland+m3", 190, 50),
    _espeak("spk19", "en-gb-x-rp+m3", 160, 65),
    _espeak("spk20", "en-gb-x-gbclan+m3", 175, 35),
    _espeak("spk21", "en-gb-x-gbcwmd+m3", 145, 50),
    _espeak("spk22", "en-029+m3", 190, 65),
    _espeak("spk23", "en-us-nyc+m3", 160, 35),
)}
# Held out: different accents, both sexes; each accent also has seen voices.
_ESPEAK_UNSEEN = ("spk03", "spk12", "spk17", "spk22")
_ESPEAK_SEEN = tuple(v for v in ESPEAK_VOICES.values() if v.id not in _ESPEAK_UNSEEN)


def _variants(engine: str, name: str, settings: Sequence[Tuple[float, float]], short: str = "") -> Tuple[Voice, ...]:
    """Voices ``<engine>-<short or name><k>`` (k = 1, 2, ...) with the given (rate, pitch)."""
    return tuple(Voice(f"{engine}-{short or name}{k}", engine, name, rate, pitch)
                 for k, (rate, pitch) in enumerate(settings, start=1))


VOICE_SETS: Dict[str, VoiceSet] = {
    "espeak": VoiceSet(
        seen=_ESPEAK_SEEN, unseen=tuple(ESPEAK_VOICES[i] for i in _ESPEAK_UNSEEN),
        description="24 espeak-ng voices, 4 of them unseen (the corpus before flite and festival)"),
    "many": VoiceSet(
        seen=_ESPEAK_SEEN
        # awb: a Scottish man (F0 about 130 Hz), read lower, higher, and at a woman's pitch too.
        + _variants("flite", "awb", [(1.0, 0), (0.85, 95), (1.15, 160), (0.95, 200), (1.1, 115)])
        # rms: an American man; flite ignores its F0 target, so only the speed varies.
        + _variants("flite", "rms", [(0.85, 0), (0.95, 0), (1.0, 0), (1.1, 0), (1.2, 0)]),
        unseen=tuple(ESPEAK_VOICES[i] for i in _ESPEAK_UNSEEN)
        + _variants("flite", "slt", [(1.0, 0), (0.9, 190)])  # an American woman
        + _variants("flite", "kal16", [(1.0, 0), (1.1, 120)], short="kal")  # an American man (diphones)
        + _variants("festival", "kal_diphone", [(1.0, 0), (0.9, 140)], short="kal")
        + _variants("festival", "ked_diphone", [(1.0, 0), (1.15, 90)], short="ked")
        + _variants("festival", "cmu_us_slt_arctic_hts", [(1.0, 0)], short="slt"),
        description="30 seen voices (20 espeak-ng, 10 flite) and 13 unseen: 4 espeak-ng, 4 of flite's "
                    "other voices and 5 of festival, an engine never heard in training"),
}
DEFAULT_VOICES = "espeak"  # "many" does not reach the demo's BLEU at its budget (egs2/mini_st/st1/README.md)


def _missing(engine: Engine, what: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{what}; the mini corpus's {engine.name} voices need it. Install it with "
        f"`apt-get install {' '.join(engine.packages)}` (tools/setup_env.sh does, as root), "
        f"or choose voices without it (--voices espeak)")


def check_engines(voices: Sequence[Voice]) -> Dict[str, str]:
    """The program of each engine the voices use, after checking that it and every voice are there.

    Returns:
        engine name -> path of its program.

    Raises:
        FileNotFoundError: an engine's program or a voice is not installed (the message says how to
            install it).
    """
    for voice in voices:
        if voice.engine not in ENGINES:
            raise InputError(f"voice {voice.id}: unknown engine {voice.engine!r}; choose from {sorted(ENGINES)}")
    binaries = {}
    for engine_name in sorted({v.engine for v in voices}):
        engine = ENGINES[engine_name]
        binary = shutil.which(engine.program)
        if binary is None:
            raise _missing(engine, f"{engine.program} ({engine.name}) not found on PATH")
        binaries[engine_name] = binary
    names = {(v.engine, v.name) for v in voices}
    if any(engine == "flite" for engine, _ in names):
        # flite reads an unknown voice with its default one, silently: ask for its list.
        listed = subprocess.run([binaries["flite"], "-lv"], capture_output=True, text=True).stdout.split()
        for name in sorted(name for engine, name in names if engine == "flite" and name not in listed):
            raise _missing(ENGINES["flite"], f"flite has no voice {name!r} (`flite -lv`: {' '.join(listed[2:])})")
    for name in sorted(name for engine, name in names if engine == "festival"):
        if not any(FESTIVAL_VOICE_DIR.glob(f"*/{name}")):
            raise _missing(ENGINES["festival"], f"festival has no voice {name!r} (no {FESTIVAL_VOICE_DIR}/*/{name})")
    return binaries


def _command(binary: str, voice: Voice, text: str, wav: str) -> Tuple[List[str], str]:
    """The command that reads ``text`` with ``voice`` into ``wav``, and what goes to its stdin."""
    if voice.engine == "espeak":
        return [binary, "-v", voice.name, "-s", f"{voice.rate:g}", "-p", f"{voice.pitch:g}", "-w", wav, text], ""
    if voice.engine == "flite":
        command = [binary, "-voice", voice.name, "--setf", f"duration_stretch={voice.rate:g}"]
        if voice.pitch:
            command += ["--setf", f"int_f0_target_mean={voice.pitch:g}"]
        return command + ["-t", text, "-o", wav], ""
    # festival (check_engines knows no other)
    command = [binary, "-o", wav, "-eval", f"(voice_{voice.name})",
               "-eval", f"(Parameter.set 'Duration_Stretch {voice.rate:g})"]
    if voice.pitch:  # the diphone voices' linear-regression F0 model; its spread scaled with the mean
        command += ["-eval", f"(set! int_lr_params '((target_f0_mean {voice.pitch:g}) "
                             f"(target_f0_std {voice.pitch * 0.14:.1f}) (model_f0_mean 170) (model_f0_std 34)))"]
    return command, text + "\n"


def read_wav(path: Path) -> np.ndarray:
    """A corpus wav as float64 samples in [-1, 1]."""
    audio, _ = soundfile.read(str(path), dtype="float64")
    return audio


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Write 16 kHz mono PCM-16 beside ``path``, then rename: an interrupted run never leaves a partial wav."""
    fd, tmp = tempfile.mkstemp(suffix=".wav.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            soundfile.write(f, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def is_valid_wav(path: Path) -> bool:
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError):  # missing or not a sound file (LibsndfileError is a RuntimeError)
        return False
    return (info.samplerate == SAMPLE_RATE and info.channels == 1 and info.subtype == "PCM_16"
            and info.frames > 0)


def _synthesize_one(binary: str, voice: Voice, text: str, wav: Path) -> None:
    """Read ``text`` with ``voice`` and write ``wav`` (16 kHz mono PCM-16) atomically."""
    with tempfile.TemporaryDirectory(dir=wav.parent) as tmp:
        raw = os.path.join(tmp, "raw.wav")
        command, stdin = _command(binary, voice, text, raw)
        result = subprocess.run(command, input=stdin.encode(), capture_output=True)
        # flite and festival exit 0 whatever happens: their output file tells.
        stderr = result.stderr.decode(errors="replace").strip()
        if result.returncode != 0 or not os.path.exists(raw) or os.path.getsize(raw) <= 44 or "ERROR" in stderr:
            raise ExternalProgramError(f"{ENGINES[voice.engine].program} failed for voice {voice.id} "
                                       f"({' '.join(command)}): {stderr or 'no audio written'}")
        with open(raw, "rb") as f:
            audio, rate = soundfile.read(io.BytesIO(f.read()), dtype="float64")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    gcd = math.gcd(SAMPLE_RATE, rate)
    write_wav(wav, resample_poly(audio, SAMPLE_RATE // gcd, rate // gcd))


def synthesize(items: Sequence[Tuple[Voice, str, Path]], nj: int = 1) -> int:
    """Synthesise ``(voice, text, wav)`` items whose wav is missing or invalid.

    Args:
        items: what to read, by whom, and where to write it.
        nj: parallel synthesis processes.

    Returns:
        The number of wavs written (the others were there already).
    """
    if nj < 1:
        raise InputError(f"nj must be >= 1, got {nj}")
    binaries = check_engines([voice for voice, _, _ in items])
    todo = [item for item in items if not is_valid_wav(item[2])]
    by_engine = {e: sum(v.engine == e for v, _, _ in todo) for e in binaries}
    logger.info(f"Synthesis: {len(todo)} wavs to write ({', '.join(f'{e} {n}' for e, n in by_engine.items())}), "
                f"{len(items) - len(todo)} already done")
    for directory in {wav.parent for _, _, wav in todo}:
        directory.mkdir(parents=True, exist_ok=True)
    run_threads(lambda item: _synthesize_one(binaries[item[0].engine], *item), todo, nj, "synthesis")
    return len(todo)


def run_threads(function: Callable[[T], None], items: Sequence[T], nj: int, desc: str) -> None:
    """``function(item)`` for each item in ``nj`` threads, with a progress bar; the first failure cancels the
    items not yet started and is raised."""
    with ThreadPoolExecutor(max_workers=nj) as pool, tqdm(total=len(items), desc=desc, unit="utt") as bar:
        futures = [pool.submit(function, item) for item in items]
        try:
            for future in as_completed(futures):
                future.result()
                bar.update()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
