r"""CTC compression: one vector per predicted unit, from the CTC posteriors of each frame.

Given encoder states :math:`h_1..h_T` of an utterance (only the first ``lengths[b]`` real) and the
CTC log-posteriors :math:`\log p_t(v)` computed from them, each frame gets its greedy label
:math:`\hat y_t = \arg\max_v p_t(v)` (padded frames are forced to the blank). Consecutive frames with
the same label form a *run* :math:`R`; each kept run becomes one vector

.. math::
    c_R = \frac{\sum_{t \in R} w_t\, h_t}{\sum_{t \in R} w_t}

Modes (:data:`MODES`):

- ``mean``: ZeroSwot's character step (Tsiamas et al., ACL 2024): blank runs are **dropped**, the
  others mean-pooled (:math:`w_t = 1`), so there is one vector per predicted unit;
- ``avg_keep_blank``: Gaido et al. (EACL 2021)'s "avg": blank runs are kept, every run mean-pooled;
- ``weighted``: Gaido et al.'s "weighted": blank runs kept, :math:`w_t = p_t(\hat y_R)`, the
  posterior of the run's label (detached).

An utterance with no kept run (``mean``: every frame blank) keeps **one vector, the mean of all its
real frames**, so that nothing downstream sees an empty sequence; :func:`ctc_compress` says how many.

Gradient: the labels come from an argmax and the weights are detached, so no gradient reaches the
CTC posteriors through the compression; the pooled states get the gradient of their vectors.
Batched and padding-exact: each utterance's vectors equal those of the utterance alone.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ctcot import InputError

__all__ = ["MODES", "Compressed", "ctc_compress", "greedy_labels"]

MODES = ("mean", "avg_keep_blank", "weighted")


class Compressed(NamedTuple):
    """The result of :func:`ctc_compress`."""

    states: torch.Tensor  # (B, T', D): one vector per kept run, zero after lengths[b]
    lengths: torch.Tensor  # (B,) vectors per utterance, >= 1 for every utterance with a frame
    empty: torch.Tensor  # (B,) bool: no run was kept, the utterance's one vector is the mean of its frames


def greedy_labels(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> torch.Tensor:
    """(B, T, V) CTC log-posteriors, (B,) lengths -> (B, T) greedy labels, ``blank`` on padding."""
    labels = log_probs.argmax(dim=-1)
    real = torch.arange(labels.size(1), device=labels.device)[None, :] < lengths.to(labels.device)[:, None]
    return labels.masked_fill(~real, blank)


def ctc_compress(states: torch.Tensor, lengths: torch.Tensor, log_probs: torch.Tensor, mode: str = "mean",
                 blank: int = 0) -> Compressed:
    """Pool each run of equal greedy CTC labels into one vector (see the module docstring).

    Args:
        states: (B, T, D) encoder states.
        lengths: (B,) real frames per utterance.
        log_probs: (B, T, V) CTC log-posteriors of the same frames.
        mode: One of :data:`MODES`.
        blank: Index of the CTC blank.

    Returns:
        :class:`Compressed`: (B, T', D) vectors with T' = max(lengths'), their (B,) lengths, and which
        utterances were left empty.
    """
    if mode not in MODES:
        raise InputError(f"unknown CTC compression {mode!r}: expected one of {', '.join(MODES)}")
    if states.shape[:2] != log_probs.shape[:2]:
        raise InputError(f"states {tuple(states.shape)} and CTC log-posteriors {tuple(log_probs.shape)} "
                         "must have the same batch and frame sizes")
    batch, frames, dim = states.shape
    if lengths.shape != (batch,) or bool((lengths > frames).any()):
        raise InputError(f"lengths {lengths.tolist()} must be {batch} numbers, none above the {frames} frames")
    device = states.device
    lengths = lengths.to(device)
    real = torch.arange(frames, device=device)[None, :] < lengths[:, None]  # (B, T)
    with torch.no_grad():
        labels = greedy_labels(log_probs, lengths, blank)  # (B, T)
        new_run = torch.ones_like(real)
        new_run[:, 1:] = labels[:, 1:] != labels[:, :-1]
        kept = real & (labels != blank) if mode == "mean" else real  # frames that belong to a kept run
        # Run index of each kept frame among its utterance's kept runs.
        run = torch.cumsum(new_run & kept, dim=1) - 1  # (B, T); a run's frames are contiguous
        out_lengths = (new_run & kept).sum(dim=1)  # (B,)
        empty = (out_lengths == 0) & (lengths > 0)
        # An utterance with no kept run: all its real frames in one vector.
        kept = torch.where(empty[:, None], real, kept)
        run = torch.where(empty[:, None], torch.zeros_like(run), run)
        out_lengths = torch.where(empty, torch.ones_like(out_lengths), out_lengths)
        if mode == "weighted":
            weights = log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1).exp()
        else:
            weights = torch.ones(batch, frames, device=device, dtype=states.dtype)
        weights = weights.to(states.dtype) * kept
        width = int(out_lengths.max()) if batch else 0
        # Frames that are not kept go to a slot past the last vector, then cut away.
        slot = torch.where(kept, run, torch.full_like(run, width))
        flat = (slot + torch.arange(batch, device=device)[:, None] * (width + 1)).reshape(-1)  # (B*T,)
        totals = weights.new_zeros(batch * (width + 1)).index_add_(0, flat, weights.reshape(-1))
    pooled = states.new_zeros(batch * (width + 1), dim).index_add_(
        0, flat, (states * weights.unsqueeze(-1)).reshape(-1, dim))
    pooled = pooled / totals.clamp(min=torch.finfo(totals.dtype).tiny).unsqueeze(-1)
    pooled = pooled.view(batch, width + 1, dim)[:, :width]
    return Compressed(pooled, out_lengths, empty)
