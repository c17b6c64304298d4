"""The ablation's report (:mod:`ctcot.ablation`): the results its ``run.sh`` jobs wrote, the table
(mean ± sample std over seeds), the bar chart, the paper's claims tested with Welch's t-test over
seeds (:func:`significance`), its Figure 5 (gains over CE, with confidence intervals,
:func:`figure5`), the modality-gap figures and curves of stage 12, all in ``RESULTS.md``
(:func:`write_summary`).

Where the runs wrote is :mod:`ctcot.recipe`'s naming: ``<expdir>/st_<variant>_seed<n>/decode_*/<test
set>/result.json`` and, for each pre-training run ``<tag>`` (:func:`ctcot.ablation.pretrain_tags`),
``<expdir>/pretrain_<tag>/modality_gap_<valid set>[_own_text]/``, its zero-shot ST's
``<expdir>/pretrain_<tag>/zero_shot/decode_<decode config>/<test set>/result.json`` and its cascade's
``<expdir>/pretrain_<tag>/cascade/decode_<decode config>/<test set>/result.json`` with
``<expdir>/pretrain_<tag>/cascade/<test set>/ctc_error.json``. Those of all pre-training seeds are
collected (:func:`collect_pretrain_runs`), tabulated (:func:`zero_shot_summary`) and compared with
Welch's t-test over pre-training seeds (:func:`zero_shot_significance`): the zero-shot ST against the
cascade of the same speech encoder, and ctc_compress_ot's zero-shot ST against ctc_ot's.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ctcot import InputError
from ctcot.ablation import Variant, pretrain_tags
from ctcot.fileio import atomic_write
from ctcot.recipe import CASCADE_NAME, PRETRAINS, ZERO_SHOT_NAME, decoding_name, experiment_name, gap_name, shell_bool

__all__ = ["SETTING_NAMES", "GAP_FIGURES", "ANY_DECODING", "collect_runs", "missing_results",
           "read_gaps", "read_curves", "summarize", "welch_contrast", "significance", "significance_markdown",
           "figure5", "plot_figure5", "figure5_markdown", "collect_pretrain_runs", "zero_shot_summary",
           "zero_shot_significance", "zero_shot_markdown", "write_summary"]

# The ST settings a variant trains in, (MT-initialised decoder, multi-task): their names in tables.
SETTING_NAMES = {(False, False): "random dec.", (True, False): "MT dec.",
                 (True, True): "multi-task", (False, True): "multi-task, random dec."}

# Figures of the modality-gap analysis (stage 12, gap.json) shown in the table: key, header.
GAP_FIGURES = (("sinkhorn", "Sinkhorn ↓"), ("cosine_margin", "cos margin ↑"),
               ("linear_cka", "CKA ↑"), ("retrieval_top1", "R@1 ↑"))
ANY_DECODING = decoding_name("*", "*")  # a glob of every decoding of an ST experiment
ANY_ZERO_SHOT_DECODING = "decode_*"  # a glob of every decoding of the zero-shot ST or the cascade
# The claim about the compressed CTC+OT pre-training: its zero-shot ST beats CTC+OT's.
COMPRESS_CLAIM = ("ctc_compress_ot", "ctc_ot")


def _st_exp(expdir: Path, variant: Variant, seed: int) -> Path:
    return expdir / experiment_name("st", variant.st_tag(seed))


def _only(paths: List[Path], what: str, option: str = "--decode_dir") -> Optional[Path]:
    if len(paths) > 1:
        raise InputError(f"several {what}: {', '.join(map(str, paths))}; choose one with {option}")
    return paths[0] if paths else None


def collect_runs(expdir: Path, variants: Sequence[Variant], seeds: Sequence[int],
                 test_set: str, decode_dir: str = ANY_DECODING) -> List[Dict]:
    """The scores of every finished ST run, from ``exp/st_<variant>_seed<n>/<decode_dir>/<test_set>/result.json``.

    ``decode_dir`` is a glob pattern that must match at most one decoding of each run.

    Returns:
        One dict per finished run: ``pretrain``, ``mt_decoder``, ``multitask``, ``seed``, ``bleu``,
        ``chrf``, ``ter``, ``num_sentences``, ``result`` (the file).
    """
    runs = []
    for seed in seeds:
        for variant in variants:
            st_exp = _st_exp(expdir, variant, seed)
            path = _only(sorted(st_exp.glob(f"{decode_dir}/{test_set}/result.json")),
                         f"results of {test_set} in {st_exp}")
            if path is None:
                continue
            result = json.loads(path.read_text(encoding="utf-8"))
            runs.append(dict(pretrain=variant.pretrain, mt_decoder=variant.mt_decoder, multitask=variant.multitask,
                             seed=seed,
                             bleu=result["bleu"], chrf=result["chrf"], ter=result["ter"],
                             num_sentences=result["num_sentences"], result=str(path)))
    return runs


def missing_results(expdir: Path, variants: Sequence[Variant], seeds: Sequence[int], test_set: str,
                    decode_dir: str = ANY_DECODING) -> List[str]:
    """What is wrong with each ST run that finished training (``exp/st_<tag>/.done``) but has no result of
    ``test_set`` for :func:`collect_runs`: the path it looked for and the sets the run did score."""
    problems = []
    for seed in seeds:
        for variant in variants:
            st_exp = _st_exp(expdir, variant, seed)
            if not (st_exp / ".done").is_file() or list(st_exp.glob(f"{decode_dir}/{test_set}/result.json")):
                continue
            scored = sorted({p.parent.name for p in st_exp.glob(f"{decode_dir}/*/result.json")})
            problems.append(f"{st_exp}/{decode_dir}/{test_set}/result.json does not exist "
                            f"(sets scored: {', '.join(scored) or 'none'})")
    return problems


def read_gaps(expdir: Path, pretrains: Sequence[str], valid_set: str, own_text: bool = False) -> Dict[str, Dict]:
    """The modality-gap figures of each pre-training that has them (stage 12).

    Reads ``exp/pretrain_<type>/modality_gap_<valid_set>/gap.json``, the speech encoder against the
    MT encoder; with ``own_text``, ``..._own_text/gap.json``: CTC+OT's against its own text encoder.
    """
    gaps = {}
    for pretrain in pretrains:
        path = expdir / experiment_name("pretrain", pretrain) / gap_name(valid_set, own_text) / "gap.json"
        if path.is_file():
            gaps[pretrain] = json.loads(path.read_text(encoding="utf-8"))
    return gaps


def _pooled_gaps(gaps: Mapping[str, Mapping], pretrains: Sequence[str], pretrain_seeds: int) -> Dict[str, Dict]:
    """Each pre-training's gap figures from :func:`read_gaps` of its runs (by tag): its run's gap.json with
    one pre-training seed; with several, the mean over its runs of each figure the tables show
    (:data:`GAP_FIGURES`, ``retrieval_chance_top1``, each test set's zero-shot BLEU) and ``runs``."""
    pooled = {}
    for pretrain in pretrains:
        mine = [gaps[tag] for tag in pretrain_tags(pretrain, pretrain_seeds) if tag in gaps]
        if not mine:
            continue
        if pretrain_seeds == 1:
            pooled[pretrain] = dict(mine[0])
            continue
        row: Dict = {}
        for key in [key for key, _ in GAP_FIGURES] + ["retrieval_chance_top1"]:
            values = _values(mine, key)
            row[key] = statistics.fmean(values) if values else None
        sets = sorted({name for gap in mine for name in (gap.get("zero_shot") or {})})
        row["zero_shot"] = {name: dict(bleu=statistics.fmean(
            gap["zero_shot"][name]["bleu"] for gap in mine if name in (gap.get("zero_shot") or {}))) for name in sets}
        row["runs"] = len(mine)
        pooled[pretrain] = row
    return pooled


def _mean_std(values: List[float]) -> Tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(runs: Sequence[Mapping], variants: Sequence[Variant]) -> List[Dict]:
    """Mean and sample standard deviation over seeds of BLEU and chrF, per variant.

    Returns:
        One dict per variant with at least one run: ``pretrain``, ``mt_decoder``, ``multitask``,
        ``seeds``, ``bleu_mean``, ``bleu_std``, ``chrf_mean``, ``chrf_std``, ``bleu_runs``, ``chrf_runs``.
    """
    rows = []
    for variant in variants:
        mine = [r for r in runs if Variant.of(r) == variant]
        if not mine:
            continue
        row: Dict = dict(pretrain=variant.pretrain, mt_decoder=variant.mt_decoder, multitask=variant.multitask,
                         seeds=[r["seed"] for r in mine])
        for metric in ("bleu", "chrf"):
            values = [r[metric] for r in mine]
            row[f"{metric}_mean"], row[f"{metric}_std"] = _mean_std(values)
            row[f"{metric}_runs"] = values
        rows.append(row)
    return rows


def welch_contrast(groups: Sequence[Sequence[float]], weights: Sequence[float]) -> Dict[str, float]:
    """Welch's t-test of a linear contrast of group means, ``Σ w_i mean_i > 0``, groups of unequal variances.

    The standard error is ``sqrt(Σ w_i² s_i²/n_i)`` and the degrees of freedom are Welch-Satterthwaite's,
    ``(Σ w_i² s_i²/n_i)² / Σ (w_i² s_i²/n_i)² / (n_i − 1)``. With two groups and weights ``(1, -1)``
    this is ``scipy.stats.ttest_ind(a, b, equal_var=False, alternative="greater")``.

    Args:
        groups: The values of each group (at least 2 each, not all groups constant).
        weights: One weight per group, e.g. ``(1, -1, -1, 1)`` for a difference of differences.

    Returns:
        ``estimate``, ``se``, ``t``, ``df`` and ``p``, the one-sided p-value of ``estimate > 0``.
    """
    from scipy import stats

    if len(groups) != len(weights):
        raise InputError(f"{len(groups)} groups but {len(weights)} weights")
    if any(len(g) < 2 for g in groups):
        raise InputError("every group needs at least 2 values")
    # Each group's share of the variance of the estimate: w² s² / n.
    shares = [w * w * statistics.variance(g) / len(g) for g, w in zip(groups, weights)]
    variance = sum(shares)
    if variance == 0:
        raise InputError("no variance within any group")
    estimate = sum(w * statistics.fmean(g) for g, w in zip(groups, weights))
    se = variance ** 0.5
    df = variance ** 2 / sum(v * v / (len(g) - 1) for v, g in zip(shares, groups))
    t = estimate / se
    return dict(estimate=estimate, se=se, t=t, df=df, p=float(stats.t.sf(t, df)))


def _comparisons(variants: Sequence[Variant]) -> List[Tuple[str, List[Variant]]]:
    """The paper's claims among ``variants``: a name and the groups (A, B, or X_mt, X, CE_mt, CE)."""
    present = set(variants)
    inits = sorted({v.mt_decoder for v in variants if not v.multitask})
    dec = {False: "random dec.", True: "MT dec."}
    claims = []
    for d in inits:  # pre-training helps
        for x in ("ctc", "ctc_ot"):
            claims.append((f"{x} > none, {dec[d]}", [Variant(x, d), Variant("none", d)]))
    for x in ("ctc", "ctc_ot"):  # Figure 5: the MT-decoder gain is larger for CTC(+OT) than for CE
        claims.append((f"MT-dec. gain: {x} > ce",
                       [Variant(x, True), Variant(x, False), Variant("ce", True), Variant("ce", False)]))
    for d in inits:  # OT helps CTC; compression and the frozen MT encoder help CTC(+OT)
        claims.append((f"ctc_ot > ctc, {dec[d]}", [Variant("ctc_ot", d), Variant("ctc", d)]))
        for x in ("ctc_ot", "ctc"):
            claims.append((f"{COMPRESS_CLAIM[0]} > {x}, {dec[d]}", [Variant(COMPRESS_CLAIM[0], d), Variant(x, d)]))
    # Multi-task ST (with the MT decoder): pre-training, and OT, help it too; it beats vanilla ST.
    for x in ("ctc", "ctc_ot"):
        claims.append((f"{x} > none, multi-task", [Variant(x, True, True), Variant("none", True, True)]))
    claims.append(("ctc_ot > ctc, multi-task", [Variant("ctc_ot", True, True), Variant("ctc", True, True)]))
    for x in PRETRAINS:
        claims.append((f"multi-task > MT dec., {x}", [Variant(x, True, True), Variant(x, True)]))
    return [(name, groups) for name, groups in claims if all(g in present for g in groups)]


def significance(runs: Sequence[Mapping], variants: Sequence[Variant],
                 metrics: Sequence[str] = ("bleu", "chrf")) -> List[Dict]:
    """Welch's t-tests over seeds of the paper's claims, one-sided in the claimed direction.

    The claims, each tested where all its variants are among ``variants``: ctc and ctc_ot beat no
    pre-training (per decoder initialisation, and in multi-task ST); the MT-decoder gain of ctc and
    of ctc_ot is larger than that of ce (the contrast ``(X_mtdec − X) − (ce_mtdec − ce)``); ctc_ot
    beats ctc (likewise); multi-task ST beats vanilla ST with the MT decoder, per pre-training.
    A claim with a group of fewer than 2 finished seeds is kept with ``skipped`` saying why.

    Returns:
        One dict per claim and metric: ``claim``, ``metric``, ``groups`` (tags), ``seeds`` (runs per
        group), ``mean_a``, ``mean_b`` (the two means; for the contrast, the two MT-decoder gains),
        ``difference``, ``se``, ``t``, ``df``, ``p`` (None when skipped) and ``skipped`` (None or why).
    """
    values: Dict[Variant, List[Mapping]] = {}
    for run in runs:
        values.setdefault(Variant.of(run), []).append(run)
    return [_welch_row(claim, metric, [g.tag for g in groups], [[r[metric] for r in values.get(g, [])] for g in groups])
            for claim, groups in _comparisons(variants) for metric in metrics]


def _welch_row(claim: str, metric: str, names: Sequence[str], data: Sequence[Sequence[float]],
               unit: str = "seeds") -> Dict:
    """One row of :func:`significance`: Welch's t-test of ``mean(A) > mean(B)`` for two groups, of
    ``(mean(A) − mean(B)) − (mean(C) − mean(D))`` > 0 for four, or why it was skipped (a group of fewer
    than 2 values, or no variance in any)."""
    from scipy import stats

    row: Dict = dict(claim=claim, metric=metric, groups=list(names), seeds=[len(d) for d in data], mean_a=None,
                     mean_b=None, difference=None, se=None, t=None, df=None, p=None, skipped=None)
    few = [f"{name}: {len(d)}" for name, d in zip(names, data) if len(d) < 2]
    if few:
        row["skipped"] = f"fewer than 2 {unit} (" + ", ".join(few) + ")"
    elif all(statistics.variance(d) == 0 for d in data):
        row["skipped"] = f"no variance over {unit}"
    elif len(data) == 2:
        test = stats.ttest_ind(data[0], data[1], equal_var=False, alternative="greater")
        a, b = statistics.fmean(data[0]), statistics.fmean(data[1])
        se = sum(statistics.variance(d) / len(d) for d in data) ** 0.5
        row.update(mean_a=a, mean_b=b, difference=a - b, se=se, t=float(test.statistic),
                   df=float(test.df), p=float(test.pvalue))
    else:  # the gain of X minus the gain of CE
        means = [statistics.fmean(d) for d in data]
        test = welch_contrast(data, (1, -1, -1, 1))
        row.update(mean_a=means[0] - means[1], mean_b=means[2] - means[3], difference=test["estimate"],
                   se=test["se"], t=test["t"], df=test["df"], p=test["p"])
    return row


def figure5(runs: Sequence[Mapping], variants: Sequence[Variant], metric: str = "bleu",
            confidence: float = 0.95) -> List[Dict]:
    """The paper's Figure 5: each variant's gain over CE pre-training with a random ST decoder.

    For each variant ``X`` the gain is ``mean(X) − mean(ce)`` over seeds, with a Welch confidence
    interval, ``gain ± t_{(1+confidence)/2, df} · sqrt(s_X²/n_X + s_ce²/n_ce)`` (Welch-Satterthwaite
    df); None where a group has fewer than 2 seeds or no variance.

    Returns:
        One dict per vanilla-ST variant with runs, in ``variants`` order: ``pretrain``,
        ``mt_decoder``, ``tag``, ``gain``, ``ci_low``, ``ci_high``, ``seeds``; empty without
        finished ``ce`` runs.
    """
    from scipy import stats

    values: Dict[Variant, List[float]] = {}
    for run in runs:
        values.setdefault(Variant.of(run), []).append(run[metric])
    base = values.get(Variant("ce", False), [])
    if not base:
        return []
    points = []
    for variant in variants:
        mine = values.get(variant, [])
        if not mine or variant.multitask:
            continue
        gain = statistics.fmean(mine) - statistics.fmean(base)
        low = high = None
        if variant != Variant("ce", False) and len(mine) > 1 and len(base) > 1:
            shares = [statistics.variance(mine) / len(mine), statistics.variance(base) / len(base)]
            if sum(shares) > 0:
                df = sum(shares) ** 2 / (shares[0] ** 2 / (len(mine) - 1) + shares[1] ** 2 / (len(base) - 1))
                half = float(stats.t.ppf((1 + confidence) / 2, df)) * sum(shares) ** 0.5
                low, high = gain - half, gain + half
        points.append(dict(pretrain=variant.pretrain, mt_decoder=variant.mt_decoder, tag=variant.tag, gain=gain,
                           ci_low=low, ci_high=high, seeds=len(mine)))
    return points


def plot_figure5(points: Sequence[Mapping], pretrains: Sequence[str], path: Path, metric: str = "BLEU") -> List[Dict]:
    """Bars of :func:`figure5`'s gains per pre-training, without and with the MT decoder, CI as error bars.

    Returns:
        What was drawn: per bar, ``tag``, ``gain`` (its height) and ``error`` (below, above).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(1.3 * len(pretrains) + 2, 3.6))
    drawn = []
    for k, (dec, name, colour) in enumerate(((False, "ST decoder random", "#fdae6b"),
                                              (True, "ST decoder from MT", "#e6550d"))):
        mine = [(i, p) for i, pretrain in enumerate(pretrains) for p in points
                if p["pretrain"] == pretrain and p["mt_decoder"] == dec]
        if not mine:
            continue
        xs = np.array([i for i, _ in mine]) + (k - 0.5) * 0.4
        gains = [p["gain"] for _, p in mine]
        errors = [[p["gain"] - p["ci_low"] if p["ci_low"] is not None else 0 for _, p in mine],
                  [p["ci_high"] - p["gain"] if p["ci_high"] is not None else 0 for _, p in mine]]
        ax.bar(xs, gains, 0.4, yerr=errors, capsize=3, color=colour, edgecolor="black", linewidth=0.5, label=name)
        drawn += [dict(tag=p["tag"], gain=g, error=(lo, hi)) for (_, p), g, lo, hi in zip(mine, gains, *errors)]
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(pretrains)))
    ax.set_xticklabels(pretrains)
    ax.set_xlabel("speech pre-training")
    ax.set_ylabel(f"{metric} gain over CE, random decoder")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"Figure 5 of Le et al. on this corpus: {metric} gain over CE pre-training (95% CI over seeds)",
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return drawn


def figure5_markdown(points: Sequence[Mapping]) -> str:
    """The numbers of :func:`figure5`, one line per variant."""
    lines = ["| variant | BLEU gain over ce | 95% CI | seeds |", "|---|---:|---:|---:|"]
    for p in points:
        ci = "–" if p["ci_low"] is None else f"[{p['ci_low']:+.2f}, {p['ci_high']:+.2f}]"
        lines.append(f"| {p['tag']} | {p['gain']:+.2f} | {ci} | {p['seeds']} |")
    return "\n".join(lines)


def _read_json(path: Path) -> Dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise InputError(f"{path} is not JSON: {err}") from None


def collect_pretrain_runs(expdir: Path, pretrains: Sequence[str], pretrain_seeds: int, test_set: str,
                          decode_dir: str = ANY_ZERO_SHOT_DECODING) -> List[Dict]:
    """The zero-shot ST and the cascade of every pre-training run (each pre-training seed) on ``test_set``.

    Reads, for each tag of :func:`ctcot.ablation.pretrain_tags`, ``exp/pretrain_<tag>/zero_shot/<decode_dir>/
    <test_set>/result.json``, ``exp/pretrain_<tag>/cascade/<decode_dir>/<test_set>/result.json`` and
    ``exp/pretrain_<tag>/cascade/<test_set>/ctc_error.json``; ``decode_dir`` is a glob that must match at
    most one decoding of each.

    Returns:
        One dict per pre-training run with any of them: ``pretrain``, ``pretrain_seed`` (k of
        ``<pretrain>_pseed<k>``; None with one pre-training seed), ``tag``, ``zero_shot_bleu``,
        ``zero_shot_chrf``, ``zero_shot_result`` (the file), ``cascade_bleu``, ``cascade_chrf``,
        ``cascade_result``, ``ctc_error_rate`` (a fraction); None for what it does not have.
    """
    runs = []
    for pretrain in pretrains:
        if pretrain == "none":
            continue
        for k, tag in enumerate(pretrain_tags(pretrain, pretrain_seeds), 1):
            exp = expdir / experiment_name("pretrain", tag)
            run: Dict = dict(pretrain=pretrain, pretrain_seed=k if pretrain_seeds > 1 else None, tag=tag)
            for key, name in (("zero_shot", ZERO_SHOT_NAME), ("cascade", CASCADE_NAME)):
                path = _only(sorted((exp / name).glob(f"{decode_dir}/{test_set}/result.json")),
                             f"results of {test_set} in {exp / name}", "--zero_shot_decode_dir")
                result = _read_json(path) if path is not None else {}
                run.update({f"{key}_bleu": result.get("bleu"), f"{key}_chrf": result.get("chrf"),
                            f"{key}_result": None if path is None else str(path)})
            error = exp / CASCADE_NAME / test_set / "ctc_error.json"
            run["ctc_error_rate"] = _read_json(error).get("error_rate") if error.is_file() else None
            if any(run[k] is not None for k in ("zero_shot_bleu", "cascade_bleu", "ctc_error_rate")):
                runs.append(run)
    return runs


def _values(runs: Sequence[Mapping], key: str) -> List[float]:
    return [r[key] for r in runs if r.get(key) is not None]


def zero_shot_summary(pretrain_runs: Sequence[Mapping], pretrains: Sequence[str]) -> List[Dict]:
    """Mean and sample standard deviation over pre-training seeds of the zero-shot ST's and the cascade's
    BLEU and chrF, and of the cascade's CTC error rate, per pre-training.

    Returns:
        One dict per pre-training with runs, in ``pretrains`` order: ``pretrain``, ``zero_shot_tags`` and
        ``cascade_tags`` (the runs with a result), ``<what>_runs``, ``<what>_mean`` and ``<what>_std`` for
        ``zero_shot_bleu``, ``zero_shot_chrf``, ``cascade_bleu``, ``cascade_chrf`` and ``ctc_error_rate``
        (mean and std None without values), and ``ratio``: mean zero-shot BLEU / mean cascade BLEU (None
        without both, or with a cascade BLEU of 0).
    """
    rows = []
    for pretrain in pretrains:
        mine = [r for r in pretrain_runs if r["pretrain"] == pretrain]
        if not mine:
            continue
        row: Dict = dict(pretrain=pretrain, zero_shot_tags=[r["tag"] for r in mine if r["zero_shot_bleu"] is not None],
                         cascade_tags=[r["tag"] for r in mine if r["cascade_bleu"] is not None])
        for key in ("zero_shot_bleu", "zero_shot_chrf", "cascade_bleu", "cascade_chrf", "ctc_error_rate"):
            values = _values(mine, key)
            row[f"{key}_runs"] = values
            row[f"{key}_mean"], row[f"{key}_std"] = _mean_std(values) if values else (None, None)
        zero_shot, cascade = row["zero_shot_bleu_mean"], row["cascade_bleu_mean"]
        row["ratio"] = zero_shot / cascade if zero_shot is not None and cascade else None
        rows.append(row)
    return rows


def zero_shot_significance(pretrain_runs: Sequence[Mapping], pretrains: Sequence[str],
                           metrics: Sequence[str] = ("bleu", "chrf")) -> List[Dict]:
    """Welch's t-tests over pre-training seeds, one-sided, in :func:`significance`'s format.

    - ``<pretrain>: zero-shot > cascade``, for each pre-training with a zero-shot and a cascade result:
      A is the zero-shot ST (the speech encoder with the MT decoder), B the cascade (its greedy CTC
      transcripts translated by the MT model). The alternative is what zero-shot methods such as
      ZeroSwot aim at: the zero-shot ST is better. A p near 1 says the reverse (its p is 1 − p).
      Both come from the same pre-training runs, but are tested as two independent groups.
    - ``ctc_compress_ot > ctc_ot, zero-shot``, when both pre-trainings have zero-shot results.

    A test with a group of fewer than 2 runs is kept with ``skipped`` saying why; ``seeds`` counts the
    pre-training runs of each group.
    """
    by_pretrain: Dict[str, List[Mapping]] = {}
    for run in pretrain_runs:
        by_pretrain.setdefault(run["pretrain"], []).append(run)
    claims = []
    for pretrain in pretrains:
        mine = by_pretrain.get(pretrain, [])
        if _values(mine, "zero_shot_bleu") and _values(mine, "cascade_bleu"):
            claims.append((f"{pretrain}: zero-shot > cascade", [f"{pretrain} zero-shot", f"{pretrain} cascade"],
                           [(mine, "zero_shot"), (mine, "cascade")]))
    a, b = COMPRESS_CLAIM
    if a in pretrains and b in pretrains and all(_values(by_pretrain.get(p, []), "zero_shot_bleu") for p in (a, b)):
        claims.append((f"{a} > {b}, zero-shot", [f"{a} zero-shot", f"{b} zero-shot"],
                       [(by_pretrain[a], "zero_shot"), (by_pretrain[b], "zero_shot")]))
    return [_welch_row(claim, metric, names, [_values(runs, f"{key}_{metric}") for runs, key in groups],
                       unit="pre-training seeds")
            for claim, names, groups in claims for metric in metrics]


def _mean_std_cell(mean: Optional[float], std: Optional[float], scale: float = 1.0) -> str:
    return "–" if mean is None else f"{scale * mean:.2f} ± {scale * std:.2f}"


def zero_shot_markdown(rows: Sequence[Mapping], test_set: str) -> str:
    """The table of :func:`zero_shot_summary`: one line per pre-training."""
    header = ["pre-training", "runs (zero-shot/cascade)", f"zero-shot BLEU ({test_set})", f"cascade BLEU ({test_set})",
              "zero-shot / cascade", "CTC error rate (%)"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row in rows:
        cells = [row["pretrain"], f"{len(row['zero_shot_tags'])}/{len(row['cascade_tags'])}",
                 _mean_std_cell(row["zero_shot_bleu_mean"], row["zero_shot_bleu_std"]),
                 _mean_std_cell(row["cascade_bleu_mean"], row["cascade_bleu_std"]),
                 _number(row["ratio"], ".2f"),
                 _mean_std_cell(row["ctc_error_rate_mean"], row["ctc_error_rate_std"], 100.0)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def read_curves(expdir: Path, pretrains: Sequence[str], valid_set: str) -> Dict[str, List[Dict]]:
    """The gap curves (stage 12's ``curves.tsv``) of each pre-training that has them."""
    from ctcot.gap_curves import read_curve

    curves = {}
    for pretrain in pretrains:
        path = expdir / experiment_name("pretrain", pretrain) / gap_name(valid_set) / "curves.tsv"
        if path.is_file():
            curves[pretrain] = read_curve(path)
    return curves


def _number(value: Optional[float], spec: str) -> str:
    return "–" if value is None else format(value, spec)


def significance_markdown(tests: Sequence[Mapping]) -> str:
    """The table of :func:`significance`: means, difference, t, df, one-sided p (``*``: p < 0.05), seeds."""
    header = ["claim", "metric", "mean A", "mean B", "A − B", "t", "df", "p (one-sided)", "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    for test in tests:
        if test["skipped"]:
            p = "skipped: " + test["skipped"]
        else:
            p = f"{test['p']:.3g}" + (" *" if test["p"] < 0.05 else "")
        cells = [test["claim"], {"bleu": "BLEU", "chrf": "chrF"}.get(test["metric"], test["metric"]),
                 _number(test["mean_a"], ".2f"), _number(test["mean_b"], ".2f"), _number(test["difference"], "+.2f"),
                 _number(test["t"], ".2f"), _number(test["df"], ".1f"), p, "/".join(map(str, test["seeds"]))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(row: Optional[Mapping], metric: str) -> str:
    if row is None:
        return "–"
    return f"{row[metric + '_mean']:.2f} ± {row[metric + '_std']:.2f}"


def _gap_cell(gap: Optional[Mapping], key: str) -> str:
    return "–" if gap is None or gap.get(key) is None else f"{gap[key]:.3f}"


def _zero_shot_cell(gap: Optional[Mapping], test_set: str) -> str:
    result = ((gap or {}).get("zero_shot") or {}).get(test_set)
    return "–" if result is None else f"{result['bleu']:.2f}"


def table_markdown(rows: Sequence[Mapping], gaps: Mapping[str, Mapping], pretrains: Sequence[str],
                   settings: Sequence[Tuple[bool, bool]], test_set: str,
                   zero_shot: Optional[Mapping[str, float]] = None) -> str:
    """One line per pre-training: BLEU and chrF (mean ± std) per ST setting (:data:`SETTING_NAMES`),
    zero-shot BLEU (from ``zero_shot``, pre-training -> BLEU, else the gap figures') and gap figures."""
    by_key = {Variant.of(r): r for r in rows}
    header = ["pre-training"]
    header += [f"BLEU, {SETTING_NAMES[s]}" for s in settings] + [f"chrF, {SETTING_NAMES[s]}" for s in settings]
    header += ["seeds", f"zero-shot BLEU ({test_set})"] + [name for _, name in GAP_FIGURES]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for pretrain in pretrains:
        cells = [pretrain]
        cells += [_cell(by_key.get(Variant(pretrain, *s)), "bleu") for s in settings]
        cells += [_cell(by_key.get(Variant(pretrain, *s)), "chrf") for s in settings]
        counts = {len(by_key[Variant(pretrain, *s)]["seeds"]) for s in settings if Variant(pretrain, *s) in by_key}
        cells.append("/".join(str(c) for c in sorted(counts)) or "0")
        bleu = (zero_shot or {}).get(pretrain)
        cells.append(_zero_shot_cell(gaps.get(pretrain), test_set) if bleu is None else f"{bleu:.2f}")
        cells += [_gap_cell(gaps.get(pretrain), key) for key, _ in GAP_FIGURES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_bars(rows: Sequence[Mapping], pretrains: Sequence[str], settings: Sequence[Tuple[bool, bool]],
              path: Path) -> None:
    """Grouped bars of BLEU and chrF (mean, std as error bars, each seed as a dot) per pre-training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    by_key = {Variant.of(r): r for r in rows}
    names = {(False, False): "ST decoder random", (True, False): "ST decoder from MT",
             (True, True): "multi-task ST, decoder from MT", (False, True): "multi-task ST, decoder random"}
    colours = {(False, False): "#9ecae1", (True, False): "#3182bd", (True, True): "#31a354", (False, True): "#a1d99b"}
    width = 0.8 / len(settings)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, label in zip(axes, ("bleu", "chrf"), ("BLEU", "chrF")):
        for k, setting in enumerate(settings):
            xs = np.arange(len(pretrains)) + (k - (len(settings) - 1) / 2) * width
            present = [(x, by_key[Variant(p, *setting)]) for x, p in zip(xs, pretrains)
                       if Variant(p, *setting) in by_key]
            if not present:
                continue
            ax.bar([x for x, _ in present], [r[f"{metric}_mean"] for _, r in present], width,
                   yerr=[r[f"{metric}_std"] for _, r in present], capsize=3, color=colours[setting],
                   label=names[setting], edgecolor="black", linewidth=0.5)
            for x, r in present:
                ax.scatter([x] * len(r[f"{metric}_runs"]), r[f"{metric}_runs"], s=10, color="black", zorder=3)
        ax.set_xticks(np.arange(len(pretrains)))
        ax.set_xticklabels(pretrains)
        ax.set_xlabel("speech pre-training")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("ST from each pre-training: mean ± std over seeds (dots: seeds)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_summary(output_dir: Path, expdir: Path, variants: Sequence[Variant], seeds: Sequence[int],
                  test_set: str, valid_set: str = "dev", command: str = "", decode_dir: str = ANY_DECODING,
                  pretrain_seeds: int = 1, zero_shot_decode_dir: str = ANY_ZERO_SHOT_DECODING) -> Path:
    """Write ``RESULTS.md``, ``results.json``, ``runs.tsv``, ``bleu_chrf.png``, ``figure5.png`` and (where
    stage 12 drew them) ``gap_curves.png`` / ``gap_curves.tsv`` into ``output_dir``.

    Uses whatever runs have finished, so it can be called while the ablation goes on. With several
    pre-training seeds (``pretrain_seeds``, :func:`ctcot.ablation.pretrain_tags`), the main table's
    zero-shot and gap figures are means over a pre-training's runs; ``results.json`` keeps each run's
    (``gaps``, ``own_text_gaps``, ``curves`` by tag, and ``pretrain_runs``), with the zero-shot and
    cascade table (``zero_shot_cascade``) and its tests (``zero_shot_significance``).

    Returns:
        The path of ``RESULTS.md``.
    """
    pretrains = list(dict.fromkeys(v.pretrain for v in variants))
    settings = sorted({v.setting for v in variants}, key=lambda s: (s[1], s[0]))
    runs = collect_runs(expdir, variants, seeds, test_set, decode_dir)
    rows = summarize(runs, variants)
    pretrained = [p for p in pretrains if p != "none"]
    tags = [tag for p in pretrained for tag in pretrain_tags(p, pretrain_seeds)]
    run_gaps = read_gaps(expdir, tags, valid_set)
    run_own_text_gaps = read_gaps(expdir, tags, valid_set, own_text=True)
    gaps = _pooled_gaps(run_gaps, pretrained, pretrain_seeds)
    own_text_gaps = _pooled_gaps(run_own_text_gaps, pretrained, pretrain_seeds)
    pretrain_runs = collect_pretrain_runs(expdir, pretrained, pretrain_seeds, test_set, zero_shot_decode_dir)
    zero_shot_rows = zero_shot_summary(pretrain_runs, pretrained)
    output_dir.mkdir(parents=True, exist_ok=True)
    expected = len(variants) * len(seeds)
    lines = [f"# Ablation: ST from each pre-training, {test_set}", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += [f"{len(runs)} of {expected} ST runs finished (seeds {', '.join(map(str, seeds))}). "
              "BLEU and chrF: sacreBLEU, mean ± sample standard deviation over seeds. "
              f"The gap figures (stage 12: the pre-trained speech encoder against the MT encoder on {valid_set}) "
              "do not depend on the ST seed: Sinkhorn divergence (lower: closer), cosine of mean-pooled "
              "states of the same utterance minus that of different ones, linear CKA, speech-to-text "
              "retrieval accuracy (top 1).", ""]
    if pretrain_seeds > 1:
        lines += [f"Each pre-training ran {pretrain_seeds} times (pre-training seeds 1 to {pretrain_seeds}, "
                  "exp/pretrain_<type>_pseed<k>); the ST run of the i-th ST seed starts from pre-training seed "
                  f"(i − 1) mod {pretrain_seeds} + 1. The zero-shot BLEU and gap figures here are means over a "
                  "pre-training's runs.", ""]
    zero_shot_means = {r["pretrain"]: r["zero_shot_bleu_mean"] for r in zero_shot_rows
                       if r["zero_shot_bleu_mean"] is not None}
    lines += [table_markdown(rows, gaps, pretrains, settings, test_set, zero_shot_means), ""]
    missing = missing_results(expdir, variants, seeds, test_set, decode_dir)
    if missing:
        lines += [f"**{len(missing)} ST run(s) finished without a result of {test_set}** (not in the table):", "",
                  *(f"- {problem}" for problem in missing), ""]
    if own_text_gaps:
        header = " | ".join(name for _, name in GAP_FIGURES)
        lines += ["Against the pre-training's own text encoder (CTC+OT trains it, starting from the MT encoder):", "",
                  f"| pre-training | {header} | R@1 chance |", "|---|" + "---:|" * (len(GAP_FIGURES) + 1)]
        for pretrain, gap in own_text_gaps.items():
            cells = [_gap_cell(gap, key) for key, _ in GAP_FIGURES] + [_gap_cell(gap, "retrieval_chance_top1")]
            lines.append(f"| {pretrain} | " + " | ".join(cells) + " |")
        lines.append("")
    if rows:
        plot_bars(rows, pretrains, settings, output_dir / "bleu_chrf.png")
        lines += ["![BLEU and chrF](bleu_chrf.png)", ""]
    points = figure5(runs, variants)
    if points:
        plot_figure5(points, pretrains, output_dir / "figure5.png")
        lines += ["## Figure 5: gain over CE", "",
                  "BLEU of each variant minus that of CE pre-training with a random ST decoder (the paper's "
                  "Figure 5), mean over seeds, with a 95% Welch confidence interval.", "",
                  figure5_markdown(points), "", "![Figure 5](figure5.png)", ""]
    zero_shot_tests = zero_shot_significance(pretrain_runs, pretrained)
    if zero_shot_rows:
        lines += ["## Zero-shot and cascade", "",
                  f"Each pre-training run's speech encoder on {test_set}, with no ST training: the zero-shot ST "
                  "(the encoder with the MT decoder, stage 12) and the cascade (its greedy CTC transcripts "
                  "translated by the MT model). BLEU: mean ± sample standard deviation over the pre-training runs "
                  "(pre-training seeds); zero-shot / cascade: the ratio of the mean BLEUs; CTC error rate: the "
                  "token error rate of the cascade's transcripts.", "",
                  zero_shot_markdown(zero_shot_rows, test_set), ""]
        if zero_shot_tests:
            lines += ["Welch's t-test over pre-training seeds, one-sided: \"zero-shot > cascade\" tests whether the "
                      "zero-shot ST beats the cascade of the same encoder (what zero-shot methods aim at; a p near 1 "
                      "says the cascade is better, with one-sided p 1 − p); the two groups come from the same runs "
                      "but are tested as independent. p < 0.05 marked (*); seeds: pre-training runs per group.", "",
                      significance_markdown(zero_shot_tests), ""]
    curves = read_curves(expdir, tags, valid_set)
    if curves:
        from ctcot.gap_curves import CURVE_FIGURES, plot_curves, tsv_cell

        plot_curves(curves, output_dir / "gap_curves.png", f"The modality gap after each pre-training epoch "
                                                            f"(speech encoder vs the MT encoder, {valid_set})")
        tsv = ["pretrain\tepoch\t" + "\t".join(CURVE_FIGURES)]
        tsv += ["\t".join([p, str(r["epoch"]), *(tsv_cell(r.get(k)) for k in CURVE_FIGURES)])
                for p, rows_ in curves.items() for r in rows_]
        atomic_write(output_dir / "gap_curves.tsv", ("\n".join(tsv) + "\n").encode("utf-8"))
        lines += ["## Gap curves", "",
                  "Stage 12's figures for the model of every pre-training epoch (gap_curves.tsv); the zero-shot "
                  "BLEU is on the first utterances of the test set (stage 12's --curve_zero_shot_utts).", "",
                  "![gap curves](gap_curves.png)", ""]
    tests = significance(runs, variants)
    lines += ["## Significance", "",
              "Welch's t-test over seeds, one-sided in the direction the paper claims; p < 0.05 marked (*), "
              "no correction for multiple comparisons. For \"MT-dec. gain: X > ce\", A and B are the gains "
              "mean(X_mtdec) − mean(X) and mean(ce_mtdec) − mean(ce), tested as one contrast of the four groups "
              "(Welch-Satterthwaite df); seeds: runs per group.", ""]
    lines += [significance_markdown(tests) if tests else "None of the paper's comparisons is among these variants.",
              ""]
    results_md = output_dir / "RESULTS.md"
    atomic_write(results_md, ("\n".join(lines)).encode("utf-8"))
    atomic_write(output_dir / "results.json", (json.dumps(
        dict(command=command, test_set=test_set, valid_set=valid_set, seeds=list(seeds), summary=rows, runs=runs,
             gaps=run_gaps, own_text_gaps=run_own_text_gaps, significance=tests, figure5=points, curves=curves,
             pretrain_seeds=pretrain_seeds, pretrain_runs=pretrain_runs, zero_shot_cascade=zero_shot_rows,
             zero_shot_significance=zero_shot_tests),
        indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    tsv = ["pretrain\tmt_decoder\tmultitask\tseed\tbleu\tchrf\tter\tresult"]
    tsv += [f"{r['pretrain']}\t{shell_bool(r['mt_decoder'])}\t{shell_bool(r['multitask'])}\t{r['seed']}\t"
            f"{r['bleu']:.2f}\t{r['chrf']:.2f}\t{r['ter']:.2f}\t{r['result']}" for r in runs]
    atomic_write(output_dir / "runs.tsv", ("\n".join(tsv) + "\n").encode("utf-8"))
    return results_md
