"""ESPnet task for CTC / CTC+OT speech-encoder pre-training (:class:`ctcot.espnet_model.CTCOTModel`).

Data names, as in ESPnet's ST task: ``speech`` (audio or features) and ``src_text`` (the source
transcript). Options follow ESPnet's ASR task for the speech side (``--frontend``, ``--specaug``,
``--normalize``, ``--encoder`` with their ``*_conf``) and its MT task for the text side
(``--text_frontend``, ``--text_encoder``); the losses are set in ``--model_conf``.
With ``--encoder ctc_compress`` the model is :class:`ctcot.compress_model.CTCCompressOTModel`: CTC
compression and OT through the frozen MT encoder, which ``encoder_conf`` describes (no text_* options).
"""
from __future__ import annotations

import argparse
from typing import Callable, Collection, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from espnet2.asr.ctc import CTC
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.encoder.branchformer_encoder import BranchformerEncoder
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.mt.frontend.embedding import Embedding
from espnet2.tasks.abs_task import AbsTask
from espnet2.tasks.asr import encoder_choices, frontend_choices, normalize_choices, specaug_choices
from espnet2.torch_utils.initialize import initialize
from espnet2.train.class_choices import ClassChoices
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.preprocessor import CommonPreprocessor
from espnet2.utils.get_default_kwargs import get_default_kwargs
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import int_or_none, str2bool, str_or_none
from typeguard import typechecked

from ctcot import InputError
from ctcot.compress_model import ENCODER_NAME, CompressedMTEncoder, CTCCompressOTModel
from ctcot.espnet_model import CTCOTModel
from ctcot.init_param import token_list_of
from ctcot.trainer import EpochKeepingTrainer

text_frontend_choices = ClassChoices(
    name="text_frontend",
    classes=dict(embed=Embedding),
    type_check=AbsFrontend,
    default="embed",
)
text_encoder_choices = ClassChoices(
    name="text_encoder",
    classes=dict(
        transformer=TransformerEncoder,
        conformer=ConformerEncoder,
        branchformer=BranchformerEncoder,
        e_branchformer=EBranchformerEncoder,
    ),
    type_check=AbsEncoder,
    default="transformer",
)


class CTCOTTask(AbsTask):
    """Pre-train a speech encoder with CTC on the source transcript and OT towards a text encoder."""

    num_optimizers: int = 1
    class_choices_list = [
        frontend_choices,
        specaug_choices,
        normalize_choices,
        encoder_choices,
        text_frontend_choices,
        text_encoder_choices,
    ]
    trainer = EpochKeepingTrainer  # ESPnet's, with --keep_epoch_models

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        group = parser.add_argument_group(description="Task related")
        required = parser.get_default("required")
        required += ["src_token_list"]
        group.add_argument("--src_token_list", type=str_or_none, default=None,
                           help="Source tokens (a file, one per line; index 0 is the CTC blank)")
        group.add_argument("--init", type=lambda x: str_or_none(x.lower()), default=None,
                           choices=["chainer", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                                    "kaiming_normal", "normal", None],
                           help="The initialization method")
        group.add_argument("--input_size", type=int_or_none, default=None,
                           help="Feature dimension when the data loader gives features (frontend: null)")
        group.add_argument("--ctc_conf", action=NestedDictAction, default=get_default_kwargs(CTC),
                           help="Keyword arguments of ESPnet's CTC")
        group.add_argument("--model_conf", action=NestedDictAction, default=get_default_kwargs(CTCOTModel),
                           help="Keyword arguments of ctcot.espnet_model.CTCOTModel "
                                "(ctc_weight, ot_weight, ot_blur, ot_scaling, ot_position_weight, ...)")

        group = parser.add_argument_group(description="Preprocess related")
        group.add_argument("--use_preprocessor", type=str2bool, default=True,
                           help="Tokenize src_text with the options below")
        group.add_argument("--src_token_type", type=str, default="bpe", choices=["bpe", "char", "word", "phn"],
                           help="Unit of the source tokens")
        group.add_argument("--src_bpemodel", type=str_or_none, default=None,
                           help="SentencePiece model of the source (src_token_type bpe)")
        group.add_argument("--non_linguistic_symbols", type=str_or_none, default=None,
                           help="File of non-linguistic symbols")
        group.add_argument("--cleaner", type=str_or_none, choices=[None, "tacotron", "jaconv", "vietnamese"],
                           default=None, help="Text cleaner applied before tokenization")
        group.add_argument("--src_g2p", type=str_or_none, default=None,
                           help="ESPnet g2p for src_token_type phn (e.g. espeak_ng_english_us_vits)")

        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)

    @classmethod
    @typechecked
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable[
        [Collection[Tuple[str, Dict[str, np.ndarray]]]], Tuple[List[str], Dict[str, torch.Tensor]]
    ]:
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    @typechecked
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.ndarray]], Dict[str, np.ndarray]]]:
        if not args.use_preprocessor:
            return None
        return CommonPreprocessor(
            train=train,
            token_type=args.src_token_type,
            token_list=args.src_token_list,
            bpemodel=args.src_bpemodel,
            non_linguistic_symbols=args.non_linguistic_symbols,
            text_cleaner=args.cleaner,
            g2p_type=args.src_g2p,
            speech_name="speech",
            text_name="src_text",
        )

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech",) if inference else ("speech", "src_text")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ()

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> Union[CTCOTModel, CTCCompressOTModel]:
        token_list = token_list_of(args.src_token_list)
        args.src_token_list = token_list  # keep config.yaml self-contained, as ESPnet does
        vocab_size = len(token_list)
        model_class = CTCCompressOTModel if args.encoder == ENCODER_NAME else CTCOTModel
        defaults = get_default_kwargs(model_class)
        unknown = sorted(set(args.model_conf) - set(defaults) - set(get_default_kwargs(CTCOTModel)))
        if unknown:
            raise InputError(f"unknown model_conf key(s) {', '.join(unknown)} of {model_class.__name__}: "
                             f"expected {', '.join(defaults)}")
        model_conf = {**defaults, **{k: v for k, v in args.model_conf.items() if k in defaults}}

        if args.input_size is None:
            frontend = frontend_choices.get_class(args.frontend)(**args.frontend_conf)
            input_size = frontend.output_size()
        else:
            args.frontend, args.frontend_conf, frontend = None, {}, None
            input_size = args.input_size
        specaug = (specaug_choices.get_class(args.specaug)(**args.specaug_conf)
                   if getattr(args, "specaug", None) is not None else None)
        normalize = (normalize_choices.get_class(args.normalize)(**args.normalize_conf)
                     if getattr(args, "normalize", None) is not None else None)
        if model_class is CTCCompressOTModel:
            # The stack holds its CTC and the MT model's encoder; config.yaml gets the size of its vocabulary.
            args.encoder_conf = {"ctc_conf": args.ctc_conf, **args.encoder_conf, "vocab_size": vocab_size}
            encoder = CompressedMTEncoder(input_size=input_size, **args.encoder_conf)
            model = CTCCompressOTModel(vocab_size=vocab_size, token_list=token_list, frontend=frontend,
                                       specaug=specaug, normalize=normalize, encoder=encoder, **model_conf)
            if args.init is not None:
                initialize(model, args.init)
            return model
        encoder = encoder_choices.get_class(args.encoder)(input_size=input_size, **args.encoder_conf)
        ctc = CTC(odim=vocab_size, encoder_output_size=encoder.output_size(), **args.ctc_conf)

        text_frontend = text_encoder = None
        if model_conf["ot_weight"] > 0:
            text_frontend = text_frontend_choices.get_class(args.text_frontend)(
                input_size=vocab_size, **args.text_frontend_conf)
            text_encoder = text_encoder_choices.get_class(args.text_encoder)(
                input_size=text_frontend.output_size(), **args.text_encoder_conf)

        model = CTCOTModel(
            vocab_size=vocab_size,
            token_list=token_list,
            frontend=frontend,
            specaug=specaug,
            normalize=normalize,
            encoder=encoder,
            ctc=ctc,
            text_frontend=text_frontend,
            text_encoder=text_encoder,
            **model_conf,
        )
        if args.init is not None:
            initialize(model, args.init)
        return model
