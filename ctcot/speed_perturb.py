"""Speed perturbation of a data directory, as Kaldi's ``perturb_data_dir_speed.sh`` + ``combine_data.sh``.

Kaldi makes one copy of the data per speed factor ``f`` (ids prefixed ``sp<f>-``, audio piped
through ``sox ... speed f``) and combines the copies with the original. Sox is not available
here, so the copies keep the original audio and a new file, ``utt2speed``, gives each
utterance its factor; :func:`ctcot.features.extract_data_dir` changes the speed of the audio
(after cutting the segment) when it computes the features.

For each factor ``f`` other than 1.0 the utterance ``<utt>`` of speaker ``<spk>`` becomes
``sp<f>-<utt>`` of speaker ``sp<f>-<spk>`` (``f`` written as ``0.9``, ``1.1``); with
``segments`` the recording ``<reco>`` becomes ``sp<f>-<reco>`` with the same audio, and the
segment times stay those of the original recording. Factor 1.0 keeps the original ids.
"""
import logging
import math
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

from ctcot import InputError
from ctcot.data_dir import DataDirLayout, read_tables, validate_data_dir, write_tables
from ctcot.fileio import PathLike

__all__ = ["perturb_data_dir", "speed_prefix"]

logger = logging.getLogger(__name__)


# Files that are not copied: the features and their lengths change with the speed, and a
# recording's duration does not say how long the perturbed utterances are.
_NOT_COPIED = ("feats.scp", "utt2num_frames", "reco2dur")


def speed_prefix(factor: float) -> str:
    """The id prefix of a factor, as Kaldi writes it: ``sp0.9-``; ``""`` for 1.0."""
    return "" if factor == 1.0 else f"sp{factor:g}-"


def _check_factors(factors: Sequence[float]) -> List[float]:
    factors = [float(f) for f in factors]
    if not factors:
        raise InputError("factors: no speed factor given")
    bad = [f for f in factors if not (math.isfinite(f) and f > 0)]
    if bad:
        raise InputError(f"factors: {bad} are not positive numbers")
    prefixes = [speed_prefix(f) for f in factors]
    if len(set(prefixes)) != len(prefixes):
        raise InputError(f"factors: {factors} are not unique")
    return factors


def _copy(factor: float, layout: DataDirLayout, tables: Mapping[str, Mapping[str, str]]) -> Dict[str, Dict[str, str]]:
    """The files of the copy of ``tables`` at speed ``factor``."""
    prefix = speed_prefix(factor)
    new: Dict[str, Dict[str, str]] = {}
    for name in layout.utt_files:
        if name in _NOT_COPIED:
            continue
        table = tables[name]
        if name == "utt2spk":
            values = {utt: prefix + spk for utt, spk in table.items()}
        elif name == "segments":  # times of the original recording: the speed changes after the cut
            values = {utt: prefix + value for utt, value in table.items()}
        elif name == "utt2dur" and factor != 1.0:
            values = {utt: f"{float(seconds) / factor:.6g}" for utt, seconds in table.items()}
        elif name == "utt2speed":  # perturbing a perturbed directory: the factors multiply
            values = {utt: str(round(float(speed) * factor, 6)) for utt, speed in table.items()}
        else:  # text files, wav.scp without segments, utt2uniq
            values = dict(table)
        new[name] = {prefix + utt: value for utt, value in values.items()}
    utts = list(tables["utt2spk"])
    new.setdefault("utt2speed", {prefix + utt: str(factor) for utt in utts})
    new.setdefault("utt2uniq", {prefix + utt: utt for utt in utts})
    if layout.has_segments:
        new["wav.scp"] = {prefix + reco: value for reco, value in tables["wav.scp"].items()}
    return new


def perturb_data_dir(src: PathLike, dst: PathLike, factors: Sequence[float] = (0.9, 1.0, 1.1)) -> None:
    """Write to ``dst`` the union of speed-perturbed copies of the data directory ``src``.

    ``dst`` gets, for every factor (see the module docstring for the ids): ``wav.scp``,
    ``segments`` (if ``src`` has it), ``utt2spk``, ``spk2utt``, every text file, ``utt2dur``
    (divided by the factor, if ``src`` has it), ``utt2speed`` (the factor of each utterance,
    1.0 for the originals; multiplied by the factor if ``src`` has one already) and
    ``utt2uniq`` (the original utterance id, or the one ``src``'s ``utt2uniq`` gives).
    ``feats.scp``, ``utt2num_frames`` and ``reco2dur`` are not copied: extract the features
    of ``dst`` anew. Every file is sorted; data-directory files already in ``dst`` are
    replaced or removed, other files there are left alone. ``src`` is only read.

    Args:
        src: a valid data directory (see :func:`ctcot.data_dir.validate_data_dir`).
        dst: the directory to write; created if needed. Must not be ``src``.
        factors: the speed factors, positive and unique; include 1.0 to keep the originals.

    Raises:
        ValueError: bad ``factors``, ``dst`` is ``src``, or a perturbed id collides with
            another id of ``dst``.
        DataDirError: (a ``ValueError``) ``src`` is not a valid data directory.
    """
    src, dst = Path(src), Path(dst)
    factors = _check_factors(factors)
    if dst.resolve() == src.resolve():
        raise InputError(f"dst: {dst} is the source directory; write the perturbed data elsewhere")
    validate_data_dir(src, require_audio_exists=False)
    layout, tables = read_tables(src)
    left_out = [name for name in _NOT_COPIED if name in tables]
    combined: Dict[str, Dict[str, str]] = {}
    for factor in factors:
        for name, table in _copy(factor, layout, tables).items():
            merged = combined.setdefault(name, {})
            clashes = sorted(key for key in table if key in merged)
            if clashes:
                raise InputError(f"{src}: speed factor {factor:g} makes ids that are already in {dst}/{name}, "
                                 f"e.g. {clashes[:5]}")
            merged.update(table)
    write_tables(dst, combined)
    logger.info("%s: %d utterances of %s at speeds %s -> %d utterances, %d speakers%s",
                dst, len(tables["utt2spk"]), src, " ".join(f"{f:g}" for f in factors), len(combined["utt2spk"]),
                len(set(combined["utt2spk"].values())), f"; not copied: {' '.join(left_out)}" if left_out else "")
