"""The contract between the shared recipe (``egs2/TEMPLATE/st1/st.sh``) and ctcot's Python.

st.sh's stages, its pre-training types and the rules that name its experiments live here, once:
st.sh asks :mod:`ctcot.bin.recipe` for the rules (``eval "$(python -m ctcot.bin.recipe ...)"``),
the ablation (:mod:`ctcot.ablation`) plans its ``run.sh`` calls with them, and
``test/test_recipe.py`` checks that ``st.sh --help`` lists exactly :data:`STAGES`.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Dict, List, Mapping, NamedTuple, Tuple, Union

import yaml

__all__ = ["Stage", "STAGES", "LAST_STAGE", "stage_number", "PRETRAINS", "OT_PRETRAINS", "CTC_PRETRAINS",
           "TEXT_ENCODER_INITS", "NUMBER_OPTIONS", "check_pretrain", "check_text_encoder_init", "check_options",
           "config_digest", "default_st_tag", "needs_mt", "shell_settings"]


class Stage(NamedTuple):
    """One stage of st.sh: its number, a name for code, and how ``st.sh --help`` begins its line."""

    number: int
    name: str
    summary: str


STAGES: Tuple[Stage, ...] = (
    Stage(1, "data", "data preparation"),
    Stage(2, "speed_perturb", "speed perturbation"),
    Stage(3, "features", "log-mel fbank"),
    Stage(4, "filter", "filtering"),
    Stage(5, "tokenizers", "tokenizers"),
    Stage(6, "mt", "MT pre-training"),
    Stage(7, "pretrain", "speech pre-training"),
    Stage(8, "st_train", "ST training"),
    Stage(9, "st_decode", "decoding"),
    Stage(10, "st_score", "scoring"),
    Stage(11, "st_pack", "packing"),
    Stage(12, "gap", "modality gap"),
)
LAST_STAGE = STAGES[-1].number
_NUMBERS: Dict[str, int] = {stage.name: stage.number for stage in STAGES}

PRETRAINS = ("none", "ce", "ctc", "ctc_ce", "ctc_ot", "ctc_ot_frozen")
# Pre-trainings with a text encoder, initialised from the MT encoder: stage 7 needs the MT model.
OT_PRETRAINS = ("ctc_ot", "ctc_ot_frozen")
# Pre-trainings whose model has a source CTC: it initialises multi-task ST's.
CTC_PRETRAINS = ("ctc", "ctc_ce", "ctc_ot", "ctc_ot_frozen")
# Where multi-task ST's text encoder starts: the MT model's encoder, or CTC+OT's own text encoder.
TEXT_ENCODER_INITS = ("mt", "pretrain")
MT_DECODER_SUFFIX = "_mtdec"
MULTITASK_SUFFIX = "_multitask"


class NumberOption(NamedTuple):
    """What a numeric option of st.sh accepts: an integer or a decimal number, at least ``minimum``."""

    kind: type
    minimum: float
    meaning: str


# st.sh's numeric options, checked before any stage runs (a typo would otherwise become another
# number in awk, or fail only when its stage comes, after hours of training).
NUMBER_OPTIONS: Dict[str, NumberOption] = {
    "nj": NumberOption(int, 1, "parallel feature extraction jobs"),
    "inference_nj": NumberOption(int, 1, "parallel decoding jobs"),
    "ngpu": NumberOption(int, 0, "GPUs per training job (0: CPU)"),
    "num_mel_bins": NumberOption(int, 1, "mel bins"),
    "src_nbpe": NumberOption(int, 1, "source SentencePiece size"),
    "tgt_nbpe": NumberOption(int, 1, "target SentencePiece size"),
    "inference_batch_bins": NumberOption(int, 0, "padded feature frames per decoding batch (0: ESPnet's "
                                                 "decoding, one utterance at a time)"),
    "min_wav_duration": NumberOption(float, 0, "seconds"),
    "max_wav_duration": NumberOption(float, 0, "seconds"),
}
_INTEGER = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")  # no sign, exponent, nan or inf


def check_options(values: Mapping[str, str]) -> None:
    """Raise ``ValueError`` naming every value of :data:`NUMBER_OPTIONS` that st.sh cannot use.

    Args:
        values: option name (without ``--``) -> its text, as given on st.sh's command line.
    """
    problems: List[str] = []
    for name, text in values.items():
        rule = NUMBER_OPTIONS.get(name)
        if rule is None:
            raise ValueError(f"--{name} is not a numeric option of st.sh ({', '.join(NUMBER_OPTIONS)})")
        pattern, what = (_INTEGER, "a whole number") if rule.kind is int else (_DECIMAL, "a decimal number")
        if not pattern.fullmatch(text):
            problems.append(f"--{name} {text!r}: expected {what} ({rule.meaning})")
        elif rule.kind(text) < rule.minimum:
            problems.append(f"--{name} {text}: expected at least {rule.minimum:g} ({rule.meaning})")
    durations = [values.get(f"{end}_wav_duration", "") for end in ("min", "max")]
    if not problems and all(_DECIMAL.fullmatch(d) for d in durations) and float(durations[0]) >= float(durations[1]):
        problems.append(f"--min_wav_duration {durations[0]} is not below --max_wav_duration {durations[1]}")
    if problems:
        raise ValueError("; ".join(problems))


def config_digest(path: Union[str, Path]) -> str:
    """md5 of what a YAML config means: its parsed value, mapping keys sorted. Comments, blank lines,
    quoting and the order of keys do not change it; any changed value does. A missing file gives ``""``.

    Raises:
        ValueError: the file is not valid YAML (the message names the file and line).
    """
    path = Path(path)
    if not path.is_file():
        return ""
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(str(getattr(err, "problem", None) or err).split())
        raise ValueError(f"{path} is not valid YAML{where}: {what}") from None
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.md5(canonical.encode("utf-8")).hexdigest()


def stage_number(name: str) -> int:
    """The number of the stage called ``name`` in :data:`STAGES`, e.g. ``"mt"`` -> 6."""
    try:
        return _NUMBERS[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}: expected one of {', '.join(_NUMBERS)}") from None


def check_pretrain(pretrain: str) -> None:
    """Raise ``ValueError`` unless ``pretrain`` is one of :data:`PRETRAINS`."""
    if pretrain not in PRETRAINS:
        raise ValueError(f"unknown pre-training {pretrain!r}: expected one of {', '.join(PRETRAINS)}")


def check_text_encoder_init(pretrain: str, text_encoder_init: str) -> None:
    """Raise ``ValueError`` unless multi-task ST's text encoder can start from ``text_encoder_init``."""
    if text_encoder_init not in TEXT_ENCODER_INITS:
        raise ValueError(f"unknown text encoder initialisation {text_encoder_init!r}: "
                         f"expected one of {', '.join(TEXT_ENCODER_INITS)}")
    if text_encoder_init == "pretrain" and pretrain not in OT_PRETRAINS:
        raise ValueError(f"the text encoder cannot start from the pre-training: {pretrain!r} has none "
                         f"(only {', '.join(OT_PRETRAINS)})")


def default_st_tag(pretrain: str, mt_decoder: bool, multitask: bool = False) -> str:
    """st.sh's ST tag when ``--st_tag`` is not given: ``<pretrain>``, plus ``_mtdec`` when the ST
    decoder is initialised from the MT decoder (``--st_init_decoder_from_mt true``), plus
    ``_multitask`` for multi-task ST (``--st_multitask true``)."""
    check_pretrain(pretrain)
    return pretrain + (MT_DECODER_SUFFIX if mt_decoder else "") + (MULTITASK_SUFFIX if multitask else "")


def needs_mt(pretrain: str, mt_decoder: bool, multitask: bool = False, text_encoder_init: str = "mt") -> bool:
    """Whether stage 6 trains the MT model: CTC+OT's text encoder, the ST decoder or multi-task ST's
    text encoder starts from it."""
    check_pretrain(pretrain)
    return pretrain in OT_PRETRAINS or mt_decoder or (multitask and text_encoder_init == "mt")


def shell_settings(pretrain: str, mt_decoder: bool, multitask: bool = False,
                   text_encoder_init: str = "mt") -> Dict[str, str]:
    """The rules' values for st.sh's shell: ``pretrain_ot``, ``pretrain_ctc``, ``need_mt``, ``default_st_tag``."""
    if multitask:
        check_text_encoder_init(pretrain, text_encoder_init)
    bash = {True: "true", False: "false"}
    return {"pretrain_ot": bash[pretrain in OT_PRETRAINS], "pretrain_ctc": bash[pretrain in CTC_PRETRAINS],
            "need_mt": bash[needs_mt(pretrain, mt_decoder, multitask, text_encoder_init)],
            "default_st_tag": default_st_tag(pretrain, mt_decoder, multitask)}
