"""Gap curves: the modality-gap figures of a pre-training's model after each of its epochs.

For every ``<N>epoch.pth`` of a pre-training experiment (kept by ``--keep_epoch_models``, see
:mod:`ctcot.trainer`), :func:`gap_curve` computes the figures of :func:`ctcot.modality_gap.gap_figures`
against a text encoder (the MT encoder in ``st.sh`` stage 12) and, where asked, the zero-shot BLEU of
that epoch's speech encoder with the MT decoder (:mod:`ctcot.zero_shot`) on the first utterances of
a test set. :func:`write_curve` writes them to ``curves.tsv`` and ``curves.png``; :func:`plot_curves`
draws several pre-trainings' curves on one figure (the ablation summary's ``gap_curves.png``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch

from ctcot import InputError
from ctcot.data_dir import read_kv
from ctcot.encoders import Encoder, encode_speech
from ctcot.fileio import PathLike, atomic_write
from ctcot.modality_gap import gap_figures
from ctcot.ot import SinkhornOptions
from ctcot.scoring import score_translations

__all__ = ["CURVE_FIGURES", "ZeroShotData", "gap_curve", "analyse_curve", "tsv_cell", "write_curve", "read_curve",
           "plot_curves"]

logger = logging.getLogger(__name__)

# The columns of curves.tsv after epoch and model, and how each plot is labelled.
CURVE_FIGURES = {
    "sinkhorn": "Sinkhorn to the text states ↓",
    "linear_cka": "linear CKA ↑",
    "retrieval_top1": "speech→text retrieval R@1 ↑",
    "cosine_margin": "cosine margin (own − other text) ↑",
    "zero_shot_bleu": "zero-shot BLEU (MT decoder) ↑",
}


@dataclass
class ZeroShotData:
    """What the zero-shot curve decodes: a swap model and the first ``max_utts`` utterances of a set.

    Attributes:
        st_config, st_model: the swap model (``ctcot.bin.zero_shot``), whose speech side is replaced
            by each epoch's.
        decode_options: ESPnet Speech2Text options (:func:`ctcot.zero_shot.load_decode_config`).
        data_dir: a data directory with feats.scp and the reference translations.
        ref: the references' file name in ``data_dir``, e.g. ``text.tc.de``.
        max_utts: how many utterances of feats.scp to decode.

    The curve's points are cheap estimates (few utterances, by default greedy): the zero-shot BLEU
    of stage 12 (whole test sets, the decoding config's beam) is the number to report.
    """

    st_config: PathLike
    st_model: PathLike
    decode_options: Mapping
    data_dir: PathLike
    ref: str
    max_utts: int = 50


def gap_curve(speech: Encoder, epoch_files: Mapping[int, PathLike], utts: Sequence[str], feats_scp: PathLike,
              text_states: Sequence[torch.Tensor], output_dir: PathLike, *, batch_size: int = 16,
              options: SinkhornOptions = SinkhornOptions(), zero_shot: Optional[ZeroShotData] = None,
              device: str = "cpu") -> List[Dict]:
    """The figures of each epoch's speech encoder against fixed text states.

    Args:
        speech: the pre-training's model (:func:`ctcot.encoders.load_encoder`); each epoch's
            weights are loaded into it in turn.
        epoch_files: epoch number -> checkpoint (:func:`ctcot.trainer.epoch_models`).
        utts, feats_scp: the utterances whose speech is encoded (one at a time, as stage 12 does).
        text_states: their (T_i, D) text-encoder states, in the order of ``utts``.
        output_dir: where the zero-shot hypotheses go (``zero_shot/epoch<N>.txt``).
        batch_size: utterances per Sinkhorn batch.
        options: the Sinkhorn divergence's options.
        zero_shot: also decode with each epoch's encoder and the MT decoder; None: no zero-shot BLEU.
        device: torch device.

    Returns:
        One row per epoch, in order: ``epoch``, ``model``, the figures of :data:`CURVE_FIGURES`
        (``zero_shot_bleu`` None without ``zero_shot``).
    """
    if not epoch_files:
        raise InputError(f"no model of any epoch for {speech.config}: train with keep_epoch_models: true")
    decoder = features = refs = None
    if zero_shot is not None:
        import kaldiio

        from ctcot.zero_shot import SwapDecoder

        data_dir = Path(zero_shot.data_dir)
        zs_utts = list(read_kv(data_dir / "feats.scp"))[: zero_shot.max_utts]
        all_refs = read_kv(data_dir / zero_shot.ref)
        refs = {u: all_refs[u] for u in zs_utts}
        loader = kaldiio.load_scp(str(data_dir / "feats.scp"))
        features = [torch.from_numpy(np.array(loader[u], dtype=np.float32)) for u in zs_utts]
        decoder = SwapDecoder(zero_shot.st_config, zero_shot.st_model, zero_shot.decode_options, device)
        zs_dir = Path(output_dir) / "zero_shot"
        zs_dir.mkdir(parents=True, exist_ok=True)
        ref_path = zs_dir / "ref.txt"
        atomic_write(ref_path, "".join(f"{u} {refs[u]}\n" for u in zs_utts).encode("utf-8"))

    rows = []
    for epoch, path in epoch_files.items():
        state = torch.load(path, map_location=device, weights_only=True)
        result = speech.model.load_state_dict(state, strict=False)
        if result.missing_keys:
            raise InputError(f"{path} does not fit the model of {speech.config}: "
                             f"{len(result.missing_keys)} parameters missing, e.g. {result.missing_keys[:3]}")
        speech_states = encode_speech(speech, utts, feats_scp, 1, device)
        figures, _ = gap_figures(speech_states, text_states, batch_size, options=options)
        row: Dict = dict(epoch=epoch, model=str(path), **{k: figures.get(k) for k in CURVE_FIGURES})
        if decoder is not None:
            decoder.load_speech_side(path)
            hyps = decoder.translate(features)
            hyp_path = zs_dir / f"epoch{epoch}.txt"
            atomic_write(hyp_path, "".join(f"{u} {h}\n" for u, h in zip(refs, hyps)).encode("utf-8"))
            row["zero_shot_bleu"] = score_translations(hyp_path, ref_path)["bleu"]
        logger.info("epoch %d: %s", epoch, ", ".join(f"{k} {v:.4g}" for k, v in row.items()
                                                     if k in CURVE_FIGURES and v is not None))
        rows.append(row)
    return rows


def tsv_cell(value) -> str:
    """A value of a curves table: ``NA`` for None, floats with 6 significant digits."""
    return "NA" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def write_curve(rows: Sequence[Mapping], output_dir: PathLike, title: str) -> None:
    """Write ``curves.tsv`` (one row per epoch) and ``curves.png`` into ``output_dir``."""
    output_dir = Path(output_dir)
    columns = ["epoch", *CURVE_FIGURES, "model"]
    lines = ["\t".join(columns)] + ["\t".join(tsv_cell(row.get(c)) for c in columns) for row in rows]
    atomic_write(output_dir / "curves.tsv", ("\n".join(lines) + "\n").encode("utf-8"))
    plot_curves({"": rows}, output_dir / "curves.png", title)


def read_curve(path: PathLike) -> List[Dict]:
    """The rows of a ``curves.tsv``: ``epoch`` (int), the figures (float or None), ``model``."""
    header, *lines = [line.split("\t") for line in Path(path).read_text(encoding="utf-8").splitlines() if line]
    rows = []
    for number, cells in enumerate(lines, start=2):
        if len(cells) != len(header):
            raise InputError(f"{path}:{number}: {len(cells)} columns, expected {len(header)}")
        row = dict(zip(header, cells))
        rows.append({k: int(v) if k == "epoch" else v if k == "model" else None if v == "NA" else float(v)
                     for k, v in row.items()})
    return rows


def plot_curves(curves: Mapping[str, Sequence[Mapping]], path: PathLike, title: str) -> None:
    """One panel per figure of :data:`CURVE_FIGURES` that any curve has, one line per curve (pre-training)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    present = [k for k in CURVE_FIGURES if any(r.get(k) is not None for rows in curves.values() for r in rows)]
    if not present:
        raise InputError(f"no figure to plot in {path}")
    fig, axes = plt.subplots(1, len(present), figsize=(3.6 * len(present), 3.2), squeeze=False)
    for ax, key in zip(axes[0], present):
        for name, rows in curves.items():
            points = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=name or None)
        ax.set_title(CURVE_FIGURES[key], fontsize=9)
        ax.set_xlabel("pre-training epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if any(curves):
        axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def analyse_curve(speech: Encoder, exp_dir: PathLike, text: Encoder, data_dir: PathLike, src_text: str,
                  output_dir: PathLike, *, max_utts: Optional[int] = None, batch_size: int = 16,
                  options: SinkhornOptions = SinkhornOptions(), zero_shot: Optional[ZeroShotData] = None,
                  device: str = "cpu") -> List[Dict]:
    """:func:`gap_curve` for every epoch's model of ``exp_dir`` on ``data_dir``; :func:`write_curve` to ``output_dir``.

    The utterances, their text states and the OT options are those of
    :func:`ctcot.modality_gap.analyse`, so the curve's last point is comparable with gap.json.
    """
    from ctcot.encoders import encode_text, read_data, tokenize
    from ctcot.trainer import epoch_models

    utts, texts = read_data(data_dir, src_text, max_utts)
    token_ids = tokenize(text, texts, Path(data_dir) / src_text)
    text_states = encode_text(text, [token_ids[u] for u in utts], batch_size, device)
    epochs = epoch_models(Path(exp_dir))
    rows = gap_curve(speech, epochs, utts, Path(data_dir) / "feats.scp", text_states, output_dir,
                     batch_size=batch_size, options=options, zero_shot=zero_shot, device=device)
    write_curve(rows, output_dir, f"{Path(exp_dir).name} vs {Path(text.model_file).parent.name}, "
                                  f"{len(utts)} utterances of {Path(data_dir).name}, by epoch")
    return rows
