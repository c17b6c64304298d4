#!/usr/bin/env python3
"""Build the zero-shot ST model of a pre-trained speech encoder and the MT decoder (st.sh stage 12).

Usage (from a recipe directory, egs2/<corpus>/st1):
    python -m ctcot.bin.zero_shot \\
        --speech_config exp/pretrain_ctc_ot/config.yaml --speech_model exp/pretrain_ctc_ot/valid.loss.ave.pth \\
        --mt_config exp/mt_train_mt/config.yaml --mt_model exp/mt_train_mt/valid.acc.ave.pth \\
        --output_dir exp/pretrain_ctc_ot/zero_shot

Writes <output_dir>/config.yaml and model.pth, an ESPnet ST model that no ST training has touched:
the speech side (normalisation, encoder) of the pre-training checkpoint (ESPnet ASR: CE, CTC+CE; or
ctcot: CTC, CTC+OT) and the MT model's decoder. Decode it as any ST model:
    python -m espnet2.bin.st_inference --st_train_config <output_dir>/config.yaml \\
        --st_model_file <output_dir>/model.pth ...
Exits 1 with a message naming both configs when the encoder's states do not fit the decoder.
See ctcot.zero_shot.
"""
import argparse
import logging
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.zero_shot import build_swap_model, write_swap_model


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Zero-shot ST model: a pre-trained speech encoder with the MT model's decoder, no ST training.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--speech_config", required=True, help="config.yaml of the speech pre-training experiment")
    parser.add_argument("--speech_model", required=True, help="its checkpoint, e.g. valid.loss.ave.pth")
    parser.add_argument("--mt_config", required=True, help="config.yaml of the MT experiment")
    parser.add_argument("--mt_model", required=True, help="its checkpoint, e.g. valid.acc.ave.pth")
    parser.add_argument("--output_dir", required=True, help="where config.yaml and model.pth go")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)

    def task() -> None:
        model, st_args = build_swap_model(args.speech_config, args.speech_model, args.mt_config, args.mt_model)
        sources = {"zero-shot ST model (ctcot.zero_shot)": "no ST training",
                   "speech side": f"{args.speech_model} ({args.speech_config})",
                   "decoder": f"{args.mt_model} ({args.mt_config})"}
        config, model_file = write_swap_model(args.output_dir, model, st_args, sources)
        logging.info("wrote %s and %s: speech side of %s, decoder of %s", config, model_file,
                     args.speech_model, args.mt_model)

    return run(task)


if __name__ == "__main__":
    sys.exit(main())
