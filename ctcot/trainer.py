"""ESPnet's trainer, keeping the model of every epoch on request (for the gap curves of stage 12).

ESPnet saves ``<output_dir>/<N>epoch.pth`` after each epoch and deletes those not among the
``keep_nbest_models`` best. With ``--keep_epoch_models true``, :class:`EpochKeepingTrainer`
hard-links each one into ``<output_dir>/epochs/`` before ESPnet can delete it (a copy where the
file system has no hard links), so the averaging, the best-model links and the checkpoints stay
exactly ESPnet's. The kept models cost disk only once ESPnet has deleted its own copy.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

from espnet2.train.trainer import Trainer, TrainerOptions
from espnet2.utils.build_dataclass import build_dataclass
from espnet2.utils.types import str2bool

__all__ = ["EPOCHS_DIR", "EpochKeepingTrainer", "keep_epoch_models", "epoch_models"]

EPOCHS_DIR = "epochs"
_EPOCH_FILE = re.compile(r"^(\d+)epoch\.pth$")


def keep_epoch_models(output_dir: Path) -> None:
    """Link every ``<N>epoch.pth`` of ``output_dir`` into ``output_dir/epochs/`` (those not there yet)."""
    kept = Path(output_dir) / EPOCHS_DIR
    for path in sorted(Path(output_dir).glob("*epoch.pth")):
        if not _EPOCH_FILE.match(path.name) or (kept / path.name).exists():
            continue
        kept.mkdir(exist_ok=True)
        try:
            os.link(path, kept / path.name)
        except OSError:  # no hard links here (e.g. across devices, some network file systems)
            shutil.copyfile(path, kept / path.name)


def epoch_models(output_dir: Path) -> Dict[int, Path]:
    """The model of each epoch found in ``output_dir/epochs/`` or ``output_dir``, by epoch number."""
    found: Dict[int, Path] = {}
    for directory in (Path(output_dir), Path(output_dir) / EPOCHS_DIR):  # the kept copy wins
        for path in directory.glob("*epoch.pth"):
            match = _EPOCH_FILE.match(path.name)
            if match and path.is_file():
                found[int(match.group(1))] = path
    return dict(sorted(found.items()))


@dataclass
class EpochKeepingTrainerOptions(TrainerOptions):
    keep_epoch_models: bool = False


class EpochKeepingTrainer(Trainer):
    """ESPnet's :class:`Trainer` with ``--keep_epoch_models``."""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--keep_epoch_models", type=str2bool, default=False,
                            help="Keep the model of every epoch in <output_dir>/epochs/ (ESPnet keeps only the "
                                 "keep_nbest_models best); stage 12's gap curves read them")

    @classmethod
    def build_options(cls, args: argparse.Namespace) -> TrainerOptions:
        return build_dataclass(EpochKeepingTrainerOptions, args)

    @classmethod
    def _keep(cls, options: TrainerOptions, distributed_option) -> None:
        if options.keep_epoch_models and (not distributed_option.distributed or distributed_option.dist_rank == 0):
            keep_epoch_models(Path(options.output_dir))

    @classmethod
    def train_one_epoch(cls, model, iterator, optimizers, schedulers, scaler, reporter, summary_writer,
                        options, distributed_option) -> bool:
        # ESPnet deletes the models of earlier epochs after this one: keep them first.
        cls._keep(options, distributed_option)
        return super().train_one_epoch(model=model, iterator=iterator, optimizers=optimizers,
                                       schedulers=schedulers, scaler=scaler, reporter=reporter,
                                       summary_writer=summary_writer, options=options,
                                       distributed_option=distributed_option)

    @classmethod
    def run(cls, model, optimizers, schedulers, train_iter_factory, valid_iter_factory,
            plot_attention_iter_factory, trainer_options, distributed_option) -> None:
        super().run(model=model, optimizers=optimizers, schedulers=schedulers,
                    train_iter_factory=train_iter_factory, valid_iter_factory=valid_iter_factory,
                    plot_attention_iter_factory=plot_attention_iter_factory, trainer_options=trainer_options,
                    distributed_option=distributed_option)
        cls._keep(trainer_options, distributed_option)  # the last epoch's
        if trainer_options.keep_epoch_models:
            logging.info("models of every epoch: %s", Path(trainer_options.output_dir) / EPOCHS_DIR)
