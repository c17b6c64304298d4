"""Multi-task ST on ESPnet's ST task: the source-CTC and MT auxiliary losses with a real text encoder.

ESPnet's ST model has the pieces of multi-task ST (Tang et al., 2021; Le et al., 2023 build on it):
``asr_weight`` with ``mtlalpha`` (CTC on the source transcript, ``ctc``) and ``mt_weight`` with
``extra_mt_encoder`` (a text encoder on the source transcript, its states fed to the shared ST
decoder). ESPnet (202511) builds that text encoder with the *target* vocabulary as its input size
and feeds it the raw -1-padded source ids, so an MT model's encoder cannot be loaded into it.
:class:`MultitaskSTTask` builds ESPnet's ST model as ESPnet does, then gives it a text encoder
shaped as ESPnet's MT model's (``text_frontend``/``text_encoder`` options, as in
:class:`ctcot.task.CTCOTTask`) and fed as the MT model feeds its own (:func:`ctcot.espnet_model.encode_as_mt`):

    --init_param mt.pth:frontend:extra_mt_encoder.frontend mt.pth:encoder:extra_mt_encoder.encoder

The trained model keeps ESPnet's parameter names; ESPnet's ``STTask`` builds it from its
``config.yaml`` for decoding (it ignores the ``text_*`` options and, loading non-strictly, the text
encoder's weights), so stages 9-11 work unchanged.
"""
from __future__ import annotations

import argparse
from typing import Tuple

import torch
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.st.espnet_model import ESPnetSTModel
from espnet2.tasks.st import STTask
from espnet2.torch_utils.initialize import initialize
from espnet2.train.class_choices import ClassChoices
from typeguard import typechecked

from ctcot import InputError
from ctcot.espnet_model import encode_as_mt
from ctcot.init_param import token_list_of
from ctcot.task import text_encoder_choices, text_frontend_choices

# The multi-task text encoder's choices: those of CTC+OT's text encoder, none by default.
multitask_text_frontend_choices = ClassChoices(
    name="text_frontend", classes=text_frontend_choices.classes, type_check=AbsFrontend, default=None, optional=True)
multitask_text_encoder_choices = ClassChoices(
    name="text_encoder", classes=text_encoder_choices.classes, type_check=AbsEncoder, default=None, optional=True)


class SourceTextEncoder(torch.nn.Module):
    """An MT model's encoder side, ``frontend`` (token embedding) and ``encoder``, as one module."""

    def __init__(self, frontend: AbsFrontend, encoder: AbsEncoder, vocab_size: int):
        super().__init__()
        self.frontend = frontend
        self.encoder = encoder
        self.vocab_size = vocab_size

    def forward(self, src_text: torch.Tensor, src_text_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, N) source ids padded with -1, lengths (B,) -> states (B, N + 1, D), lengths (B,)."""
        return encode_as_mt(self.frontend, self.encoder, src_text, src_text_lengths, self.vocab_size)


class MultitaskSTModel(ESPnetSTModel):
    """ESPnet's ST model, its MT auxiliary loss weighted once by ``mt_weight``.

    ESPnet's ``forward`` scales that loss twice (``loss_mt = mt_weight * loss_mt_att``, then
    ``mt_weight * loss_mt`` in the sum): here the loss is
    ``(1 - asr_weight - mt_weight) * loss_st + asr_weight * loss_asr + mt_weight * loss_mt``,
    with ``loss_mt`` (logged) the MT branch's attention loss.
    """

    def _calc_mt_att_loss(self, *args, st: bool = True, **kwargs):
        loss, acc, bleu = super()._calc_mt_att_loss(*args, st=st, **kwargs)
        if not st:
            loss = loss / self.mt_weight  # forward() multiplies by mt_weight twice
        return loss, acc, bleu


class MultitaskSTTask(STTask):
    """ESPnet's ST task with :class:`MultitaskSTModel` and an MT-shaped ``extra_mt_encoder``."""

    class_choices_list = [*STTask.class_choices_list, multitask_text_frontend_choices, multitask_text_encoder_choices]

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> ESPnetSTModel:
        mt_weight = args.model_conf.get("mt_weight", 0.0)
        if getattr(args, "extra_mt_encoder", None) is not None:
            raise InputError("multi-task ST takes its MT encoder from --text_frontend and --text_encoder "
                             "(the shape of ESPnet's MT model), not --extra_mt_encoder")
        has_text_encoder = args.text_frontend is not None and args.text_encoder is not None
        if (mt_weight > 0) != has_text_encoder:
            raise InputError(f"model_conf mt_weight is {mt_weight}: the MT auxiliary loss (mt_weight > 0) needs "
                             f"text_frontend and text_encoder, and they are used only by it "
                             f"(got text_frontend {args.text_frontend}, text_encoder {args.text_encoder})")
        model = super().build_model(args)
        model.__class__ = MultitaskSTModel  # built by ESPnet as ESPnetSTModel; only the loss's weighting differs
        if has_text_encoder:
            if args.src_token_list is None:
                raise InputError("the MT auxiliary loss needs --src_token_list")
            vocab_size = len(token_list_of(args.src_token_list))
            frontend = multitask_text_frontend_choices.get_class(args.text_frontend)(
                input_size=vocab_size, **args.text_frontend_conf)
            encoder = multitask_text_encoder_choices.get_class(args.text_encoder)(
                input_size=frontend.output_size(), **args.text_encoder_conf)
            model.extra_mt_encoder = SourceTextEncoder(frontend, encoder, vocab_size)
            if args.init is not None:
                initialize(model.extra_mt_encoder, args.init)
        return model
