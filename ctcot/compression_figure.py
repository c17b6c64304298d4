"""The CTC compression of one utterance as a picture: features -> greedy CTC labels per encoder frame
-> one vector per predicted unit (``--pretrain ctc_compress_ot``; :mod:`ctcot.compress_model`)."""
from __future__ import annotations

from typing import List, NamedTuple, Sequence

import numpy as np
import torch

from ctcot.compression import ctc_compress, greedy_labels
from ctcot.encoders import Encoder
from ctcot.fileio import PathLike

__all__ = ["CompressionView", "compress_utterance", "plot_compression"]


class CompressionView(NamedTuple):
    """What the figure shows of one utterance."""

    features: np.ndarray  # (T, F) the features the model reads (normalised)
    labels: np.ndarray  # (S,) greedy CTC label of each speech-encoder frame (0: blank)
    vectors: np.ndarray  # (S', D) the compressed vectors
    units: List[str]  # (S',) the unit of each vector (its run's label)
    token_list: List[str]


@torch.no_grad()
def compress_utterance(encoder: Encoder, features: np.ndarray) -> CompressionView:
    """Run the speech side of a ctc_compress_ot pre-training (:func:`ctcot.encoders.load_encoder`) on
    one utterance's (T, F) features."""
    model = encoder.model
    speech = torch.from_numpy(np.array(features, dtype=np.float32))[None]
    lengths = torch.tensor([speech.size(1)])
    feats, feat_lengths = model.features(speech, lengths)
    states, state_lengths = model.encoder.speech_states(feats, feat_lengths)
    log_probs = model.ctc.log_softmax(states)
    compressed = ctc_compress(states, state_lengths, log_probs, model.encoder.compression)
    labels = greedy_labels(log_probs, state_lengths)[0].numpy()
    runs = [int(label) for i, label in enumerate(labels) if i == 0 or label != labels[i - 1]]
    units = [model.token_list[label] for label in runs if label != 0 or model.encoder.compression != "mean"]
    if bool(compressed.empty[0]):
        units = ["(all blank)"]
    return CompressionView(feats[0].numpy(), labels, compressed.states[0].numpy(), units, model.token_list)


def plot_compression(view: CompressionView, output: PathLike, title: str = "", reference: Sequence[str] = ()) -> None:
    """Three panels on one time axis where possible: the features, the greedy CTC labels of the encoder
    frames (runs of one colour, blanks grey), and the compressed vectors with their units."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames, units = len(view.labels), len(view.units)
    fig, axes = plt.subplots(3, 1, figsize=(max(8.0, 0.22 * frames), 7.5),
                             gridspec_kw=dict(height_ratios=[2, 0.7, 2]))
    axes[0].imshow(view.features.T, origin="lower", aspect="auto", cmap="magma")
    axes[0].set_ylabel("feature bin")
    axes[0].set_title(title or "CTC compression")
    axes[0].set_xlabel(f"{len(view.features)} input frames")
    colours = [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i not in (14, 15)]  # no greys: blank is grey
    start = 0
    for i in range(1, frames + 1):
        if i == frames or view.labels[i] != view.labels[start]:
            label = int(view.labels[start])
            axes[1].axvspan(start, i, color="0.85" if label == 0 else colours[label % len(colours)], ec="white")
            if label != 0:
                axes[1].text((start + i) / 2, 0.5, view.token_list[label], ha="center", va="center", fontsize=8)
            start = i
    axes[1].set_xlim(0, frames)
    axes[1].set_yticks([])
    axes[1].set_xlabel(f"{frames} speech-encoder frames: greedy CTC label (grey: blank)")
    axes[2].imshow(view.vectors.T, origin="lower", aspect="auto", cmap="coolwarm")
    axes[2].set_xticks(range(units))
    axes[2].set_xticklabels(view.units, fontsize=8)
    axes[2].set_ylabel("dimension")
    ratio = frames / max(units, 1)
    what = f"{units} compressed vectors ({ratio:.1f} frames each; the adapter maps them to the MT encoder's input)"
    if reference:
        what += f"\ntranscript: {' '.join(reference)} ({len(reference)} units)"
    axes[2].set_xlabel(what)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
