#!/usr/bin/env python3
"""Draw the CTC compression of one utterance by a ctc_compress_ot pre-training.

Usage:
    python -m ctcot.bin.compression_figure --config exp/pretrain_ctc_compress_ot/config.yaml \\
        --model_file exp/pretrain_ctc_compress_ot/valid.loss.ave.pth --data_dir dump/fbank/test \\
        --src_text text.phn.en --utt <utterance id> --output compression.png

Panels: the features, the greedy CTC label of each speech-encoder frame, and the compressed vectors
(one per predicted unit) with their units and the reference transcript (ctcot.compression_figure).
"""
import argparse
import logging
import sys
from typing import List, Optional

from ctcot import InputError
from ctcot.bin import run


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the pre-training's config.yaml")
    parser.add_argument("--model_file", required=True, help="its checkpoint")
    parser.add_argument("--data_dir", required=True, help="a data dir with feats.scp")
    parser.add_argument("--src_text", default="", help="its source transcript's file name, for the reference")
    parser.add_argument("--utt", default="", help="the utterance (default: the first of feats.scp)")
    parser.add_argument("--output", required=True, help="the PNG to write")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)

    def draw():
        from pathlib import Path

        import kaldiio

        from ctcot.compress_model import CTCCompressOTModel
        from ctcot.compression_figure import compress_utterance, plot_compression
        from ctcot.data_dir import read_kv
        from ctcot.encoders import load_encoder

        encoder = load_encoder(args.config, args.model_file, "ctcot")
        if not isinstance(encoder.model, CTCCompressOTModel):
            raise InputError(f"{args.config} is not a ctc_compress_ot pre-training (encoder: ctc_compress)")
        feats = kaldiio.load_scp(str(Path(args.data_dir) / "feats.scp"))
        utt = args.utt or next(iter(feats.keys()))
        if utt not in feats:
            raise InputError(f"{args.data_dir}/feats.scp has no utterance {utt}")
        reference = (read_kv(Path(args.data_dir) / args.src_text).get(utt, "").split() if args.src_text else [])
        view = compress_utterance(encoder, feats[utt])
        plot_compression(view, args.output, title=f"{utt}: CTC compression ({encoder.model.encoder.compression})",
                         reference=reference)
        logging.info("%s: %s, %d encoder frames -> %d vectors", args.output, utt, len(view.labels), len(view.units))

    return run(draw)


if __name__ == "__main__":
    sys.exit(main())
