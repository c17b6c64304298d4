"""The contract between the shared recipe (``egs2/TEMPLATE/st1/st.sh``) and ctcot's Python.

st.sh's stages, its pre-training types (:data:`PRETRAININGS`: the program, config, token options
and what each initialises and hands on) and the rules that name its data and experiments live here,
once: st.sh hands all its options to :mod:`ctcot.bin.recipe` and evaluates what
:func:`recipe_settings` derives from them (``eval "$(python -m ctcot.bin.recipe --set ...)"``), the
ablation (:mod:`ctcot.ablation`) plans its ``run.sh`` calls and finds their outputs with the same
functions, and ``test/test_recipe_rules.py`` checks that ``st.sh --help`` lists exactly :data:`STAGES`.
Adding a pre-training is one row of :data:`PRETRAININGS` (and its config in the recipes).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Dict, List, Mapping, NamedTuple, Sequence, Tuple, Union

import yaml

from ctcot import InputError

__all__ = ["Stage", "STAGES", "LAST_STAGE", "stage_number", "Pretraining", "PRETRAININGS", "PRETRAINS",
           "OT_PRETRAINS", "CTC_PRETRAINS", "TEXT_ENCODER_INITS", "NUMBER_OPTIONS", "check_pretrain",
           "check_text_encoder_init", "check_options", "config_digest", "default_st_tag", "needs_mt",
           "experiment_name", "decoding_name", "gap_name", "ZERO_SHOT_NAME", "CASCADE_NAME", "recipe_settings",
           "shell_bool"]


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

class Pretraining(NamedTuple):
    """One pre-training type of stage 7 (st.sh's ``--pretrain``): how it trains and what it hands on.

    ``from_mt`` and ``text_encoder`` are ``(source module, target module)`` pairs of ESPnet's
    ``--init_param MODEL:SOURCE:TARGET``.
    """

    name: str
    program: str = ""  # the module stage 7 runs (python -m); "" for none
    config: str = ""  # its config in a recipe's conf_dir
    # The source transcript's name in the model's batch, which also prefixes its token options and
    # config keys: "text" for ESPnet's ASR model (--token_list), "src_text" for ctcot's (--src_token_list).
    transcript: str = ""
    from_mt: Tuple[Tuple[str, str], ...] = ()  # what stage 7 initialises from the MT model
    model_conf: Tuple[str, ...] = ()  # --model_conf items of stage 7
    ctc: bool = False  # a source CTC: multi-task ST's starts from it
    text_encoder: Tuple[Tuple[str, str], ...] = ()  # multi-task ST's text encoder, if it starts from here
    own_text_gap: bool = False  # stage 12 also measures the gap to its own text encoder (trained with it)
    # The encoder is the whole ctc_compress stack (ctcot.compress_model), MT encoder included: stage 8's
    # ST config takes it from the pre-training's config (ctcot.bin.st_config), and ctcot's ST task builds it.
    compressed: bool = False

    @property
    def token_option_prefix(self) -> str:
        """``""`` (``--token_list``, config key ``token_list``) or ``"src_"`` (``--src_token_list``)."""
        return self.transcript[: -len("text")]


_ASR, _CTCOT = "ctcot.bin.asr_train", "ctcot.bin.ctcot_train"
# CTC+OT's text encoder is shaped as ESPnet's MT model's (frontend: the embedding; encoder) and starts from it.
_TEXT_ENCODER_FROM_MT = (("frontend", "text_frontend"), ("encoder", "text_encoder"))
_MULTITASK_TEXT_ENCODER = (("text_frontend", "extra_mt_encoder.frontend"), ("text_encoder", "extra_mt_encoder.encoder"))
PRETRAININGS: Dict[str, Pretraining] = {row.name: row for row in (
    Pretraining("none"),
    Pretraining("ce", _ASR, "pretrain_ce.yaml", "text"),  # attention encoder-decoder ASR (ESPnet's)
    Pretraining("ctc", _CTCOT, "pretrain_ctc.yaml", "src_text", ctc=True),
    Pretraining("ctc_ce", _ASR, "pretrain_ctc_ce.yaml", "text", ctc=True),
    Pretraining("ctc_ot", _CTCOT, "pretrain_ctc_ot.yaml", "src_text", from_mt=_TEXT_ENCODER_FROM_MT, ctc=True,
                text_encoder=_MULTITASK_TEXT_ENCODER, own_text_gap=True),
    # The text encoder fixed at the MT encoder's: ctc_ot's config, and no gap to its own text encoder (MT's).
    Pretraining("ctc_ot_frozen", _CTCOT, "pretrain_ctc_ot.yaml", "src_text", from_mt=_TEXT_ENCODER_FROM_MT,
                model_conf=("text_encoder_freeze=true",), ctc=True, text_encoder=_MULTITASK_TEXT_ENCODER),
    # CTC compression, then OT through the frozen MT encoder (ZeroSwot's method): the MT encoder is part
    # of the encoder, so the zero-shot model and ST keep it.
    Pretraining("ctc_compress_ot", _CTCOT, "pretrain_ctc_compress_ot.yaml", "src_text",
                from_mt=(("frontend", "encoder.mt_frontend"), ("encoder", "encoder.mt_encoder")), ctc=True,
                compressed=True),
)}
PRETRAINS = tuple(PRETRAININGS)
# Pre-trainings with a text encoder, initialised from the MT encoder: stage 7 needs the MT model.
OT_PRETRAINS = tuple(name for name, row in PRETRAININGS.items() if row.from_mt)
# Pre-trainings whose model has a source CTC: it initialises multi-task ST's.
CTC_PRETRAINS = tuple(name for name, row in PRETRAININGS.items() if row.ctc)
# Where multi-task ST's text encoder starts: the MT model's encoder, or the pre-training's own text encoder.
TEXT_ENCODER_INITS = ("mt", "pretrain")
MT_DECODER_SUFFIX = "_mtdec"
MULTITASK_SUFFIX = "_multitask"
# Multi-task ST's text encoder from the MT model, and the ST decoder from MT's.
_MT_TEXT_ENCODER = (("frontend", "extra_mt_encoder.frontend"), ("encoder", "extra_mt_encoder.encoder"))
_MT_DECODER = (("decoder", "decoder"),)


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
            raise InputError(f"--{name} is not a numeric option of st.sh ({', '.join(NUMBER_OPTIONS)})")
        pattern, what = (_INTEGER, "a whole number") if rule.kind is int else (_DECIMAL, "a decimal number")
        if not pattern.fullmatch(text):
            problems.append(f"--{name} {text!r}: expected {what} ({rule.meaning})")
        elif rule.kind(text) < rule.minimum:
            problems.append(f"--{name} {text}: expected at least {rule.minimum:g} ({rule.meaning})")
    durations = [values.get(f"{end}_wav_duration", "") for end in ("min", "max")]
    if not problems and all(_DECIMAL.fullmatch(d) for d in durations) and float(durations[0]) >= float(durations[1]):
        problems.append(f"--min_wav_duration {durations[0]} is not below --max_wav_duration {durations[1]}")
    if problems:
        raise InputError("; ".join(problems))


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
        raise InputError(f"{path} is not valid YAML{where}: {what}") from None
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.md5(canonical.encode("utf-8")).hexdigest()


def stage_number(name: str) -> int:
    """The number of the stage called ``name`` in :data:`STAGES`, e.g. ``"mt"`` -> 6."""
    try:
        return _NUMBERS[name]
    except KeyError:
        raise InputError(f"unknown stage {name!r}: expected one of {', '.join(_NUMBERS)}") from None


def check_pretrain(pretrain: str) -> None:
    """Raise ``ValueError`` unless ``pretrain`` is one of :data:`PRETRAINS`."""
    if pretrain not in PRETRAINS:
        raise InputError(f"unknown pre-training {pretrain!r}: expected one of {', '.join(PRETRAINS)}")


def check_text_encoder_init(pretrain: str, text_encoder_init: str) -> None:
    """Raise ``ValueError`` unless multi-task ST's text encoder can start from ``text_encoder_init``."""
    if text_encoder_init not in TEXT_ENCODER_INITS:
        raise InputError(f"unknown text encoder initialisation {text_encoder_init!r}: "
                         f"expected one of {', '.join(TEXT_ENCODER_INITS)}")
    if text_encoder_init == "pretrain" and not PRETRAININGS[pretrain].text_encoder:
        owners = [name for name, row in PRETRAININGS.items() if row.text_encoder]
        raise InputError(f"the text encoder cannot start from the pre-training: {pretrain!r} has none "
                         f"(only {', '.join(owners)})")


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


# --- the names of st.sh's outputs -----------------------------------------------------------------

def experiment_name(kind: str, tag: str) -> str:
    """The directory (in ``--expdir``) of an experiment: ``mt_<tag>``, ``pretrain_<tag>`` or ``st_<tag>``."""
    if kind not in ("mt", "pretrain", "st"):
        raise InputError(f"unknown experiment kind {kind!r}: expected mt, pretrain or st")
    return f"{kind}_{tag}"


def decoding_name(inference_config: str, model: str) -> str:
    """The directory (in an experiment) of its decodings: ``decode_<config's name>_<model's name>``,
    e.g. ``decode_decode_st_valid.acc.ave``; with ``"*"`` for both, a glob of every decoding."""
    return f"decode_{_stem(inference_config, '.yaml')}_{_stem(model, '.pth')}"


ZERO_SHOT_NAME = "zero_shot"  # stage 12's zero-shot ST model, in the pre-training's experiment
CASCADE_NAME = "cascade"  # stage 12's cascade (CTC transcripts -> MT) of a CTC pre-training, in its experiment


def gap_name(valid_set: str, own_text: bool = False) -> str:
    """The directory (in the pre-training's experiment) of stage 12's gap analysis on ``valid_set``:
    ``modality_gap_<set>`` against the MT encoder, ``modality_gap_<set>_own_text`` against the
    pre-training's own text encoder."""
    return f"modality_gap_{valid_set}" + ("_own_text" if own_text else "")


def _stem(path: str, suffix: str) -> str:
    """``basename PATH SUFFIX``, as the shell does."""
    name = PurePosixPath(path).name
    return name[: -len(suffix)] if name.endswith(suffix) and name != suffix else name


def _dirname(path: str) -> str:
    """``dirname PATH``, as the shell does (``.`` for a bare file name)."""
    return os.path.dirname(path) or "."


def _join(*parts: str) -> str:
    return "/".join(parts)


def _init_params(model: str, pairs: Sequence[Tuple[str, str]]) -> List[str]:
    return [f"{model}:{source}:{target}" for source, target in pairs]


# --- everything st.sh derives from its options -------------------------------------------------------

def shell_bool(value: bool) -> str:
    """A boolean as st.sh's options and variables spell it: ``true`` or ``false``."""
    return "true" if value else "false"


def recipe_settings(options: Mapping[str, str]) -> Dict[str, str]:
    """The values st.sh evaluates after parsing its options: defaults, names of data, token lists and
    experiments, and what each stage trains and loads, for the pre-training and ST chosen.

    Args:
        options: every st.sh option (name without ``--`` -> its value as text); ``true``/``false`` for
            booleans, ``""`` for an option left empty.

    Returns:
        shell variable name -> value (``true``/``false`` for booleans; space-separated lists), in the
        order st.sh uses them. The names are st.sh's; see its comments.

    Raises:
        ValueError: an option st.sh cannot use (unknown pre-training or token type, a numeric option
            out of range, a text encoder that cannot start where asked, a config that is not YAML).
    """
    def flag(name: str) -> bool:
        return options[name] == "true"

    pretrain, mt_decoder, multitask = options["pretrain"], flag("st_init_decoder_from_mt"), flag("st_multitask")
    text_encoder_init = options["st_init_text_encoder_from"]
    check_pretrain(pretrain)
    if multitask:
        check_text_encoder_init(pretrain, text_encoder_init)
        if PRETRAININGS[pretrain].compressed:
            raise InputError(f"multi-task ST (--st_multitask true) is not built for --pretrain {pretrain}: its "
                             "encoder ends with the MT encoder, which multi-task ST has as a separate text encoder")
    if options["src_token_type"] not in ("bpe", "phn"):
        raise InputError(f"--src_token_type {options['src_token_type']}: expected bpe or phn")
    check_options({name: options[name] for name in NUMBER_OPTIONS})
    row = PRETRAININGS[pretrain]
    out: Dict[str, str] = {}

    # Configs (defaults in --conf_dir) and what each means, for the stages' signatures: a comment or
    # the order of keys retrains nothing.
    conf_dir = options["conf_dir"]
    defaults = {"mt": "train_mt.yaml", "pretrain": row.config or f"pretrain_{pretrain}.yaml",
                "st": "train_st" + (MULTITASK_SUFFIX if multitask else "") + ".yaml", "inference": "decode_st.yaml"}
    for name, default in defaults.items():
        out[f"{name}_config"] = options[f"{name}_config"] or _join(conf_dir, default)
    for name in defaults:
        out[f"{name}_config_digest"] = config_digest(out[f"{name}_config"])
    out["mt_tag"] = options["mt_tag"] or _stem(out["mt_config"], ".yaml")
    out["pretrain_tag"] = options["pretrain_tag"] or pretrain
    out["st_tag"] = options["st_tag"] or default_st_tag(pretrain, mt_decoder, multitask)
    out["g2p_voice"] = options["g2p_voice"] or options["src_lang"]

    # The data flowing through the stages.
    train_set, bpe = options["train_set"], options["bpemode"]
    out["train_set_sp"] = train_set + ("_sp" if options["speed_perturb_factors"] else "")
    out["data_feats"] = _join(options["dumpdir"], "fbank")
    out["src_text_raw"] = f"text.{options['src_case']}.{options['src_lang']}"
    out["tgt_text"] = f"text.{options['tgt_case']}.{options['tgt_lang']}"
    # Multilingual targets: the tags are SentencePiece pieces, decoding is forced to start with the
    # test set's tag (ctcot.bin.st_inference), and scoring ignores them.
    out["lang_tag_opt"] = "--lang_tags" if options["tgt_lang"] == "mul" else ""
    out["tgt_tokendir"] = f"data/token_list/tgt_bpe_{bpe}{options['tgt_nbpe']}"
    out["tgt_bpemodel"] = _join(out["tgt_tokendir"], "bpe.model")
    out["tgt_shape"] = f"text_shape.bpe_{bpe}{options['tgt_nbpe']}"
    if options["src_token_type"] == "phn":
        out["src_text"] = f"text.phn.{options['src_lang']}"
        out["src_tokendir"] = "data/token_list/src_phn"
        out["src_bpemodel"] = "none"
        out["src_espnet_token_type"] = "word"  # ESPnet splits the phoneme transcripts on spaces
        out["src_unit"] = "phn"
    else:
        out["src_text"] = out["src_text_raw"]
        out["src_tokendir"] = f"data/token_list/src_bpe_{bpe}{options['src_nbpe']}"
        out["src_bpemodel"] = _join(out["src_tokendir"], "bpe.model")
        out["src_espnet_token_type"] = "bpe"
        out["src_unit"] = f"bpe_{bpe}{options['src_nbpe']}"
    src_tokens, tgt_tokens = _join(out["src_tokendir"], "tokens.txt"), _join(out["tgt_tokendir"], "tokens.txt")

    # Experiments. Models from elsewhere (--mt_model, --pretrain_model) stand in for stages 6 and 7;
    # their outputs (stage 12's analyses) still go to this recipe's experiments.
    expdir = options["expdir"]
    for kind in ("mt", "pretrain", "st"):
        out[f"{kind}_exp"] = _join(expdir, experiment_name(kind, out[f"{kind}_tag"]))
    for kind, checkpoint in (("mt", "valid.acc.ave.pth"), ("pretrain", "valid.loss.ave.pth")):
        model = options[f"{kind}_model"]
        out[f"external_{kind}"] = shell_bool(bool(model))
        out[f"{kind}_model"] = model or _join(out[f"{kind}_exp"], checkpoint)
        out[f"{kind}_model_config"] = options[f"{kind}_model_config"] or _join(_dirname(out[f"{kind}_model"]),
                                                                               "config.yaml")
    mt_model, pretrain_model = out["mt_model"], out["pretrain_model"]
    out["inference_tag"] = decoding_name(out["inference_config"], options["inference_model"])
    out["mt_inference_tag"] = decoding_name(out["inference_config"], mt_model)
    out["inference_ngpu"] = "1" if flag("gpu_inference") else "0"
    out["zero_shot_dir"] = _join(out["pretrain_exp"], ZERO_SHOT_NAME)
    out["cascade_dir"] = _join(out["pretrain_exp"], CASCADE_NAME) if row.ctc else ""  # "": no CTC, no cascade
    out["zero_shot_tag"] = f"decode_{_stem(out['inference_config'], '.yaml')}"

    # Stage 6: the MT model is needed when CTC+OT's text encoder, the ST decoder or multi-task ST's
    # text encoder starts from it.
    out["need_mt"] = shell_bool(needs_mt(pretrain, mt_decoder, multitask, text_encoder_init))

    # Stage 7: the program and its options.
    prefix = row.token_option_prefix
    out["pretrain_program"] = row.program
    out["pretrain_transcript"] = row.transcript
    out["pretrain_token_args"] = (f"--{prefix}token_type {out['src_espnet_token_type']} --{prefix}token_list "
                                  f"{src_tokens} --{prefix}bpemodel {out['src_bpemodel']}")
    pretrain_init = _init_params(mt_model, row.from_mt)
    out["pretrain_init_params"] = " ".join(pretrain_init)
    out["pretrain_init_args"] = " ".join(
        (["--init_param", *pretrain_init] if pretrain_init else []) + [f"--model_conf {c}" for c in row.model_conf])
    out["pretrain_same_tokens"] = f"{out['mt_model_config']}:src_token_list={src_tokens}" if pretrain_init else ""

    # Stage 8: what the ST model starts from, and the token lists of those models against this recipe's.
    st_init: List[str] = []
    same_tokens: List[str] = []
    if pretrain != "none":
        st_init += _init_params(pretrain_model, (("encoder", "encoder"),))
        if multitask and row.ctc:
            st_init += _init_params(pretrain_model, (("ctc", "ctc"),))
            same_tokens.append(f"{out['pretrain_model_config']}:{prefix}token_list={src_tokens}")
    if mt_decoder:
        st_init += _init_params(mt_model, _MT_DECODER)
        same_tokens.append(f"{out['mt_model_config']}:token_list={tgt_tokens}")
    if multitask and text_encoder_init == "mt":
        st_init += _init_params(mt_model, _MT_TEXT_ENCODER)
        same_tokens.append(f"{out['mt_model_config']}:src_token_list={src_tokens}")
    elif multitask:
        st_init += _init_params(pretrain_model, row.text_encoder)
    out["st_uses_mt"] = shell_bool(any(item.startswith(f"{mt_model}:") for item in st_init))
    out["st_init_params"] = " ".join(st_init)
    # (two spaces after --init_param: the ST signatures of earlier versions)
    out["st_init_args"] = "--init_param  " + " ".join(st_init) if st_init else ""
    out["st_same_tokens"] = " ".join(same_tokens)
    out["st_program"], out["st_task"] = (("ctcot.bin.st_train", "st_multitask") if multitask or row.compressed
                                         else ("espnet2.bin.st_train", "st"))
    # The config stage 8 trains with: the ST config, or (ctc_compress) a copy with the pre-training's
    # encoder stack, written by stage 8 from st_config and the pre-training's config.
    out["st_train_config"] = (_join(out["pretrain_exp"], PurePosixPath(out["st_config"]).name) if row.compressed
                              else out["st_config"])

    # Stage 12: the gap to the MT encoder, and to the pre-training's own text encoder where it trains.
    out["gap_dir"] = _join(out["pretrain_exp"], gap_name(options["valid_set"]))
    out["gap_own_text_dir"] = (_join(out["pretrain_exp"], gap_name(options["valid_set"], own_text=True))
                               if row.own_text_gap else "")
    return out
