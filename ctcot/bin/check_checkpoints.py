#!/usr/bin/env python3
"""Check the checkpoints of a training's output directory before it (re)starts, or after it failed.

Usage:
    python -m ctcot.bin.check_checkpoints exp/pretrain_ctc_ot
    python -m ctcot.bin.check_checkpoints exp/pretrain_ctc_ot --after_failure

Damaged checkpoints (cut short, e.g. by a full disk) are moved to <output_dir>/damaged/ and the
model of the checkpoint's epoch is restored from checkpoint.pth (see ctcot.checkpoints). Before
a training, a nearly full disk is a warning; after a failure, an error that says so.
"""
import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from ctcot.bin import run
from ctcot.checkpoints import disk_full_message, set_aside_damaged


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("output_dir", help="the training's output directory (ESPnet's --output_dir)")
    parser.add_argument("--after_failure", action="store_true", help="the training has just failed: say if the "
                                                                     "disk is full, as an error")
    return parser


def check(output_dir: Path, after_failure: bool) -> None:
    if not output_dir.is_dir():
        return
    set_aside_damaged(output_dir)
    message = disk_full_message(output_dir)
    if message is not None:
        (logging.error if after_failure else logging.warning)("%s", message)


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    return run(lambda: check(Path(args.output_dir), args.after_failure))


if __name__ == "__main__":
    sys.exit(main())
