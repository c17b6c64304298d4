"""The mini corpus's speech: espeak-ng speakers and the synthesis of 16 kHz mono PCM-16 wavs.

Each "speaker" is an espeak-ng voice (accent and voice variant) with its own speed and pitch;
``TEST_SPEAKERS`` are held out for the test set. Requires the ``espeak-ng`` program
(Debian/Ubuntu: ``apt-get install espeak-ng``).
"""
from __future__ import annotations

import io
import logging
import math
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Dict, NamedTuple, Sequence, Tuple

import numpy as np
import soundfile
from scipy.signal import resample_poly
from tqdm import tqdm

from ctcot import ExternalProgramError, InputError

__all__ = ["Speaker", "SPEAKERS", "TEST_SPEAKERS", "SAMPLE_RATE", "espeak_binary", "synthesize"]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000


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


def espeak_binary() -> str:
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
        raise ExternalProgramError(f"espeak-ng failed ({' '.join(command)}): "
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


def synthesize(items: Sequence[Tuple[Speaker, str, Path]], nj: int = 1) -> int:
    """Synthesise ``(speaker, text, wav)`` items whose wav is missing or invalid.

    Args:
        items: what to read, by whom, and where to write it.
        nj: parallel espeak-ng processes.

    Returns:
        The number of wavs written (the others were there already).
    """
    if nj < 1:
        raise InputError(f"nj must be >= 1, got {nj}")
    binary = espeak_binary()
    todo = [item for item in items if not _is_valid_wav(item[2])]
    logger.info(f"espeak-ng: {len(todo)} wavs to synthesise, {len(items) - len(todo)} already done")
    for directory in {wav.parent for _, _, wav in todo}:
        directory.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=nj) as pool, \
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
