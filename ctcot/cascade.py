"""The cascade baseline of a CTC pre-training: its greedy CTC transcripts, translated by the MT model.

A CTC-family pre-training (ctc, ctc_ce, ctc_ot, ...) is a speech recogniser of the source units.
Its greedy CTC transcripts (:func:`greedy_ctc`: the most likely unit of each frame, repeats
collapsed, blanks removed), written as the recipe writes its source transcripts, are what the MT
model reads in place of the gold ones (``st.sh`` stage 12 decodes them as stage 6 decodes the gold
transcripts). Their error rate against the gold transcripts (:func:`error_counts`: edit distance
over the CTC's own tokens, corpus level) says how much of the cascade's loss comes from recognition.

The model contract: states = ``model.encode_ctc(speech, lengths)`` if the model has that method
(a model that compresses its speech states after CTC returns those before), else
``model.encode(speech, lengths)`` (:class:`ctcot.espnet_model.CTCOTModel`, ESPnet's ASR model);
CTC log-probabilities = ``model.ctc.log_softmax(states)``.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from ctcot import InputError
from ctcot.data_dir import read_kv
from ctcot.encoders import detect_task, length_batches, load_encoder, pad_sequences, read_features
from ctcot.fileio import PathLike, atomic_write
from ctcot.scoring import read_groups

__all__ = ["BLANK", "collapse", "ctc_of", "greedy_ctc", "ErrorCounts", "align_counts", "error_counts",
           "CTCRecognizer", "load_recognizer", "decode_data_dir", "run_cascade"]

BLANK = 0  # ESPnet's token lists: <blank> first


def collapse(frame_ids: Sequence[int], blank: int = BLANK) -> List[int]:
    """CTC's many-to-one map: repeats collapsed, then blanks removed (``a a - a b`` -> ``a a b``)."""
    return [int(token) for token, _ in itertools.groupby(frame_ids) if token != blank]


def ctc_of(model: torch.nn.Module, config: PathLike = "the model"):
    """The model's trained CTC module (ESPnet's ``CTC``).

    Raises:
        InputError: the model has none (an ESPnet ASR model with ``ctc_weight`` 0, i.e. CE
            pre-training, has ``ctc`` None), or its CTC was never trained (``ctc_weight`` 0).
    """
    ctc = getattr(model, "ctc", None)
    if ctc is None:
        raise InputError(f"{config}: this model has no CTC (model_conf ctc_weight: 0, or a model without one): "
                         "there is no CTC transcript to make; the cascade needs a CTC pre-training "
                         "(ctc, ctc_ce, ctc_ot, ...)")
    if getattr(model, "ctc_weight", None) == 0:
        raise InputError(f"{config}: model_conf ctc_weight is 0: its CTC was never trained")
    return ctc


@torch.no_grad()
def greedy_ctc(model: torch.nn.Module, speech: torch.Tensor, lengths: torch.Tensor) -> List[List[int]]:
    """The greedy CTC token ids of a batch: per frame the most likely token, repeats collapsed, blank (0) removed.

    Args:
        model: a model with ``ctc`` and ``encode_ctc`` or ``encode`` (see the module's docstring).
        speech: (B, L, F) features (or (B, L) waveforms), padded.
        lengths: (B,) their lengths.

    Returns:
        One list of token ids per utterance.
    """
    ctc = ctc_of(model)
    encode = getattr(model, "encode_ctc", None) or model.encode
    states, state_lengths = encode(speech, lengths)
    if isinstance(states, tuple):  # ESPnet's ASR encode with intermediate CTC outputs
        states = states[0]
    best = ctc.log_softmax(states).argmax(dim=-1).cpu()  # (B, T)
    return [collapse(best[b, : int(state_lengths[b])].tolist()) for b in range(best.size(0))]


# --- error counts ---------------------------------------------------------------------------------

@dataclass
class ErrorCounts:
    """Corpus-level edit operations of hypotheses against references (the minimum edit distance's)."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    ref_tokens: int = 0
    utterances: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def error_rate(self) -> Optional[float]:
        """(S + D + I) / reference tokens; None without reference tokens. Above 1 with many insertions."""
        return self.errors / self.ref_tokens if self.ref_tokens else None

    def to_json(self) -> Dict:
        return {"error_rate": self.error_rate, **asdict(self)}


def align_counts(ref: Sequence, hyp: Sequence) -> Tuple[int, int, int]:
    """(substitutions, deletions, insertions) of one minimum-cost alignment of ``hyp`` to ``ref``.

    Their sum is the Levenshtein distance. Among equally short alignments, the backtrace prefers a
    match or substitution, then a deletion, then an insertion (as sclite does).
    """
    n, m = len(ref), len(hyp)
    if n == 0 or m == 0:
        return 0, n, m
    ref_ids = {token: i for i, token in enumerate(dict.fromkeys([*ref, *hyp]))}
    r = np.array([ref_ids[t] for t in ref])
    h = np.array([ref_ids[t] for t in hyp])
    # d[i, j]: distance of ref[:i] and hyp[:j]. A row from the one above: substitution or match and
    # deletion, then insertions (d[i, j] = min over k <= j of a[k] + j - k, a running minimum).
    d = np.empty((n + 1, m + 1), dtype=np.int64)
    d[0] = np.arange(m + 1)
    steps = np.arange(m + 1)
    for i in range(1, n + 1):
        a = np.empty(m + 1, dtype=np.int64)
        a[0] = i
        a[1:] = np.minimum(d[i - 1, :-1] + (h != r[i - 1]), d[i - 1, 1:] + 1)
        d[i] = np.minimum.accumulate(a - steps) + steps
    subs = dels = ins = 0
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (r[i - 1] != h[j - 1]):
            subs += int(r[i - 1] != h[j - 1])
            i, j = i - 1, j - 1
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            dels += 1
            i -= 1
        else:
            ins += 1
            j -= 1
    return subs, dels, ins


def error_counts(refs: Sequence[Sequence], hyps: Sequence[Sequence]) -> ErrorCounts:
    """The corpus-level :class:`ErrorCounts` of token sequences, paired in order."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    counts = ErrorCounts(utterances=len(refs))
    for ref, hyp in zip(refs, hyps):
        subs, dels, ins = align_counts(ref, hyp)
        counts.substitutions += subs
        counts.deletions += dels
        counts.insertions += ins
        counts.ref_tokens += len(ref)
    return counts


# --- a pre-training's CTC on a data set -----------------------------------------------------------

@dataclass
class CTCRecognizer:
    """A pre-trained model's CTC and its source units.

    Attributes:
        model: the model (eval mode).
        config: its config.yaml.
        token_list: its source tokens (the CTC's outputs; ``<blank>`` first).
        token_type: ESPnet's token type of the source (``word`` for phonemes, ``bpe``).
        tokenizer: ESPnet's tokenizer of that type: text <-> tokens, as the recipe's preprocessors
            (the pre-training's and the MT model's) read the source transcripts.
        device: torch device.
    """

    model: torch.nn.Module
    config: str
    token_list: List[str]
    token_type: str
    tokenizer: object
    device: str = "cpu"

    def __post_init__(self):
        self._index = {token: i for i, token in enumerate(self.token_list)}

    def ids_to_text(self, ids: Sequence[int]) -> str:
        """Token ids -> the source transcript as the recipe writes it (phonemes: space-separated;
        SentencePiece: the detokenised text, which the MT model's preprocessor tokenises again)."""
        return self.tokenizer.tokens2text([self.token_list[i] for i in ids])

    def text_to_ids(self, text: str) -> List[int]:
        """A source transcript -> its token ids, as the preprocessor makes the CTC's targets
        (a unit not in the token list is ``<unk>``)."""
        unk = self._index.get("<unk>")
        ids = []
        for token in self.tokenizer.text2tokens(text):
            if token not in self._index and unk is None:
                raise InputError(f"{self.config}: token {token!r} is not in the token list, which has no <unk>")
            ids.append(self._index.get(token, unk))
        return ids


def load_recognizer(config: PathLike, model_file: PathLike, device: str = "cpu") -> CTCRecognizer:
    """Load a pre-training's model (ESPnet ASR or ctcot) and check that it has a trained CTC.

    Raises:
        FileNotFoundError: a file is missing. InputError: the model has no (trained) CTC, or its token
        list does not fit its CTC's outputs.
    """
    from espnet2.text.build_tokenizer import build_tokenizer

    encoder = load_encoder(config, model_file, detect_task(config, "speech"), device)
    model, args = encoder.model, encoder.args
    ctc = ctc_of(model, config)
    # ctcot's models name their source options src_*, ESPnet's ASR model plainly.
    prefix = "src_" if getattr(args, "src_token_list", None) is not None else ""
    token_list = list(getattr(model, "token_list", None) or getattr(args, f"{prefix}token_list"))
    outputs = ctc.ctc_lo.out_features
    if len(token_list) != outputs:
        raise InputError(f"{config}: {prefix}token_list has {len(token_list)} tokens but the CTC has {outputs} outputs")
    token_type = getattr(args, f"{prefix}token_type")
    bpemodel = getattr(args, f"{prefix}bpemodel", None)
    if token_type == "bpe" and not (bpemodel and Path(bpemodel).is_file()):
        raise FileNotFoundError(f"{config}: {prefix}bpemodel {bpemodel}: no such SentencePiece model "
                                "(paths in config.yaml are relative to the recipe directory)")
    tokenizer = build_tokenizer(token_type=token_type, bpemodel=bpemodel)
    return CTCRecognizer(model=model, config=str(config), token_list=token_list, token_type=token_type,
                         tokenizer=tokenizer, device=device)


def decode_data_dir(recognizer: CTCRecognizer, data_dir: PathLike, batch_size: int = 1
                    ) -> Tuple[List[str], List[List[int]]]:
    """Greedy CTC token ids of every utterance of ``<data_dir>/feats.scp``.

    Args:
        recognizer: the model (:func:`load_recognizer`).
        data_dir: a data directory with ``feats.scp`` (the model normalises the features itself).
        batch_size: 1 (the default) decodes each utterance alone, as ESPnet's inference does; larger
            batches, sorted by length, are faster but not exact: ESPnet's conv2d subsampling gives
            a padded utterance a frame or two more (see :func:`ctcot.encoders.encode_speech`).

    Returns:
        The utterance ids in feats.scp's order, and their token ids.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    feats_scp = Path(data_dir) / "feats.scp"
    if not feats_scp.is_file():
        raise FileNotFoundError(f"{feats_scp}: no such file (the features of {data_dir})")
    utts = list(read_kv(feats_scp, check_sorted=False))
    if not utts:
        raise InputError(f"{feats_scp}: no utterances")
    feats = read_features(feats_scp, utts)
    hyps: List[Optional[List[int]]] = [None] * len(utts)
    batches = length_batches([len(f) for f in feats], batch_size)
    for batch in tqdm(batches, desc="greedy CTC", unit="batch" if batch_size > 1 else "utt"):
        xs, lengths = pad_sequences([feats[i] for i in batch], 0.0)
        for i, ids in zip(batch, greedy_ctc(recognizer.model, xs.to(recognizer.device),
                                            lengths.to(recognizer.device))):
            hyps[i] = ids
    return utts, hyps


def run_cascade(config: PathLike, model_file: PathLike, data_dir: PathLike, src_text: str, output_dir: PathLike,
                batch_size: int = 1, device: str = "cpu", utt2group: Optional[PathLike] = None) -> ErrorCounts:
    """The cascade's first half on a data set: ``<output_dir>/text`` and ``<output_dir>/ctc_error.json``.

    Args:
        config, model_file: the pre-training's config.yaml and checkpoint (a CTC model).
        data_dir: a data directory with ``feats.scp`` and the source transcripts.
        src_text: the source transcripts' file name in it (e.g. ``text.phn.en``): the reference of
            the error rate, and the format of ``text``.
        output_dir: where ``text`` (``<utt> <transcript>`` per utterance of feats.scp, in the
            format of ``src_text``; only the id when the CTC outputs nothing) and ``ctc_error.json``
            (:meth:`ErrorCounts.to_json`) go, each written whole or not at all.
        batch_size, device: see :func:`decode_data_dir`.
        utt2group: a ``<utt-id> <group>`` file: ``ctc_error.json`` then also has ``by_group``, each
            group's counts.

    Raises:
        FileNotFoundError: a file is missing. InputError: the model has no CTC, or an utterance of
        feats.scp has no source transcript.
    """
    data_dir = Path(data_dir)
    ref_path = data_dir / src_text
    if not ref_path.is_file():
        raise FileNotFoundError(f"{ref_path}: no such file (the source transcripts of {data_dir})")
    refs = read_kv(ref_path, check_sorted=False, allow_empty=True)
    recognizer = load_recognizer(config, model_file, device)
    feats_scp = data_dir / "feats.scp"
    if feats_scp.is_file():  # bad transcripts or groups fail before the decoding, not after it
        feats_utts = list(read_kv(feats_scp, check_sorted=False))
        missing = [u for u in feats_utts if u not in refs]
        if missing:
            raise InputError(f"{ref_path}: no transcript for {len(missing)} utterance(s) of {feats_scp}, "
                             f"e.g. {', '.join(missing[:3])}")
        if utt2group is not None:
            read_groups(utt2group, feats_utts)
    utts, hyps = decode_data_dir(recognizer, data_dir, batch_size)
    ref_ids = [recognizer.text_to_ids(refs[u]) for u in utts]
    counts = error_counts(ref_ids, hyps)
    summary = counts.to_json()
    if utt2group is not None:
        summary["by_group"] = {group: error_counts([ref_ids[i] for i in members], [hyps[i] for i in members]).to_json()
                               for group, members in read_groups(utt2group, utts).items()}
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for utt, ids in zip(utts, hyps):
        text = recognizer.ids_to_text(ids).strip()
        lines.append(f"{utt} {text}\n" if text else f"{utt}\n")
    atomic_write(output_dir / "text", "".join(lines).encode("utf-8"))
    atomic_write(output_dir / "ctc_error.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    return counts
