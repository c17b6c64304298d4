"""The Siamese speech/text pre-training model of Le et al. (ICML 2023), for ESPnet's trainer.

Speech side (kept for ST):   speech -> frontend -> specaug -> normalize -> encoder -> CTC(src_text)
Text side (pre-training only): <sos/eos> + src_text -> text_frontend (token embedding) -> text_encoder

The OT loss is the Sinkhorn divergence (:mod:`ctcot.ot`) between the final speech-encoder
states and the final text-encoder states of each utterance. The module names match ESPnet's
ASR/ST models (``encoder``) and MT model (``frontend``/``encoder`` become ``text_frontend`` /
``text_encoder``), so checkpoints move between them with ``--init_param``:

- ST from ctcot:       ``--init_param exp/pretrain/valid.loss.ave.pth:encoder:encoder``
- ctcot text side from an MT model:
  ``--init_param mt.pth:frontend:text_frontend mt.pth:encoder:text_encoder``

Loss (the paper's normalisation): both terms are summed over the batch and divided by the
number of source tokens ``N = sum(src_text_lengths)``::

    loss = (ctc_weight * sum_b CTC_b + ot_weight * sum_b OT_b) / N

The logged ``loss_ctc`` and ``loss_ot`` are the two sums divided by ``N`` (unweighted);
``sinkhorn`` is the mean divergence per utterance; ``ctc_infeasible`` the fraction of utterances with
more source tokens than encoder frames, whose CTC loss is infinite and zeroed (``zero_infinity``;
stage 5 leaves such utterances out, so it stays 0 there). Validation also logs how close the two sides
are (see :func:`pooled_similarity`): ``speech_text_cos``, the mean cosine of each utterance's
mean-pooled speech and text states, and ``speech_text_r1``, the fraction of utterances whose own
text is the nearest (by that cosine) among the batch's. The batch's weight (ESPnet's third output) is
``N``: data-parallel processes are combined, and epoch statistics averaged, per source token.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import torch
from espnet.nets.e2e_asr_common import ErrorCalculator
from espnet2.asr.ctc import CTC
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel
from typeguard import typechecked

from ctcot import InputError
from ctcot.ot import SinkhornOptions, sinkhorn_divergence
from ctcot.tokenizers import sos_eos_index


def embed_as_mt(frontend: AbsFrontend, src_text: torch.Tensor, src_text_lengths: torch.Tensor,
                vocab_size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """The input of a text encoder fed as ESPnet's MT model feeds its own: ``<sos/eos>`` then the tokens.

    Args:
        frontend: The token embedding (ESPnet's MT ``Embedding``).
        src_text: (B, N) source token ids, padded with -1.
        src_text_lengths: (B,) token counts.
        vocab_size: Size of the source vocabulary, whose last token is ``<sos/eos>``.

    Returns:
        The embedded tokens (B, N' + 1, D), N' = max(src_text_lengths), and their lengths (B,).
    """
    src_text = src_text[:, : src_text_lengths.max()]
    sos = src_text.new_full((src_text.size(0), 1), sos_eos_index(vocab_size))
    tokens = torch.cat([sos, src_text.masked_fill(src_text < 0, 0)], dim=1)  # padding: masked by lengths
    return frontend(tokens, src_text_lengths + 1)


def encode_as_mt(frontend: AbsFrontend, encoder: AbsEncoder, src_text: torch.Tensor,
                 src_text_lengths: torch.Tensor, vocab_size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """:func:`embed_as_mt`, then ``encoder``: the final states (B, N' + 1, D) and their lengths (B,)."""
    states, state_lengths, _ = encoder(*embed_as_mt(frontend, src_text, src_text_lengths, vocab_size))
    return states, state_lengths


class SpeechFeaturesModel(AbsESPnetModel):
    """The speech side's input shared by ctcot's pre-training models: frontend (or features from the
    data loader), SpecAugment while training, normalisation; and the check of their values."""

    def __init__(self, frontend: Optional[AbsFrontend], specaug: Optional[AbsSpecAug],
                 normalize: Optional[AbsNormalize]):
        super().__init__()
        self.frontend = frontend
        self.specaug = specaug
        self.normalize = normalize

    @staticmethod
    def check_finite(speech: torch.Tensor, speech_lengths: torch.Tensor, utt_ids: Optional[List[str]]) -> None:
        """Raise :class:`ctcot.InputError` naming the utterances whose real (B, L[, F]) input is not finite."""
        bad_frames = ~torch.isfinite(speech)
        bad_frames = bad_frames.flatten(2).any(dim=2) if speech.dim() > 2 else bad_frames  # (B, L)
        valid = torch.arange(speech.size(1), device=speech.device) < speech_lengths.to(speech.device).unsqueeze(1)
        bad_items = (bad_frames & valid).any(dim=1)  # (B,)
        if bool(bad_items.any()):
            items = bad_items.nonzero().flatten().tolist()
            names = [utt_ids[i] for i in items] if utt_ids is not None else [f"batch item {i}" for i in items]
            raise InputError(f"NaN or infinite input features in utterance(s) {', '.join(names)}: extract their "
                             "features again (st.sh stage 3) or remove them; stage 4 refuses such features")

    def features(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, L[, F]) input -> (B, T, F) features as the encoder takes them, and (B,) lengths."""
        with torch.autocast(device_type=speech.device.type, enabled=False):
            feats, feats_lengths = self._extract_feats(speech, speech_lengths)
            if self.specaug is not None and self.training:
                feats, feats_lengths = self.specaug(feats, feats_lengths)
            if self.normalize is not None:
                feats, feats_lengths = self.normalize(feats, feats_lengths)
        return feats, feats_lengths

    def collect_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, **kwargs
    ) -> Dict[str, torch.Tensor]:
        feats, feats_lengths = self._extract_feats(speech, speech_lengths)
        return {"feats": feats, "feats_lengths": feats_lengths}

    def _extract_feats(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        speech = speech[:, : speech_lengths.max()]
        if self.frontend is None:  # features from the data loader; copied, since
            return speech.clone(), speech_lengths  # ESPnet's utterance_mvn works in place
        return self.frontend(speech, speech_lengths)


class CTCOTModel(SpeechFeaturesModel):

    """Speech encoder trained with CTC and OT towards a text encoder."""

    @typechecked
    def __init__(
        self,
        vocab_size: int,
        token_list: Union[Tuple[str, ...], List[str]],
        frontend: Optional[AbsFrontend],
        specaug: Optional[AbsSpecAug],
        normalize: Optional[AbsNormalize],
        encoder: AbsEncoder,
        ctc: CTC,
        text_frontend: Optional[AbsFrontend],
        text_encoder: Optional[AbsEncoder],
        ctc_weight: float = 1.0,
        ot_weight: float = 0.1,
        ot_blur: float = SinkhornOptions.blur,
        ot_scaling: float = SinkhornOptions.scaling,
        ot_position_weight: float = SinkhornOptions.position_weight,
        text_encoder_freeze: bool = False,
        text_encoder_detach: bool = False,
        report_cer: bool = True,
        report_wer: bool = False,
        sym_space: str = "<space>",
        sym_blank: str = "<blank>",
    ):
        """Build the model.

        Args:
            vocab_size: Size of the source vocabulary (CTC output and text-encoder input).
            token_list: The source tokens, index 0 being the CTC blank.
            frontend, specaug, normalize, encoder: ESPnet's speech-side modules.
            ctc: ESPnet's CTC over the source vocabulary.
            text_frontend: Token embedding of the text encoder (ESPnet's MT ``Embedding``);
                None when ``ot_weight`` is 0.
            text_encoder: ESPnet encoder over the embedded source tokens; its output size
                must equal the speech encoder's. None when ``ot_weight`` is 0.
            ctc_weight, ot_weight: Weights of the two losses (see the module docstring).
            ot_blur, ot_scaling, ot_position_weight: The :class:`ctcot.ot.SinkhornOptions` of the OT
                loss (``model_conf`` keys of the YAML configs).
            text_encoder_freeze: Keep the text side fixed (an ablation): no gradient, and in eval
                mode (no dropout) while the rest trains, so its states are exactly those of the
                MT encoder that initialised it.
            text_encoder_detach: Stop the OT gradient at the text states, so that only the
                speech encoder moves towards the text (the text side still trains if
                other losses reach it; with CTC+OT none does).
            report_cer, report_wer: Log the CTC greedy CER/WER on validation batches.
            sym_space, sym_blank: Symbols of the token list used by the error calculator.
        """
        super().__init__(frontend, specaug, normalize)
        if ctc_weight < 0 or ot_weight < 0 or ctc_weight + ot_weight == 0:
            raise InputError(f"need ctc_weight >= 0, ot_weight >= 0, not both 0; got {ctc_weight}, {ot_weight}")
        if ot_weight > 0:
            if text_frontend is None or text_encoder is None:
                raise InputError("ot_weight > 0 needs a text_frontend and a text_encoder")
            if text_encoder.output_size() != encoder.output_size():
                raise InputError(
                    f"text_encoder output_size ({text_encoder.output_size()}) must equal the speech "
                    f"encoder's ({encoder.output_size()}): the OT loss compares the two states directly")
        self.vocab_size = vocab_size
        self.token_list = list(token_list)
        self.encoder = encoder
        self.ctc = ctc
        self.text_frontend = text_frontend if ot_weight > 0 else None
        self.text_encoder = text_encoder if ot_weight > 0 else None
        self.ctc_weight = ctc_weight
        self.ot_weight = ot_weight
        self.ot_options = SinkhornOptions(ot_blur, ot_scaling, ot_position_weight)
        self.text_encoder_freeze = text_encoder_freeze
        self.text_encoder_detach = text_encoder_detach
        if text_encoder_freeze and self.text_encoder is not None:
            for module in (self.text_frontend, self.text_encoder):
                module.requires_grad_(False)
            self.train(self.training)
        self.error_calculator = (
            ErrorCalculator(self.token_list, sym_space, sym_blank, report_cer, report_wer)
            if report_cer or report_wer else None
        )

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
            speech: (B, L) waveforms or (B, L, F) features.
            speech_lengths: (B,)
            src_text: (B, N) source token ids, padded with -1.
            src_text_lengths: (B,)
            kwargs: "utt_id" (from ESPnet's trainer) names the utterances in errors; others are ignored.

        Returns:
            loss (scalar), stats, and the batch size as the weight.
        """
        self.check_finite(speech, speech_lengths, kwargs.get("utt_id"))
        src_text = src_text[:, : src_text_lengths.max()]
        encoder_out, encoder_out_lens = self.encode(speech, speech_lengths)
        num_tokens = src_text_lengths.sum().clamp(min=1).to(encoder_out.dtype)
        stats: Dict[str, Optional[torch.Tensor]] = {}

        loss = encoder_out.new_zeros(())
        if self.ctc_weight > 0:
            loss_ctc = ctc_per_token(self.ctc, encoder_out, encoder_out_lens, src_text, src_text_lengths, num_tokens,
                                     stats, None if self.training else self.error_calculator)
            loss = loss + self.ctc_weight * loss_ctc

        if self.ot_weight > 0:
            text_out, text_out_lens = self.encode_text(src_text, src_text_lengths)
            divergence = sinkhorn_divergence(encoder_out, encoder_out_lens, text_out, text_out_lens,
                                             options=self.ot_options)
            loss_ot = divergence.sum() / num_tokens
            loss = loss + self.ot_weight * loss_ot
            stats["loss_ot"] = loss_ot.detach()
            stats["sinkhorn"] = divergence.detach().mean()
            if not self.training:
                stats["speech_text_cos"], stats["speech_text_r1"] = pooled_similarity(
                    encoder_out.detach(), encoder_out_lens, text_out.detach(), text_out_lens)

        stats["loss"] = loss.detach()
        # The weight ESPnet gives this batch when it combines processes and averages logged stats:
        # its source tokens, so that N processes optimise exactly what one does on their joint batch.
        loss, stats, weight = force_gatherable((loss, stats, num_tokens.detach()), loss.device)
        return loss, stats, weight

    def train(self, mode: bool = True) -> "CTCOTModel":
        """ESPnet's train/eval switch; a frozen text side stays in eval mode."""
        super().train(mode)
        if self.text_encoder_freeze and self.text_encoder is not None:
            self.text_frontend.eval()
            self.text_encoder.eval()
        return self

    def encode(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Speech side: (B, L[, F]) -> final encoder states (B, S, D) and lengths (B,)."""
        feats, feats_lengths = self.features(speech, speech_lengths)
        encoder_out, encoder_out_lens, _ = self.encoder(feats, feats_lengths)
        return encoder_out, encoder_out_lens

    def encode_text(self, src_text: torch.Tensor, src_text_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Text side: (B, N) token ids padded with -1 -> final states (B, N + 1, D) and lengths (B,).

        The input is ``<sos/eos>`` (the last token) followed by the tokens, exactly what ESPnet's MT
        model feeds its encoder, so an MT-initialised text encoder starts from the states the MT
        decoder was trained on; the ``<sos/eos>`` state takes part in the OT loss, as the paper's
        EOS state does.
        """
        if self.text_encoder is None:
            raise RuntimeError("this model has no text encoder (ot_weight is 0)")
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.text_encoder_freeze):
            text_out, text_out_lens = encode_as_mt(self.text_frontend, self.text_encoder, src_text,
                                                   src_text_lengths, self.vocab_size)
        if self.text_encoder_detach:
            text_out = text_out.detach()
        return text_out, text_out_lens


def _masked_mean(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, D) states, (B,) lengths -> (B, D) mean over the first ``lengths[b]`` states."""
    mask = (torch.arange(states.size(1), device=states.device)[None, :] < lengths[:, None]).to(states.dtype)
    return (states * mask[..., None]).sum(1) / lengths.clamp(min=1)[:, None].to(states.dtype)


def ctc_per_token(ctc: CTC, states: torch.Tensor, state_lengths: torch.Tensor, src_text: torch.Tensor,
                  src_text_lengths: torch.Tensor, num_tokens: torch.Tensor, stats: Dict[str, Optional[torch.Tensor]],
                  error_calculator: Optional[ErrorCalculator] = None) -> torch.Tensor:
    """The CTC loss summed over the batch and divided by its ``num_tokens`` source tokens (the paper's
    normalisation); logs ``loss_ctc``, ``ctc_infeasible`` and, given an error calculator, ``cer_ctc``.

    Args:
        ctc: ESPnet's CTC (its loss is the sum over the batch divided by B).
        states: (B, S, D) speech-encoder states; state_lengths: (B,).
        src_text: (B, N) source token ids, padded with -1; src_text_lengths: (B,).
        num_tokens: () the batch's source tokens N.
        stats: the logged statistics, updated.
        error_calculator: ESPnet's, for the greedy error rate (validation); None: not computed.
    """
    loss_ctc = ctc(states, state_lengths, src_text, src_text_lengths) * states.size(0) / num_tokens
    stats["loss_ctc"] = loss_ctc.detach()
    stats["ctc_infeasible"] = ctc_infeasible(src_text, src_text_lengths, state_lengths).float().mean()
    if error_calculator is not None:
        stats["cer_ctc"] = error_calculator(ctc.argmax(states).data.cpu(), src_text.cpu(), is_ctc=True)
    return loss_ctc


def ctc_infeasible(tokens: torch.Tensor, token_lengths: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
    """Which utterances CTC cannot align: fewer frames than tokens plus one blank per repeated token.

    Args:
        tokens: (B, N) token ids, padded with -1.
        token_lengths: (B,)
        frame_lengths: (B,) encoder frames.

    Returns:
        (B,) bool.
    """
    repeats = ((tokens[:, 1:] == tokens[:, :-1]) & (tokens[:, 1:] != -1)).sum(dim=1)
    return token_lengths + repeats > frame_lengths


def pooled_similarity(speech: torch.Tensor, speech_lengths: torch.Tensor, text: torch.Tensor,
                      text_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """How close a batch's speech and text states are, as stage 12 measures it on a whole set.

    Args:
        speech: (B, S, D) speech-encoder states; speech_lengths: (B,).
        text: (B, T, D) text-encoder states; text_lengths: (B,).

    Returns:
        The mean over utterances of the cosine between the utterance's mean-pooled speech and
        text states, and the fraction of utterances whose own text has the highest cosine among
        the B texts (speech-to-text retrieval top-1 within the batch; chance 1/B).
    """
    pooled_speech = torch.nn.functional.normalize(_masked_mean(speech.float(), speech_lengths), dim=-1)
    pooled_text = torch.nn.functional.normalize(_masked_mean(text.float(), text_lengths), dim=-1)
    similarity = pooled_speech @ pooled_text.T  # (B, B)
    own = similarity.diagonal()
    # Ties count against, as in ctcot.modality_gap.retrieval_ranks.
    top1 = (similarity >= own[:, None]).sum(1) == 1
    return own.mean(), top1.to(own.dtype).mean()
