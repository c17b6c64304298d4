#!/usr/bin/env python3
"""Spectrograms of one sentence read by several of the mini corpus's voices, dry and in varied acoustics.

Usage:
    python -m ctcot.bin.voices_figure --output docs/voices_mini.png
    python -m ctcot.bin.voices_figure --output voices.png --text "Ben sleeps." --voices spk00 flite-rms3
"""
import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from ctcot.bin import run
from ctcot.corpora.mini_st.figure import DEFAULT_FIGURE_VOICES, DEFAULT_TEXT, all_voices, plot_voices


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ctcot.bin.voices_figure", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--output", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--text", default=DEFAULT_TEXT, help="the sentence to read")
    parser.add_argument("--voices", nargs="+", default=list(DEFAULT_FIGURE_VOICES),
                        help="voice ids, one column each: " + " ".join(all_voices()))
    parser.add_argument("--seed", type=int, default=0, help="seed of the varied acoustic conditions (second row)")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)

    def task() -> None:
        logging.info("wrote %s", plot_voices(args.output, args.text, args.voices, args.seed))

    return run(task)


if __name__ == "__main__":
    sys.exit(main())
