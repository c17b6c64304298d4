"""ST decoding of many utterances at once: ESPnet's ``st_inference`` with utterance batches.

:class:`BatchSpeech2Text` is ESPnet's ``Speech2Text`` (same model loading, scorers, tokenizer and
outputs) for lists of utterances: they are sorted by length, cut into batches of at most
``batch_bins`` padded feature frames (:func:`length_batches`) and decoded by
:func:`ctcot.batch_beam_search.batch_beam_search`. :func:`decode_scp` writes ESPnet's output
layout, ``<output_dir>/<n>best_recog/{text,token,token_int,score}``, so st.sh's stage 9 reads it
as it reads ESPnet's.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import kaldiio
import numpy as np
import torch
from tqdm import tqdm

from ctcot import InputError
from ctcot.batch_beam_search import SearchHypothesis, batch_beam_search
from ctcot.fileio import PathLike

__all__ = ["length_batches", "BatchSpeech2Text", "decode_scp"]

logger = logging.getLogger(__name__)

# Utterances whose features are in memory at once; within them, batches are formed by length.
_CHUNK = 2000
# One result as ESPnet's Speech2Text gives it: text, tokens, token ids, hypothesis.
Result = Tuple[Optional[str], List[str], List[int], SearchHypothesis]


def length_batches(lengths: Sequence[int], batch_bins: int) -> List[List[int]]:
    """Indices of ``lengths`` in batches of similar length, longest first, each holding at most
    ``batch_bins`` padded frames (batch size x its longest length; a longer item is alone)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: List[List[int]] = []
    for i in order:
        if batches and lengths[batches[-1][0]] * (len(batches[-1]) + 1) <= batch_bins:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class BatchSpeech2Text:
    """ESPnet's ``Speech2Text`` decoding batches of utterances.

    Args:
        st_train_config, st_model_file: the ST experiment's ``config.yaml`` and model.
        device: torch device.
        beam_size, penalty, maxlenratio, minlenratio, nbest, ctc_weight: ESPnet's decoding options.
        batch_bins: at most this many padded feature frames per batch (100 per second of audio).
        tgt_lang_tag: a multilingual model's target-language tag (``<2de>``): every hypothesis
            starts with it (as :mod:`ctcot.bin.st_inference` forces it), and it is not in the output.
    """

    def __init__(self, st_train_config: PathLike, st_model_file: PathLike, *, device: str = "cpu",
                 beam_size: int = 20, penalty: float = 0.0, maxlenratio: float = 0.0, minlenratio: float = 0.0,
                 nbest: int = 1, ctc_weight: float = 0.0, batch_bins: int = 20000,
                 tgt_lang_tag: Optional[str] = None):
        from espnet2.tasks.st import STTask
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.token_id_converter import TokenIDConverter

        import ctcot.compress_model  # noqa: F401  (ESPnet's ST task then builds the ctc_compress encoder)

        self.model, args = STTask.build_model_from_file(st_train_config, st_model_file, device)
        self.model.eval()
        self.device = device
        self.input_size = args.input_size
        self.options = dict(beam_size=beam_size, penalty=penalty, maxlenratio=maxlenratio,
                            minlenratio=minlenratio, nbest=nbest, ctc_weight=ctc_weight)
        self.batch_bins = batch_bins
        self.tokenizer = build_tokenizer(token_type=args.token_type, bpemodel=args.bpemodel)
        self.converter = TokenIDConverter(token_list=args.token_list)
        self.primer, self.tag_id = None, None
        if tgt_lang_tag is not None:
            if tgt_lang_tag not in self.converter.token2id:
                raise InputError(f"target-language tag {tgt_lang_tag} is not in the model's token list")
            self.tag_id = self.converter.token2id[tgt_lang_tag]
            self.primer = [self.model.sos, self.tag_id]

    def _result(self, hyp: SearchHypothesis) -> Result:
        # As Speech2Text: without the first token (<sos>) and the last (<eos>), blanks (0) dropped;
        # then, as ctcot.bin.st_inference, without the forced tag.
        token_int = [t for t in hyp.yseq[1:-1] if t != 0]
        if self.tag_id is not None and token_int[:1] == [self.tag_id]:
            token_int = token_int[1:]
        token = self.converter.ids2tokens(token_int)
        return self.tokenizer.tokens2text(token), token, token_int, hyp

    @torch.no_grad()
    def __call__(self, feats: Sequence[np.ndarray]) -> List[List[Result]]:
        """The n-best results of each utterance, in input order.

        Args:
            feats: (frames_i, input_size) features of each utterance.
        """
        results: List[List[Result]] = [[] for _ in feats]
        for batch in length_batches([len(f) for f in feats], self.batch_bins):
            lengths = torch.tensor([len(feats[i]) for i in batch])
            speech = torch.zeros(len(batch), int(lengths.max()), feats[batch[0]].shape[1])
            for row, i in enumerate(batch):
                speech[row, : len(feats[i])] = torch.tensor(feats[i], dtype=torch.float32)
            nbests = batch_beam_search(self.model, speech.to(self.device), lengths.to(self.device),
                                       primer=self.primer, **self.options)
            for i, hyps in zip(batch, nbests):
                results[i] = [self._result(hyp) for hyp in hyps]
        return results


def decode_scp(speech2text: BatchSpeech2Text, feats_scp: PathLike, output_dir: PathLike,
               key_file: Optional[PathLike] = None) -> int:
    """Decode the utterances of a feats.scp (those of ``key_file`` if given) into ESPnet's layout.

    Writes ``<output_dir>/<n>best_recog/{text,token,token_int,score}`` for n = 1..nbest, sorted by
    utterance id. An utterance without a hypothesis (ESPnet's "no hypothesis ended" case) gets
    empty lines. Returns the number of utterances decoded.
    """
    feats = kaldiio.load_scp(str(feats_scp))  # lazy: read chunk by chunk
    keys = sorted(feats)
    if key_file is not None:
        keys = [line.split(maxsplit=1)[0] for line in Path(key_file).read_text().splitlines() if line.strip()]
        missing = [k for k in keys if k not in feats]
        if missing:
            raise InputError(f"{key_file}: {len(missing)} utterance(s) are not in {feats_scp}, e.g. {missing[0]}")
    results: List[List[Result]] = []
    with tqdm(total=len(keys), desc=f"decoding {Path(feats_scp).parent.name}", unit="utt", disable=None) as bar:
        for start in range(0, len(keys), _CHUNK):
            results += speech2text([feats[k] for k in keys[start : start + _CHUNK]])
            bar.update(min(_CHUNK, len(keys) - start))
    nbest = speech2text.options["nbest"]
    for n in range(1, nbest + 1):
        out = Path(output_dir) / f"{n}best_recog"
        out.mkdir(parents=True, exist_ok=True)
        rows = {name: [] for name in ("text", "token", "token_int", "score")}
        for key, result in sorted(zip(keys, results)):
            text, token, token_int, hyp = result[n - 1] if len(result) >= n else ("", [], [], None)
            rows["text"].append(f"{key} {text}")
            rows["token"].append(f"{key} {' '.join(token)}")
            rows["token_int"].append(f"{key} {' '.join(map(str, token_int))}")
            rows["score"].append(f"{key} {hyp.score if hyp is not None else ''}")
        for name, lines in rows.items():
            (out / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return len(keys)
