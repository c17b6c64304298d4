#!/usr/bin/env python3
"""ESPnet's ST decoding (``espnet2.bin.st_inference``), with utterance batches and target-language tags.

``--batch_bins N`` (N > 0): the utterances are decoded in batches of at most N padded feature frames
by ctcot's batched beam search (``ctcot.st_inference``), which gives ESPnet's hypotheses; ESPnet's
``st_inference`` decodes one utterance at a time. 0: ESPnet's own decoding, utterance by utterance.

``--tgt_lang_tag '<2de>'``: a one-to-many multilingual model is trained on targets that begin with a
tag (``<2de> Hallo``, see ``ctcot.corpora.must_c``). The speech does not say which language to
produce, so beam search starts every hypothesis with ``<sos/eos> <2de>`` (ESPnet's hypothesis
primer) instead of ``<sos/eos>``, and the tag is removed from the output.

All of ESPnet's options are accepted; the output is ESPnet's (``<output_dir>/<n>best_recog/``).

Usage:
    python -m ctcot.bin.st_inference --batch_bins 20000 --config conf/decode_st.yaml \\
        --st_train_config exp/st/config.yaml --st_model_file exp/st/valid.acc.ave.pth \\
        --data_path_and_name_and_type feats.scp,speech,kaldi_ark --output_dir exp/st/decode/test
"""
import logging
import sys
from typing import List, Optional

import espnet2.bin.st_inference as espnet_st_inference

import ctcot.compress_model  # noqa: F401  (ESPnet's ST task then builds the ctc_compress encoder)
from ctcot import InputError
from ctcot.bin import LOG_FORMAT


class TaggedSpeech2Text(espnet_st_inference.Speech2Text):
    """ESPnet's Speech2Text whose hypotheses begin with ``tag`` (set on the class before use)."""

    tag: str = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.tag not in self.converter.token2id:
            raise InputError(f"target-language tag {self.tag} is not in the model's token list")
        self.tag_id = self.converter.token2id[self.tag]
        self.beam_search.set_hyp_primer([self.st_model.sos, self.tag_id])

    def __call__(self, speech):
        results = []
        for text, token, token_int, hyp in super().__call__(speech):
            if token_int[:1] == [self.tag_id]:
                token, token_int = token[1:], token_int[1:]
                text = self.tokenizer.tokens2text(token) if self.tokenizer is not None else None
            results.append((text, token, token_int, hyp))
        return results


# ESPnet options the batched decoding does not implement, with the value that means "not used" (ESPnet
# uses lm_weight and ngram_weight only with an LM or n-gram file).
_NOT_BATCHED = {"lm_train_config": None, "lm_file": None, "ngram_file": None, "ctc_greedy": False,
                "hugging_face_decoder": False}


def batched(args) -> None:
    """Decode with :class:`ctcot.st_inference.BatchSpeech2Text` into ESPnet's output layout."""
    from ctcot.st_inference import BatchSpeech2Text, decode_scp

    used = [f"--{name}" for name, unused in _NOT_BATCHED.items() if getattr(args, name, unused) != unused]
    if used:
        raise InputError(f"{' '.join(used)}: not supported with --batch_bins > 0 (use --batch_bins 0)")
    if len(args.data_path_and_name_and_type) != 1 or args.data_path_and_name_and_type[0][1:] != ("speech",
                                                                                               "kaldi_ark"):
        raise InputError("--batch_bins > 0 decodes one 'feats.scp,speech,kaldi_ark' input, got "
                         f"{args.data_path_and_name_and_type}")
    speech2text = BatchSpeech2Text(
        args.st_train_config, args.st_model_file, device="cuda" if args.ngpu >= 1 else "cpu",
        beam_size=args.beam_size, penalty=args.penalty, maxlenratio=args.maxlenratio,
        minlenratio=args.minlenratio, nbest=args.nbest, ctc_weight=args.ctc_weight,
        batch_bins=args.batch_bins, tgt_lang_tag=args.tgt_lang_tag)
    count = decode_scp(speech2text, args.data_path_and_name_and_type[0][0], args.output_dir, args.key_file)
    logging.info(f"decoded {count} utterances into {args.output_dir}")


def main(cmd: Optional[List[str]] = None) -> int:
    parser = espnet_st_inference.get_parser()
    parser.add_argument("--tgt_lang_tag", default=None, help="the tag every hypothesis starts with, e.g. <2de>")
    parser.add_argument("--batch_bins", type=int, default=0,
                        help="> 0: decode batches of at most this many padded feature frames (ctcot's batched "
                             "beam search); 0: ESPnet's decoding, one utterance at a time")
    args = parser.parse_args(cmd)
    if args.batch_bins > 0:
        logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
        try:
            batched(args)
        except (InputError, OSError) as error:
            logging.error("%s", error)
            return 1
        return 0
    kwargs = vars(args)
    for name in ("config", "batch_bins"):
        kwargs.pop(name, None)
    tag = kwargs.pop("tgt_lang_tag")
    if tag is not None:
        TaggedSpeech2Text.tag = tag
        # inference() builds its Speech2Text from this module attribute.
        espnet_st_inference.Speech2Text = TaggedSpeech2Text
    espnet_st_inference.inference(**kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
