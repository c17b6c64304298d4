#!/usr/bin/env python3
"""ESPnet's ASR training (CE and CTC+CE pre-training, st.sh stage 7) with ``--keep_epoch_models``.

The same program as ``python -m espnet2.bin.asr_train`` (same options, same models and checkpoints),
on :class:`ctcot.trainer.EpochKeepingTrainer`, so that stage 12 can draw the gap curves of every
pre-training from the models of all its epochs.
"""
from typing import List, Optional

from espnet2.tasks.asr import ASRTask as _ESPnetASRTask

from ctcot.trainer import EpochKeepingTrainer


class ASRTask(_ESPnetASRTask):
    trainer = EpochKeepingTrainer


def get_parser():
    return ASRTask.get_parser()


def main(cmd: Optional[List[str]] = None):
    ASRTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
