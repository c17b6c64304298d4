"""Score speech-translation hypotheses with sacreBLEU and summarise experiments in RESULTS.md.

Hypotheses and references are Kaldi-style ``<utt-id> <text>`` files, as ESPnet writes
``decode_*/<test-set>/text`` or ``1best_recog/text`` (a line with only an id is an empty
hypothesis, as a model may output nothing; a reference may not be empty). They are paired by
utterance id and sorted by id, then scored at corpus level with sacreBLEU's defaults: BLEU (13a
tokenisation, case-sensitive), chrF2 and TER, so the scores are those of
``sacrebleu REF -i HYP -m bleu chrf ter`` on the same sentences.

Layout read by :func:`write_results_md`::

    <exp_dir>/decode_<...>/<test-set>/result.json    (written by ``python -m ctcot.bin.score_st``)
    <exp_dir>/RESULTS.md                              (the summary table)
"""
import datetime
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sacrebleu.metrics import BLEU, CHRF, TER

from ctcot import InputError
from ctcot.data_dir import DataDirError, read_kv
from ctcot.fileio import PathLike, atomic_write
from ctcot.tokenizers import strip_lang_tag

__all__ = ["read_translations", "score_translations", "read_groups", "write_result_json", "write_results_md",
           "read_results_md"]

_METRICS = (("bleu", "BLEU"), ("chrf", "chrF"), ("ter", "TER"))
_HEADER = "| decode dir | test set | #sent | BLEU | chrF | TER |"
_RESULT_GLOB = "decode_*/*/result.json"


def read_translations(path: PathLike, allow_empty: bool = True) -> Dict[str, str]:
    """Read a ``<utt-id> <text>`` file.

    Args:
        path: the file.
        allow_empty: read a line with only an id as an empty translation (a hypothesis may be
            empty); else refuse it (a reference may not).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: (a :class:`ctcot.data_dir.DataDirError`) naming the file, line number and
            id of every blank line, repeated id, line that is not UTF-8 or, unless
            ``allow_empty``, line with only an id.
    """
    return read_kv(path, check_sorted=False, allow_empty=allow_empty)


def _show(ids: List[str]) -> str:
    return ", ".join(repr(i) for i in ids[:5]) + (f", ... ({len(ids)} in all)" if len(ids) > 5 else "")


def score_translations(hyp_path: PathLike, ref_path: PathLike, strip_lang_tags: bool = False,
                       utt2group: Optional[PathLike] = None) -> Dict[str, Any]:
    """Score the hypotheses of ``hyp_path`` against the references of ``ref_path``.

    With ``strip_lang_tags``, a leading target-language tag (``<2de> ``, multilingual targets) is
    removed from both sides first. With ``utt2group`` (a ``<utt-id> <group>`` file, e.g. the mini
    corpus's ``utt2engine``), each group's sentences are also scored on their own.

    Returns:
        A JSON-serialisable dict: ``num_sentences``; ``bleu``, ``chrf``, ``ter`` (unrounded
        floats); ``bleu_signature``, ``chrf_signature``, ``ter_signature``; ``bleu_detail``
        (``"BLEU = 25.31 58.1/31.9/... (BP = ... hyp_len = ... ref_len = ...)"``); ``hyp``, ``ref``;
        with ``utt2group``, ``by_group``: group -> ``num_sentences``, ``bleu``, ``chrf``, ``ter``.

    Raises:
        ValueError: a file is malformed or empty, a reference is empty (also once its language tag
            is removed), the files do not have the same ids, or ``utt2group`` lacks one of them.
    """
    hyps = read_translations(hyp_path)
    try:
        refs = read_translations(ref_path, allow_empty=False)
    except DataDirError as err:  # unlike a hypothesis, a reference with only an id is an error: say so
        raise DataDirError(f"{ref_path}: bad references (each line '<utt-id> <reference>', the reference "
                           f"not empty)", err.problems) from None
    missing, extra = sorted(refs.keys() - hyps.keys()), sorted(hyps.keys() - refs.keys())
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"{len(missing)} id(s) of {ref_path} missing from {hyp_path}: {_show(missing)}")
        if extra:
            problems.append(f"{len(extra)} id(s) of {hyp_path} not in {ref_path}: {_show(extra)}")
        raise InputError(f"hypotheses {hyp_path} and references {ref_path} do not have the same "
                         f"utterance ids: {'; '.join(problems)}")
    if not refs:
        raise InputError(f"no utterance in {hyp_path} and {ref_path}")
    ids = sorted(refs)
    clean = strip_lang_tag if strip_lang_tags else (lambda sentence: sentence)
    hyp_list, ref_lists = [clean(hyps[i]) for i in ids], [[clean(refs[i]) for i in ids]]
    empty = [i for i, ref in zip(ids, ref_lists[0]) if not ref]
    if empty:
        raise InputError(f"{ref_path}: {len(empty)} reference(s) are empty once the language tag is removed: "
                         f"{_show(empty)}")
    metrics = {"bleu": BLEU(), "chrf": CHRF(), "ter": TER()}
    scores = {key: metric.corpus_score(hyp_list, ref_lists) for key, metric in metrics.items()}
    result = {
        "num_sentences": len(ids),
        **{key: float(score.score) for key, score in scores.items()},
        **{f"{key}_signature": str(metric.get_signature()) for key, metric in metrics.items()},
        "bleu_detail": str(scores["bleu"]),
        "hyp": str(hyp_path),
        "ref": str(ref_path),
    }
    if utt2group is not None:
        result["by_group"] = {}
        for group, members in read_groups(utt2group, ids).items():
            hyp_group, ref_group = [hyp_list[i] for i in members], [[ref_lists[0][i] for i in members]]
            result["by_group"][group] = {"num_sentences": len(members), **{
                key: float(metric.corpus_score(hyp_group, ref_group).score) for key, metric in metrics.items()}}
    return result


def read_groups(utt2group: PathLike, ids: Sequence[str]) -> Dict[str, List[int]]:
    """Group -> the positions in ``ids`` of its utterances, from a ``<utt-id> <group>`` file (groups sorted).

    Raises:
        ValueError: the file is malformed or lacks some of ``ids`` (it may have more).
    """
    group_of = read_kv(utt2group, check_sorted=False)
    missing = [i for i in ids if i not in group_of]
    if missing:
        raise InputError(f"{utt2group}: no group for {len(missing)} utterance(s): {_show(missing)}")
    groups: Dict[str, List[int]] = {}
    for position, utt in enumerate(ids):
        groups.setdefault(group_of[utt], []).append(position)
    return dict(sorted(groups.items()))


def write_result_json(path: PathLike, result: Mapping[str, Any]) -> None:
    """Write a result of :func:`score_translations` as JSON (indent 2), atomically."""
    atomic_write(Path(path), (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def write_results_md(exp_dir: PathLike, output: Optional[PathLike] = None) -> Path:
    """Summarise every ``<exp_dir>/decode_*/<test-set>/result.json`` in a markdown table, with a row
    ``<test-set> (<group>)`` for each group of a result that has more than one (``by_group``).

    Args:
        exp_dir: the experiment directory.
        output: the file to write, atomically; default ``<exp_dir>/RESULTS.md``.

    Returns:
        The path written.

    Raises:
        FileNotFoundError: no ``result.json`` matches the pattern.
    """
    exp_dir = Path(exp_dir)
    files = sorted(exp_dir.glob(_RESULT_GLOB))
    if not files:
        raise FileNotFoundError(f"no result to summarise: nothing matches {exp_dir / _RESULT_GLOB}")
    lines = [f"# Results of {exp_dir}", "",
             f"Generated on {datetime.datetime.now():%Y-%m-%d %H:%M:%S} from {_RESULT_GLOB}.", "",
             _HEADER, "|---|---|---:|---:|---:|---:|"]
    signatures: Dict[str, List[str]] = {name: [] for _, name in _METRICS}
    for file in files:
        result = json.loads(file.read_text(encoding="utf-8"))
        scores = " | ".join(f"{result[key]:.2f}" for key, _ in _METRICS)
        lines.append(f"| {file.parent.parent.name} | {file.parent.name} | {result['num_sentences']} | {scores} |")
        by_group = result.get("by_group", {})
        for group, group_result in by_group.items() if len(by_group) > 1 else ():  # one group: the row above
            scores = " | ".join(f"{group_result[key]:.2f}" for key, _ in _METRICS)
            lines.append(f"| {file.parent.parent.name} | {file.parent.name} ({group}) | "
                         f"{group_result['num_sentences']} | {scores} |")
        for key, name in _METRICS:
            if result[f"{key}_signature"] not in signatures[name]:
                signatures[name].append(result[f"{key}_signature"])
    lines += ["", "sacreBLEU signatures:", ""]
    lines += [f"- {name}: `{sig}`" for name, sigs in signatures.items() for sig in sigs]
    path = exp_dir / "RESULTS.md" if output is None else Path(output)
    atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def read_results_md(path: PathLike) -> List[Dict[str, Any]]:
    """Read the table of a RESULTS.md written by :func:`write_results_md`.

    Returns:
        One dict per row: ``decode_dir``, ``test_set``, ``num_sentences`` (int), ``bleu``,
        ``chrf``, ``ter`` (floats, as rounded in the table).

    Raises:
        ValueError: the file has no results table.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if _HEADER not in lines:
        raise InputError(f"{path}: no results table (header {_HEADER!r})")
    rows = []
    for line in lines[lines.index(_HEADER) + 2:]:
        if not line.startswith("|"):
            break
        decode_dir, test_set, num, bleu, chrf, ter = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append(dict(decode_dir=decode_dir, test_set=test_set, num_sentences=int(num),
                         bleu=float(bleu), chrf=float(chrf), ter=float(ter)))
    return rows
