"""Utterance-batched beam search for ESPnet ST models.

ESPnet's ``st_inference`` decodes one utterance at a time (its ``BatchBeamSearch`` batches the
hypotheses of that one utterance). Here the encoder runs on a padded batch of utterances (in
sub-batches of ``ENCODER_BATCH_FRAMES`` padded frames) and every decoder step scores the live
hypotheses of all utterances at once; each hypothesis attends to its own utterance's encoder
output, with the padded frames masked out. Hypotheses and
utterances leave the batch as they end.

The search follows ``espnet.nets.beam_search.BeamSearch.forward`` with ESPnet's ``BatchBeamSearch``
steps, with the scorers ``espnet2.bin.st_inference.Speech2Text`` builds (decoder weighted
``1 - ctc_weight``, length bonus weighted ``penalty``, CTC prefix scorer weighted ``ctc_weight``
with its pre-beam; no LM): the same top-k over each utterance's (hypotheses x vocabulary) scores,
the same length limits, the same ``<eos>`` forced at the maximum length, the same ``end_detect``
and the same retry with a smaller ``minlenratio`` when no hypothesis ended, so that it gives
ESPnet's hypotheses and scores (up to float rounding), utterance by utterance.
"""
import contextlib
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from espnet.nets.ctc_prefix_score import CTCPrefixScoreTH
from espnet.nets.e2e_asr_common import end_detect
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention
from espnet.nets.pytorch_backend.transformer.mask import subsequent_mask
from espnet2.asr.decoder.transformer_decoder import BaseTransformerDecoder
from torch.nn.utils.rnn import pad_sequence

from ctcot import InputError

# The encoder's sub-batches, in padded input frames. On 2 CPU cores, 16 utterances of 3-15 s encode
# 1.9-2.7x faster in sub-batches of 4,000 frames than in one batch (whose (B, H, T', T') attention
# scores outgrow the caches), and about as fast as in sub-batches of 2,000 to 10,000.
ENCODER_BATCH_FRAMES = 4000


@dataclass
class SearchHypothesis:
    """One ended hypothesis, as ESPnet's ``Hypothesis`` without scorer states.

    ``yseq``: token ids, starting with the primer (``[sos]`` by default) and ending with ``eos``
    (twice when ``eos`` was chosen at the maximum length, where ESPnet appends one more).
    ``score``: the weighted total. ``scores``: the unweighted total of each scorer with a non-zero
    weight (``decoder``, ``length_bonus``, ``ctc``), as ESPnet's ``Hypothesis.scores``.
    """

    yseq: List[int]
    score: float
    scores: Dict[str, float]

    @property
    def token_int(self) -> List[int]:
        """Output token ids as ``Speech2Text`` returns them: ``yseq[1:-1]`` without blanks (id 0)."""
        return [t for t in self.yseq[1:-1] if t != 0]


def _length_limit(ratio: float, enc_len: int) -> int:
    """ESPnet's maximum output length for one utterance of ``enc_len`` encoder frames."""
    if ratio == 0:
        return enc_len
    if ratio < 0:
        return -int(ratio)
    return max(1, int(ratio * enc_len))


def _min_length(ratio: float, enc_len: int) -> int:
    """ESPnet's minimum output length (hypotheses ending earlier are dropped)."""
    return -int(ratio) if ratio < 0 else int(ratio * enc_len)


def encode_as_alone(
    model, speech: torch.Tensor, speech_lengths: torch.Tensor, *, batch_frames: Optional[int] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``model.encode`` on a padded batch, giving each utterance the encoder frames it has alone.

    ESPnet's convolutional subsampling subsamples the padding mask by slicing, so an utterance
    padded in a batch keeps one or two more encoder frames (computed partly from padding) than it
    has alone, as ``Speech2Text`` encodes it, and every frame then attends to them. Here the input
    layer (``encoder.embed``) runs on each utterance alone, unpadded, and its outputs are padded
    with zeros under a mask of each utterance's own frames; the encoder layers then run on the
    batch. With a self-attention encoder (``TransformerEncoder``) every utterance gets its own
    encoding (up to float rounding); encoders that also mix frames otherwise (the convolution
    module of a Conformer) still see padded frames. Running the input layer utterance by utterance
    is also faster on CPUs: on a padded batch, its convolutions' outputs (about 1 GB for 16
    utterances of 10 s at d=512) no longer fit in the caches.

    Args:
        speech: (B, T, ...) padded input.
        speech_lengths: (B,) input lengths.
        batch_frames: encode consecutive sub-batches of at most this many padded input frames
            (utterances x their longest; one utterance at least); None: the whole batch at once.

    Returns:
        (B, T', D) encoder output and its (B,) lengths.
    """
    if batch_frames is not None:
        lengths, parts, start = speech_lengths.tolist(), [], 0
        while start < len(lengths):
            end = start + 1
            while end < len(lengths) and (end + 1 - start) * max(lengths[start : end + 1]) <= batch_frames:
                end += 1
            longest = max(lengths[start:end])
            parts.append(encode_as_alone(model, speech[start:end, :longest], speech_lengths[start:end]))
            start = end
        enc = pad_sequence([row for part, _ in parts for row in part], batch_first=True)
        return enc, torch.cat([part_lens for _, part_lens in parts])
    embed = getattr(model.encoder, "embed", None)
    if embed is None:
        return model.encode(speech, speech_lengths)
    layer_forward = type(embed).forward

    def each_alone(xs: torch.Tensor, masks: Optional[torch.Tensor] = None):
        """The input layer's forward: (B, T, F) input and (B, 1, T) mask -> (B, T', D) or ((B, T', D),
        positional embeddings) and (B, 1, T') mask."""
        if masks is None:  # input layers without a mask ("linear", "embed") do not subsample
            return layer_forward(embed, xs)
        alone = [layer_forward(embed, xs[b : b + 1, :n], masks[b : b + 1, :, :n])
                 for b, n in enumerate(masks.reshape(masks.size(0), -1).sum(-1).tolist())]
        frames = [(out[0] if isinstance(out, tuple) else out)[0] for out, _ in alone]  # (T'_b, D) each
        lens = torch.tensor([len(f) for f in frames], device=xs.device)
        out = pad_sequence(frames, batch_first=True)  # zeros after each utterance's frames
        out_masks = (torch.arange(out.size(1), device=xs.device) < lens.unsqueeze(1)).unsqueeze(1)
        if isinstance(alone[0][0], tuple):  # relative positional embeddings depend on the length only: the longest's
            out = (out, alone[int(lens.argmax())][0][1])
        return out, out_masks

    embed.forward = each_alone  # an instance attribute: the encoder's isinstance checks on embed still hold
    try:
        return model.encode(speech, speech_lengths)
    finally:
        del embed.forward


@dataclass
class _StepHypotheses:
    """The running hypotheses at a decoder step, grouped by utterance, as the cached attentions need them.

    ``utt``: (N,) the utterance of each hypothesis (in order: each utterance's hypotheses are adjacent).
    ``previous``: (N,) the row of each hypothesis's prefix at the previous step; None at the first.
    ``live``: (U,) the utterances with hypotheses; ``offsets``: (U,) the first row of each;
    ``group``, ``rank``: (N,) each hypothesis's index in ``live`` and within its utterance.
    """

    utt: torch.Tensor
    previous: Optional[torch.Tensor]
    live: torch.Tensor
    offsets: torch.Tensor
    group: torch.Tensor
    rank: torch.Tensor
    max_count: int

    @classmethod
    def of(cls, utt: torch.Tensor, previous: Optional[torch.Tensor]) -> "_StepHypotheses":
        live, counts = torch.unique_consecutive(utt, return_counts=True)
        offsets = torch.cumsum(counts, 0) - counts
        rank = torch.arange(len(utt), device=utt.device) - torch.repeat_interleave(offsets, counts)
        group = torch.repeat_interleave(torch.arange(len(live), device=utt.device), counts)
        return cls(utt, previous, live, offsets, group, rank, int(counts.max()))


class _CachedSelfAttention(torch.nn.Module):
    """A decoder layer's self-attention with each position's keys and values projected once.

    With a cache, ESPnet's decoder layer computes the last position's query only, but projects the
    keys and values of all positions again at every step: two (N L, D) x (D, D) products per layer,
    quadratic in the output length, the largest part of a decoder step from about 6 tokens on. Here
    the keys and values of earlier positions are kept from the step that made them, and follow the
    hypotheses (``hyps.previous``). The arithmetic is ``MultiHeadedAttention.forward``'s.

    Args:
        attn: the layer's ``MultiHeadedAttention`` (without SDPA or flash attention).
    """

    def __init__(self, attn: MultiHeadedAttention):
        super().__init__()
        self.attn = attn
        self.hyps: Optional[_StepHypotheses] = None  # set per step
        self.k: Optional[torch.Tensor] = None  # (N, H, L - 1, d_k): the previous step's keys
        self.v: Optional[torch.Tensor] = None  # (N, H, L - 1, d_k)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value, mask: torch.Tensor) -> torch.Tensor:
        """(N, L', D) queries (L' = 1, or the primer's length at the first step), (N, L, D) keys
        (the values are the same tensor), (N, L', L) mask -> (N, L', D)."""
        attn, n_hyps = self.attn, query.size(0)
        done = 0 if self.k is None else self.k.size(2)
        new = key[:, done:]  # the positions not projected yet: the last, or all at the first step
        k = attn.k_norm(attn.linear_k(new).view(n_hyps, -1, attn.h, attn.d_k).transpose(1, 2))
        v = attn.linear_v(new).view(n_hyps, -1, attn.h, attn.d_k).transpose(1, 2)
        if self.k is not None:
            previous = self.hyps.previous
            k, v = torch.cat([self.k[previous], k], dim=2), torch.cat([self.v[previous], v], dim=2)
        self.k, self.v = k, v
        q = attn.q_norm(attn.linear_q(query).view(n_hyps, -1, attn.h, attn.d_k).transpose(1, 2))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(attn.d_k)  # (N, H, L', L)
        return attn.forward_attention(v, scores, mask)


class _CachedSourceAttention(torch.nn.Module):
    """A decoder layer's source attention with keys and values projected once per utterance.

    ESPnet's decoder projects the encoder output again for every hypothesis at every step (beam x
    output length times the same two (T, D) x (D, D) products per layer). Here each utterance's
    keys and values are computed once, and the hypotheses of an utterance attend to them together:
    the queries are grouped by utterance, (U, K, D), so that nothing of size (N, T, D) is formed.
    The arithmetic is ``MultiHeadedAttention.forward``'s.

    Args:
        attn: the layer's ``MultiHeadedAttention`` (without SDPA or flash attention).
        memory: (U, T, D) encoder output of the utterances.
    """

    def __init__(self, attn: MultiHeadedAttention, memory: torch.Tensor):
        super().__init__()
        self.attn = attn
        n_utts = memory.size(0)
        # (U, H, T, d_k), as forward_qkv shapes and normalises them.
        self.k = attn.k_norm(attn.linear_k(memory).view(n_utts, -1, attn.h, attn.d_k).transpose(1, 2))
        self.v = attn.linear_v(memory).view(n_utts, -1, attn.h, attn.d_k).transpose(1, 2)
        self.hyps: Optional[_StepHypotheses] = None  # set per step
        self._live: Optional[torch.Tensor] = None  # the utterances of _k and _v
        self._k, self._v = self.k, self.v

    def forward(self, query: torch.Tensor, key, value, mask: torch.Tensor) -> torch.Tensor:
        """(N, L, D) queries, (N, 1, T') mask -> (N, L, D); ``key`` and ``value`` are not used."""
        attn, hyps = self.attn, self.hyps
        if self._live is None or not torch.equal(hyps.live, self._live):  # utterances ended since the last step
            self._live, self._k, self._v = hyps.live, self.k[hyps.live], self.v[hyps.live]
        n_utts, length = len(hyps.live), query.size(1)  # length: 1, or the primer's
        q = attn.linear_q(query).view(len(hyps.utt), length, attn.h, attn.d_k)  # (N, L, H, d_k)
        grouped = q.new_zeros(n_utts, hyps.max_count, length, attn.h, attn.d_k)
        grouped[hyps.group, hyps.rank] = q
        q = grouped.view(n_utts, hyps.max_count * length, attn.h, attn.d_k).transpose(1, 2)
        q = attn.q_norm(q)  # (U, H, K L, d_k)
        frames = mask.size(-1)
        scores = torch.matmul(q, self._k[:, :, :frames].transpose(-2, -1)) / math.sqrt(attn.d_k)  # (U, H, K L, T')
        out = attn.forward_attention(self._v[:, :, :frames], scores, mask[hyps.offsets])  # (U, K L, D)
        return out.view(n_utts, hyps.max_count, length, -1)[hyps.group, hyps.rank]  # (N, L, D)


def _plain_attention(attn) -> bool:
    """Whether ``attn`` computes as ``MultiHeadedAttention.forward`` without SDPA or flash attention."""
    return (type(attn) is MultiHeadedAttention and not getattr(attn, "use_sdpa", False)
            and not attn.use_flash_attn)


@contextlib.contextmanager
def _attention_cached(decoder: BaseTransformerDecoder, memory: torch.Tensor):
    """Swap each decoder layer's self-attention for a :class:`_CachedSelfAttention` and its source
    attention for a :class:`_CachedSourceAttention` on ``memory`` (U, T, D) while the block runs;
    yields them, or an empty list where a layer's attention is of another kind (then nothing is
    swapped and ESPnet's layers compute as they are)."""
    layers = list(decoder.decoders)
    if not all(_plain_attention(getattr(layer, name, None)) for layer in layers for name in ("self_attn", "src_attn")):
        yield []
        return
    originals = [(layer.self_attn, layer.src_attn) for layer in layers]
    cached = []
    for layer in layers:
        layer.self_attn = _CachedSelfAttention(layer.self_attn)
        layer.src_attn = _CachedSourceAttention(layer.src_attn, memory)
        cached += [layer.self_attn, layer.src_attn]
    try:
        yield cached
    finally:
        for layer, (self_attn, src_attn) in zip(layers, originals):
            layer.self_attn, layer.src_attn = self_attn, src_attn


def _search(
    decoder: BaseTransformerDecoder,
    enc: torch.Tensor,
    enc_lens: torch.Tensor,
    *,
    beam_size: int,
    weights: Dict[str, float],
    maxlenratio: float,
    minlenratio: float,
    primer: Sequence[int],
    eos: int,
    ctc_logp: Optional[torch.Tensor] = None,
    cached_attention: Sequence[torch.nn.Module] = (),
) -> List[List[SearchHypothesis]]:
    """One pass of ESPnet's ``BeamSearch.forward`` (without the retry) for every utterance.

    Args:
        decoder: the ST model's decoder (scores with ``forward_one_step``).
        enc: (B, T, D) padded encoder output.
        enc_lens: (B,) encoder output lengths.
        weights: scorer weights, ``decoder``, ``length_bonus`` and ``ctc`` (left out where 0).
        ctc_logp: (B, T, V) CTC log-probabilities, for the ``ctc`` scorer.
        cached_attention: the decoder layers' cached attentions on ``enc`` (:func:`_attention_cached`),
            or none.

    Returns:
        For each utterance, its ended hypotheses sorted by score, best first (possibly none).
    """
    device, dtype = enc.device, enc.dtype
    n_utts = enc.size(0)
    lens = enc_lens.tolist()
    maxlens = torch.tensor([_length_limit(maxlenratio, n) for n in lens], device=device)
    minlens = [_min_length(minlenratio, n) for n in lens]
    # (B, 1, T): True on valid frames, the memory mask of the decoder's source attention.
    enc_mask = ~make_pad_mask(enc_lens, maxlen=enc.size(1)).to(device).unsqueeze(1)
    n_vocab = decoder.output_layer.out_features
    ended: List[List[SearchHypothesis]] = [[] for _ in range(n_utts)]

    # The running hypotheses of all utterances, flat (N,), grouped by utterance, each group in
    # ESPnet's order (best first). All have the same length at a given step.
    utt = torch.nonzero(maxlens > 0).view(-1)  # (N,) utterance of each hypothesis
    yseq = torch.tensor(list(primer), dtype=torch.long, device=device).repeat(len(utt), 1)  # (N, L)
    score = torch.zeros(len(utt), dtype=dtype, device=device)
    scores = {k: torch.zeros(len(utt), dtype=dtype, device=device) for k in weights}
    cache: Optional[List[torch.Tensor]] = None  # per decoder layer: (N, L - 1, D)
    # CTC prefix scorer state (CTCPrefixScorer's, for CTCPrefixScoreTH): forward log-probabilities
    # (T, 2, N) and prefix scores (N,); None before the first step.
    ctc_r: Optional[torch.Tensor] = None
    ctc_s: Optional[torch.Tensor] = None
    # ESPnet's pre-beam (pre_beam_score_key="full"): CTC scores only each hypothesis's best tokens.
    pre_beam = int(1.5 * beam_size)
    previous: Optional[torch.Tensor] = None  # (N,) the row of each hypothesis's prefix at the last step
    i = 0
    while len(utt) > 0:
        hyps = _StepHypotheses.of(utt, previous)
        # Only the frames of the longest live utterance are needed; the rest is masked anyway.
        n_frames = int(enc_lens[utt].max())
        memory_mask = enc_mask[utt, :, :n_frames]
        for attn in cached_attention:
            attn.hyps = hyps
        # With cached attention the memory is not read: the utterances' own, not one per hypothesis.
        memory = enc[:, :n_frames] if cached_attention else enc[utt, :n_frames]
        ys_mask = subsequent_mask(yseq.size(1), device=device).unsqueeze(0)
        logp, cache = decoder.forward_one_step(yseq, ys_mask, memory, memory_mask, cache=cache)
        step_scores = {"decoder": logp}  # (N, V) per scorer, in Speech2Text's scorer order
        if "length_bonus" in weights:
            step_scores["length_bonus"] = torch.ones_like(logp)
        # Same additions in the same order as BatchBeamSearch.search, for the same float rounding.
        weighted = torch.zeros(len(utt), n_vocab, dtype=dtype, device=device)
        for k, s in step_scores.items():
            weighted += weights[k] * s
        if ctc_logp is not None:
            part_ids = weighted.topk(pre_beam, dim=-1)[1] if pre_beam < n_vocab else None  # (N, P)
            # A scorer over N one-hypothesis "utterances" (the state is per hypothesis anyway), as
            # utterances have different numbers of live hypotheses. It pads frames past each length.
            ctc_prefix = CTCPrefixScoreTH(ctc_logp[utt], enc_lens[utt], 0, eos)
            ctc_state = None if ctc_r is None else (ctc_r, ctc_s.unsqueeze(1).expand(-1, n_vocab), 0, 0)
            step_scores["ctc"], (ctc_r, ctc_psi, _, _, ctc_idmap) = ctc_prefix(yseq, ctc_state, part_ids)
            weighted += weights["ctc"] * step_scores["ctc"]
        weighted += score.unsqueeze(1)

        # ESPnet's batch_beam per utterance: top-k over its (hypotheses x vocabulary) scores,
        # flattened hypothesis-major. Groups are padded to the largest with -inf rows.
        live = hyps.live
        padded = weighted.new_full((len(live), hyps.max_count, n_vocab), float("-inf"))
        padded[hyps.group, hyps.rank] = weighted
        top_ids = padded.view(len(live), -1).topk(beam_size, dim=1)[1]  # (U, K)
        prev = (hyps.offsets.unsqueeze(1) + torch.div(top_ids, n_vocab, rounding_mode="trunc")).view(-1)
        token = (top_ids % n_vocab).view(-1)  # (U * K,)

        utt = torch.repeat_interleave(live, beam_size)
        yseq = torch.cat([yseq[prev], token.unsqueeze(1)], dim=1)
        score = weighted[prev, token]
        scores = {k: scores[k][prev] + step_scores[k][prev, token] for k in weights}

        # ESPnet's post_process: <eos> is appended to every hypothesis at the last step.
        forced = maxlens[utt] - 1 == i
        is_eos = (token == eos) | forced
        utt_list, forced_list = utt.tolist(), forced.tolist()
        for n in torch.nonzero(is_eos).view(-1).tolist():
            b = utt_list[n]
            if i >= minlens[b]:
                ended[b].append(
                    SearchHypothesis(
                        yseq=yseq[n].tolist() + ([eos] if forced_list[n] else []),
                        score=float(score[n]),
                        scores={k: float(v[n]) for k, v in scores.items()},
                    )
                )
        keep = ~is_eos
        if maxlenratio == 0.0:
            for b in live.tolist():
                if end_detect([{"yseq": h.yseq, "score": h.score} for h in ended[b]], i):
                    keep &= utt != b
        kept = torch.nonzero(keep).view(-1)
        utt, yseq, score = utt[kept], yseq[kept], score[kept]
        scores = {k: v[kept] for k, v in scores.items()}
        # The states follow the kept hypotheses' prefixes, gathered once.
        previous, token = prev[kept], token[kept]
        cache = [c[previous] for c in cache]
        if ctc_logp is not None:
            # CTCPrefixScorer.select_state: the forward probabilities of the chosen token.
            ctc_r = ctc_r[:, :, previous, token if ctc_idmap is None else ctc_idmap[previous, token]]
            ctc_s = ctc_psi[previous, token]
        i += 1
    # sorted() is stable, as in ESPnet: equal scores keep the order in which hypotheses ended.
    return [sorted(hyps, key=lambda h: h.score, reverse=True) for hyps in ended]


@torch.no_grad()
def batch_beam_search(
    model,
    speech: torch.Tensor,
    speech_lengths: torch.Tensor,
    *,
    beam_size: int,
    penalty: float = 0.0,
    maxlenratio: float = 0.0,
    minlenratio: float = 0.0,
    nbest: int = 1,
    ctc_weight: float = 0.0,
    primer: Optional[Sequence[int]] = None,
    encoder_batch_frames: Optional[int] = ENCODER_BATCH_FRAMES,
) -> List[List[SearchHypothesis]]:
    """Beam-search a batch of utterances with an ESPnet ST model, as ``Speech2Text`` does one by one.

    Args:
        model: an ``espnet2.st.espnet_model.ESPnetSTModel`` in eval mode with an attention
            decoder (``BaseTransformerDecoder``).
        speech: (B, T, F) padded input (features, or waveforms (B, T) with a frontend).
        speech_lengths: (B,) input lengths.
        beam_size, penalty, maxlenratio, minlenratio, nbest: ``Speech2Text``'s options.
        ctc_weight: weight in [0, 1) of ESPnet's CTC prefix scorer on ``model.st_ctc`` (the decoder
            gets ``1 - ctc_weight``), with ESPnet's pre-beam of ``int(1.5 * beam_size)`` tokens.
        primer: the tokens every hypothesis starts with (ESPnet's hypothesis primer), e.g.
            ``[sos, tag_id]``; ``[sos]`` by default.
        encoder_batch_frames: the encoder runs on sub-batches of at most this many padded input
            frames (:func:`encode_as_alone`); None: on the whole batch at once.

    Returns:
        For each utterance in input order, its ``nbest`` best hypotheses, best first; empty where
        ESPnet gives no result (no hypothesis ended even at ``minlenratio`` below 0.1).
    """
    if not 0 <= ctc_weight < 1:
        raise InputError(f"ctc_weight must be in [0, 1), got {ctc_weight}")
    if ctc_weight > 0 and getattr(model, "st_ctc", None) is None:
        raise InputError("ctc_weight > 0 needs the model's st_ctc (trained with st_mtlalpha > 0)")
    if model.training:
        raise InputError("the model must be in eval mode (dropout would change the scores)")
    if model.use_multidecoder or model.st_use_transducer_decoder:
        raise InputError("only attention-decoder ST models (no multi-decoder, no transducer) are supported "
                         "by the batched decoding: decode it with --inference_batch_bins 0 (ESPnet's)")
    if not isinstance(model.decoder, BaseTransformerDecoder):
        raise InputError(f"decoder {type(model.decoder).__name__} is not a BaseTransformerDecoder: decode it with "
                         "--inference_batch_bins 0 (ESPnet's)")
    n_vocab = model.decoder.output_layer.out_features
    if not 0 < beam_size <= n_vocab:
        raise InputError(f"beam_size must be in [1, {n_vocab}], got {beam_size}")
    # Speech2Text's scorers; BeamSearch leaves out those weighted 0.
    weights = {
        k: w for k, w in (("decoder", 1.0 - ctc_weight), ("length_bonus", penalty), ("ctc", ctc_weight)) if w != 0
    }
    primer = [model.sos] if primer is None else list(primer)

    enc, enc_lens = encode_as_alone(model, speech, speech_lengths, batch_frames=encoder_batch_frames)
    ctc_logp = model.st_ctc.log_softmax(enc) if ctc_weight > 0 else None  # (B, T', V)
    results: List[List[SearchHypothesis]] = [[] for _ in range(enc.size(0))]
    todo = torch.arange(enc.size(0))
    while len(todo) > 0:
        with _attention_cached(model.decoder, enc[todo]) as cached_attention:
            found = _search(
                model.decoder, enc[todo], enc_lens[todo], beam_size=beam_size, weights=weights,
                maxlenratio=maxlenratio, minlenratio=minlenratio, primer=primer, eos=model.eos,
                ctc_logp=None if ctc_logp is None else ctc_logp[todo], cached_attention=cached_attention,
            )
        for b, hyps in zip(todo.tolist(), found):
            results[b] = hyps[:nbest]
        # BeamSearch.forward's retry when nothing ended: again with minlenratio lowered by 0.1.
        if minlenratio < 0.1:
            break
        todo = todo[torch.tensor([len(hyps) == 0 for hyps in found], dtype=torch.bool)]
        minlenratio = max(0.0, minlenratio - 0.1)
    return results
