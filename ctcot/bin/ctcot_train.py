#!/usr/bin/env python3
"""Pre-train a speech encoder with CTC (+ OT towards a text encoder) on ESPnet's trainer.

Usage (ESPnet's standard options; see --help for all of them):
    python -m ctcot.bin.ctcot_train --config conf/tuning/pretrain_ctc_ot.yaml --ngpu 0 \\
        --src_token_list data/token_list/src_bpe_unigram1000/tokens.txt \\
        --src_bpemodel data/token_list/src_bpe_unigram1000/bpe.model \\
        --train_data_path_and_name_and_type dump/fbank/train/feats.scp,speech,kaldi_ark \\
        --train_data_path_and_name_and_type dump/fbank/train/text.lc.rm.en,src_text,text \\
        --valid_data_path_and_name_and_type dump/fbank/dev/feats.scp,speech,kaldi_ark \\
        --valid_data_path_and_name_and_type dump/fbank/dev/text.lc.rm.en,src_text,text \\
        --train_shape_file exp/pretrain_stats/train/speech_shape \\
        --valid_shape_file exp/pretrain_stats/valid/speech_shape \\
        --output_dir exp/pretrain_ctc_ot

Add --collect_stats true for the statistics pass, --resume true to continue an interrupted
run, and --init_param mt.pth:frontend:text_frontend mt.pth:encoder:text_encoder to start the
text encoder from an ESPnet MT model.
"""
from typing import List, Optional

from ctcot.task import CTCOTTask


def get_parser():
    return CTCOTTask.get_parser()


def main(cmd: Optional[List[str]] = None):
    CTCOTTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
