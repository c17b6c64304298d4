#!/usr/bin/env python3
"""ESPnet's ST decoding (``espnet2.bin.st_inference``), forced to start with a target-language tag.

A one-to-many multilingual model is trained on targets that begin with a tag (``<2de> Hallo``,
see ``ctcot.corpora.must_c``). The speech does not say which language to produce, so beam search
starts every hypothesis with ``<sos/eos> <2de>`` (ESPnet's hypothesis primer) instead of
``<sos/eos>``, and the tag is removed from the output. All of ESPnet's options are accepted.

Usage:
    python -m ctcot.bin.st_inference --tgt_lang_tag '<2de>' --st_train_config exp/st/config.yaml \\
        --st_model_file exp/st/valid.acc.ave.pth --data_path_and_name_and_type feats.scp,speech,kaldi_ark \\
        --output_dir exp/st/decode/tst-COMMON.en-de
"""
import sys
from typing import List, Optional

import espnet2.bin.st_inference as espnet_st_inference


class TaggedSpeech2Text(espnet_st_inference.Speech2Text):
    """ESPnet's Speech2Text whose hypotheses begin with ``tag`` (set on the class before use)."""

    tag: str = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.tag not in self.converter.token2id:
            raise ValueError(f"target-language tag {self.tag} is not in the model's token list")
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


def main(cmd: Optional[List[str]] = None) -> None:
    parser = espnet_st_inference.get_parser()
    parser.add_argument("--tgt_lang_tag", required=True, help="the tag every hypothesis starts with, e.g. <2de>")
    args = parser.parse_args(cmd)
    kwargs = vars(args)
    kwargs.pop("config", None)
    TaggedSpeech2Text.tag = kwargs.pop("tgt_lang_tag")
    # inference() builds its Speech2Text from this module attribute.
    espnet_st_inference.Speech2Text = TaggedSpeech2Text
    espnet_st_inference.inference(**kwargs)


if __name__ == "__main__":
    main(sys.argv[1:])
