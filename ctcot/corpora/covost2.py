"""CoVoST 2 speech translation (on Common Voice v4): one direction's Kaldi data dirs, as ESPnet's recipe makes them.

Reads, for the direction ``<src>`` → ``<tgt>`` (one of them English)::

    <covost_dir>/covost_v2.<src>_<tgt>.tsv   path  sentence  translation  split
    <cv_dir>/<src>/validated.tsv             client_id  path  sentence  up_votes  down_votes  age  gender  accent
    <cv_dir>/<src>/clips/<path>              48 kHz mp3 (``<path>.mp3`` where ``path`` has no extension)

as the official ``get_covost_splits.py`` does: both tsvs are read with a tab separator, no quoting,
backslash escapes and empty fields kept, and joined on ``path`` (an inner join: CoVoST rows whose
clip is not in ``validated.tsv`` are dropped, and counted in the log). The transcript (``sentence``)
and the speaker (``client_id``) come from ``validated.tsv``, the translation from the CoVoST tsv.
The split ``train_covost`` (extra training clips) joins ``train``; rows of any other split are not
used (the official script uses them in no split either).

Writes ``<output_dir>/{train,dev,test}.<src>-<tgt>/`` (:func:`set_name`; a sample record, En→De)::

    wav.scp         0a6f3c-common_voice_en_18885784 /abs/commonvoice/en/clips/common_voice_en_18885784.mp3
    utt2spk         0a6f3c-common_voice_en_18885784 0a6f3c
    spk2utt         0a6f3c 0a6f3c-common_voice_en_18885784 0a6f3c-common_voice_en_18885792
    text.tc.en      0a6f3c-common_voice_en_18885784 He was not an ill-disposed young man,
    text.lc.en      0a6f3c-common_voice_en_18885784 he was not an ill-disposed young man,
    text.lc.rm.en   0a6f3c-common_voice_en_18885784 he was not an illdisposed young man
    text.tc.de      0a6f3c-common_voice_en_18885784 Er war kein übelgesinnter junger Mann,
    text.lc.de, text.lc.rm.de                       (likewise; see ctcot.corpora.normalize)

Utterance ids are ESPnet's, ``<client_id>-<path without .mp3, "/" made "-">``: the speaker (a
128-digit hex ``client_id`` in real releases; shortened above) prefixes the id, as Kaldi wants.
``wav.scp`` names the mp3 itself (absolute path); feature extraction decodes and resamples it to
16 kHz. Every file is sorted in C (byte) order.

Rows whose transcript or translation is empty once normalised, in any case variant (``"..."`` has
an empty ``lc.rm``), are dropped and logged with their lines rather than stopping the preparation
of 10^5 rows: such a row can be neither trained on nor scored (an empty reference), ESPnet's
``st.sh`` drops it from training and validation sets anyway (stage 4), and left in a data dir it
would only fail validation later.

Everything (the direction, both tsvs, every needed clip, that no set is empty) is checked before
anything is written; the data dirs are then written into a temporary dir and moved into place
together (``ctcot.data_dir.write_data_dirs``), so a failed run leaves earlier outputs as they were.

The names of the data dirs are made here only (:func:`set_name`, :func:`st_sets`); the recipe asks
for the ones ``st.sh`` needs (``--print_st_sets``).

Usage:
    python -m ctcot.bin.prepare_covost2 --covost_dir downloads/covost2 --cv_dir downloads/commonvoice \\
        --src_lang es --tgt_lang en --output_dir data
    python -m ctcot.bin.prepare_covost2 --src_lang es --tgt_lang en --print_st_sets
"""
from __future__ import annotations

import csv
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from tqdm import tqdm

from ctcot import InputError
from ctcot.corpora.normalize import text_variants
from ctcot.data_dir import MAX_SHOWN_PROBLEMS, write_data_dirs

__all__ = ["XX_EN_SOURCES", "EN_XX_TARGETS", "SETS", "Utterance", "check_direction", "set_name", "st_sets",
           "read_covost2", "prepare_covost2"]

logger = logging.getLogger(__name__)

# The official get_covost_splits.py's lists, in its order.
XX_EN_SOURCES = ("fr", "de", "es", "ca", "it", "ru", "zh-CN", "pt", "fa", "et", "mn", "nl", "tr", "ar",
                 "sv-SE", "lv", "sl", "ta", "ja", "id", "cy")
EN_XX_TARGETS = ("de", "tr", "fa", "sv-SE", "mn", "zh-CN", "cy", "ca", "sl", "et", "id", "ar", "ta", "lv", "ja")
SETS = ("train", "dev", "test")
_SET_OF_SPLIT = {"train": "train", "train_covost": "train", "dev": "dev", "test": "test"}
_DB_SH = "egs2/covost2/st1/db.sh"
_COVOST_DOWNLOAD = ("https://dl.fbaipublicfiles.com/covost/covost_v2.{src}_{tgt}.tsv.tar.gz "
                    "(see https://github.com/facebookresearch/covost)")


@dataclass
class Utterance:
    """One utterance of a data dir.

    Attributes:
        utt_id: ``<client_id>-<path without .mp3, "/" made "-">``.
        speaker: the ``client_id``.
        clip: absolute path of the mp3.
        texts: the line of each text file, by file name (``text.tc.en``, ``text.lc.rm.de``, ...).
    """

    utt_id: str
    speaker: str
    clip: str
    texts: Dict[str, str]


def check_direction(src_lang: str, tgt_lang: str) -> None:
    """Raise ``ValueError`` unless CoVoST 2 has the direction ``src_lang`` → ``tgt_lang``."""
    if (tgt_lang == "en" and src_lang in XX_EN_SOURCES) or (src_lang == "en" and tgt_lang in EN_XX_TARGETS):
        return
    raise InputError(f"CoVoST 2 has no {src_lang}->{tgt_lang} direction; it has X->en for X in "
                     f"{' '.join(XX_EN_SOURCES)}, and en->X for X in {' '.join(EN_XX_TARGETS)}")


def set_name(dset: str, src_lang: str, tgt_lang: str) -> str:
    """The data dir name of a set, as ESPnet's recipe names it: ``train.es-en``."""
    return f"{dset}.{src_lang}-{tgt_lang}"


def st_sets(src_lang: str, tgt_lang: str) -> Dict[str, str]:
    """The options of ``st.sh`` that name data: ``train_set``, ``valid_set``, ``test_sets``.

    Raises:
        ValueError: an unsupported direction.
    """
    check_direction(src_lang, tgt_lang)
    return {"train_set": set_name("train", src_lang, tgt_lang), "valid_set": set_name("dev", src_lang, tgt_lang),
            "test_sets": set_name("test", src_lang, tgt_lang)}


def _listing(header: str, problems: Sequence[str]) -> str:
    shown = [f"  {problem}" for problem in problems[:MAX_SHOWN_PROBLEMS]]
    if len(problems) > MAX_SHOWN_PROBLEMS:
        shown.append(f"  ... and {len(problems) - MAX_SHOWN_PROBLEMS} more")
    return "\n".join([f"{header} ({len(problems)}):", *shown])


def _decoded_lines(f: BinaryIO, path: Path) -> Iterator[str]:
    # Decoding line by line, so that a bad byte is reported on its own line (a text-mode file
    # decodes ahead, in chunks).
    for lineno, raw in enumerate(f, 1):
        try:
            yield raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as err:
            raise InputError(f"{path}:{lineno}: invalid UTF-8 (byte {err.start} of the line)") from None


def _read_tsv(path: Path, columns: Sequence[str],
              keep: Optional[Set[str]] = None) -> List[Tuple[int, Tuple[str, ...]]]:
    """The values of ``columns`` in each row of a tsv, with the row's line number.

    Read as the official script's pandas call reads it (tab separator, ``QUOTE_NONE``, ``\\``
    escaping the next character, empty fields kept as ``""``); blank lines are skipped. With
    ``keep``, only the rows whose value of ``columns[0]`` is in it are returned.

    Raises:
        ValueError: the header lacks one of ``columns``; or (all listed) rows whose number of
            fields is not the header's; or a line that is not UTF-8.
    """
    rows: List[Tuple[int, Tuple[str, ...]]] = []
    problems: List[str] = []
    with open(path, "rb") as f:
        reader = csv.reader(_decoded_lines(f, path), delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        header = next(reader, [])
        missing = [column for column in columns if column not in header]
        if missing:
            raise InputError(f"{path}:1: the header has no column {', '.join(missing)} "
                             f"(its columns: {' '.join(header) or 'none'})")
        indices = [header.index(column) for column in columns]
        end = reader.line_num
        for fields in reader:
            lineno, end = end + 1, reader.line_num  # a row with an escaped newline spans lines
            if not fields:
                continue
            if len(fields) != len(header):
                problems.append(f"{path}:{lineno}: {len(fields)} tab-separated fields, expected "
                                f"{len(header)} ({' '.join(header)})")
                continue
            values = tuple(fields[i] for i in indices)
            if keep is None or values[0] in keep:
                rows.append((lineno, values))
    if problems:
        raise InputError(_listing(f"{path}: malformed rows", problems))
    return rows


def _clip_candidates(clips_dir: str, path: str) -> List[str]:
    """Where the clip of a tsv ``path`` may be: ``<clips_dir>/<path>``, or ``<path>.mp3`` (releases
    whose ``path`` has no extension)."""
    names = [path] if path.endswith(".mp3") else [path, f"{path}.mp3"]
    return [os.path.join(clips_dir, name) for name in names]


def _check_inputs(covost_dir: Path, cv_dir: Path, src_lang: str, tgt_lang: str) -> Tuple[Path, Path]:
    """The CoVoST tsv and ``validated.tsv`` of the direction; raise if either is missing."""
    download = _COVOST_DOWNLOAD.format(src=src_lang, tgt=tgt_lang)
    if not covost_dir.is_dir():
        raise FileNotFoundError(
            f"CoVoST 2 root {covost_dir} does not exist: download {download}, extract it there, and set "
            f"COVOST2=/path/to/covost2 in {_DB_SH} (or export COVOST2)")
    if not cv_dir.is_dir():
        raise FileNotFoundError(
            f"Common Voice root {cv_dir} does not exist: download Common Voice v4 (cv-corpus-4-2019-12-10) "
            f"for '{src_lang}', extract it into {cv_dir}/{src_lang}/ (validated.tsv, clips/), and set "
            f"COMMONVOICE=/path/to/commonvoice in {_DB_SH} (or export COMMONVOICE)")
    covost_tsv = covost_dir / f"covost_v2.{src_lang}_{tgt_lang}.tsv"
    if not covost_tsv.is_file():
        raise FileNotFoundError(f"{covost_tsv} does not exist: download {download} and extract it into {covost_dir}")
    validated_tsv = cv_dir / src_lang / "validated.tsv"
    if not validated_tsv.is_file():
        raise FileNotFoundError(
            f"{validated_tsv} does not exist: extract Common Voice v4's '{src_lang}' archive into "
            f"{cv_dir}/{src_lang}/ (validated.tsv, clips/)")
    return covost_tsv, validated_tsv


def read_covost2(covost_dir: Path, cv_dir: Path, src_lang: str, tgt_lang: str) -> Dict[str, List[Utterance]]:
    """Join the CoVoST tsv with Common Voice and check every clip: the utterances of each set.

    Returns:
        The utterances of ``train``, ``dev`` and ``test``, none empty.

    Raises:
        ValueError: an unsupported direction; a malformed tsv (each problem with file and line);
            an utterance id twice or with white space; a set without utterances.
        FileNotFoundError: a root, a tsv, or clips (each with its tsv line) are missing.
    """
    check_direction(src_lang, tgt_lang)
    covost_dir, cv_dir = Path(covost_dir), Path(cv_dir)
    covost_tsv, validated_tsv = _check_inputs(covost_dir, cv_dir, src_lang, tgt_lang)
    clips_dir = os.path.abspath(cv_dir / src_lang / "clips")

    covost_rows = _read_tsv(covost_tsv, ("path", "translation", "split"))
    needed = {path for _, (path, _, _) in covost_rows}
    common_voice: Dict[str, Tuple[int, str, str]] = {}
    problems: List[str] = []
    for lineno, (path, client_id, sentence) in _read_tsv(validated_tsv, ("path", "client_id", "sentence"), needed):
        if path in common_voice:
            problems.append(f"{validated_tsv}:{lineno}: path {path!r} again (first on line {common_voice[path][0]})")
        else:
            common_voice[path] = (lineno, client_id, sentence)

    sets: Dict[str, List[Utterance]] = {dset: [] for dset in SETS}
    first_line: Dict[str, int] = {}
    unused = Counter()
    empty_lines: List[int] = []
    missing_clips: List[str] = []
    for lineno, (path, translation, split) in tqdm(covost_rows, desc=f"covost2 {src_lang}-{tgt_lang}",
                                                    unit="utt", mininterval=2):
        where = f"{covost_tsv}:{lineno}"
        if split not in _SET_OF_SPLIT:
            unused[f"of split {split!r}"] += 1
            continue
        if path not in common_voice:
            unused[f"not in {validated_tsv}"] += 1
            continue
        cv_lineno, client_id, sentence = common_voice[path]
        name = path[:-len(".mp3")] if path.endswith(".mp3") else path
        utt_id = f"{client_id}-{name.replace('/', '-')}"
        if not client_id or not path or len(utt_id.split()) != 1:
            problems.append(f"{where}: utterance id {utt_id!r} (client_id of {validated_tsv}:{cv_lineno}, "
                            f"then path) is empty or has white space")
            continue
        if utt_id in first_line:
            problems.append(f"{where}: utterance {utt_id!r} again (first on line {first_line[utt_id]})")
            continue
        first_line[utt_id] = lineno
        texts = {f"text.{case}.{lang}": variant
                 for lang, line in ((src_lang, sentence), (tgt_lang, translation))
                 for case, variant in text_variants(line, lang).items()}
        if not all(texts.values()):
            empty_lines.append(lineno)
            continue
        candidates = _clip_candidates(clips_dir, path)
        clip = next((c for c in candidates if os.path.isfile(c)), None)
        if clip is None:
            missing_clips.append(f"{where}: clip {' or '.join(candidates)} does not exist")
            continue
        sets[_SET_OF_SPLIT[split]].append(Utterance(utt_id, client_id, clip, texts))

    if problems:
        raise InputError(_listing(f"{covost_tsv} joined with {validated_tsv}: problems", problems))
    if missing_clips:
        raise FileNotFoundError(_listing(f"{covost_tsv}: clips missing from {clips_dir}", missing_clips))
    for reason, count in sorted(unused.items()):
        logger.info(f"{covost_tsv}: {count} row(s) {reason}: not used (as in get_covost_splits.py)")
    if empty_lines:
        logger.warning(f"{covost_tsv}: dropped {len(empty_lines)} row(s) whose transcript or translation is "
                       f"empty once normalised, on lines {' '.join(map(str, empty_lines[:MAX_SHOWN_PROBLEMS]))}"
                       f"{' ...' if len(empty_lines) > MAX_SHOWN_PROBLEMS else ''}")
    for dset, utts in sets.items():
        if not utts:
            splits = " or ".join(repr(s) for s, target in _SET_OF_SPLIT.items() if target == dset)
            raise InputError(f"{covost_tsv}: the {dset} set is empty: no row of split {splits} is left after "
                             f"joining with {validated_tsv} and dropping empty texts")
    return sets


def _tables(utts: Sequence[Utterance]) -> Dict[str, Dict[str, str]]:
    """The files of one data dir (``spk2utt`` apart)."""
    tables = {"wav.scp": {u.utt_id: u.clip for u in utts}, "utt2spk": {u.utt_id: u.speaker for u in utts}}
    for name in utts[0].texts:
        tables[name] = {u.utt_id: u.texts[name] for u in utts}
    return tables


def prepare_covost2(covost_dir: Path, cv_dir: Path, output_dir: Path, *, src_lang: str, tgt_lang: str,
                    nj: int = 1) -> Dict[str, Path]:
    """Write ``<output_dir>/{train,dev,test}.<src>-<tgt>``, replacing them.

    Args:
        covost_dir: the CoVoST 2 translations, ``covost_v2.<src>_<tgt>.tsv``.
        cv_dir: the Common Voice v4 root, holding ``<src>/validated.tsv`` and ``<src>/clips/``.
        output_dir: where the data dirs go.
        src_lang, tgt_lang: the direction, X→en or en→X.
        nj: not used: reading is I/O bound (two tsvs, and whether the clips exist).

    Returns:
        The data dir written for each set name (:func:`set_name`), train, dev and test.

    Raises:
        ValueError, FileNotFoundError: see :func:`read_covost2`; nothing is written then.
    """
    sets = read_covost2(covost_dir, cv_dir, src_lang, tgt_lang)
    names = {set_name(dset, src_lang, tgt_lang): utts for dset, utts in sets.items()}
    written = dict(zip(names, write_data_dirs(output_dir, {name: _tables(utts) for name, utts in names.items()})))
    for name, path in written.items():
        logger.info(f"{path}: {len(names[name])} utterances, {len({u.speaker for u in names[name]})} speakers")
    return written
