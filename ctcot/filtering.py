"""Drop utterances unfit for training, as stage 4 of ESPnet's ``st.sh`` does for train/dev sets.

An utterance is dropped, with the first of these reasons that applies (the name written to
``dropped_utts`` in brackets):

1. it is missing from a text file, ``utt2num_frames`` or another utterance-keyed file of the
   directory (``missing:<file>``);
2. it has fewer than ``min_frames`` frames (``too_short(<frames><<min>)``) or more than
   ``max_frames`` (``too_long(<frames>><max>)``); the bounds themselves are kept;
3. its transcript is empty or only whitespace in a text file (``empty:<file>``);
4. with ``max_text_words``, a transcript has more words than that
   (``too_many_words:<file>(<words>><max>)``).

Stage 5, which makes the source tokens, then leaves out of the shape files (so out of every
training) the utterances CTC cannot align: :func:`drop_ctc_infeasible`.
"""
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import kaldiio
import numpy as np

from ctcot import InputError
from ctcot.data_dir import find_text_files, is_text_file, read_kv, scan_layout, subset_data_dir, write_kv
from ctcot.fileio import PathLike

__all__ = ["FilterReport", "filter_data_dir", "nonfinite_features", "encoder_frames", "ctc_min_frames",
           "drop_ctc_infeasible"]

logger = logging.getLogger(__name__)


DROPPED_UTTS = "dropped_utts"
"""The file of ``dst`` that lists each dropped utterance with its reason."""
DROPPED_CTC = "dropped_utts_ctc"
"""The file of a data directory that lists the utterances :func:`drop_ctc_infeasible` left out."""

# How ESPnet's encoder input layers shorten the frame masks: x_mask[:, :, :-k:s] per step
# (espnet.nets.pytorch_backend.transformer.subsampling).
SUBSAMPLING_STEPS = {"conv2d": ((2, 2), (2, 2)), "conv2d1": ((4, 1),), "conv2d2": ((2, 2), (2, 1)),
                     "conv2d6": ((2, 2), (4, 3)), "conv2d8": ((2, 2), (2, 2), (2, 2)),
                     "linear": (), "embed": (), None: ()}


@dataclass
class FilterReport:
    """What :func:`filter_data_dir` did.

    Attributes:
        src: the data directory read.
        dst: the data directory written.
        total: utterances of ``src`` (keys of ``utt2spk``).
        kept: utterances written to ``dst``.
        dropped: dropped utterances per reason, without numbers (``too_short``, ``too_long``,
            ``empty:text.tc.de``, ``missing:utt2num_frames``, ...).
    """

    src: Path
    dst: Path
    total: int
    kept: int
    dropped: Dict[str, int] = field(default_factory=dict)

    @property
    def num_dropped(self) -> int:
        return self.total - self.kept


def _reason(utt: str, frames: Dict[str, int], texts: Dict[str, Dict[str, str]],
            others: Dict[str, Dict[str, str]], min_frames: int, max_frames: int,
            max_text_words: Optional[int]) -> Optional[str]:
    """Why ``utt`` is dropped, or ``None`` to keep it."""
    for name, table in [("utt2num_frames", frames), *texts.items(), *others.items()]:
        if utt not in table:
            return f"missing:{name}"
    if frames[utt] < min_frames:
        return f"too_short({frames[utt]}<{min_frames})"
    if frames[utt] > max_frames:
        return f"too_long({frames[utt]}>{max_frames})"
    for name, table in texts.items():
        if not table[utt].strip():
            return f"empty:{name}"
    if max_text_words is not None:
        for name, table in texts.items():
            words = len(table[utt].split())
            if words > max_text_words:
                return f"too_many_words:{name}({words}>{max_text_words})"
    return None


def filter_data_dir(src: PathLike, dst: PathLike, *, min_frames: int = 10, max_frames: int = 3000,
                    text_files: Optional[Sequence[str]] = None,
                    max_text_words: Optional[int] = None, check_features: bool = False) -> FilterReport:
    """Copy the data directory ``src`` to ``dst`` without the utterances unfit for training.

    See the module docstring for the reasons to drop an utterance. The kept ones are copied
    with :func:`ctcot.data_dir.subset_data_dir` (every data-directory file, ``feats.scp``,
    ``utt2num_frames``, ``utt2speed``, ``utt2uniq`` included); ``dst/dropped_utts`` lists
    ``<utt> <reason>`` for each dropped one, sorted (empty if none is). A summary line per
    reason is logged.

    Args:
        src: the data directory; it must have ``utt2num_frames`` (from feature extraction).
        dst: the directory to write; created if needed. Must not be ``src``.
        min_frames: fewest frames an utterance may have.
        max_frames: most frames an utterance may have.
        text_files: the text files to check; default every ``text`` and ``text.*`` of
            ``src``. The others are copied as they are (an empty transcript of a kept
            utterance in one of them is an error).
        max_text_words: most words a transcript may have; ``None``: no limit.
        check_features: read the features of the kept utterances (``feats.scp``) and refuse NaN or
            infinite values, which training would otherwise meet without naming the utterance
            (one pass over the features: seconds for the mini corpus, minutes for MuST-C).

    Returns:
        The counts of utterances kept and dropped per reason.

    Raises:
        FileNotFoundError: ``src`` has no ``utt2num_frames``.
        ValueError: bad bounds, ``dst`` is ``src``, a number of frames is not an integer, or
            every utterance would be dropped (nothing is written then).
        DataDirError: (a ``ValueError``) a file of ``src`` is malformed, or a text file is
            missing.
        ValueError: kept utterances have NaN or infinite features (they are named; nothing is written).
    """
    src, dst = Path(src), Path(dst)
    if not 0 <= min_frames <= max_frames:
        raise InputError(f"need 0 <= min_frames <= max_frames, got {min_frames} and {max_frames}")
    if max_text_words is not None and max_text_words < 1:
        raise InputError(f"max_text_words must be positive, got {max_text_words}")
    if dst.resolve() == src.resolve():
        raise InputError(f"dst: {dst} is the source directory; write the filtered data elsewhere")
    layout = scan_layout(src, text_files)
    if "utt2num_frames" not in layout.optional:
        raise FileNotFoundError(f"{src / 'utt2num_frames'} does not exist: extract the features of {src} first")

    frames: Dict[str, int] = {}
    for utt, value in read_kv(src / "utt2num_frames").items():
        try:
            frames[utt] = int(value)
        except ValueError:
            raise InputError(f"{src / 'utt2num_frames'}: utterance {utt}: {value!r} is not an integer") from None
    texts = {name: read_kv(src / name, allow_empty=True) for name in layout.text_files}
    # Files subset_data_dir copies, the text files not checked included: an utterance missing
    # from one of them would leave dst inconsistent.
    others = {name: read_kv(src / name, allow_empty=True) for name in find_text_files(src) if name not in texts}
    others.update({name: read_kv(src / name) for name in layout.utt_files
                   if name not in texts and name not in ("utt2spk", "utt2num_frames")})
    utts = list(read_kv(src / "utt2spk"))

    dropped = {}
    for utt in utts:
        reason = _reason(utt, frames, texts, others, min_frames, max_frames, max_text_words)
        if reason is not None:
            dropped[utt] = reason
    kinds = Counter(reason.split("(")[0] for reason in dropped.values())
    if len(dropped) == len(utts):
        raise InputError(f"{src}: all {len(utts)} utterances would be dropped ("
                         + ", ".join(f"{kind}: {n}" for kind, n in sorted(kinds.items())) + "); nothing written")

    kept = [utt for utt in utts if utt not in dropped]
    unchecked = sorted(f"{name}: {utt}" for name, table in others.items() if is_text_file(name)
                       for utt in kept if not table[utt].strip())
    if unchecked:
        raise InputError(f"{src}: {len(unchecked)} kept utterance(s) have an empty transcript in a text file not "
                         f"in text_files (check it too to drop them), e.g. {unchecked[:5]}; nothing written")
    if check_features and (src / "feats.scp").is_file():
        broken = nonfinite_features(src / "feats.scp", kept)
        if broken:
            named = ", ".join(f"{utt} ({frames} frame(s))" for utt, frames in list(broken.items())[:10])
            raise InputError(f"{src / 'feats.scp'}: {len(broken)} utterance(s) have NaN or infinite features: {named}"
                             f"{', ...' if len(broken) > 10 else ''}; extract them again (stage 3: remove "
                             f"{src / '.done'}) or remove them from the data directory; nothing written")
    subset_data_dir(src, dst, kept, allow_empty_text=True)
    write_kv(dst / DROPPED_UTTS, dropped)
    report = FilterReport(src=src, dst=dst, total=len(utts), kept=len(utts) - len(dropped),
                          dropped=dict(sorted(kinds.items())))
    for kind, n in report.dropped.items():
        logger.info("%s: dropped %d utterance(s): %s", src, n, kind)
    logger.info("%s: kept %d of %d utterances (frames %d..%d) -> %s; dropped ones listed in %s",
                src, report.kept, report.total, min_frames, max_frames, dst, dst / DROPPED_UTTS)
    return report


def nonfinite_features(feats_scp: PathLike, utts: Optional[Sequence[str]] = None) -> Dict[str, int]:
    """The utterances of ``feats_scp`` (or only ``utts`` of them) whose features hold NaN or infinite
    values, with the count of such frames. Reads every matrix once, in the order of the file.
    """
    wanted = None if utts is None else set(utts)
    bad = {}
    for utt, feats in kaldiio.load_scp_sequential(str(feats_scp)):
        if wanted is not None and utt not in wanted:
            continue
        finite = np.isfinite(feats)
        if not finite.all():
            bad[utt] = int(np.count_nonzero(~finite.reshape(len(feats), -1).all(axis=1)))
    return bad


def encoder_frames(num_frames: int, input_layer: Optional[str]) -> int:
    """The frames an ESPnet encoder with ``input_layer`` (``conv2d``: 4x subsampling) makes of ``num_frames``.

    That is the count of an utterance alone or the longest of its batch; a shorter one, padded,
    may get a frame or two more (``conv2d``: ``ceil(num_frames / 4)``), so this is the stricter count.
    """
    if input_layer not in SUBSAMPLING_STEPS:
        raise InputError(f"input_layer {input_layer!r}: expected one of {sorted(map(str, SUBSAMPLING_STEPS))}")
    for cut, stride in SUBSAMPLING_STEPS[input_layer]:
        num_frames = len(range(num_frames)[:-cut:stride])
    return num_frames


def ctc_min_frames(tokens: Sequence[str]) -> int:
    """The fewest frames a CTC alignment of ``tokens`` needs: one per token, one blank between repeats."""
    return len(tokens) + sum(a == b for a, b in zip(tokens, tokens[1:]))


def drop_ctc_infeasible(data_dir: PathLike, text_file: PathLike, tokenize: Callable[[str], List[str]],
                        input_layer: Optional[str], shape_files: Sequence[PathLike]) -> Dict[str, str]:
    """Leave out of ``shape_files`` the utterances whose source tokens CTC cannot align to their frames.

    Such an utterance has an infinite CTC loss, which training zeroes (``zero_infinity``) without a
    word; ESPnet's batch samplers read the utterances from the shape files, so an utterance not in
    them is in no batch. ``data_dir/dropped_utts_ctc`` lists ``<utt> ctc_infeasible(<needed>><frames>)``
    (frames after the encoder's subsampling; empty if none is dropped).

    Args:
        data_dir: the data directory, with ``utt2num_frames``.
        text_file: its source transcripts (``<utt> <text>``).
        tokenize: the source tokenizer (:func:`ctcot.tokenizers.tokenizer_for`).
        input_layer: the speech encoder's ``input_layer`` (see :func:`encoder_frames`).
        shape_files: the shape files to rewrite without the dropped utterances.

    Returns:
        The reason for each dropped utterance.

    Raises:
        ValueError: every utterance would be dropped (nothing is rewritten then).
    """
    data_dir = Path(data_dir)
    frames = {utt: int(n) for utt, n in read_kv(data_dir / "utt2num_frames").items()}
    dropped = {}
    for utt, text in read_kv(text_file).items():
        have, need = encoder_frames(frames[utt], input_layer), ctc_min_frames(tokenize(text))
        if need > have:
            dropped[utt] = f"ctc_infeasible({need}>{have})"
    if dropped and len(dropped) == len(frames):
        raise InputError(f"{data_dir}: every utterance has more source tokens than its frames after {input_layer} "
                         f"subsampling (e.g. {next(iter(dropped.items()))}): are these the right transcripts?")
    for path in shape_files:
        shapes = read_kv(path)
        write_kv(Path(path), {utt: shape for utt, shape in shapes.items() if utt not in dropped})
    write_kv(data_dir / DROPPED_CTC, dropped)
    if dropped:
        logger.warning("%s: %d utterance(s) have more source tokens than frames after %s subsampling: CTC cannot "
                       "align them, they are left out of training (listed in %s)",
                       data_dir, len(dropped), input_layer, data_dir / DROPPED_CTC)
    return dropped
