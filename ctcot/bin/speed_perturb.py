#!/usr/bin/env python3
"""Speed-perturb a Kaldi/ESPnet data directory (replaces Kaldi's perturb_data_dir_speed.sh + combine_data.sh).

Usage:
    python -m ctcot.bin.speed_perturb data/train data/train_sp
    python -m ctcot.bin.speed_perturb data/train data/train_sp --factors 0.9 1.0 1.1

Writes one copy of the data per factor (ids prefixed sp0.9-, sp1.1-; 1.0 keeps the originals)
with utt2speed and utt2uniq; the speed itself is changed when the features are extracted
(ctcot.features). Exits 1 if the source is not a valid data directory or a factor is bad.
See ctcot.speed_perturb.perturb_data_dir.
"""
import argparse
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.speed_perturb import perturb_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Speed-perturb a Kaldi/ESPnet data directory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("src", help="the data directory to perturb (only read)")
    parser.add_argument("dst", help="the directory to write")
    parser.add_argument("--factors", nargs="+", type=float, default=[0.9, 1.0, 1.1],
                        help="speed factors; include 1.0 to keep the original utterances")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    return run(lambda: perturb_data_dir(args.src, args.dst, factors=args.factors))


if __name__ == "__main__":
    sys.exit(main())
