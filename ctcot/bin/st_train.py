#!/usr/bin/env python3
"""Train multi-task ST (ESPnet's ST task with an MT-shaped text encoder; see ctcot.st_task).

Usage: espnet2.bin.st_train's options (see --help), with src_text among the data, and
    --model_conf asr_weight=0.3 --model_conf mt_weight=0.3 --model_conf mtlalpha=1.0
    --text_frontend embed --text_encoder transformer (the MT model's encoder_conf)
    --init_param mt.pth:frontend:extra_mt_encoder.frontend mt.pth:encoder:extra_mt_encoder.encoder \\
        mt.pth:decoder:decoder pretrain.pth:encoder:encoder pretrain.pth:ctc:ctc
"""
from typing import List, Optional

from ctcot.st_task import MultitaskSTTask


def get_parser():
    return MultitaskSTTask.get_parser()


def main(cmd: Optional[List[str]] = None):
    MultitaskSTTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
