"""CTC compression and alignment to a frozen MT encoder (``--pretrain ctc_compress_ot``).

The speech side becomes an input of the MT model's own encoder, in place of its token embeddings
(ZeroSwot, Tsiamas et al., ACL 2024, on ESPnet)::

    features -> speech_encoder -> CTC (source units) -> compression (one vector per predicted unit,
    ctcot.compression) -> adapter -> [<sos/eos> embedding; vectors] -> MT positional encoding
    -> MT encoder -> states

:class:`CompressedMTEncoder` is that stack as one ESPnet encoder (``encoder: ctc_compress``), so the
same module is the pre-training's encoder, the zero-shot ST model's (with the MT decoder, no ST
data: :mod:`ctcot.zero_shot`) and the fine-tuned ST model's (stage 8, ESPnet's ST model). The MT
side (``mt_frontend``, ``mt_encoder``) is shaped as ESPnet's MT model's ``frontend`` and ``encoder``
and starts from them::

    --init_param mt.pth:frontend:encoder.mt_frontend mt.pth:encoder:encoder.mt_encoder

As the MT model feeds its encoder ``<sos/eos>`` then the token embeddings, the adapter's vectors
follow the MT embedding of ``<sos/eos>``; both then go through the MT frontend's positional
encoding, which scales them by sqrt(D) as it scales the token embeddings.

:class:`CTCCompressOTModel` pre-trains it: CTC on the speech encoder's states plus the Sinkhorn
divergence (:mod:`ctcot.ot`) between the MT encoder's states of the speech and of the transcript
(the same frozen MT encoder), optionally also between the two MT-encoder inputs
(``ot_embed_weight``). Normalised as :class:`ctcot.espnet_model.CTCOTModel`::

    loss = (ctc_weight * sum_b CTC_b + ot_weight * sum_b OT_b + ot_embed_weight * sum_b OT^emb_b) / N

Importing this module registers ``ctc_compress`` among the encoders of ESPnet's ASR and ST tasks
(:func:`register`), so ctcot's programs build these models from their config.yaml.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Tuple, Union

import torch
from espnet.nets.e2e_asr_common import ErrorCalculator
from espnet2.asr.ctc import CTC
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.mt.frontend.embedding import Embedding
from espnet2.torch_utils.device_funcs import force_gatherable
from typeguard import typechecked

from ctcot import InputError
from ctcot.compression import MODES, Compressed, ctc_compress
from ctcot.espnet_model import SpeechFeaturesModel, ctc_per_token, embed_as_mt, pooled_similarity
from ctcot.ot import SinkhornOptions, sinkhorn_divergence
from ctcot.tokenizers import sos_eos_index

__all__ = ["ENCODER_NAME", "CompressedMTEncoder", "CTCCompressOTModel", "register"]

ENCODER_NAME = "ctc_compress"


def _encoder_class(name: str):
    from espnet2.tasks.asr import encoder_choices

    if name == ENCODER_NAME:
        raise InputError(f"the speech or MT encoder of {ENCODER_NAME} cannot itself be {ENCODER_NAME}")
    return encoder_choices.get_class(name)


class CompressedMTEncoder(AbsEncoder):
    """Speech encoder, CTC compression and adapter, then the MT model's encoder: (B, T, F) -> (B, T'+1, D)."""

    @typechecked
    def __init__(
        self,
        input_size: int,
        vocab_size: int,
        speech_encoder: str = "transformer",
        speech_encoder_conf: Optional[Dict] = None,
        ctc_conf: Optional[Dict] = None,
        compression: str = "mean",
        adapter_blocks: int = 0,
        adapter_conf: Optional[Dict] = None,
        mt_embed_dim: int = 256,
        mt_positional_dropout_rate: float = 0.1,
        mt_encoder: str = "transformer",
        mt_encoder_conf: Optional[Dict] = None,
        freeze_mt_encoder: bool = True,
    ):
        """Build the stack.

        Args:
            input_size: Feature dimension F.
            vocab_size: Source units (CTC outputs and MT source tokens, the same list; index 0 the
                blank, the last ``<sos/eos>``).
            speech_encoder, speech_encoder_conf: An ESPnet encoder over the features (as ``encoder``
                and ``encoder_conf`` of the other pre-trainings).
            ctc_conf: Keyword arguments of ESPnet's CTC.
            compression: A mode of :mod:`ctcot.compression` (``mean``, ``avg_keep_blank``, ``weighted``).
            adapter_blocks: 0: the adapter is one linear map to ``mt_embed_dim``; n > 0: a linear
                map then n Transformer blocks (ESPnet's TransformerEncoder; ``adapter_conf``: its other
                options, e.g. attention_heads, linear_units, dropout_rate).
            mt_embed_dim, mt_positional_dropout_rate: The MT model's ``frontend_conf``.
            mt_encoder, mt_encoder_conf: The MT model's ``encoder`` and ``encoder_conf``.
            freeze_mt_encoder: Keep the MT frontend and encoder fixed (no gradient, eval mode);
                the gradient still flows through them to the adapter and the speech encoder.
        """
        super().__init__()
        if compression not in MODES:
            raise InputError(f"unknown compression {compression!r}: expected one of {', '.join(MODES)}")
        self.vocab_size = vocab_size
        self.compression = compression
        self.speech_encoder = _encoder_class(speech_encoder)(input_size=input_size, **(speech_encoder_conf or {}))
        speech_dim = self.speech_encoder.output_size()
        self.ctc = CTC(odim=vocab_size, encoder_output_size=speech_dim, **(ctc_conf or {}))
        if adapter_blocks == 0:
            self.adapter = torch.nn.Linear(speech_dim, mt_embed_dim)
        else:
            from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

            conf = {**(adapter_conf or {}), "output_size": mt_embed_dim, "input_layer": "linear",
                    "num_blocks": adapter_blocks}  # its size and depth are the two options above
            self.adapter = TransformerEncoder(input_size=speech_dim, **conf)
        self.mt_frontend = Embedding(input_size=vocab_size, embed_dim=mt_embed_dim,
                                     positional_dropout_rate=mt_positional_dropout_rate)
        self.mt_encoder = _encoder_class(mt_encoder)(input_size=mt_embed_dim, **(mt_encoder_conf or {}))
        self.freeze_mt_encoder = freeze_mt_encoder
        if freeze_mt_encoder:
            self.mt_frontend.requires_grad_(False)
            self.mt_encoder.requires_grad_(False)
            self.train(self.training)

    def output_size(self) -> int:
        return self.mt_encoder.output_size()

    def train(self, mode: bool = True) -> "CompressedMTEncoder":
        """The train/eval switch; a frozen MT side stays in eval mode (no dropout)."""
        super().train(mode)
        if self.freeze_mt_encoder:
            self.mt_frontend.eval()
            self.mt_encoder.eval()
        return self

    def speech_states(self, xs: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, T, F) features -> the speech encoder's (B, S, D_s) states (CTC's input) and (B,) lengths."""
        states, state_lengths, _ = self.speech_encoder(xs, lengths)
        return states, state_lengths

    def compress(self, states: torch.Tensor, lengths: torch.Tensor) -> Compressed:
        """(B, S, D_s) speech states -> (B, S', D_s) one vector per predicted unit (``self.compression``)."""
        return ctc_compress(states, lengths, self.ctc.log_softmax(states), self.compression)

    def mt_input(self, compressed: Compressed) -> Tuple[torch.Tensor, torch.Tensor]:
        """Compressed vectors -> the MT encoder's input (B, S'+1, D): ``<sos/eos>``'s embedding, the
        adapter's vectors, through the MT frontend's positional encoding; and (B,) lengths."""
        vectors, lengths = compressed.states, compressed.lengths
        if isinstance(self.adapter, torch.nn.Linear):
            vectors = self.adapter(vectors)
        else:
            vectors, lengths, _ = self.adapter(vectors, lengths)
        token_embedding, positional_encoding = self.mt_frontend.embed
        sos = token_embedding.weight[sos_eos_index(self.vocab_size)]
        embedded = torch.cat([sos.to(vectors.dtype).expand(vectors.size(0), 1, -1), vectors], dim=1)
        return positional_encoding(embedded), lengths + 1

    def forward(self, xs_pad: torch.Tensor, ilens: torch.Tensor,
                prev_states: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, None]:
        """(B, T, F) features, (B,) lengths -> the MT encoder's states (B, S'+1, D), (B,) lengths, None."""
        states, lengths = self.speech_states(xs_pad, ilens)
        out, out_lengths, _ = self.forward_compressed(self.compress(states, lengths))
        return out, out_lengths, None

    def forward_compressed(self, compressed: Compressed) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Compressed vectors -> the MT encoder's states (B, S'+1, D), lengths (B,), and its input (B, S'+1, D)."""
        embedded, lengths = self.mt_input(compressed)
        out, out_lengths, _ = self.mt_encoder(embedded, lengths)
        return out, out_lengths, embedded

    def encode_text(self, src_text: torch.Tensor, src_text_lengths: torch.Tensor
                    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The transcript as the MT model encodes it: (B, N) ids padded with -1 -> the MT encoder's states
        (B, N+1, D), lengths (B,), and its input (B, N+1, D) (``<sos/eos>`` and the tokens, embedded)."""
        embedded, lengths = embed_as_mt(self.mt_frontend, src_text, src_text_lengths, self.vocab_size)
        out, out_lengths, _ = self.mt_encoder(embedded, lengths)
        return out, out_lengths, embedded


class CTCCompressOTModel(SpeechFeaturesModel):
    """Pre-train a :class:`CompressedMTEncoder`: CTC, and OT towards the frozen MT encoder's states."""

    @typechecked
    def __init__(
        self,
        vocab_size: int,
        token_list: Union[Tuple[str, ...], List[str]],
        frontend: Optional[AbsFrontend],
        specaug: Optional[AbsSpecAug],
        normalize: Optional[AbsNormalize],
        encoder: CompressedMTEncoder,
        ctc_weight: float = 1.0,
        ot_weight: float = 1.0,
        ot_embed_weight: float = 0.0,
        ot_blur: float = SinkhornOptions.blur,
        ot_scaling: float = SinkhornOptions.scaling,
        ot_position_weight: float = 10.0,
        report_cer: bool = True,
        sym_space: str = "<space>",
        sym_blank: str = "<blank>",
    ):
        """Build the model.

        Args:
            vocab_size, token_list: The source units (``encoder.vocab_size`` of them).
            frontend, specaug, normalize: ESPnet's speech-side modules.
            encoder: The stack (its CTC, compression, adapter and MT side).
            ctc_weight, ot_weight, ot_embed_weight: Weights of the losses (module docstring).
            ot_blur, ot_scaling, ot_position_weight: :class:`ctcot.ot.SinkhornOptions` (ZeroSwot weighs
                the position coordinate 10, the paper 1: both sides now have one vector per unit).
            report_cer: Log the CTC greedy error rate on validation batches.
            sym_space, sym_blank: Symbols of the token list used by the error calculator.
        """
        super().__init__(frontend, specaug, normalize)
        if min(ctc_weight, ot_weight, ot_embed_weight) < 0 or ctc_weight + ot_weight + ot_embed_weight == 0:
            raise InputError("need ctc_weight, ot_weight, ot_embed_weight >= 0, not all 0; got "
                             f"{ctc_weight}, {ot_weight}, {ot_embed_weight}")
        if encoder.vocab_size != vocab_size:
            raise InputError(f"the encoder's vocab_size ({encoder.vocab_size}) is not the token list's ({vocab_size})")
        self.vocab_size = vocab_size
        self.token_list = list(token_list)
        self.encoder = encoder
        self.ctc_weight = ctc_weight
        self.ot_weight = ot_weight
        self.ot_embed_weight = ot_embed_weight
        self.ot_options = SinkhornOptions(ot_blur, ot_scaling, ot_position_weight)
        self.error_calculator = (ErrorCalculator(self.token_list, sym_space, sym_blank, report_cer, False)
                                 if report_cer else None)

    @property
    def ctc(self) -> CTC:
        """The source CTC (the encoder's; a property, so the checkpoint holds it once)."""
        return self.encoder.ctc

    def encode(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, L[, F]) -> the MT encoder's states of the speech (B, S'+1, D) and lengths (B,)."""
        out, out_lengths, _ = self.encoder(*self.features(speech, speech_lengths))
        return out, out_lengths

    def encode_ctc(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, L[, F]) -> the speech encoder's states (B, S, D_s), CTC's input, and lengths (B,)."""
        return self.encoder.speech_states(*self.features(speech, speech_lengths))

    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        src_text: torch.Tensor,
        src_text_lengths: torch.Tensor,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, Optional[torch.Tensor]], torch.Tensor]:
        """Compute the pre-training loss.

        Args:
            speech: (B, L) waveforms or (B, L, F) features; speech_lengths: (B,).
            src_text: (B, N) source token ids, padded with -1; src_text_lengths: (B,).
            kwargs: "utt_id" names the utterances in errors; others are ignored.

        Returns:
            loss (scalar), stats, and the number of source tokens N as the weight. Besides the losses,
            the stats have ``compression_ratio`` (speech-encoder frames per compressed vector),
            ``vectors_per_token`` (compressed vectors per transcript token: 1 when the compression
            predicts the transcript's length) and ``compression_empty`` (the fraction of utterances
            with no vector but their frames' mean).
        """
        self.check_finite(speech, speech_lengths, kwargs.get("utt_id"))
        src_text = src_text[:, : src_text_lengths.max()]
        states, state_lengths = self.encode_ctc(speech, speech_lengths)
        num_tokens = src_text_lengths.sum().clamp(min=1).to(states.dtype)
        stats: Dict[str, Optional[torch.Tensor]] = {}
        loss = states.new_zeros(())

        log_probs = self.ctc.log_softmax(states)
        if self.ctc_weight > 0:
            loss = loss + self.ctc_weight * ctc_per_token(self.ctc, states, state_lengths, src_text, src_text_lengths,
                                                          num_tokens, stats,
                                                          None if self.training else self.error_calculator)
        compressed = ctc_compress(states, state_lengths, log_probs, self.encoder.compression)
        stats["compression_ratio"] = (state_lengths.sum() / compressed.lengths.sum().clamp(min=1)).detach().float()
        stats["vectors_per_token"] = (compressed.lengths.sum() / num_tokens).detach().float()
        stats["compression_empty"] = compressed.empty.float().mean()
        if self.ot_weight > 0 or self.ot_embed_weight > 0:
            speech_out, speech_out_lengths, speech_in = self.encoder.forward_compressed(compressed)
            with torch.no_grad() if self.encoder.freeze_mt_encoder else torch.enable_grad():
                text_out, text_out_lengths, text_in = self.encoder.encode_text(src_text, src_text_lengths)
            for name, weight, speech_side, text_side in (("ot", self.ot_weight, speech_out, text_out),
                                                         ("ot_embed", self.ot_embed_weight, speech_in, text_in)):
                if weight > 0:
                    divergence = sinkhorn_divergence(speech_side, speech_out_lengths, text_side, text_out_lengths,
                                                     options=self.ot_options)
                    term = divergence.sum() / num_tokens
                    loss = loss + weight * term
                    stats[f"loss_{name}"] = term.detach()
                    stats["sinkhorn" if name == "ot" else "sinkhorn_embed"] = divergence.detach().mean()
            if not self.training:
                stats["speech_text_cos"], stats["speech_text_r1"] = pooled_similarity(
                    speech_out.detach(), speech_out_lengths, text_out.detach(), text_out_lengths)

        stats["loss"] = loss.detach()
        loss, stats, weight = force_gatherable((loss, stats, num_tokens.detach()), loss.device)
        return loss, stats, weight


def register() -> None:
    """Add :class:`CompressedMTEncoder` to the encoders of ESPnet's ASR and ST tasks (idempotent)."""
    from espnet2.tasks import asr, st

    for choices in (asr.encoder_choices, st.encoder_choices):
        choices.classes.setdefault(ENCODER_NAME, CompressedMTEncoder)


register()


def st_config_with_encoder(st_config: Dict, pretrain_config: Dict, freeze_mt_encoder: bool = False) -> Dict:
    """The ST config of stage 8 for this pre-training: ``st_config`` (its budget) with the pre-training's
    whole encoder stack (``encoder``, ``encoder_conf``), the MT encoder trainable unless ``freeze_mt_encoder``."""
    if pretrain_config.get("encoder") != ENCODER_NAME:
        raise InputError(f"the pre-training's encoder is {pretrain_config.get('encoder')!r}, not {ENCODER_NAME}")
    config = copy.deepcopy(st_config)
    config["encoder"] = ENCODER_NAME
    config["encoder_conf"] = {**pretrain_config["encoder_conf"], "freeze_mt_encoder": freeze_mt_encoder}
    return config
