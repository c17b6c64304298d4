r"""The modality gap between a pre-trained speech encoder and a text encoder, on a data set.

Le et al. (ICML 2023) pre-train the speech encoder with CTC and an optimal-transport loss that
pulls its states towards those of the MT model's text encoder, so that the ST decoder,
initialised from the MT decoder, meets familiar inputs. This module measures how close the two
encoders' outputs are, utterance by utterance, for any pre-training (CE, CTC, CTC+CE, CTC+OT),
from the speech and text states that :mod:`ctcot.encoders` computes.

With :math:`s_i` and :math:`t_i` the mean-pooled speech and text states of utterance
:math:`i` (of :math:`N`), the figures are

- ``sinkhorn``: the mean over utterances of the debiased Sinkhorn divergence between the speech
  and text state sequences (:func:`ctcot.ot.sinkhorn_divergence`, the OT loss's definition);
- ``cosine_paired`` :math:`= \frac1N \sum_i \cos(s_i, t_i)`, ``cosine_unpaired``
  :math:`= \frac{1}{N(N-1)} \sum_{i \ne j} \cos(s_i, t_j)` and their difference ``cosine_margin``;
- ``linear_cka``: linear CKA (Kornblith et al., ICML 2019) of the :math:`N \times D` matrices of
  :math:`s_i` and :math:`t_i`, invariant to rotations and isotropic scaling of either space;
- ``retrieval_top1`` / ``retrieval_top5``: the fraction of utterances whose own text is ranked
  first / within the first five among the :math:`N` texts by :math:`\cos(s_i, t_j)`.

:func:`analyse` also writes the per-utterance values, plots of the entropic transport plans of a
few utterances (:func:`ctcot.ot.transport_plan`) and a joint 2-D PCA of the pooled states.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from ctcot import InputError
from ctcot.encoders import (
    SPEECH_TASKS,
    TEXT_TASKS,
    Encoder,
    encode_speech,
    encode_text,
    length_batches,
    pad_sequences,
    read_data,
    text_state_labels,
    tokenize,
)
from ctcot.fileio import PathLike, atomic_write
from ctcot.ot import SinkhornOptions, sinkhorn_divergence, transport_plan

__all__ = [
    "mean_pool",
    "cosine_matrix",
    "cosine_scores",
    "retrieval_ranks",
    "linear_cka",
    "sinkhorn_per_utterance",
    "gap_figures",
    "plot_plan",
    "plot_projection",
    "analyse",
    "read_zero_shot",
    "format_summary",
]

logger = logging.getLogger(__name__)

# How the figures read, stored in gap.json beside them.
NOTES = {
    "sinkhorn": "mean over utterances of the debiased Sinkhorn divergence (ctcot.ot.sinkhorn_divergence, "
                "the CTC+OT loss's definition) between the speech states and the text states; >= 0, "
                "lower = closer; depends on the scale of the states",
    "cosine_paired": "mean cosine between the mean-pooled speech and text states of the same utterance; "
                     "higher = closer",
    "cosine_unpaired": "mean cosine between the pooled speech state of one utterance and the pooled text "
                       "state of another (all pairs i != j): the baseline of unrelated pairs",
    "cosine_margin": "cosine_paired - cosine_unpaired; > 0 when speech is closer to its own text than to "
                     "others', higher = better",
    "linear_cka": "linear CKA (Kornblith et al. 2019) between the N x D matrices of pooled speech and pooled "
                  "text states; in [0, 1], higher = more similar; invariant to rotations and isotropic "
                  "scaling, so it also compares encoders whose spaces were never tied",
    "retrieval_top1": "speech -> text retrieval by cosine of pooled states: fraction of utterances whose own "
                      "text ranks first among the n_utts texts (ties count against); compare with "
                      "retrieval_chance_top1; higher = better",
    "retrieval_top5": "as retrieval_top1, own text within the first 5; compare with retrieval_chance_top5",
    "per_utt.tsv": "frames: speech-encoder states (after subsampling); tokens: text-encoder states (the source "
                   "tokens, plus the <sos/eos> both text encoders prepend); sinkhorn, "
                   "cosine (paired), rank of the utterance's own text (1 = best)",
    "plan_<utt>.png": "entropic transport plan (ctcot.ot.transport_plan) of speech frames to source tokens; "
                      "a monotonic band is an alignment",
    "zero_shot": "the speech encoder with the MT model's decoder, no ST training (ctcot.zero_shot), decoded by "
                 "ESPnet's beam search and scored by sacreBLEU, per set; ~0 when the encoder's states do not look "
                 "like the MT encoder's",
    "projection.png": "2-D PCA fitted jointly on pooled speech and pooled text states; lines join pairs",
}


def mean_pool(states: Sequence[torch.Tensor]) -> np.ndarray:
    """(S_i, D) sequences -> (N, D) float64 matrix of their means."""
    return np.stack([s.double().mean(0).numpy() for s in states])


def cosine_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N, D), (M, D) -> (N, M) cosines (a zero vector has cosine 0 with everything)."""
    def normalise(m):
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms > 0, norms, 1.0)
    return normalise(x) @ normalise(y).T


def cosine_scores(similarity: np.ndarray) -> Tuple[float, float, float]:
    """Paired (diagonal) and unpaired (off-diagonal) mean cosines and their difference.

    Args:
        similarity: (N, N) cosines, N >= 2, pairs on the diagonal.

    Returns:
        cosine_paired, cosine_unpaired, cosine_margin.
    """
    n = similarity.shape[0]
    paired = float(np.trace(similarity)) / n
    unpaired = float(similarity.sum() - np.trace(similarity)) / (n * (n - 1))
    return paired, unpaired, paired - unpaired


def retrieval_ranks(similarity: np.ndarray) -> np.ndarray:
    """Rank of each row's own column (the diagonal) among its row, 1 = best.

    Ties count against: a row whose entries are all equal ranks its own column last, so a
    collapsed encoder gets chance-level or worse scores, never perfect ones.

    Args:
        similarity: (N, N) scores, higher = more similar.

    Returns:
        (N,) int ranks in [1, N].
    """
    own = np.diag(similarity)
    return (similarity >= own[:, None]).sum(1)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    r"""Linear centred kernel alignment of two representations of the same N examples.

    .. math::
        \mathrm{CKA}(X, Y) = \frac{\|Y_c^\top X_c\|_F^2}{\|X_c^\top X_c\|_F \, \|Y_c^\top Y_c\|_F}

    with :math:`X_c, Y_c` the column-centred matrices (Kornblith et al., "Similarity of Neural
    Network Representations Revisited", ICML 2019, Eq. 5). In [0, 1]; invariant to orthogonal
    transforms and isotropic scaling of either side; the dimensions may differ.

    Args:
        x: (N, D1) one representation. y: (N, D2) the other.

    Returns:
        The CKA; 0 when either side is constant over the examples.
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise InputError(f"expected (N, D1) and (N, D2) matrices, got {x.shape} and {y.shape}")
    xc = x - x.mean(0, keepdims=True)
    yc = y - y.mean(0, keepdims=True)
    denominator = np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)
    if denominator == 0:
        return 0.0
    return float(np.linalg.norm(yc.T @ xc) ** 2 / denominator)


def sinkhorn_per_utterance(speech: Sequence[torch.Tensor], text: Sequence[torch.Tensor], batch_size: int = 16, *,
                           options: SinkhornOptions = SinkhornOptions()) -> np.ndarray:
    """Sinkhorn divergence of each utterance's speech states (S_i, D) and text states (T_i, D): (N,)."""
    values = np.empty(len(speech))
    for batch in length_batches([len(s) for s in speech], batch_size):
        xs, x_lengths = pad_sequences([speech[i] for i in batch], 0.0)
        ys, y_lengths = pad_sequences([text[i] for i in batch], 0.0)
        values[batch] = sinkhorn_divergence(xs, x_lengths, ys, y_lengths, options=options).double().numpy()
    return values


def gap_figures(
    speech_states: Sequence[torch.Tensor], text_states: Sequence[torch.Tensor], batch_size: int = 16, *,
    options: SinkhornOptions = SinkhornOptions(),
) -> Tuple[Dict[str, Optional[float]], Optional[Dict[str, np.ndarray]]]:
    """The figures of the module docstring, from each utterance's (S_i, D) speech and (T_i, D') text states,
    the Sinkhorn divergence with ``options``.

    Returns:
        ``sinkhorn``, ``cosine_paired``, ``cosine_unpaired``, ``cosine_margin``, ``linear_cka``,
        ``retrieval_top1``, ``retrieval_top5``; and the per-utterance values: ``sinkhorn`` (N,),
        ``similarity`` (N, N) cosines and ``rank`` (N,). When D != D', only ``linear_cka`` is
        computed (the others are None) and there are no per-utterance values.
    """
    speech_dim, text_dim = speech_states[0].size(1), text_states[0].size(1)
    pooled_speech, pooled_text = mean_pool(speech_states), mean_pool(text_states)
    figures: Dict[str, Optional[float]] = dict(
        sinkhorn=None, cosine_paired=None, cosine_unpaired=None, cosine_margin=None,
        linear_cka=linear_cka(pooled_speech, pooled_text), retrieval_top1=None, retrieval_top5=None)
    if speech_dim != text_dim:
        # Only CKA compares spaces of different sizes; the rest needs one shared space.
        logger.warning("speech states have %d dimensions, text states %d: only linear_cka is computed",
                       speech_dim, text_dim)
        return figures, None
    divergences = sinkhorn_per_utterance(speech_states, text_states, batch_size, options=options)
    similarity = cosine_matrix(pooled_speech, pooled_text)
    paired, unpaired, margin = cosine_scores(similarity)
    ranks = retrieval_ranks(similarity)
    figures.update(
        sinkhorn=float(divergences.mean()), cosine_paired=paired, cosine_unpaired=unpaired, cosine_margin=margin,
        retrieval_top1=float((ranks <= 1).mean()), retrieval_top5=float((ranks <= 5).mean()),
    )
    return figures, dict(sinkhorn=divergences, similarity=similarity, rank=ranks)


def _file_name(utt: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", utt)


def plot_plan(path: Path, plan: np.ndarray, tokens: Sequence[str], title: str) -> None:
    """Heatmap of a (S, T) plan: speech frames on the x axis, the source tokens labelling the y axis."""
    from matplotlib.figure import Figure

    num_frames, num_tokens = plan.shape
    fig = Figure(figsize=(min(16.0, 4 + num_frames / 25), min(14.0, 2.5 + num_tokens / 6)))
    ax = fig.add_subplot()
    image = ax.imshow(plan.T, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(num_tokens))
    ax.set_yticklabels(tokens, fontsize=max(4.0, min(9.0, 400 / max(num_tokens, 1))))
    ax.set_xlabel(f"speech-encoder frame (of {num_frames})")
    ax.set_ylabel("source token")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="transport mass (each frame's column sums to 1/S)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_projection(path: Path, speech: np.ndarray, text: np.ndarray, num_pairs: int, title: str) -> None:
    """Joint 2-D PCA of pooled speech (N, D) and text (N, D) states; lines join ``num_pairs`` pairs."""
    from matplotlib.figure import Figure

    points = np.concatenate([speech, text])
    centred = points - points.mean(0, keepdims=True)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ components[:2].T
    explained = singular[:2] ** 2 / max(float((singular**2).sum()), 1e-30)
    n = len(speech)
    s_xy, t_xy = coords[:n], coords[n:]

    fig = Figure(figsize=(7, 6))
    ax = fig.add_subplot()
    for i in np.unique(np.linspace(0, n - 1, min(num_pairs, n)).astype(int)):
        ax.plot([s_xy[i, 0], t_xy[i, 0]], [s_xy[i, 1], t_xy[i, 1]], color="0.6", linewidth=0.5, zorder=1)
    ax.scatter(s_xy[:, 0], s_xy[:, 1], s=12, color="tab:blue", label="speech (pooled)", zorder=2)
    ax.scatter(t_xy[:, 0], t_xy[:, 1], s=12, color="tab:orange", label="text (pooled)", zorder=2)
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.1f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.1f}% of variance)" if len(explained) > 1 else "PC2")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def read_zero_shot(results: Mapping[str, PathLike]) -> Dict[str, Dict]:
    """BLEU, chrF, TER and sentences of each zero-shot result.json (``ctcot.bin.score_st``), by set name."""
    scores = {}
    for name, path in results.items():
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such zero-shot result of {name}")
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
            scores[name] = {k: result[k] for k in ("bleu", "chrf", "ter", "num_sentences")}
        except (ValueError, KeyError, TypeError) as err:
            raise InputError(f"{path}: not a result.json of ctcot.bin.score_st ({err!r})") from err
        scores[name]["result"] = str(path)
    return scores


def format_summary(result: Dict) -> str:
    """The main figures of a gap.json result, one per line."""
    def fmt(key):
        value = result.get(key)
        return "n/a" if value is None else f"{value:.4f}"
    zero_shot = [f"zero-shot {name:7s} BLEU {r['bleu']:.2f}  chrF {r['chrf']:.2f}  ({r['num_sentences']} sentences: "
                 f"this speech encoder with the MT decoder, no ST training)"
                 for name, r in (result.get("zero_shot") or {}).items()]
    return "\n".join([
        f"utterances       {result['n_utts']}",
        f"sinkhorn         {fmt('sinkhorn')}  (lower = closer)",
        f"cosine paired    {fmt('cosine_paired')}  unpaired {fmt('cosine_unpaired')}  "
        f"margin {fmt('cosine_margin')}  (higher = closer)",
        f"linear CKA       {fmt('linear_cka')}  (0-1, higher = more similar)",
        f"retrieval top-1  {fmt('retrieval_top1')}  (chance {fmt('retrieval_chance_top1')})",
        f"retrieval top-5  {fmt('retrieval_top5')}  (chance {fmt('retrieval_chance_top5')})",
        *zero_shot,
    ])


def analyse(
    speech: Encoder,
    text: Encoder,
    data_dir: PathLike,
    src_text: str,
    output_dir: PathLike,
    *,
    options: SinkhornOptions = SinkhornOptions(),
    batch_size: int = 16,
    num_plans: int = 4,
    num_pairs_shown: int = 50,
    max_utts: Optional[int] = None,
    zero_shot: Optional[Mapping[str, PathLike]] = None,
    device: str = "cpu",
) -> Dict:
    """Compute the figures, write gap.json, per_utt.tsv, plan_<utt>.png and projection.png.

    Args:
        speech: the speech model (:func:`load_encoder`, task ``asr`` or ``ctcot``).
        text: the text model (task ``mt`` or ``ctcot``).
        data_dir: data directory with feats.scp and the source transcripts.
        src_text: the transcript file's name in ``data_dir``, e.g. ``text.phn.en``.
        output_dir: where to write (created).
        options: those of :func:`ctcot.ot.sinkhorn_divergence` and :func:`ctcot.ot.transport_plan`
            (gap.json's ``ot``).
        batch_size: utterances per text-encoder and Sinkhorn batch (both exact in batches; the
            speech encoder gets one utterance at a time).
        num_plans: how many transport plans to plot (utterances spread over feats.scp).
        num_pairs_shown: how many pairs the projection joins with a line.
        max_utts: only the first ``max_utts`` utterances of feats.scp; None: all.
        zero_shot: scores of the zero-shot encoder swap (:mod:`ctcot.zero_shot`) to report beside
            the figures: set name -> result.json of ``ctcot.bin.score_st``.
        device: torch device of the encoders (the figures are computed on the CPU).

    Returns:
        The contents of gap.json.
    """
    start = time.time()
    data_dir, output_dir = Path(data_dir), Path(output_dir)
    if speech.task not in SPEECH_TASKS:
        raise InputError(f"the speech model must come from one of the tasks {SPEECH_TASKS}, got {speech.task}")
    if text.task not in TEXT_TASKS:
        raise InputError(f"the text model must come from one of the tasks {TEXT_TASKS}, got {text.task}")
    utts, texts = read_data(data_dir, src_text, max_utts)
    token_ids = tokenize(text, texts, data_dir / src_text)
    logger.info("%s: %d utterances; speech %s (%s), text %s (%s)", data_dir, len(utts), speech.model_file,
                speech.task, text.model_file, text.task)

    text_states = encode_text(text, [token_ids[u] for u in utts], batch_size, device)
    # One utterance at a time: batched states depend on the padding (see encode_speech).
    speech_states = encode_speech(speech, utts, data_dir / "feats.scp", 1, device)
    speech_dim, text_dim = speech_states[0].size(1), text_states[0].size(1)
    n = len(utts)
    output_dir.mkdir(parents=True, exist_ok=True)
    figures, per_utt = gap_figures(speech_states, text_states, batch_size, options=options)
    comparable = per_utt is not None
    if comparable:
        divergences, similarity, ranks = per_utt["sinkhorn"], per_utt["similarity"], per_utt["rank"]
    result: Dict = dict(
        n_utts=n,
        **figures,
        retrieval_chance_top1=1 / n, retrieval_chance_top5=min(1.0, 5 / n),
        mean_frames=float(np.mean([len(s) for s in speech_states])),
        mean_tokens=float(np.mean([len(t) for t in text_states])),
        speech_model=dict(config=speech.config, model_file=speech.model_file, task=speech.task, dim=speech_dim),
        text_model=dict(config=text.config, model_file=text.model_file, task=text.task, dim=text_dim),
        data_dir=str(data_dir), src_text=src_text,
        ot=asdict(options),
        zero_shot=read_zero_shot(zero_shot or {}),
        notes=NOTES,
    )

    rows = ["utt_id\tframes\ttokens\tsinkhorn\tcosine\trank"]
    for i, utt in enumerate(utts):
        values = (f"{divergences[i]:.6g}\t{similarity[i, i]:.6f}\t{ranks[i]}" if comparable else "NA\tNA\tNA")
        rows.append(f"{utt}\t{len(speech_states[i])}\t{len(text_states[i])}\t{values}")
    atomic_write(output_dir / "per_utt.tsv", ("\n".join(rows) + "\n").encode("utf-8"))

    if comparable:
        chosen = np.unique(np.linspace(0, n - 1, min(num_plans, n)).astype(int)) if num_plans > 0 else []
        for i in chosen:
            s, t = speech_states[i], text_states[i]
            plan = transport_plan(s[None], torch.tensor([len(s)]), t[None], torch.tensor([len(t)]),
                                  options=options)[0]
            tokens = text_state_labels(text, token_ids[utts[i]])
            if len(tokens) != len(t):  # an encoder that changes the length: number the states
                tokens = [str(j) for j in range(len(t))]
            plot_plan(output_dir / f"plan_{_file_name(utts[i])}.png", plan.double().numpy(), tokens,
                      f"{utts[i]}: transport plan (blur {options.blur}, position weight {options.position_weight}); "
                      f"sinkhorn {divergences[i]:.3g}")
        plot_projection(output_dir / "projection.png", mean_pool(speech_states), mean_pool(text_states),
                        num_pairs_shown,
                        f"{Path(speech.model_file).parent.name} vs {Path(text.model_file).parent.name}: "
                        f"pooled states, {n} utterances of {data_dir.name}")

    atomic_write(output_dir / "gap.json", (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    atomic_write(output_dir / "summary.txt", (format_summary(result) + "\n").encode("utf-8"))
    logger.info("wrote %s/{gap.json,per_utt.tsv,summary.txt,*.png} in %.1f s", output_dir, time.time() - start)
    return result
