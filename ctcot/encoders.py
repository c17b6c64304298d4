"""Speech and text encoders of trained ESPnet models: loading them, and their states on a data set.

The analyses (:mod:`ctcot.modality_gap`, :mod:`ctcot.gap_curves`) and the zero-shot swap
(:mod:`ctcot.zero_shot`) load models here:

- speech states: ``encode(speech, lengths)`` of an ESPnet ASR model (CE, CTC+CE pre-training) or
  of a :class:`ctcot.espnet_model.CTCOTModel` (CTC, CTC+OT) on precomputed features (``feats.scp``;
  the model normalises them itself, e.g. with its global_mvn);
- text states: the source transcript, tokenised by the text model's own preprocessor, through an
  ESPnet MT model's ``encode`` or a CTCOTModel's ``encode_text``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import yaml
from tqdm import tqdm

from ctcot import InputError
from ctcot.data_dir import read_kv
from ctcot.fileio import PathLike
from ctcot.tokenizers import sos_eos_index

__all__ = ["SPEECH_TASKS", "TEXT_TASKS", "Encoder", "detect_task", "load_encoder", "read_data", "encode_speech",
           "read_features", "tokenize", "encode_text", "text_state_labels", "length_batches", "pad_sequences"]

SPEECH_TASKS = ("asr", "ctcot")
TEXT_TASKS = ("mt", "ctcot")


@dataclass
class Encoder:
    """A loaded model and the options it was trained with.

    Attributes:
        model: the ESPnet model, in eval mode.
        args: its training options (config.yaml), as ESPnet's ``build_model_from_file`` gives them.
        task: ``asr``, ``mt`` or ``ctcot``.
        config: path of config.yaml.
        model_file: path of the checkpoint.
    """

    model: torch.nn.Module
    args: object
    task: str
    config: str
    model_file: str


def detect_task(config: PathLike, side: str) -> str:
    """The ESPnet task that trained the model of ``config``: a CTCOTTask config has ``text_encoder``.

    Args:
        config: a config.yaml written by training.
        side: ``speech`` (an ``asr`` or ``ctcot`` model) or ``text`` (an ``mt`` or ``ctcot`` model).

    Returns:
        ``ctcot``, or ``asr`` (speech) / ``mt`` (text).
    """
    if side not in ("speech", "text"):
        raise InputError(f"side must be 'speech' or 'text', got {side!r}")
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config (a config.yaml written by training)")
    with path.open(encoding="utf-8") as f:
        conf = yaml.safe_load(f)
    if not isinstance(conf, dict):
        raise InputError(f"{path}: not a training config (expected a YAML mapping)")
    model_conf = conf.get("model_conf") or {}
    if "text_encoder" in conf or "ot_weight" in model_conf:
        return "ctcot"
    return "asr" if side == "speech" else "mt"


def _task_class(task: str):
    if task == "asr":
        from espnet2.tasks.asr import ASRTask
        return ASRTask
    if task == "mt":
        from espnet2.tasks.mt import MTTask
        return MTTask
    if task == "ctcot":
        from ctcot.task import CTCOTTask
        return CTCOTTask
    raise InputError(f"unknown task {task!r}: expected one of asr, mt, ctcot")


def load_encoder(config: PathLike, model_file: PathLike, task: str, device: str = "cpu") -> Encoder:
    """Build a model from its training config and load a checkpoint into it, in eval mode.

    Unlike ESPnet's ``build_model_from_file`` (which loads with ``strict=False``), a checkpoint
    that lacks some of the model's parameters is refused: it was made by another task or config.

    Args:
        config: the experiment's config.yaml; relative paths in it (normalisation statistics,
            SentencePiece models) are relative to the current directory, as in ESPnet.
        model_file: the checkpoint (a state dict), e.g. valid.loss.ave.pth.
        task: ``asr``, ``mt`` or ``ctcot`` (see :func:`detect_task`).
        device: torch device of the model.
    """
    for path, what in ((config, "config"), (model_file, "model file")):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such {what}")
    model, args = _task_class(task).build_model_from_file(config, None, device)
    state = torch.load(model_file, map_location=device, weights_only=True)
    if isinstance(state, dict) and "module" in state:  # DeepSpeed checkpoints, as ESPnet reads them
        state = state["module"]
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise InputError(
            f"{model_file} does not fit the {task} model of {config}: {len(result.missing_keys)} parameters "
            f"missing, e.g. {result.missing_keys[:3]} (wrong checkpoint, or pass the task explicitly)")
    model.eval()
    return Encoder(model=model, args=args, task=task, config=str(config), model_file=str(model_file))


def read_data(data_dir: PathLike, src_text: str, max_utts: Optional[int] = None) -> Tuple[List[str], Dict[str, str]]:
    """The utterances of ``<data_dir>/feats.scp`` and their source transcripts.

    Args:
        data_dir: a data directory with ``feats.scp`` (Kaldi archives) and the transcript file.
        src_text: name of the source transcript file in ``data_dir``, e.g. ``text.phn.en``.
        max_utts: analyse only the first ``max_utts`` utterances of feats.scp; None: all.

    Returns:
        The utterance ids in feats.scp order, and their transcripts by id.

    Raises:
        FileNotFoundError: a file is missing. ValueError: a file is malformed, or an utterance
        of feats.scp has no transcript (the message names the file and the utterances).
    """
    data_dir = Path(data_dir)
    feats_scp, text_path = data_dir / "feats.scp", data_dir / src_text
    for path, what in ((feats_scp, "features (feats.scp)"), (text_path, "source transcripts")):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file ({what} of {data_dir})")
    utts = list(read_kv(feats_scp))
    texts = read_kv(text_path)
    missing = [u for u in utts if u not in texts]
    if missing:
        raise InputError(f"{text_path}: no transcript for {len(missing)} utterance(s) of {feats_scp}, "
                         f"e.g. {', '.join(missing[:3])}")
    if max_utts is not None:
        utts = utts[:max_utts]
    if len(utts) < 2:
        raise InputError(f"{feats_scp}: the analysis needs at least 2 utterances, got {len(utts)}")
    return utts, {u: texts[u] for u in utts}


def length_batches(lengths: Sequence[int], batch_size: int) -> List[List[int]]:
    """Indices grouped by decreasing length, ``batch_size`` a group (little padding)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_sequences(seqs: Sequence[torch.Tensor], value: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """(L_b, ...) tensors -> (B, L, ...) padded with ``value`` and lengths (B,)."""
    lengths = torch.tensor([len(s) for s in seqs])
    return torch.nn.utils.rnn.pad_sequence(list(seqs), batch_first=True, padding_value=value), lengths


def _encode_batched(
    inputs: Sequence[torch.Tensor], encode: Callable[[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor]],
    batch_size: int, pad_value: float, device: str, desc: str,
) -> List[torch.Tensor]:
    """Run ``encode(padded, lengths)`` over length-sorted batches; the states of each input, unpadded."""
    outputs: List[Optional[torch.Tensor]] = [None] * len(inputs)
    with torch.no_grad():
        for batch in tqdm(length_batches([len(x) for x in inputs], batch_size), desc=desc, unit="batch"):
            xs, lengths = pad_sequences([inputs[i] for i in batch], pad_value)
            states, state_lengths = encode(xs.to(device), lengths.to(device))
            if isinstance(states, tuple):  # ESPnet's ASR encode with intermediate CTC outputs
                states = states[0]
            for i, b in enumerate(batch):
                outputs[b] = states[i, : int(state_lengths[i])].float().cpu()
    return outputs


def encode_speech(encoder: Encoder, utts: Sequence[str], feats_scp: PathLike, batch_size: int = 1,
                  device: str = "cpu") -> List[torch.Tensor]:
    """Speech-encoder states of each utterance.

    With ``batch_size`` 1 (ESPnet's ST inference's), the states are those of each utterance
    alone. In padded batches they are not: ESPnet's conv2d subsampling derives the output
    lengths from the subsampled padding mask, so an utterance shorter than the batch's longest
    gets one or two frames more, computed partly from padding, that attention then sees.

    Args:
        encoder: an ``asr`` or ``ctcot`` model (:func:`load_encoder`).
        utts: utterance ids of ``feats_scp``.
        feats_scp: Kaldi script of the (unnormalised) features, e.g. 80-dim fbank.
        batch_size: utterances per batch.

    Returns:
        One (S_i, D) tensor per utterance.
    """
    return _encode_batched(read_features(feats_scp, utts), encoder.model.encode, batch_size, 0.0, device,
                           "speech states")


def read_features(feats_scp: PathLike, utts: Sequence[str]) -> List[torch.Tensor]:
    """The (L, F) features of each of ``utts`` in a Kaldi script (writable float32 copies)."""
    import kaldiio

    loader = kaldiio.load_scp(str(feats_scp))
    feats = []
    for utt in utts:
        try:
            feats.append(torch.from_numpy(np.array(loader[utt], dtype=np.float32)))  # a writable copy
        except (OSError, ValueError) as err:
            raise OSError(f"{feats_scp}: cannot read the features of {utt}: {err}") from err
    return feats


def tokenize(encoder: Encoder, texts: Dict[str, str], text_path: PathLike = "src_text") -> Dict[str, np.ndarray]:
    """Token ids of each transcript, by the text model's own (validation-time) preprocessor.

    Args:
        encoder: an ``mt`` or ``ctcot`` model; its options name the source token type, token
            list and SentencePiece model (phonemes are ESPnet's ``word`` tokens).
        texts: transcripts by utterance id.
        text_path: the transcripts' file, for error messages.

    Returns:
        (N_i,) int64 arrays by utterance id.
    """
    preprocess = _task_class(encoder.task).build_preprocess_fn(encoder.args, train=False)
    if preprocess is None:
        raise InputError(f"{encoder.config}: use_preprocessor is false: the source tokenisation is unknown")
    token_ids = {}
    for utt, text in texts.items():
        ids = preprocess(utt, {"src_text": text})["src_text"]
        if len(ids) == 0:
            raise InputError(f"{text_path}: the transcript of {utt} has no tokens")
        token_ids[utt] = np.asarray(ids, dtype=np.int64)
    return token_ids


def encode_text(encoder: Encoder, token_ids: Sequence[np.ndarray], batch_size: int = 16,
                device: str = "cpu") -> List[torch.Tensor]:
    """Text-encoder states of each token sequence: one (T_i, D) tensor each.

    Both an MT model's ``encode`` and a CTCOTModel's ``encode_text`` prepend ``<sos/eos>``
    (T_i = N_i + 1): these are the states the MT decoder, and the ST decoder initialised from it, see.
    """
    if encoder.task == "ctcot":
        if encoder.model.text_encoder is None:
            raise InputError(f"{encoder.config}: this CTC model has no text encoder (ot_weight is 0)")
        encode = encoder.model.encode_text
    else:
        encode = encoder.model.encode
    # Padded with -1 as ESPnet's collate pads: the MT model drops it before adding <sos>.
    return _encode_batched([torch.from_numpy(ids) for ids in token_ids], encode, batch_size, -1, device,
                           "text states")


def text_state_labels(encoder: Encoder, token_ids: np.ndarray) -> List[str]:
    """The token each text state stands for: ``<sos/eos>`` (``patch_size`` of them for MT), then the tokens."""
    token_list = list(encoder.args.src_token_list)
    ids = [int(i) for i in token_ids]
    if encoder.task == "mt":
        ids = [encoder.model.src_sos] * encoder.model.patch_size + ids
    else:
        ids = [sos_eos_index(len(token_list))] + ids  # CTCOTModel.encode_text
    return [token_list[i] if 0 <= i < len(token_list) else str(i) for i in ids]
