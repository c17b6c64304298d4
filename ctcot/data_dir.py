"""Kaldi/ESPnet data directories: read, write, validate, fix, subset and combine.

Tested Python replacements for Kaldi's ``utils/validate_data_dir.sh``, ``utils/fix_data_dir.sh``,
``utils/utt2spk_to_spk2utt.pl``, ``utils/subset_data_dir.sh --utt-list`` and
``utils/combine_data.sh``, which the recipes cannot call because Kaldi is not installable here.

A data directory holds these files (each ``<...>`` is one field without whitespace)::

    wav.scp         <recording-id> <audio path>   or   <recording-id> <command> |
    segments        <utt> <recording-id> <start-sec> <end-sec>        (optional)
    utt2spk         <utt> <speaker>
    spk2utt         <speaker> <utt> <utt> ...                         (made from utt2spk)
    text, text.*    <utt> <transcript>       e.g. text.tc.en, text.lc.rm.en, text.tc.de
    feats.scp       <utt> <ark path>:<offset>                         (optional)
    utt2num_frames  <utt> <frames>                                    (optional)
    utt2dur         <utt> <seconds>                                   (optional)
    reco2dur        <recording-id> <seconds>                          (optional)
    utt2speed       <utt> <speed factor>       e.g. 0.9; applied at feature extraction (optional)
    utt2uniq        <utt> <original utt>       of a speed-perturbed copy (optional)

Without ``segments``, the keys of ``wav.scp`` and ``reco2dur`` are utterance ids. As Kaldi
requires, every file is sorted on its key in C-locale byte order (``LC_ALL=C sort -k1,1``) and
has unique keys. A line is split as ESPnet's ``read_2columns_text`` splits it: the key is the
first whitespace-separated field, the value the rest of the line, stripped. Relative audio
paths in ``wav.scp`` are relative to the current directory (the recipe root), as in Kaldi and
ESPnet. Other files in a data directory are not read, checked or rewritten.
"""
import codecs
import logging
import math
import os
import re
import shlex
import shutil
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ctcot import InputError
from ctcot.fileio import PathLike, atomic_write

__all__ = [
    "DataDirError",
    "DataDirReport",
    "FixReport",
    "MAX_SHOWN_PROBLEMS",
    "read_kv",
    "parse_segment",
    "write_kv",
    "DataDirLayout",
    "is_text_file",
    "find_text_files",
    "scan_layout",
    "read_tables",
    "write_tables",
    "utt2spk_to_spk2utt",
    "validate_data_dir",
    "fix_data_dir",
    "subset_data_dir",
    "write_data_dirs",
    "combine_data_dirs",
]

logger = logging.getLogger(__name__)


MAX_SHOWN_PROBLEMS = 30
"""How many problems a :class:`DataDirError` message lists; ``problems`` holds all of them."""

_REQUIRED = ("wav.scp", "utt2spk")
_OPTIONAL = ("feats.scp", "utt2num_frames", "utt2dur", "reco2dur", "utt2speed", "utt2uniq")
_BACKUP_DIR = ".backup"
# Where the recipe's data directories come from: named in advice on missing ones.
_DATA_PREP = "the data preparation (for st.sh's data/<set>: local/data.sh, in stage 1)"
_BOM_PROBLEM = "starts with a UTF-8 byte-order mark (U+FEFF)"
# Kaldi's extended filename for an entry inside an archive: <path>:<byte offset>.
_ARK_OFFSET = re.compile(r"^(.+):\d+$")


class DataDirError(InputError):
    """A data directory or key-value file breaks the Kaldi conventions.

    The message lists the problems (at most :data:`MAX_SHOWN_PROBLEMS`), then the advice.

    Attributes:
        problems: every problem found, each naming the file, line and key where it applies.
        advice: what to do about them, one line each.
        fixable: :func:`fix_data_dir` resolves every problem (``advice`` then gives its command).
    """

    def __init__(self, header: str, problems: Sequence[str], advice: Sequence[str] = (), fixable: bool = False):
        self.problems = list(problems)
        self.advice = list(advice)
        self.fixable = fixable
        shown = self.problems[:MAX_SHOWN_PROBLEMS]
        lines = [f"{header} ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):"]
        lines += [f"  {problem}" for problem in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more")
        if self.advice:
            lines += ["What to do:"] + [f"  {line}" for line in self.advice]
        super().__init__("\n".join(lines))


@dataclass
class DataDirReport:
    """What :func:`validate_data_dir` found in a valid directory.

    Attributes:
        path: the data directory.
        num_utterances: utterances (keys of ``utt2spk``).
        num_speakers: distinct speakers in ``utt2spk``.
        num_recordings: entries of ``wav.scp``.
        total_duration: seconds of speech, from ``segments``, else ``utt2dur``, else (without
            segments) ``reco2dur``; ``None`` when none of them is present.
        text_files: the text files that were checked.
        warnings: problems that do not make the directory invalid (also logged).
    """

    path: Path
    num_utterances: int
    num_speakers: int
    num_recordings: int
    total_duration: Optional[float]
    text_files: List[str]
    warnings: List[str] = field(default_factory=list)


@dataclass
class FixReport:
    """What :func:`fix_data_dir` did.

    Attributes:
        path: the data directory.
        num_utterances_before: distinct utterance ids in any of the files before the fix.
        num_utterances: utterances kept.
        dropped: each dropped utterance id with the reasons (``file:line: problem`` or
            ``missing from <file>``), in byte order.
        dropped_recordings: with ``segments``, each dropped recording id with its reason.
        rewritten: the files that were rewritten (empty when the directory needed no fix).
        backup_dir: where the files were copied before rewriting; ``None`` if nothing changed.
    """

    path: Path
    num_utterances_before: int
    num_utterances: int
    dropped: Dict[str, List[str]]
    dropped_recordings: Dict[str, str]
    rewritten: List[str]
    backup_dir: Optional[Path]


@dataclass(frozen=True)
class _Line:
    lineno: int
    key: str
    value: str


@dataclass(frozen=True)
class DataDirLayout:
    """Which of the files a data directory has."""

    text_files: Tuple[str, ...]
    has_segments: bool
    has_spk2utt: bool
    optional: Tuple[str, ...]

    @property
    def reco_files(self) -> Tuple[str, ...]:
        """Files keyed by recording id (none without segments: then recordings are utterances)."""
        if not self.has_segments:
            return ()
        return ("wav.scp",) + (("reco2dur",) if "reco2dur" in self.optional else ())

    @property
    def utt_files(self) -> Tuple[str, ...]:
        """Files keyed by utterance id, ``utt2spk`` first."""
        audio = ("segments",) if self.has_segments else ("wav.scp",)
        rest = tuple(name for name in self.optional if name not in self.reco_files)
        return ("utt2spk",) + self.text_files + audio + rest

    @property
    def files(self) -> Tuple[str, ...]:
        """Every file that is present, ``spk2utt`` last."""
        return self.utt_files + self.reco_files + (("spk2utt",) if self.has_spk2utt else ())


def is_text_file(name: str) -> bool:
    """Whether a data directory's file ``name`` holds transcripts: ``text`` or ``text.*``."""
    base = os.path.basename(name)
    return base == "text" or base.startswith("text.")


def find_text_files(data_dir: Path) -> Tuple[str, ...]:
    """The text files (:func:`is_text_file`) of ``data_dir``, sorted."""
    return tuple(sorted(p.name for p in data_dir.iterdir() if p.is_file() and is_text_file(p.name)))


def _missing_dir_advice(data_dir: Path) -> str:
    """What to do about a data directory that does not exist: most often, a mistyped set name."""
    if data_dir.exists():
        return f"{data_dir} is a file: give a data directory"
    parent = data_dir.parent
    if not parent.is_dir():
        return f"{parent} does not exist either: has {_DATA_PREP} run, in this directory ({Path.cwd()})?"
    sets = sorted(d.name for d in parent.iterdir() if d.is_dir() and any((d / n).is_file() for n in _REQUIRED))
    return (f"{data_dir} does not exist: check the set name (st.sh: --train_set/--valid_set/--test_sets); "
            f"sets found in {parent}/: {' '.join(sets) or 'none'}")


def scan_layout(data_dir: Path, text_files: Optional[Sequence[str]]) -> DataDirLayout:
    """Find the files of ``data_dir`` (the given ``text_files``, or all of them if None); raise
    :class:`DataDirError`, with advice, if a required one is missing.

    fix_data_dir cannot help here: it needs these files too.
    """
    if not data_dir.is_dir():
        problem = "not a directory" if data_dir.exists() else "no such directory"
        raise DataDirError(f"{data_dir} is not a data directory", [f"{data_dir}: {problem}"],
                           [_missing_dir_advice(data_dir)])
    present = find_text_files(data_dir)
    texts = present if text_files is None else tuple(dict.fromkeys(text_files))
    misnamed = [name for name in texts if not is_text_file(name)]
    missing = [name for name in _REQUIRED + texts if not (data_dir / name).is_file()]
    problems = [f"{name}: not a text file name ('text' or 'text.*')" for name in misnamed]
    problems += [f"{name}: required file is missing" for name in missing]
    advice = []
    if misnamed:
        advice.append(f"--text_files takes names of text files ('text' or 'text.*'), not {' '.join(misnamed)}")
    missing_required = [name for name in missing if name in _REQUIRED]
    if missing_required:
        them = "it" if len(missing_required) == 1 else "them"
        advice.append(f"{' '.join(missing_required)}: {_DATA_PREP} writes {them}; see its log for why it did not")
    missing_texts = [name for name in missing if name not in _REQUIRED and name not in misnamed]
    if missing_texts:
        advice.append(f"{' '.join(missing_texts)}: no such file (text files here: {' '.join(present) or 'none'}); "
                      f"st.sh reads text.<src_case>.<src_lang> and text.<tgt_case>.<tgt_lang>: check these options, "
                      f"and which files {_DATA_PREP} writes")
    if not texts:
        problems.append("text or text.*: no text file (at least one is required)")
        advice.append(f"{_DATA_PREP} writes the transcripts and translations as text.<case>.<lang>")
    if problems:
        raise DataDirError(f"{data_dir} is not a valid data directory", problems, advice)
    return DataDirLayout(
        text_files=texts,
        has_segments=(data_dir / "segments").is_file(),
        has_spk2utt=(data_dir / "spk2utt").is_file(),
        optional=tuple(name for name in _OPTIONAL if (data_dir / name).is_file()),
    )


def _read_lines(path: Path, name: str) -> Tuple[List[_Line], Dict[int, str], bool]:
    """Split a file into lines (numbered from 1); give the problem of each line that is not UTF-8,
    by line number; tell whether the file starts with a UTF-8 byte-order mark, which is removed
    (else it would become part of the first key).

    Bytes are split on ``\\n`` only, so line numbers are those of ``sed -n Np``; a line that is
    not valid UTF-8 is reported and decoded with replacement characters.
    """
    data = path.read_bytes()
    bom = data.startswith(codecs.BOM_UTF8)
    chunks = data[len(codecs.BOM_UTF8) if bom else 0:].split(b"\n")
    if chunks[-1] == b"":  # the newline that ends the last line
        chunks.pop()
    lines, problems = [], {}
    for lineno, raw in enumerate(chunks, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            problems[lineno] = f"{name}:{lineno}: invalid UTF-8 (byte {err.start} of the line)"
            text = raw.decode("utf-8", errors="replace")
        fields = text.rstrip().split(maxsplit=1)  # as ESPnet's read_2columns_text
        lines.append(_Line(lineno, fields[0] if fields else "", fields[1] if len(fields) > 1 else ""))
    return lines, problems, bom


def _reencode_advice(path: Path, bad_lines: Sequence[int]) -> str:
    """What to do about a file that is not UTF-8 (fix_data_dir cannot read it)."""
    more = f", {len(bad_lines)} lines in all" if len(bad_lines) > 1 else ""
    src, tmp = shlex.quote(str(path)), shlex.quote(f"{path}.utf8")
    return (f"{path} is not UTF-8 (line {bad_lines[0]}{more}), and fix_data_dir cannot read it: re-encode it, "
            f"e.g. if it is Latin-1: iconv -f latin1 -t utf-8 {src} > {tmp} && mv {tmp} {src} "
            f"(or make the data preparation write UTF-8)")


def _fix_command(data_dir: Path, text_files: Optional[Sequence[str]]) -> str:
    """The fix_data_dir command line that reads the files the validator read."""
    texts = [] if text_files is None else ["--text_files", *dict.fromkeys(text_files)]
    return shlex.join([sys.executable, "-m", "ctcot.bin.fix_data_dir", str(data_dir), *texts])


def _empty_value_problem(name: str) -> str:
    return "empty transcript" if is_text_file(name) else "no value"


def parse_segment(value: str) -> Tuple[str, float, float]:
    """Parse ``<recording-id> <start> <end>``; raise ``ValueError`` saying what is wrong."""
    fields = value.split()
    if len(fields) != 3:
        raise InputError(f"expected '<recording-id> <start> <end>' after the utterance id, got {value!r}")
    recording, start_text, end_text = fields
    try:
        start, end = float(start_text), float(end_text)
    except ValueError:
        raise InputError(f"start and end times {start_text!r} {end_text!r} are not both numbers") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InputError(f"start and end times {start_text} {end_text} are not both finite")
    if start < 0:
        raise InputError(f"start time {start_text} is negative")
    if end <= start:
        raise InputError(f"end time {end_text} <= start time {start_text}")
    return recording, start, end


def _segment_seconds(value: str) -> float:
    _, start, end = parse_segment(value)
    return end - start


def _positive_number_problem(value: str, integer: bool) -> Optional[str]:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        return f"{value!r} is not {'an integer' if integer else 'a number'}"
    if not (math.isfinite(number) and number > 0):
        return f"{value} is not positive"
    return None


def _value_problem(name: str, value: str) -> Optional[str]:
    """What is wrong with one value of the file ``name``, or ``None``."""
    if not value:
        return _empty_value_problem(name)
    if is_text_file(name):
        # Control characters (a stray \r, \f, NUL) pass tokenizers silently and end up as tokens.
        bad = next((c for c in value if c != "\t" and unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            return f"control character U+{ord(bad):04X} in transcript"
    elif name == "utt2spk" and len(value.split()) > 1:
        return f"speaker id {value!r} contains whitespace"
    elif name == "segments":
        try:
            parse_segment(value)
        except ValueError as err:
            return str(err)
    elif name in ("utt2dur", "reco2dur", "utt2speed"):
        return _positive_number_problem(value, integer=False)
    elif name == "utt2num_frames":
        return _positive_number_problem(value, integer=True)
    return None


def _index_strict(name: str, lines: Sequence[_Line], kind: str, check_sorted: bool,
                  allow_empty: bool, check_values: bool) -> Tuple[Dict[str, _Line], List[str]]:
    """Index lines by key and list every problem: empty lines, duplicates, order, values.

    The first line of a duplicated key is kept; a key with a bad value is kept too, so that
    cross-file checks do not report it again as missing.
    """
    table: Dict[str, _Line] = {}
    problems: List[str] = []
    previous: Optional[_Line] = None
    for line in lines:
        if not line.key:
            problems.append(f"{name}:{line.lineno}: empty line")
            continue
        where = f"{name}:{line.lineno}: {kind} {line.key!r}"
        first = table.get(line.key)
        if first is not None:
            problems.append(f"{where}: duplicate key (first on line {first.lineno})")
            continue
        # Python orders str by code point, which is UTF-8 byte order, i.e. LC_ALL=C sort's.
        # Only the first line out of order is reported: one misplaced line would flag all later ones.
        if check_sorted and previous is not None and line.key < previous.key:
            problems.append(f"{where}: not sorted (comes after {previous.key!r} on line {previous.lineno}); "
                            f"sort with LC_ALL=C sort -k1,1 or run fix_data_dir")
            check_sorted = False
        if check_values:
            problem = _value_problem(name, line.value)
        else:
            problem = None if line.value or allow_empty else _empty_value_problem(name)
        if problem is not None:
            problems.append(f"{where}: {problem}")
        table[line.key] = line
        previous = line
    return table, problems


def read_kv(path: PathLike, check_sorted: bool = True, allow_empty: bool = False) -> Dict[str, str]:
    """Read a ``<key> <value>`` file (``wav.scp``, ``utt2spk``, ``text.tc.en``, ...).

    Args:
        path: the file.
        check_sorted: require keys in C-locale byte order, as Kaldi does.
        allow_empty: accept lines with a key and no value (read as ``""``).

    Returns:
        The values by key, in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataDirError: (a ``ValueError``) listing, each with file and line number, a leading
            byte-order mark and every line that is not UTF-8, is empty, has no value (unless
            ``allow_empty``), repeats an earlier key, or (with ``check_sorted``) is the first one
            out of order.
    """
    path = Path(path)
    lines, not_utf8, bom = _read_lines(path, str(path))
    problems = list(not_utf8.values()) + ([f"{path}:1: {_BOM_PROBLEM}"] if bom else [])
    table, more = _index_strict(str(path), lines, "key", check_sorted, allow_empty, check_values=False)
    problems += more
    if problems:
        raise DataDirError(f"{path} is not a valid '<key> <value>' file", problems)
    return {key: line.value for key, line in table.items()}


def _format_kv(mapping: Mapping[str, str]) -> bytes:
    return "".join(f"{key} {mapping[key]}\n" for key in sorted(mapping)).encode("utf-8")


def write_kv(path: PathLike, mapping: Mapping[str, str]) -> None:
    """Write a ``<key> <value>`` file sorted in C-locale byte order, atomically.

    The data goes to a temporary file beside ``path`` that then replaces ``path`` in one
    ``os.replace``, so an interrupted or failed write leaves the old file (or none) intact.

    Args:
        path: the file to write.
        mapping: values by key. Keys must be non-empty without whitespace; values non-empty on
            one line.

    Raises:
        ValueError: a key or value that could not be read back as written.
    """
    path = Path(path)
    for key, value in mapping.items():
        if key.split() != [key]:
            raise InputError(f"{path}: key {key!r} is empty or contains whitespace")
        if not value.strip() or "\n" in value or "\r" in value:
            raise InputError(f"{path}: key {key!r}: value {value!r} is empty or spans lines")
    atomic_write(path, _format_kv(mapping))


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> Dict[str, List[str]]:
    """Invert ``utt2spk`` (as Kaldi's ``utt2spk_to_spk2utt.pl``).

    Args:
        utt2spk: speaker by utterance id.

    Returns:
        The utterance ids of each speaker, speakers and utterances in byte order.
    """
    spk2utt: Dict[str, List[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    return {speaker: spk2utt[speaker] for speaker in sorted(spk2utt)}


def _audio_problem(value: str) -> Optional[str]:
    if value.endswith("|"):  # a command: its inputs are its own business
        return None
    if Path(value).exists():
        return None
    match = _ARK_OFFSET.match(value)
    if match and Path(match.group(1)).exists():
        return None
    return f"audio file {value} does not exist"


def _compare_keys(name: str, table: Mapping[str, _Line], ref_name: str, reference: Mapping[str, _Line],
                  kind: str) -> List[str]:
    """Problems for keys of ``table`` not in ``reference`` and keys of ``reference`` missing."""
    problems = [f"{name}:{line.lineno}: {kind} {key!r} is not in {ref_name}"
                for key, line in table.items() if key not in reference]
    problems += [f"{name}: {kind} {key!r} ({ref_name}:{line.lineno}) is missing"
                 for key, line in reference.items() if key not in table]
    return problems


def _spk2utt_problems(spk2utt: Mapping[str, _Line], utt2spk: Mapping[str, _Line]) -> List[str]:
    problems = []
    listed: Dict[str, int] = {}
    for speaker, line in spk2utt.items():
        where = f"spk2utt:{line.lineno}: speaker {speaker!r}"
        for utt in line.value.split():
            if utt in listed:
                problems.append(f"{where}: utterance {utt!r} is listed again (first on line {listed[utt]})")
                continue
            listed[utt] = line.lineno
            if utt not in utt2spk:
                problems.append(f"{where}: utterance {utt!r} is not in utt2spk")
            elif utt2spk[utt].value != speaker:
                problems.append(f"{where}: utterance {utt!r} belongs to speaker {utt2spk[utt].value!r} "
                                f"(utt2spk:{utt2spk[utt].lineno})")
    problems += [f"spk2utt: utterance {utt!r} of speaker {line.value!r} (utt2spk:{line.lineno}) is not listed"
                 for utt, line in utt2spk.items() if utt not in listed]
    return problems


def _total_duration(layout: DataDirLayout, tables: Mapping[str, Mapping[str, _Line]]) -> Optional[float]:
    # Only called for a valid directory, where every value parses.
    if layout.has_segments:
        return sum(_segment_seconds(line.value) for line in tables["segments"].values())
    for name in ("utt2dur", "reco2dur"):
        if name in layout.optional:
            return sum(float(line.value) for line in tables[name].values())
    return None


def validate_data_dir(path: PathLike, text_files: Optional[Sequence[str]] = None,
                      require_audio_exists: bool = True) -> DataDirReport:
    """Check a data directory as Kaldi's ``validate_data_dir.sh`` does, and more.

    Checks:

    * ``wav.scp``, ``utt2spk`` and at least one text file exist;
    * every file is UTF-8, has no empty lines, unique keys in C-locale byte order and a value
      on every line; transcripts are non-empty without control characters; speaker ids have
      no whitespace; ``utt2dur``, ``reco2dur``, ``utt2speed`` and ``utt2num_frames`` hold
      positive numbers;
    * the text files, ``segments`` (or ``wav.scp`` without segments), ``feats.scp``,
      ``utt2num_frames``, ``utt2dur``, ``utt2speed`` and ``utt2uniq`` have exactly the
      utterances of ``utt2spk``;
    * each segment is ``<recording-id> <start> <end>`` with ``0 <= start < end`` and a
      recording of ``wav.scp``; ``reco2dur`` has exactly the keys of ``wav.scp``;
    * ``spk2utt`` lists every utterance once, under its ``utt2spk`` speaker;
    * with ``require_audio_exists``, every audio path of ``wav.scp`` exists (commands ending
      in ``|`` are not run; for ``<ark>:<offset>`` the archive must exist).

    Warnings only (logged and reported): no ``spk2utt``; recordings no segment uses;
    utterance ids that do not start with their speaker id (Kaldi's speaker-sorted tools want it).

    The error says what to do. If :func:`fix_data_dir` resolves every problem (it drops the
    utterances at fault, sorts, removes a byte-order mark, rewrites ``spk2utt``) and would keep
    some utterances, it gives the command, with ``fixable`` set. Else it gives advice for each
    problem fix_data_dir cannot resolve: a missing directory or file, a file that is not UTF-8,
    a missing audio file, no utterance (left).

    Args:
        path: the data directory.
        text_files: names of the text files to check; default every ``text`` and ``text.*``.
        require_audio_exists: check that the audio files of ``wav.scp`` exist.

    Returns:
        Counts, total duration and warnings.

    Raises:
        DataDirError: listing every problem, each with its file, line number and key (also
            for a name in ``text_files`` that is not ``text`` or ``text.*``), and what to do.
    """
    data_dir = Path(path)
    layout = scan_layout(data_dir, text_files)
    problems: List[str] = []
    unfixable: List[str] = []  # advice on the problems fix_data_dir does not resolve
    num_unfixable = 0
    warnings: List[str] = []
    tables: Dict[str, Dict[str, _Line]] = {}
    for name in layout.files:
        kind = "speaker" if name == "spk2utt" else "recording" if name in layout.reco_files else "utterance"
        lines, not_utf8, bom = _read_lines(data_dir / name, name)
        tables[name], more = _index_strict(name, lines, kind, check_sorted=True, allow_empty=False,
                                           check_values=True)
        problems += list(not_utf8.values()) + ([f"{name}:1: {_BOM_PROBLEM}"] if bom else []) + more
        if not_utf8 and name != "spk2utt":  # fix_data_dir writes spk2utt anew without reading it
            unfixable.append(_reencode_advice(data_dir / name, list(not_utf8)))
            num_unfixable += len(not_utf8)

    utt2spk = tables["utt2spk"]
    for name in layout.utt_files[1:]:
        problems += _compare_keys(name, tables[name], "utt2spk", utt2spk, "utterance")

    if layout.has_segments:
        wav = tables["wav.scp"]
        used = set()
        for utt, line in tables["segments"].items():
            try:
                recording = parse_segment(line.value)[0]
            except ValueError:  # reported as a problem already
                continue
            used.add(recording)
            if recording not in wav:
                problems.append(f"segments:{line.lineno}: utterance {utt!r}: recording {recording!r} "
                                f"is not in wav.scp")
        if "reco2dur" in layout.optional:
            problems += _compare_keys("reco2dur", tables["reco2dur"], "wav.scp", wav, "recording")
        unused = [recording for recording in wav if recording not in used]
        if unused:
            warnings.append(f"wav.scp: {len(unused)} recording(s) are used by no segment "
                            f"(first: {unused[0]!r}); fix_data_dir removes them")

    missing_audio = []
    if require_audio_exists:
        kind = "recording" if layout.has_segments else "utterance"
        for key, line in tables["wav.scp"].items():
            problem = _audio_problem(line.value) if line.value else None
            if problem is not None:
                problems.append(f"wav.scp:{line.lineno}: {kind} {key!r}: {problem}")
                missing_audio.append(line)
    if missing_audio:  # fix_data_dir does not look at audio: dropping data is the user's call
        first = missing_audio[0]
        unfixable.append(f"{len(missing_audio)} audio file(s) of wav.scp do not exist (first: wav.scp:{first.lineno} "
                         f"{first.value}): restore them (is the corpus completely downloaded and unpacked? relative "
                         f"paths are read from {Path.cwd()}), or delete their lines from wav.scp (then fix_data_dir "
                         f"drops their utterances)")
        num_unfixable += len(missing_audio)
    if not utt2spk:  # all files empty: nothing to fix
        problems.append("utt2spk: no utterance")
        unfixable.append(f"{_DATA_PREP} wrote no utterance into {data_dir}: see its log")
        num_unfixable += 1

    if layout.has_spk2utt:
        problems += _spk2utt_problems(tables["spk2utt"], utt2spk)
    else:
        warnings.append("spk2utt is missing; fix_data_dir creates it")

    unprefixed = [utt for utt, line in utt2spk.items() if line.value and not utt.startswith(line.value)]
    if unprefixed:
        first = unprefixed[0]
        warnings.append(f"utt2spk: {len(unprefixed)} utterance id(s) do not start with their speaker id "
                        f"(first: {first!r} of speaker {utt2spk[first].value!r}); Kaldi tools that "
                        f"split or normalise per speaker expect them to")

    if problems:
        header = f"{data_dir} is not a valid data directory"
        command = f"  {_fix_command(data_dir, text_files)}"
        backup = data_dir / _BACKUP_DIR
        if unfixable:
            if (len(problems) > num_unfixable or missing_audio) and utt2spk:
                unfixable += [f"Then drop the utterances still at fault with fix_data_dir (the old files go to "
                              f"{backup}):", command]
            raise DataDirError(header, problems, unfixable)
        try:
            plan = _plan_fix(data_dir, layout)
        except DataDirError as err:  # fix_data_dir would drop every utterance
            raise DataDirError(header, problems, err.advice) from None
        kept, before = plan.num_utterances_before - len(plan.dropped), plan.num_utterances_before
        kept_text = f"all {kept}" if kept == before else f"{kept} of {before}"
        raise DataDirError(header, problems, [f"fix_data_dir resolves all of these, keeping {kept_text} utterances "
                                              f"(the old files go to {backup}):", command], fixable=True)
    for warning in warnings:
        logger.warning("%s: %s", data_dir, warning)
    return DataDirReport(
        path=data_dir,
        num_utterances=len(utt2spk),
        num_speakers=len({line.value for line in utt2spk.values()}),
        num_recordings=len(tables["wav.scp"]),
        total_duration=_total_duration(layout, tables),
        text_files=list(layout.text_files),
        warnings=warnings,
    )


def _index_lenient(name: str, lines: Sequence[_Line]) -> Tuple[Dict[str, _Line], Dict[str, str], List[str]]:
    """Index lines by key for fixing: the good entries, the reason for each bad key, and the
    lines just removed.

    Empty lines and repeats of a line are removed; a key with a bad value, or repeated with a
    different value, is bad: there is no telling which value is right.
    """
    first_lines: Dict[str, _Line] = {}
    bad: Dict[str, str] = {}
    removed: List[str] = []
    for line in lines:
        if not line.key:
            removed.append(f"{name}:{line.lineno}: empty line, removed")
            continue
        first = first_lines.setdefault(line.key, line)
        if first is not line:
            if line.value == first.value:
                removed.append(f"{name}:{line.lineno}: repeats line {first.lineno}, removed")
            else:
                bad.setdefault(line.key, f"{name}:{line.lineno}: {line.key!r} again, with another value "
                                         f"than on line {first.lineno}")
            continue
        problem = _value_problem(name, line.value)
        if problem is not None:
            bad[line.key] = f"{name}:{line.lineno}: {problem}"
    return {key: line for key, line in first_lines.items() if key not in bad}, bad, removed


@dataclass
class _FixPlan:
    """What :func:`fix_data_dir` would write, and what it would leave out."""

    num_utterances_before: int
    dropped: Dict[str, List[str]]
    dropped_recordings: Dict[str, str]
    contents: Dict[str, bytes]  # every new file, spk2utt included
    removed: List[str]  # lines removed without dropping an utterance (empty, exact repeats)


def _plan_fix(data_dir: Path, layout: DataDirLayout) -> _FixPlan:
    """Work out what :func:`fix_data_dir` does, writing nothing (the validator asks too).

    Raises:
        DataDirError: a file is not UTF-8, or no utterance would be left; with advice.
    """
    tables: Dict[str, Dict[str, _Line]] = {}
    bad: Dict[str, Dict[str, str]] = {}
    not_utf8: Dict[str, Dict[int, str]] = {}
    removed: List[str] = []
    for name in layout.utt_files + layout.reco_files:
        lines, not_utf8[name], _ = _read_lines(data_dir / name, name)  # a byte-order mark is just dropped
        tables[name], bad[name], more = _index_lenient(name, lines)
        removed += more
    if any(not_utf8.values()):
        raise DataDirError(f"cannot fix {data_dir}: re-encode these files as UTF-8",
                           [problem for bad_lines in not_utf8.values() for problem in bad_lines.values()],
                           [_reencode_advice(data_dir / name, list(bad_lines))
                            for name, bad_lines in not_utf8.items() if bad_lines])

    def reasons_against(key: str, names: Sequence[str]) -> List[str]:
        return [bad[name][key] if key in bad[name] else f"missing from {name}"
                for name in names if key not in tables[name]]

    utt_ids = sorted(set().union(*(tables[name].keys() | bad[name].keys() for name in layout.utt_files)))
    dropped: Dict[str, List[str]] = {}
    for utt in utt_ids:
        reasons = reasons_against(utt, layout.utt_files)
        segment = tables["segments"].get(utt) if layout.has_segments else None
        if segment is not None:
            recording = segment.value.split()[0]
            reasons += [f"segments:{segment.lineno}: recording {recording!r}: {reason}"
                        for reason in reasons_against(recording, layout.reco_files)]
        if reasons:
            dropped[utt] = reasons
    kept = [utt for utt in utt_ids if utt not in dropped]
    if not kept:
        raise DataDirError(f"cannot fix {data_dir}: no utterance would be left, nothing was changed",
                           [f"utterance {utt!r}: {'; '.join(reasons)}" for utt, reasons in dropped.items()],
                           [f"fix_data_dir would drop every utterance, so the fault is in what wrote {data_dir}: "
                            f"fix {_DATA_PREP} and run it again"])

    keep = set(kept)
    new = {name: {utt: line.value for utt, line in tables[name].items() if utt in keep}
           for name in layout.utt_files}
    dropped_recordings: Dict[str, str] = {}
    if layout.has_segments:
        used = {value.split()[0] for value in new["segments"].values()}
        for name in layout.reco_files:
            new[name] = {reco: line.value for reco, line in tables[name].items() if reco in used}
        all_recordings = set().union(*(tables[name].keys() | bad[name].keys() for name in layout.reco_files))
        for recording in sorted(all_recordings - used):
            reasons = reasons_against(recording, layout.reco_files)
            dropped_recordings[recording] = "; ".join(reasons) if reasons else "no kept utterance uses it"
    new["spk2utt"] = {spk: " ".join(utts) for spk, utts in utt2spk_to_spk2utt(new["utt2spk"]).items()}
    return _FixPlan(len(utt_ids), dropped, dropped_recordings,
                    {name: _format_kv(mapping) for name, mapping in new.items()}, removed)


def fix_data_dir(path: PathLike, text_files: Optional[Sequence[str]] = None) -> FixReport:
    """Make a data directory consistent, as Kaldi's ``fix_data_dir.sh`` does.

    Keeps the utterances that have a good entry in ``utt2spk``, in every text file, in
    ``segments`` (or ``wav.scp`` without segments) and in ``feats.scp``, ``utt2num_frames``,
    ``utt2dur``, ``utt2speed``, ``utt2uniq`` where present, and whose segment's recording has
    a good entry in ``wav.scp`` (and ``reco2dur``). An entry is bad if its value breaks a check of
    :func:`validate_data_dir` (empty transcript, segment with ``end <= start``, ...) or its key
    appears again with another value; exact repeats, empty lines and a leading byte-order mark
    are just removed. Then drops the recordings no kept utterance uses, sorts every file, and
    writes ``spk2utt`` anew (without reading the old one). Each dropped utterance is logged
    with its reasons.

    Before anything is rewritten, all the files are copied to ``<path>/.backup/`` (replacing
    an earlier backup, as Kaldi does); each file is then replaced atomically. A directory that
    needs no change is left alone, backup included. Audio files are not checked: a missing
    one is for :func:`validate_data_dir` to report, not a reason to drop data silently.

    Args:
        path: the data directory.
        text_files: names of the text files to use; default every ``text`` and ``text.*``.
            Text files not named are left as they are.

    Returns:
        What was dropped and rewritten.

    Raises:
        DataDirError: a required file is missing, a name in ``text_files`` is not ``text`` or
            ``text.*``, a file is not UTF-8 (re-encode it), or no utterance would be left;
            nothing is changed then. The error says what to do.
    """
    data_dir = Path(path)
    layout = scan_layout(data_dir, text_files)
    plan = _plan_fix(data_dir, layout)
    num_kept = plan.num_utterances_before - len(plan.dropped)
    rewritten = [name for name, data in plan.contents.items()
                 if not (data_dir / name).is_file() or (data_dir / name).read_bytes() != data]
    for note in plan.removed:
        logger.warning("%s/%s", data_dir, note)
    for utt, reasons in plan.dropped.items():
        logger.warning("%s: dropped utterance %r: %s", data_dir, utt, "; ".join(reasons))
    for recording, reason in plan.dropped_recordings.items():
        logger.info("%s: dropped recording %r: %s", data_dir, recording, reason)
    backup_dir = None
    if rewritten:
        backup_dir = data_dir / _BACKUP_DIR
        backup_dir.mkdir(exist_ok=True)
        for name in layout.files:
            shutil.copy2(data_dir / name, backup_dir / name)
        for name in rewritten:
            atomic_write(data_dir / name, plan.contents[name])
        logger.info("%s: kept %d of %d utterances; rewrote %s; the old files are in %s",
                    data_dir, num_kept, plan.num_utterances_before, " ".join(rewritten), backup_dir)
    else:
        logger.info("%s: nothing to fix (%d utterances)", data_dir, num_kept)
    return FixReport(
        path=data_dir,
        num_utterances_before=plan.num_utterances_before,
        num_utterances=num_kept,
        dropped=plan.dropped,
        dropped_recordings=plan.dropped_recordings,
        rewritten=rewritten,
        backup_dir=backup_dir,
    )


def read_tables(data_dir: Path, allow_empty_text: bool = False) -> Tuple[DataDirLayout, Dict[str, Dict[str, str]]]:
    """Read every file but spk2utt strictly (sorted, unique keys, values on every line but,
    with ``allow_empty_text``, in text files)."""
    layout = scan_layout(data_dir, None)
    return layout, {name: read_kv(data_dir / name, allow_empty=allow_empty_text and is_text_file(name))
                    for name in layout.utt_files + layout.reco_files}


def write_tables(data_dir: Path, tables: Mapping[str, Mapping[str, str]]) -> None:
    """Write ``tables`` and spk2utt into ``data_dir``, removing its other data-directory files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    spk2utt = {spk: " ".join(utts) for spk, utts in utt2spk_to_spk2utt(tables["utt2spk"]).items()}
    tables = {**tables, "spk2utt": spk2utt}
    # A file an earlier run left here (say, segments) would not match the new ones.
    known = _REQUIRED + _OPTIONAL + ("segments", "spk2utt") + find_text_files(data_dir)
    for name in known:
        if name not in tables and (data_dir / name).is_file():
            (data_dir / name).unlink()
    for name, mapping in tables.items():
        write_kv(data_dir / name, mapping)


def write_data_dirs(output_dir: PathLike, dirs: Mapping[str, Mapping[str, Mapping[str, str]]]) -> List[Path]:
    """Write whole data directories ``<output_dir>/<name>`` from their tables (file name -> key ->
    value; ``spk2utt`` is made from ``utt2spk``), replacing directories of those names.

    All are written into one temporary directory inside ``output_dir`` first; only renames are left
    after that, so a failure while writing leaves the earlier directories as they were.

    Returns:
        The directories written.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging.", dir=output_dir))
    try:
        for name, tables in dirs.items():
            write_tables(staging / name, tables)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # Were these renames interrupted, the earlier directories would be in the staging one, not lost.
    for name in dirs:
        if (output_dir / name).exists():
            os.replace(output_dir / name, staging / f"{name}.old")
        os.replace(staging / name, output_dir / name)
    shutil.rmtree(staging)
    return [output_dir / name for name in dirs]


def subset_data_dir(src: PathLike, dst: PathLike, utt_ids: Iterable[str], *,
                    allow_empty_text: bool = False) -> None:
    """Copy a data directory keeping only some utterances (Kaldi's ``subset_data_dir.sh --utt-list``).

    All the files listed in the module docstring are copied, filtered; recordings that no kept
    segment uses are dropped; ``spk2utt`` is written anew. Data-directory files already in
    ``dst`` that ``src`` lacks are removed.

    Args:
        src: the data directory to copy (files must be sorted, with unique keys).
        dst: the directory to write; created if needed.
        utt_ids: the utterances to keep.
        allow_empty_text: accept empty transcripts in ``src`` for utterances that are not kept.

    Raises:
        ValueError: an id of ``utt_ids`` is not in ``src``, or none is given, or (with
            ``allow_empty_text``) a kept utterance has an empty transcript.
        DataDirError: a file of ``src`` is malformed.
    """
    src, dst = Path(src), Path(dst)
    layout, tables = read_tables(src, allow_empty_text)
    keep = set(utt_ids)
    unknown = sorted(keep - tables["utt2spk"].keys())
    if unknown:
        raise InputError(f"utt_ids: {len(unknown)} id(s) are not in {src}/utt2spk, e.g. {unknown[:5]}")
    if not keep:
        raise InputError(f"utt_ids: no utterance to keep from {src}")
    new = {name: {utt: value for utt, value in tables[name].items() if utt in keep} for name in layout.utt_files}
    empty = sorted(f"{name}: {utt}" for name in layout.text_files for utt, value in new[name].items() if not value)
    if empty:
        raise InputError(f"utt_ids: {len(empty)} kept transcript(s) of {src} are empty, e.g. {empty[:5]}")
    if layout.has_segments:
        used = {value.split()[0] for value in new["segments"].values()}
        for name in layout.reco_files:
            new[name] = {reco: value for reco, value in tables[name].items() if reco in used}
    write_tables(dst, new)
    logger.info("%s: kept %d of %d utterances of %s", dst, len(keep), len(tables["utt2spk"]), src)


def combine_data_dirs(dst: PathLike, srcs: Sequence[PathLike]) -> None:
    """Concatenate data directories into one (Kaldi's ``combine_data.sh``).

    A file is combined if every source has it; other files are left out, with a warning
    (a text file only some sources have would leave the others without transcripts).

    Args:
        dst: the directory to write; created if needed. Data-directory files already in it
            that are not combined are removed.
        srcs: the data directories, which must all have ``segments`` or all not.

    Raises:
        ValueError: ``srcs`` is empty, only some sources have ``segments``, or no text file
            is in all of them.
        DataDirError: an utterance id is in more than one source, or a recording id with
            different values (the same recording may back segments of several sources); or a
            file of a source is malformed.
    """
    if not srcs:
        raise InputError("srcs: no data directory to combine")
    loaded = [(Path(src), *read_tables(Path(src))) for src in srcs]
    with_segments = {layout.has_segments for _, layout, _ in loaded}
    if len(with_segments) > 1:
        raise InputError(f"srcs: only some of {[str(src) for src, _, _ in loaded]} have segments")
    has_segments = with_segments.pop()
    names = [name for name in loaded[0][2] if all(name in tables for _, _, tables in loaded)]
    left_out = sorted({name for _, _, tables in loaded for name in tables} - set(names))
    if left_out:
        logger.warning("%s: left out %s: not in every source", dst, " ".join(left_out))
    if not any(is_text_file(name) for name in names):
        raise InputError(f"srcs: no text file is in every one of {[str(src) for src, _, _ in loaded]}")

    reco_files = ("wav.scp", "reco2dur") if has_segments else ()
    combined: Dict[str, Dict[str, str]] = {name: {} for name in names}
    origin: Dict[Tuple[str, str], Path] = {}
    problems: Dict[Tuple[str, str], str] = {}  # one per id, not one per file it is in
    for src, _, tables in loaded:
        for name in names:
            kind = "recording" if name in reco_files else "utterance"
            for key, value in tables[name].items():
                if key not in combined[name]:
                    combined[name][key] = value
                    origin[name, key] = src
                elif not (kind == "recording" and combined[name][key] == value):
                    problems.setdefault((kind, key), f"{name}: {kind} {key!r} is in both "
                                                      f"{origin[name, key]} and {src}")
    if problems:
        raise DataDirError(f"cannot combine into {dst}: duplicated ids", list(problems.values()))
    write_tables(Path(dst), combined)
    logger.info("%s: combined %d utterances from %d directories", dst, len(combined["utt2spk"]), len(loaded))
