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

Failures: every utterance whose audio is unusable (unreadable, empty, too short, multichannel) is
collected, written to ``bad_audio.txt`` in ``output_dir`` and reported in one :class:`BadAudioError`;
a full disk gives one :class:`DiskFullError` naming the file, with the failing chunk's partial
files removed. Either way the chunks finished before are kept for the re-run.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import math
import multiprocessing
import os
import re
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import kaldiio
import numpy as np
import soundfile
import torch
from tqdm import tqdm

from ctcot import InputError
from ctcot.data_dir import DataDirError, parse_segment, read_kv
from ctcot.fileio import atomic_write

__all__ = ["BadAudioError", "DiskFullError", "FbankConfig", "compute_fbank", "extract_data_dir", "read_audio",
           "resample_audio", "change_speed", "audio_file_problem"]

_INT16_SCALE = 32768.0
_DISK_FULL = {errno.ENOSPC: "no space left on the device of", errno.EDQUOT: "disk quota exceeded on the device of",
              errno.EFBIG: "file too large for the file system of"}
BAD_AUDIO_FILE = "bad_audio.txt"
"""Written into the output directory by a run that found unusable audio: one line per utterance, its id, wav.scp
source and reason, tab-separated (a source may be a command with spaces)."""
# What to do about each kind of unusable audio (only the kinds found are shown).
_HINTS = {
    "unreadable": "unreadable audio: check that the files exist and decode (e.g. soxi <file>), or fix wav.scp",
    "short": "too short: remove these utterances from the data dir, or fix their segments",
    "channels": "multichannel audio: downmix it to mono (e.g. sox in.wav -c 1 out.wav, or in wav.scp "
                "`<id> sox in.wav -t wav - remix - |`)",
    "rate": "sample rate: resample it to {rate} Hz (e.g. sox in.wav -r {rate} out.wav)",
}


class BadAudioError(DataDirError):
    """Utterances of a data directory whose audio cannot be turned into features.

    Attributes:
        bad: every one found, as (utterance, wav.scp source, reason).
    """

    def __init__(self, data_dir: Path, bad: Sequence[Tuple[str, str, str, str]], bad_file: Path,
                 sample_rate: int):
        self.bad = [(utt, source, reason) for utt, source, _, reason in bad]
        super().__init__(f"{data_dir}: unusable audio, no features computed",
                         [f"utterance {utt} ({source}): {reason}" for utt, source, reason in self.bad])
        hints = [f"hint: {_HINTS[kind].format(rate=sample_rate)}" for kind in _HINTS if any(b[2] == kind for b in bad)]
        self.args = ("\n".join([self.args[0], *hints, f"Full list (utterance, source, reason per line): {bad_file}. "
                                "Fix or remove these utterances and re-run stage 3; finished chunks are kept."]),)


class DiskFullError(OSError):
    """The disk (or quota) of the output directory filled up while features were written."""


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
        raise InputError(f"audio at {sample_rate} Hz, expected {config.sample_rate} Hz (resample it first)")
    if len(audio) < sample_rate * config.frame_length_ms / 1000:
        raise InputError(f"{len(audio)} samples are shorter than one {config.frame_length_ms} ms frame")
    waveform = torch.from_numpy(np.asarray(audio, dtype=np.float32))
    if not np.issubdtype(audio.dtype, np.integer):
        waveform = waveform * _INT16_SCALE  # Kaldi works on 16-bit sample values
    feats = fbank(waveform.unsqueeze(0), num_mel_bins=config.num_mel_bins,
                  frame_length=config.frame_length_ms, frame_shift=config.frame_shift_ms,
                  dither=0.0, energy_floor=0.0, sample_frequency=sample_rate)
    return feats.numpy()


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
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
        raise InputError(f"speed factor {factor} is not a positive number")
    ratio = Fraction(factor).limit_denominator(1000)
    if ratio == 1:
        return audio
    if ratio == 0:
        raise InputError(f"speed factor {factor} is too small (under 1/2000)")
    # Reading rate * factor samples per second as rate samples per second: speed times factor.
    return resample_audio(audio, ratio.numerator, ratio.denominator)


def read_audio(source: str, start: float = 0.0, end: float = -1.0) -> Tuple[int, np.ndarray]:
    """Read the audio of one ``wav.scp`` entry, cut to ``[start, end)`` seconds (end -1: to the end).

    Plain paths are read with soundfile, so any format libsndfile decodes works (wav, flac, mp3,
    ogg), and a segment is read without the rest of the recording (MuST-C talks are long);
    ``cmd |`` pipes and ark offsets are read with kaldiio. Samples are cut as kaldiio cuts
    ``segments``: from ``int(start * rate)`` to ``int(end * rate)``.

    Returns:
        (sample rate, (num_samples,) int16 samples, or the integer/float samples kaldiio gives).
    """
    if _is_kaldiio_source(source):
        rate, audio = kaldiio.load_mat(source)
        first = int(start * rate)
        return rate, audio[first:] if end == -1 else audio[first : int(end * rate)]
    with soundfile.SoundFile(source) as f:
        first = int(start * f.samplerate)
        f.seek(first)
        audio = f.read(-1 if end == -1 else max(0, int(end * f.samplerate) - first), dtype="int16")
        return f.samplerate, audio


def resample_audio(audio: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
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


def _is_kaldiio_source(source: str) -> bool:
    """Whether a ``wav.scp`` entry is a ``cmd |`` pipe or an ark offset (read by kaldiio, not soundfile)."""
    return source.endswith("|") or re.search(r"\.ark:\d+$", source) is not None


def audio_file_problem(path: Union[str, Path]) -> Optional[str]:
    """What makes ``path`` no audio file before it is even read, in words, or None (soundfile says
    only "System error." for a missing file and "Format not recognised" for an empty one)."""
    if not os.path.exists(path):
        return "file does not exist"
    if os.path.isdir(path):
        return "a directory, not an audio file"
    if os.path.getsize(path) == 0:
        return "empty file (0 bytes)"
    return None


def _read_problem(source: str, error: Exception) -> str:
    """Why ``source`` could not be read, in words."""
    problem = None if _is_kaldiio_source(source) else audio_file_problem(source)
    return problem or f"cannot read it: {error}"


def _segment(utt: str, value: str) -> Tuple[str, float, float]:
    """:func:`ctcot.data_dir.parse_segment`, its error naming the utterance."""
    try:
        return parse_segment(value)
    except ValueError as err:
        raise InputError(f"segments: utterance {utt}: {err}") from None


_Problem = Tuple[str, str, str]
"""Why an utterance's audio is unusable: (wav.scp source, kind (a key of _HINTS), reason)."""


def _utterance_fbank(utt: str, recordings: Dict[str, str], cuts: Optional[Dict[str, str]], config: FbankConfig,
                     speeds: Optional[Dict[str, float]]) -> Tuple[Optional[np.ndarray], Optional[_Problem]]:
    """Features of one utterance, ``(feats, None)``, or ``(None, problem)`` where its audio is unusable."""
    recording, start, end = _segment(utt, cuts[utt]) if cuts is not None else (utt, 0.0, -1.0)
    source = recordings.get(recording)
    if source is None:
        return None, (f"recording {recording}", "unreadable", "the recording is not in wav.scp")
    try:
        sample_rate, audio = read_audio(source, start, end)
    except Exception as error:  # kaldiio/soundfile raise many types for bad audio
        return None, (source, "unreadable", _read_problem(source, error))
    if audio.ndim != 1:
        shape = f"{audio.shape[1]} channels" if audio.ndim == 2 else f"samples of shape {audio.shape}"
        return None, (source, "channels", f"{shape}, expected mono")
    if len(audio) == 0:
        return None, (source, "short", "no samples (empty audio or segment)")
    if sample_rate != config.sample_rate:  # e.g. Common Voice's 48 kHz mp3
        try:
            audio, sample_rate = resample_audio(audio, sample_rate, config.sample_rate), config.sample_rate
        except Exception as error:  # e.g. a rate of 0 in a broken header
            return None, (source, "rate", f"cannot resample {sample_rate} Hz to {config.sample_rate} Hz: {error}")
    try:
        if speeds:
            audio = change_speed(audio, speeds[utt])
        return compute_fbank(audio, sample_rate, config), None
    except ValueError as error:  # shorter than one frame
        return None, (source, "short", str(error))


@contextlib.contextmanager
def _writing(path: Union[str, Path], *partial: Union[str, Path]):
    """Remove the ``partial`` files if the block fails, and name ``path`` in its disk-full error (the OSError of a
    failed write() names no file)."""
    try:
        yield
    except BaseException as error:
        for name in partial:
            with contextlib.suppress(OSError):
                os.remove(name)
        if isinstance(error, OSError) and error.errno in _DISK_FULL and not isinstance(error, DiskFullError):
            raise OSError(error.errno, error.strerror or os.strerror(error.errno), str(path)) from error
        raise


def _extract_chunk(
    chunk: int, utt_ids: List[str], recordings: Dict[str, str], cuts: Optional[Dict[str, str]], ark_dir: str,
    config: FbankConfig, speeds: Optional[Dict[str, float]] = None,
) -> Tuple[int, str, Dict[str, int], np.ndarray, np.ndarray, int, List[Tuple[str, str, str, str]]]:
    """Extract one chunk, changing the speed of the utterances in ``speeds``.

    Returns:
        (chunk, scp text, frames per utt, sum, sum of squares, count, bad), ``bad`` listing (utt, source, kind,
        reason) of each utterance with unusable audio. A chunk with any is not published (nothing is kept of it),
        but all its utterances are still checked so that one run reports every bad one.

    Raises:
        OSError: naming the chunk's ark when the disk is full; the partial ark and scp are removed.
    """
    ark = os.path.join(ark_dir, f"feats.{chunk}.ark")
    scp = os.path.join(ark_dir, f"feats.{chunk}.scp")
    frames: Dict[str, int] = {}
    bad: List[Tuple[str, str, str, str]] = []
    total = np.zeros(config.num_mel_bins)
    total_sq = np.zeros(config.num_mel_bins)
    with _writing(ark, f"{ark}.tmp", f"{scp}.tmp"):
        with kaldiio.WriteHelper(f"ark,scp:{ark}.tmp,{scp}.tmp") as writer:
            for utt in utt_ids:
                feats, problem = _utterance_fbank(utt, recordings, cuts, config, speeds)
                if problem is not None:
                    bad.append((utt, *problem))
                if bad:  # the chunk will not be published: write no more of it, but check the rest
                    continue
                writer(utt, feats)
                frames[utt] = feats.shape[0]
                total += feats.sum(0)
                total_sq += np.square(feats, dtype=np.float64).sum(0)
        if bad:
            os.remove(f"{ark}.tmp")
            os.remove(f"{scp}.tmp")
            return chunk, "", {}, total, total_sq, 0, bad
        missing = set(utt_ids) - set(frames)
        assert not missing, missing
        # The scp still names the .tmp ark: rewrite it, then publish both (ark first).
        with open(f"{scp}.tmp", encoding="utf-8") as f:
            scp_text = f.read().replace(f"{ark}.tmp:", f"{ark}:")
        os.replace(f"{ark}.tmp", ark)
        os.remove(f"{scp}.tmp")
    return chunk, scp_text, frames, total, total_sq, sum(frames.values()), bad


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

    Raises:
        BadAudioError: after going through all utterances, if the audio of any is unusable; all of them are
            written to ``output_dir/bad_audio.txt``.
        DiskFullError: the disk of ``output_dir`` is full (or the quota used up); the failing chunk's partial
            files are removed.
        In both cases ``feats.scp`` is not written, and the chunks finished are kept for the re-run.
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
        raise InputError(f"{data_dir} has no utterances")
    speeds = _read_speeds(data_dir / "utt2speed", utt_ids)
    ark_dir = output_dir / "data"
    ark_dir.mkdir(parents=True, exist_ok=True)
    chunks = [utt_ids[i : i + utts_per_chunk] for i in range(0, len(utt_ids), utts_per_chunk)]
    done_dir = ark_dir / "done"
    done_dir.mkdir(exist_ok=True)
    # Only a run that finishes writes feats.scp: a failed one must not leave an earlier run's looking current.
    for name in ("feats.scp", BAD_AUDIO_FILE):
        (output_dir / name).unlink(missing_ok=True)

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
    try:
        with tqdm(total=sum(len(ids) for _, ids in todo), desc=f"fbank {data_dir.name}", unit="utt",
                  disable=not todo) as progress:
            bad = _run_chunks(args, nj, lambda result: _store(result, chunks, keys, done_dir, results), progress)
        if bad:
            bad_file = output_dir / BAD_AUDIO_FILE
            with _writing(bad_file):
                atomic_write(bad_file, "".join(f"{utt}\t{source}\t{reason}\n" for utt, source, _, reason in bad)
                             .encode())
            raise BadAudioError(data_dir, bad, bad_file, config.sample_rate)

        frames: Dict[str, int] = {}
        total, total_sq, count = np.zeros(config.num_mel_bins), np.zeros(config.num_mel_bins), 0
        scp_lines: List[str] = []
        for chunk in range(len(chunks)):
            scp_text, chunk_frames, chunk_sum, chunk_sq, chunk_count = results[chunk]
            scp_lines.extend(line for line in scp_text.splitlines() if line)
            frames.update(chunk_frames)
            total, total_sq, count = total + chunk_sum, total_sq + chunk_sq, count + chunk_count
        outputs = {  # feats.scp last: it marks the run finished
            "utt2num_frames": "".join(f"{u} {n}\n" for u, n in sorted(frames.items())).encode(),
            "feat_dim": f"{config.num_mel_bins}\n".encode(),
            "feats_stats.npz": _npz_bytes(count=np.array(count), sum=total, sum_square=total_sq),
            "feats.scp": "".join(f"{line}\n" for line in sorted(scp_lines)).encode(),
        }
        for name, data in outputs.items():
            with _writing(output_dir / name):
                atomic_write(output_dir / name, data)
    except OSError as error:
        if error.errno not in _DISK_FULL or isinstance(error, DiskFullError):
            raise
        raise _disk_full_error(error, data_dir, output_dir) from error
    logging.info(f"{data_dir}: {len(frames)} utterances, {count} frames -> {output_dir}/feats.scp")
    return frames


def _run_chunks(args: Sequence[tuple], nj: int, store: Callable[[tuple], None],
                progress) -> List[Tuple[str, str, str, str]]:
    """Run ``_extract_chunk`` on each of ``args`` (in ``nj`` processes), storing each chunk that finishes as it
    comes; returns the unusable-audio entries of all chunks, in chunk order."""
    sizes = {a[0]: len(a[1]) for a in args}
    bad: Dict[int, list] = {}
    taken = set()

    def take(result: tuple) -> None:
        taken.add(result[0])
        if result[-1]:
            bad[result[0]] = result[-1]
        else:
            store(result)
        progress.update(sizes[result[0]])

    if nj > 1 and len(args) > 1:
        # spawn, not fork: forking a process whose OpenMP pool is running is unsafe.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=nj, mp_context=context, initializer=torch.set_num_threads,
                                 initargs=(1,)) as pool:
            futures = [pool.submit(_extract_chunk, *a) for a in args]
            try:
                for future in as_completed(futures):
                    take(future.result())
            except BaseException:
                # Start no more chunks, but keep those still running that finish: a re-run reuses them.
                pool.shutdown(cancel_futures=True)
                for future in futures:
                    if not future.cancelled() and future.exception() is None and future.result()[0] not in taken:
                        with contextlib.suppress(Exception):  # e.g. the disk is full: the first error is the one
                            take(future.result())
                raise
    else:
        for a in args:
            take(_extract_chunk(*a))
    return [entry for chunk in sorted(bad) for entry in bad[chunk]]


def _disk_full_error(error: OSError, data_dir: Path, output_dir: Path) -> DiskFullError:
    """The one error a full disk gives: what was being written where, for which data set, and what to do."""
    try:
        free = f"{shutil.disk_usage(output_dir).free / 1e6:.0f} MB free"
    except OSError:
        free = "free space unknown"
    full = DiskFullError(f"{data_dir}: {_DISK_FULL[error.errno]} {output_dir} while writing "
                         f"{error.filename or 'features'} ({free}; {error.strerror}): free space and re-run stage 3; "
                         f"finished chunks are kept")
    full.errno = error.errno
    return full


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    """``np.savez`` into memory, for atomic_write (a half-written npz would fail to load on the re-run)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


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
            raise InputError(f"{path}: utterance {utt}: speed factor {value!r} is not a number") from None
        if not (math.isfinite(speeds[utt]) and speeds[utt] > 0):
            raise InputError(f"{path}: utterance {utt}: speed factor {value} is not positive")
    missing = [utt for utt in utt_ids if utt not in speeds]
    if missing:
        raise InputError(f"{path}: {len(missing)} utterance(s) have no speed factor, e.g. {missing[:5]}")
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


def _store(result, chunks: Sequence[List[str]], keys: Sequence[str], done_dir: Path, results: dict) -> None:
    """Mark a finished chunk done (its key, scp text and statistics), so a re-run reuses it."""
    chunk, scp_text, frames, total, total_sq, count, _ = result
    ids = chunks[chunk]
    done = done_dir / f"{chunk}.npz"
    # An ark whose mark cannot be written would only be redone: remove it, the disk may be full.
    with _writing(done, done_dir.parent / f"feats.{chunk}.ark"):
        atomic_write(done, _npz_bytes(key=np.array(keys[chunk]), scp=np.array(scp_text),
                                      frames=np.array([frames[u] for u in ids]), sum=total, sum_square=total_sq,
                                      count=np.array(count)))
    results[chunk] = (scp_text, frames, total, total_sq, count)
