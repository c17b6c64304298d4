"""MuST-C (v1.0, v2.0) English→X speech translation: the release's layout into Kaldi data dirs.

Reads, for each target language ``<tgt>`` and set (train, dev, tst-COMMON, tst-HE)::

    <root>/en-<tgt>/data/<set>/txt/<set>.yaml    - {duration: 3.5, offset: 16.08, speaker_id: spk.1, wav: ted_1.wav}
    <root>/en-<tgt>/data/<set>/txt/<set>.en      one English line per yaml line
    <root>/en-<tgt>/data/<set>/txt/<set>.<tgt>   one translation per yaml line
    <root>/en-<tgt>/data/<set>/wav/ted_<talk>.wav

(v2.0 adds fields to the yaml lines; they are ignored) and writes ``<output_dir>/<set>.en-<tgt>/``
(:func:`set_name`) as ESPnet's MuST-C recipe does::

    wav.scp     ted_00001 /abs/en-de/data/train/wav/ted_1.wav
    segments    ted_00001_0016080_0019580 ted_00001 16.080 19.580
    utt2spk     ted_00001_0016080_0019580 ted_00001          (the talk is the speaker)
    spk2utt
    text.{tc,lc,lc.rm}.{en,<tgt>}                            (see ctcot.corpora.normalize)

Utterance ids are ESPnet's, ``ted_<talk:05d>_<start ms:07d>_<end ms:07d>``, where the talk number
comes from ``speaker_id: spk.<talk>``. Segments shorter than 0.2 s are widened to 0.2 s around
their centre (not dropped), and segments whose ids collide (the same offsets twice) are all dropped,
as ESPnet does. Lines whose English or translation is empty are dropped too, and logged.

With several targets (one-to-many multilingual ST), each ``<set>.en-<tgt>`` also gets
``text.<case>.mul``: the translation after a target-language tag, ``<2de> Hallo Welt.``; and the
training and dev sets of all targets are combined into ``train.en-<tgt1>_<tgt2>...`` (and dev), whose
ids and recordings end in ``_<tgt>`` because the same English segment occurs once per target.

Everything is checked before anything is written; the data dirs are then written into a temporary
dir and moved into place (``ctcot.data_dir.write_data_dirs``), so a failed run leaves earlier
outputs as they were.

The names of the data dirs are made here only (:func:`set_name`, :func:`st_sets`); the recipe asks
for the ones ``st.sh`` needs (``--print_st_sets``).

Usage:
    python -m ctcot.bin.prepare_must_c --corpus_dir /data/MUST_C --tgt_langs de --output_dir data
    python -m ctcot.bin.prepare_must_c --corpus_dir /data/MUST_C --tgt_langs de_es --output_dir data
    python -m ctcot.bin.prepare_must_c --tgt_langs de_es --print_st_sets
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

from ctcot import InputError
from ctcot.corpora.normalize import CASES, text_variants
from ctcot.data_dir import write_data_dirs
from ctcot.tokenizers import lang_tag

__all__ = ["TARGETS", "SETS", "TEST_SETS", "Segment", "split_tgt_langs", "pair_name", "set_name", "st_sets",
           "read_set", "prepare_must_c"]

logger = logging.getLogger(__name__)

TARGETS = ("de", "es", "fr", "it", "nl", "pt", "ro", "ru")  # MuST-C v1.0; v2.0 has en-de only
SETS = ("train", "dev", "tst-COMMON", "tst-HE")
TEST_SETS = ("tst-COMMON", "tst-HE")
MIN_DURATION = 0.2  # seconds; shorter segments are widened to this

# One yaml line, as MuST-C writes them: "- {duration: 3.5, offset: 16.08, speaker_id: spk.1, wav: ted_1.wav}"
_YAML_LINE = re.compile(r"^-\s*\{(.*)\}\s*$")
_SPEAKER = re.compile(r"^spk\.(\d+)$")


@dataclass(frozen=True)
class Segment:
    """One segment of a talk, with its texts (``text[case][lang]``)."""

    utt_id: str
    recording: str  # ted_<talk:05d>
    wav: Path
    start: float  # seconds, after widening, rounded to the millisecond as in the id
    end: float
    text: Dict[str, Dict[str, str]]


def split_tgt_langs(text: str) -> List[str]:
    """The target languages of ``de``, ``de_es`` or ``de es`` (the recipe's two spellings); not checked."""
    return re.split(r"[\s_]+", text.strip()) if text.strip() else []


def _check_tgt_langs(tgt_langs: Sequence[str]) -> None:
    unknown = [lang for lang in tgt_langs if lang not in TARGETS]
    if unknown or not tgt_langs:
        raise InputError(f"unsupported MuST-C target language(s) {unknown or list(tgt_langs)}: "
                         f"expected some of {' '.join(TARGETS)}")
    repeated = sorted({lang for lang in tgt_langs if tgt_langs.count(lang) > 1})
    if repeated:
        raise InputError(f"MuST-C target language(s) {repeated} given twice in {list(tgt_langs)}")


def pair_name(tgt_langs: Sequence[str]) -> str:
    """The language pair of data dir names: ``en-de``, or ``en-de_es`` with several targets."""
    return f"en-{'_'.join(tgt_langs)}"


def set_name(dset: str, tgt_langs: Sequence[str]) -> str:
    """The data dir name of a set: ``tst-COMMON.en-de``; ``train.en-de_es`` for a combined multilingual set."""
    return f"{dset}.{pair_name(tgt_langs)}"


def st_sets(tgt_langs: Sequence[str]) -> Dict[str, str]:
    """The options of ``st.sh`` that name data: ``tgt_lang``, ``train_set``, ``valid_set``, ``test_sets``
    (space-separated), and ``tgt_langs`` joined as ``local/data.sh --tgt_langs`` takes it (``de_es``).

    With several targets, ``tgt_lang`` is ``mul`` (``text.<case>.mul``: translations after a ``<2xx>``
    tag, which decoding is forced to start with), training and validation use the combined sets, and
    each target's test sets are scored apart.

    Raises:
        ValueError: an unsupported, repeated or missing target.
    """
    _check_tgt_langs(tgt_langs)
    return {"tgt_langs": "_".join(tgt_langs),
            "tgt_lang": "mul" if len(tgt_langs) > 1 else tgt_langs[0],
            "train_set": set_name("train", tgt_langs),
            "valid_set": set_name("dev", tgt_langs),
            "test_sets": " ".join(set_name(dset, [lang]) for lang in tgt_langs for dset in TEST_SETS)}


def _parse_yaml_line(line: str, where: str) -> Dict[str, str]:
    """The fields of one yaml line, read as MuST-C writes them (a flow mapping per line): a full
    YAML parser takes minutes on the 250k-line training yaml and cannot name the bad line."""
    match = _YAML_LINE.match(line)
    fields = {}
    if match:
        for item in match.group(1).split(","):
            key, sep, value = item.partition(":")
            if sep:
                fields[key.strip()] = value.strip().strip("'\"")
    missing = [k for k in ("duration", "offset", "speaker_id", "wav") if k not in fields]
    if not match or missing:
        raise InputError(f"{where}: expected '- {{duration: <s>, offset: <s>, speaker_id: spk.<talk>, "
                         f"wav: ted_<talk>.wav}}', got {line.strip()!r}")
    return fields


def _milliseconds(seconds: float) -> int:
    return int(1000 * round(seconds, 7) + 0.5)  # ESPnet's rounding: 7 decimals, then half up


def _read_lines(path: Path) -> List[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def read_set(root: Path, tgt_lang: str, dset: str) -> List[Segment]:
    """Read and check one set of one language pair (nothing is written).

    Raises:
        FileNotFoundError / ValueError: a missing directory, yaml, text file or wav; a malformed
            yaml line; line counts that differ between the yaml and the text files.
    """
    set_dir = root / f"en-{tgt_lang}" / "data" / dset
    if not set_dir.is_dir():
        raise FileNotFoundError(
            f"{set_dir} does not exist: expected MuST-C's en-{tgt_lang}/data/{{{','.join(SETS)}}}/ under {root}")
    yaml_path = set_dir / "txt" / f"{dset}.yaml"
    lines = _read_lines(yaml_path)
    texts = {lang: _read_lines(set_dir / "txt" / f"{dset}.{lang}") for lang in ("en", tgt_lang)}
    yaml_lines = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    for lang, text in texts.items():
        if len(text) != len(yaml_lines):
            raise InputError(f"{set_dir / 'txt' / f'{dset}.{lang}'} has {len(text)} lines but "
                             f"{yaml_path} has {len(yaml_lines)} segments: they must be line-aligned")

    segments, missing_wavs, empty = [], {}, []
    for index, (line_no, line) in enumerate(yaml_lines):
        where = f"{yaml_path}:{line_no}"
        fields = _parse_yaml_line(line, where)
        speaker = _SPEAKER.match(fields["speaker_id"])
        try:
            duration, offset = float(fields["duration"]), float(fields["offset"])
        except ValueError:
            raise InputError(f"{where}: duration and offset must be numbers, got {line.strip()!r}") from None
        if speaker is None or duration < 0 or offset < 0:
            raise InputError(f"{where}: expected speaker_id spk.<talk number> and non-negative duration "
                             f"and offset, got {line.strip()!r}")
        wav = set_dir / "wav" / fields["wav"]
        if not wav.is_file():
            missing_wavs.setdefault(wav, where)
            continue
        widen = max(0.0, (MIN_DURATION - duration) / 2)
        start, end = max(0.0, offset - widen), offset + duration + widen
        talk = int(speaker.group(1))
        raw = {lang: text[index] for lang, text in texts.items()}
        variants = {lang: text_variants(value, lang) for lang, value in raw.items()}
        if any(not v["tc"] for v in variants.values()):
            empty.append(where)
            continue
        start_ms, end_ms = _milliseconds(start), _milliseconds(end)
        segments.append(Segment(
            utt_id=f"ted_{talk:05d}_{start_ms:07d}_{end_ms:07d}", recording=f"ted_{talk:05d}", wav=wav.resolve(),
            start=start_ms / 1000, end=end_ms / 1000,
            text={case: {lang: variants[lang][case] for lang in variants} for case in CASES}))
    if missing_wavs:
        listed = "; ".join(f"{wav} (first used at {where})" for wav, where in list(missing_wavs.items())[:5])
        raise FileNotFoundError(f"{len(missing_wavs)} talk wav(s) of {set_dir} are missing: {listed}")
    if empty:
        logger.warning(f"{yaml_path}: dropped {len(empty)} segment(s) with an empty transcript or translation "
                       f"(e.g. {', '.join(empty[:3])})")

    counts: Dict[str, int] = {}
    for segment in segments:
        counts[segment.utt_id] = counts.get(segment.utt_id, 0) + 1
    duplicated = {utt for utt, n in counts.items() if n > 1}
    if duplicated:
        logger.warning(f"{yaml_path}: dropped {sum(counts[u] for u in duplicated)} segments sharing "
                       f"{len(duplicated)} id(s) (duplicated offsets), e.g. {sorted(duplicated)[:3]}")
    segments = [s for s in segments if s.utt_id not in duplicated]
    if not segments:
        raise InputError(f"{yaml_path}: no usable segments")
    return segments


def _tables(segments: Sequence[Segment], tgt_langs: Sequence[str], multilingual: bool,
            suffix: bool = False) -> Dict[str, Dict[str, str]]:
    """The files of one data dir (``spk2utt`` apart). ``tgt_langs`` gives each segment's target
    language; ``suffix`` appends ``_<tgt>`` to ids and recordings (combined multilingual sets)."""
    tables: Dict[str, Dict[str, str]] = {name: {} for name in ("wav.scp", "segments", "utt2spk")}
    for segment, tgt in zip(segments, tgt_langs):
        end = f"_{tgt}" if suffix else ""
        utt, recording = segment.utt_id + end, segment.recording + end
        tables["wav.scp"][recording] = str(segment.wav)
        tables["segments"][utt] = f"{recording} {segment.start:.3f} {segment.end:.3f}"
        tables["utt2spk"][utt] = segment.recording
        for case in CASES:
            tables.setdefault(f"text.{case}.en", {})[utt] = segment.text[case]["en"]
            if multilingual:
                tables.setdefault(f"text.{case}.mul", {})[utt] = f"{lang_tag(tgt)} {segment.text[case][tgt]}"
            if not suffix:
                tables.setdefault(f"text.{case}.{tgt}", {})[utt] = segment.text[case][tgt]
    return tables


def prepare_must_c(corpus_dir: Path, output_dir: Path, *, tgt_langs: Sequence[str], sets: Sequence[str] = SETS,
                   nj: int = 1) -> Dict[str, Path]:
    """Write ``<output_dir>/<set>.en-<tgt>`` for every target and set (and the combined multilingual
    train/dev sets with several targets).

    Args:
        corpus_dir: the MuST-C root, holding ``en-<tgt>/``.
        output_dir: where the data dirs go.
        tgt_langs: target languages, of ``TARGETS``; several: multilingual.
        sets: the sets to prepare, of ``SETS``.
        nj: not used: reading is I/O bound (text files, and whether the wavs exist).

    Returns:
        The data dir written for each set name (:func:`set_name`): targets in the given order, each
        with its sets in the given order, then the combined sets.

    Raises:
        FileNotFoundError / ValueError: see :func:`read_set`; also an unknown target or set.
    """
    root, output_dir = Path(corpus_dir), Path(output_dir)
    _check_tgt_langs(tgt_langs)
    bad_sets = [s for s in sets if s not in SETS]
    if bad_sets:
        raise InputError(f"unknown MuST-C set(s) {bad_sets}: expected some of {' '.join(SETS)}")
    if not root.is_dir():
        raise FileNotFoundError(
            f"MuST-C root {root} does not exist: download MuST-C (https://mt.fbk.eu/must-c/), unpack it so that "
            f"{root}/en-<tgt>/data/train/ exists, and set MUST_C in egs2/must_c/st1/db.sh (or export MUST_C)")
    multilingual = len(tgt_langs) > 1
    data = {(lang, s): read_set(root, lang, s) for lang in tgt_langs for s in sets}  # all checks first

    dirs = {set_name(dset, [lang]): _tables(segments, [lang] * len(segments), multilingual)
            for (lang, dset), segments in data.items()}
    if multilingual:
        for dset in ("train", "dev"):
            if dset not in sets:
                continue
            segments = [seg for lang in tgt_langs for seg in data[(lang, dset)]]
            langs = [lang for lang in tgt_langs for _ in data[(lang, dset)]]
            dirs[set_name(dset, tgt_langs)] = _tables(segments, langs, multilingual, suffix=True)
    written = dict(zip(dirs, write_data_dirs(output_dir, dirs)))
    for name, path in written.items():
        logger.info(f"{path}: {len(dirs[name]['utt2spk'])} utterances from {len(dirs[name]['wav.scp'])} talks")
    return written

