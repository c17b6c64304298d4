"""Zero-shot encoder swap: an ESPnet ST model made of a pre-trained speech encoder and the MT decoder.

No ST training at all (as in ZeroSwot, Tsiamas et al., Findings ACL 2024): the speech side
(frontend, normalisation, encoder) of a pre-training checkpoint (CE, CTC+CE: an ESPnet ASR model;
CTC, CTC+OT: a :class:`ctcot.espnet_model.CTCOTModel`) is put in front of the decoder of the MT
model. A speech encoder whose states look like the MT encoder's gets a non-zero BLEU from ESPnet's
beam search; one that does not gets about 0. It is the functional counterpart of the
representation figures of :mod:`ctcot.modality_gap`.

:func:`build_swap_model` builds the model with ESPnet's ST task; :func:`write_swap_model` saves it
as a training would (``config.yaml``, ``model.pth``), so that ``espnet2.bin.st_inference`` decodes it
(``st.sh`` stage 12). :func:`SwapDecoder` decodes in-process with ESPnet's ``Speech2Text``, swapping
in the speech encoder of each epoch for the gap curves (:mod:`ctcot.gap_curves`).
"""
from __future__ import annotations

import argparse
import inspect
import io
import logging
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

import torch
import yaml

import ctcot.compress_model  # noqa: F401  (ESPnet's ST task then builds the ctc_compress encoder)
from ctcot import InputError
from ctcot.encoders import Encoder, detect_task, load_encoder
from ctcot.fileio import PathLike, atomic_write

__all__ = ["SPEECH_PARTS", "UNUSED_PARTS", "speech_state", "build_swap_model", "write_swap_model",
           "load_decode_config", "SwapDecoder"]

logger = logging.getLogger(__name__)

# The options and modules of the speech side, named alike in ESPnet's ASR and ST models and ctcot's.
SPEECH_PARTS = ("frontend", "normalize", "preencoder", "encoder", "postencoder")
# Modules of ESPnet's ST model that beam search without CTC does not use; they keep their
# (seeded) initialisation.
UNUSED_PARTS = ("ctc", "st_ctc", "extra_asr_decoder", "extra_mt_decoder", "hier_encoder")


def speech_state(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The speech side's entries (``frontend.``, ``normalize.``, ``encoder.``, ...) of a state dict."""
    return {k: v for k, v in state.items() if k.split(".", 1)[0] in SPEECH_PARTS}


def _swap_args(speech: Encoder, mt: Encoder) -> argparse.Namespace:
    """ESPnet ST task options: the speech side of ``speech``, the decoder and tokens of ``mt``."""
    from espnet2.tasks.st import STTask

    args = STTask.get_parser().parse_args(["--output_dir", "unused"])
    args.output_dir = None
    for part in SPEECH_PARTS:
        setattr(args, part, getattr(speech.args, part, None))
        setattr(args, f"{part}_conf", getattr(speech.args, f"{part}_conf", None) or {})
    args.input_size = getattr(speech.args, "input_size", None)
    args.specaug, args.specaug_conf = None, {}  # inference only
    args.decoder, args.decoder_conf = mt.args.decoder, mt.args.decoder_conf
    for name in ("token_list", "token_type", "bpemodel", "src_token_list", "src_token_type", "src_bpemodel"):
        setattr(args, name, getattr(mt.args, name))
    args.extra_asr_decoder = args.extra_mt_decoder = None
    args.model_conf = {**args.model_conf, "asr_weight": 0.0, "mt_weight": 0.0, "mtlalpha": 0.0}
    return args


def build_swap_model(speech_config: PathLike, speech_model: PathLike, mt_config: PathLike, mt_model: PathLike,
                     device: str = "cpu") -> Tuple[torch.nn.Module, argparse.Namespace]:
    """An ESPnet ST model: the speech side of a pre-training checkpoint, the MT model's decoder.

    Args:
        speech_config, speech_model: config.yaml and checkpoint of a pre-training (ESPnet ASR, i.e.
            CE or CTC+CE, or ctcot, i.e. CTC or CTC+OT).
        mt_config, mt_model: config.yaml and checkpoint of the ESPnet MT model; its target tokens
            and SentencePiece model become the ST model's.
        device: torch device.

    Returns:
        The ST model in eval mode, its speech side's and decoder's weights equal to the two
        checkpoints', and its options (what ESPnet writes to config.yaml).

    Raises:
        ValueError: the speech encoder's states do not have the size the MT decoder attends to
            (the message names both configs), or a checkpoint does not fit its config.
    """
    from espnet2.tasks.st import STTask

    speech = load_encoder(speech_config, speech_model, detect_task(speech_config, "speech"), device)
    mt = load_encoder(mt_config, mt_model, "mt", device)
    speech_dim, mt_dim = speech.model.encoder.output_size(), mt.model.encoder.output_size()
    if speech_dim != mt_dim:
        raise InputError(
            f"the speech encoder of {speech_config} has {speech_dim}-dim states but the MT decoder of {mt_config} "
            f"attends to {mt_dim}-dim ones (its encoder's output_size): no swap is possible")
    args = _swap_args(speech, mt)
    torch.manual_seed(0)  # the unused modules' initialisation: reproducible
    model = STTask.build_model(args).to(device)
    state = {**speech_state(speech.model.state_dict()),
             **{k: v for k, v in mt.model.state_dict().items() if k.startswith("decoder.")}}
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if k.split(".", 1)[0] not in UNUSED_PARTS]
    if missing or result.unexpected_keys:
        raise InputError(f"the ST model built from {speech_config} and {mt_config} does not take their weights: "
                         f"missing {missing[:3]}, unexpected {result.unexpected_keys[:3]}")
    model.eval()
    return model, args


def write_swap_model(output_dir: PathLike, model: torch.nn.Module, args: argparse.Namespace,
                     sources: Mapping[str, str]) -> Tuple[Path, Path]:
    """Save ``config.yaml`` and ``model.pth`` as ESPnet's training does; ``sources`` goes in a comment.

    Returns:
        The paths of config.yaml and model.pth.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    header = "".join(f"# {key}: {value}\n" for key, value in sources.items())
    config = output_dir / "config.yaml"
    atomic_write(config, (header + yaml.safe_dump(vars(args), allow_unicode=True)).encode("utf-8"))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    model_file = output_dir / "model.pth"
    atomic_write(model_file, buffer.getvalue())
    return config, model_file


def load_decode_config(path: PathLike) -> Dict:
    """The beam-search options of an ST decoding config (decode_st.yaml) that ESPnet's Speech2Text takes."""
    from espnet2.bin.st_inference import Speech2Text

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such decoding config")
    conf = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(conf, dict):
        raise InputError(f"{path}: not a decoding config (expected a YAML mapping)")
    accepted = set(inspect.signature(Speech2Text).parameters) - {"st_train_config", "st_model_file", "device"}
    return {k: v for k, v in conf.items() if k in accepted}


class SwapDecoder:
    """ESPnet's Speech2Text (beam search, as ``espnet2.bin.st_inference``) on a swap model whose speech
    side can be replaced by another checkpoint's, e.g. one per pre-training epoch."""

    def __init__(self, st_config: PathLike, st_model: PathLike, decode_options: Mapping, device: str = "cpu"):
        from espnet2.bin.st_inference import Speech2Text

        self.speech2text = Speech2Text(st_train_config=str(st_config), st_model_file=str(st_model), device=device,
                                       **decode_options)
        self.device = device

    def load_speech_side(self, checkpoint: PathLike) -> None:
        """Put the speech side (frontend, normalisation, encoder) of ``checkpoint`` into the model."""
        state = speech_state(torch.load(checkpoint, map_location=self.device, weights_only=True))
        model = self.speech2text.st_model
        expected = speech_state(model.state_dict())
        if set(state) != set(expected):
            raise InputError(f"{checkpoint}: its speech side does not fit the swap model "
                             f"({len(set(expected) - set(state))} entries missing, "
                             f"{len(set(state) - set(expected))} unexpected)")
        model.load_state_dict(state, strict=False)

    @torch.no_grad()
    def translate(self, features: Sequence[torch.Tensor]) -> List[str]:
        """The 1-best translation of each (L, F) feature matrix, one utterance at a time."""
        return [self.speech2text(feats)[0][0] for feats in features]
