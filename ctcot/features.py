"""Log-mel filterbank features for a Kaldi-style data directory, written as kaldiio ark/scp.

Features match Kaldi's ``compute-fbank-feats`` (via ``torchaudio.compliance.kaldi.fbank``):
80 mel bins, 25 ms windows every 10 ms, no dither, on 16-bit-scaled audio. Audio is read from
``wav.scp`` (paths to any format libsndfile reads, such as wav, flac and mp3; or kaldiio's
``cmd |`` pipes), cut by ``segments`` when present, resampled to 16 kHz if it is at another
rate (Common Voice's mp3 are at 48 kHz), then, if the directory has ``utt2speed`` (see
:mod:`ctcot.speed_perturb`), changed in speed as sox's ``speed`` effect does.

Outputs in ``output_dir``: ``feats.scp`` (pointing into ``data/feats.<chunk>.ark``),
``utt2num_frames``, ``feat_dim``, and ``feats_stats.npz`` with the global ``count``, ``sum`` and
``sum_square`` that ESPnet's ``global_mvn`` normalisation reads. Work is split into chunks run
by ``nj`` processes; a finished chunk is kept and reused while its inputs (utterances, audio,
segments, speeds, options) are unchanged, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import logging
import math
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import kaldiio
import numpy as np
import soundfile
import torch
from tqdm import tqdm

from ctcot.data_dir import atomic_write, read_kv

__all__ = ["FbankConfig", "compute_fbank", "extract_data_dir", "read_audio", "speed_perturb"]

_INT16_SCALE = 32768.0


@dataclass(frozen=True)
class FbankConfig:
    """Filterbank options (Kaldi's names in brackets)."""

    num_mel_bins: int = 80  # --num-mel-bins
    frame_length_ms: float = 25.0  # --frame-length
    frame_shift_ms: float = 10.0  # --frame-shift
    sample_rate: int = 16000  # --sample-frequency; extract_data_dir resamples audio at other rates


def compute_fbank(audio: np.ndarray, sample_rate: int, config: FbankConfig = FbankConfig()) -> np.ndarray:
    """Kaldi-compatible log-mel filterbank of one utterance.

    Args:
        audio: (num_samples,) int16 samples, or floats in [-1, 1].
        sample_rate: Rate of ``audio``; must equal ``config.sample_rate``.
        config: Filterbank options.

    Returns:
        (num_frames, num_mel_bins) float32 features.
    """
    from torchaudio.compliance.kaldi import fbank  # pure PyTorch; imported late (slow import)

    if sample_rate != config.sample_rate:
        raise ValueError(f"audio at {sample_rate} Hz, expected {config.sample_rate} Hz (resample it first)")
    if len(audio) < sample_rate * config.frame_length_ms / 1000:
        raise ValueError(f"{len(audio)} samples are shorter than one {config.frame_length_ms} ms frame")
    waveform = torch.from_numpy(np.asarray(audio, dtype=np.float32))
    if not np.issubdtype(audio.dtype, np.integer):
        waveform = waveform * _INT16_SCALE  # Kaldi works on 16-bit sample values
    feats = fbank(waveform.unsqueeze(0), num_mel_bins=config.num_mel_bins,
                  frame_length=config.frame_length_ms, frame_shift=config.frame_shift_ms,
                  dither=0.0, energy_floor=0.0, sample_frequency=sample_rate)
    return feats.numpy()


def speed_perturb(audio: np.ndarray, factor: float) -> np.ndarray:
    """Change the speed of audio as sox's ``speed <factor>`` effect does (tempo and pitch).

    The audio is taken as sampled at ``factor`` times its rate and resampled to its rate
    (``torchaudio.functional.resample`` with ``factor`` approximated by a fraction with a
    denominator of at most 1000), so it lasts ``1 / factor`` as long and every frequency is
    multiplied by ``factor``: 1.1 makes it faster and higher.

    Args:
        audio: (num_samples,) integer samples (e.g. int16) or floats.
        factor: Speed factor, > 0. 1.0 returns ``audio`` itself, unchanged.

    Returns:
        (about num_samples / factor,) samples of the dtype of ``audio``; integers are rounded
        and clipped to the range of that dtype.
    """
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError(f"speed factor {factor} is not a positive number")
    ratio = Fraction(factor).limit_denominator(1000)
    if ratio == 1:
        return audio
    if ratio == 0:
        raise ValueError(f"speed factor {factor} is too small (under 1/2000)")
    # Reading rate * factor samples per second as rate samples per second: speed times factor.
    return _resample(audio, ratio.numerator, ratio.denominator)


def _parse_segment(utt: str, value: str) -> Tuple[str, float, float]:
    """``segments`` value ``<recording> <start> <end>`` (seconds; end -1: to the end)."""
    fields = value.split()
    try:
        return fields[0], float(fields[1]), float(fields[2])
    except (IndexError, ValueError):
        raise ValueError(f"segments: utterance {utt}: expected '<recording> <start> <end>', got {value!r}") from None


def read_audio(source: str, start: float = 0.0, end: float = -1.0) -> Tuple[int, np.ndarray]:
    """Read the audio of one ``wav.scp`` entry, cut to ``[start, end)`` seconds (end -1: to the end).

    Plain paths are read with soundfile, so any format libsndfile decodes works (wav, flac, mp3,
    ogg), and a segment is read without the rest of the recording (MuST-C talks are long);
    ``cmd |`` pipes and ark offsets are read with kaldiio. Samples are cut as kaldiio cuts
    ``segments``: from ``int(start * rate)`` to ``int(end * rate)``.

    Returns:
        (sample rate, (num_samples,) int16 samples, or the integer/float samples kaldiio gives).
    """
    if source.endswith("|") or re.search(r"\.ark:\d+$", source):
        rate, audio = kaldiio.load_mat(source)
        first = int(start * rate)
        return rate, audio[first:] if end == -1 else audio[first : int(end * rate)]
    with soundfile.SoundFile(source) as f:
        first = int(start * f.samplerate)
        f.seek(first)
        audio = f.read(-1 if end == -1 else max(0, int(end * f.samplerate) - first), dtype="int16")
        return f.samplerate, audio


def _resample(audio: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Resample (torchaudio's windowed sinc) integer or float audio, keeping its dtype; integers
    are rounded and clipped to the range of that dtype."""
    from torchaudio.functional import resample  # imported late (slow import)

    is_int = np.issubdtype(audio.dtype, np.integer)
    waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32 if is_int else audio.dtype))
    out = resample(waveform, orig_freq=rate, new_freq=target_rate).numpy()
    if is_int:
        info = np.iinfo(audio.dtype)
        return np.clip(np.round(out), info.min, info.max).astype(audio.dtype)
    return out


def _extract_chunk(
    chunk: int, utt_ids: List[str], recordings: Dict[str, str], cuts: Optional[Dict[str, str]], ark_dir: str,
    config: FbankConfig, speeds: Optional[Dict[str, float]] = None,
) -> Tuple[int, str, Dict[str, int], np.ndarray, np.ndarray, int]:
    """Extract one chunk, changing the speed of the utterances in ``speeds``; returns (chunk,
    scp text, frames per utt, sum, sum of squares, count)."""
    wanted = set(utt_ids)
    ark = os.path.join(ark_dir, f"feats.{chunk}.ark")
    scp = os.path.join(ark_dir, f"feats.{chunk}.scp")
    frames: Dict[str, int] = {}
    total = np.zeros(config.num_mel_bins)
    total_sq = np.zeros(config.num_mel_bins)
    with kaldiio.WriteHelper(f"ark,scp:{ark}.tmp,{scp}.tmp") as writer:
        for utt in utt_ids:
            recording, start, end = _parse_segment(utt, cuts[utt]) if cuts is not None else (utt, 0.0, -1.0)
            source = recordings.get(recording)
            if source is None:
                raise ValueError(f"utterance {utt}: recording {recording} is not in wav.scp")
            try:
                sample_rate, audio = read_audio(source, start, end)
            except Exception as error:  # kaldiio/soundfile raise many types for bad audio
                raise RuntimeError(f"cannot read the audio of utterance {utt} ({source}): {error}") from error
            if audio.ndim != 1:
                raise ValueError(f"utterance {utt} ({source}): expected mono audio, got shape {audio.shape}")
            try:
                if sample_rate != config.sample_rate:  # e.g. Common Voice's 48 kHz mp3
                    audio, sample_rate = _resample(audio, sample_rate, config.sample_rate), config.sample_rate
                if speeds:
                    audio = speed_perturb(audio, speeds[utt])
                feats = compute_fbank(audio, sample_rate, config)
            except ValueError as error:
                raise ValueError(f"utterance {utt} ({source}): {error}") from error
            writer(utt, feats)
            frames[utt] = feats.shape[0]
            total += feats.sum(0)
            total_sq += np.square(feats, dtype=np.float64).sum(0)
    missing = wanted - set(frames)
    assert not missing, missing
    # The scp still names the .tmp ark: rewrite it, then publish both (ark first).
    with open(f"{scp}.tmp", encoding="utf-8") as f:
        scp_text = f.read().replace(f"{ark}.tmp:", f"{ark}:")
    os.replace(f"{ark}.tmp", ark)
    os.remove(f"{scp}.tmp")
    return chunk, scp_text, frames, total, total_sq, sum(frames.values())


def extract_data_dir(
    data_dir: Path,
    output_dir: Path,
    nj: int = 1,
    config: FbankConfig = FbankConfig(),
    utts_per_chunk: int = 200,
) -> Dict[str, int]:
    """Compute features for every utterance of ``data_dir`` into ``output_dir``.

    Args:
        data_dir: Kaldi-style dir with ``wav.scp``, optionally ``segments`` and ``utt2speed``
            (speed factor per utterance, for all of them; other files are not read).
        output_dir: Where ``feats.scp``, ``utt2num_frames``, ``feat_dim``, ``feats_stats.npz`` and
            ``data/`` (the ark files) go.
        nj: Number of parallel processes.
        config: Filterbank options.
        utts_per_chunk: Utterances per chunk, the unit of parallel work and of resumption.

    Returns:
        Frames per utterance.
    """
    data_dir, output_dir = Path(data_dir), Path(output_dir)
    wav_scp = data_dir / "wav.scp"
    segments = data_dir / "segments"
    if not wav_scp.is_file():
        raise FileNotFoundError(f"{wav_scp} does not exist")
    recordings = read_kv(wav_scp)
    cuts = read_kv(segments) if segments.is_file() else None
    utt_ids = list(cuts if cuts is not None else recordings)
    if not utt_ids:
        raise ValueError(f"{data_dir} has no utterances")
    speeds = _read_speeds(data_dir / "utt2speed", utt_ids)
    ark_dir = output_dir / "data"
    ark_dir.mkdir(parents=True, exist_ok=True)
    chunks = [utt_ids[i : i + utts_per_chunk] for i in range(0, len(utt_ids), utts_per_chunk)]
    done_dir = ark_dir / "done"
    done_dir.mkdir(exist_ok=True)

    results = {}
    todo = []
    keys = [_chunk_key(ids, recordings, cuts, speeds, config) for ids in chunks]
    for chunk, ids in enumerate(chunks):
        done = done_dir / f"{chunk}.npz"
        if done.is_file() and (ark_dir / f"feats.{chunk}.ark").is_file():
            saved = np.load(done, allow_pickle=False)
            if "key" in saved.files and str(saved["key"]) == keys[chunk]:  # same inputs as before: reuse
                results[chunk] = (str(saved["scp"]), dict(zip(ids, saved["frames"].tolist())),
                                  saved["sum"], saved["sum_square"], int(saved["count"]))
                continue
        todo.append((chunk, ids))
    if len(results):
        logging.info(f"{data_dir}: reusing {len(results)} of {len(chunks)} finished chunks")

    # Each job gets only its own utterances' entries: MuST-C's segments have 10^5 lines.
    args = [(chunk, ids, _recordings_of(ids, recordings, cuts), {u: cuts[u] for u in ids} if cuts else None,
             str(ark_dir), config,
             {utt: speeds[utt] for utt in ids} if speeds else None)
            for chunk, ids in todo]
    with tqdm(total=sum(len(ids) for _, ids in todo), desc=f"fbank {data_dir.name}", unit="utt",
              disable=not todo) as progress:
        if nj > 1 and len(todo) > 1:
            # spawn, not fork: forking a process whose OpenMP pool is running is unsafe.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=nj, mp_context=context, initializer=torch.set_num_threads,
                                     initargs=(1,)) as pool:
                futures = [pool.submit(_extract_chunk, *a) for a in args]
                for future in as_completed(futures):
                    _store(future.result(), chunks, keys, done_dir, results, progress)
        else:
            for a in args:
                _store(_extract_chunk(*a), chunks, keys, done_dir, results, progress)

    frames: Dict[str, int] = {}
    total, total_sq, count = np.zeros(config.num_mel_bins), np.zeros(config.num_mel_bins), 0
    scp_lines: List[str] = []
    for chunk in range(len(chunks)):
        scp_text, chunk_frames, chunk_sum, chunk_sq, chunk_count = results[chunk]
        scp_lines.extend(line for line in scp_text.splitlines() if line)
        frames.update(chunk_frames)
        total, total_sq, count = total + chunk_sum, total_sq + chunk_sq, count + chunk_count
    atomic_write(output_dir / "feats.scp", "".join(f"{line}\n" for line in sorted(scp_lines)).encode())
    atomic_write(output_dir / "utt2num_frames", "".join(f"{u} {n}\n" for u, n in sorted(frames.items())).encode())
    atomic_write(output_dir / "feat_dim", f"{config.num_mel_bins}\n".encode())
    np.savez(output_dir / "feats_stats.npz", count=np.array(count), sum=total, sum_square=total_sq)
    logging.info(f"{data_dir}: {len(frames)} utterances, {count} frames -> {output_dir}/feats.scp")
    return frames


def _recordings_of(utt_ids: Sequence[str], recordings: Dict[str, str],
                   cuts: Optional[Dict[str, str]]) -> Dict[str, str]:
    """The ``wav.scp`` entries that the utterances are read from."""
    names = utt_ids if cuts is None else {cuts[utt].split()[0] for utt in utt_ids if cuts[utt].split()}
    return {name: recordings[name] for name in names if name in recordings}


def _read_speeds(path: Path, utt_ids: Sequence[str]) -> Optional[Dict[str, float]]:
    """The speed factor of each utterance from ``utt2speed``; ``None`` without the file."""
    if not path.is_file():
        return None
    speeds = {}
    for utt, value in read_kv(path).items():
        try:
            speeds[utt] = float(value)
        except ValueError:
            raise ValueError(f"{path}: utterance {utt}: speed factor {value!r} is not a number") from None
        if not (math.isfinite(speeds[utt]) and speeds[utt] > 0):
            raise ValueError(f"{path}: utterance {utt}: speed factor {value} is not positive")
    missing = [utt for utt in utt_ids if utt not in speeds]
    if missing:
        raise ValueError(f"{path}: {len(missing)} utterance(s) have no speed factor, e.g. {missing[:5]}")
    return speeds


def _chunk_key(ids: Sequence[str], recordings: Dict[str, str], cuts: Optional[Dict[str, str]],
               speeds: Optional[Dict[str, float]], config: FbankConfig) -> str:
    """A digest of everything a chunk's features are computed from: a saved chunk is reused only
    while it matches (utterances, their audio, segment, speed, and the filterbank options)."""
    digest = hashlib.sha1(repr(config).encode())
    for utt in ids:
        source = recordings[utt] if cuts is None else f"{cuts[utt]} {recordings.get(cuts[utt].split()[0])}"
        digest.update(f"{utt}\t{source}\t{speeds[utt] if speeds else 1.0}\n".encode())
    return digest.hexdigest()


def _store(result, chunks: Sequence[List[str]], keys: Sequence[str], done_dir: Path, results: dict,
           progress) -> None:
    chunk, scp_text, frames, total, total_sq, count = result
    ids = chunks[chunk]
    np.savez(done_dir / f"{chunk}.npz", key=np.array(keys[chunk]), scp=np.array(scp_text), frames=np.array([frames[u] for u in ids]), sum=total, sum_square=total_sq,
             count=np.array(count))
    results[chunk] = (scp_text, frames, total, total_sq, count)
    progress.update(len(ids))
