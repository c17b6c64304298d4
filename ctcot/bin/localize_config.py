#!/usr/bin/env python3
"""Copy a model's config.yaml with its paths made absolute, to build the model from anywhere.

Usage:
    python -m ctcot.bin.localize_config ../other/st1/exp/pretrain_ctc_ot/config.yaml \\
        exp/pretrain_ctc_ot/external/speech_config.yaml

A model trained in another recipe names its feature statistics, SentencePiece models and token
list files relative to that recipe's directory; each is resolved against the nearest directory
above the config where it exists (see ctcot.init_param.localize_config). A path found nowhere is an
error (exit 1).
"""
import argparse
import logging
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.init_param import localize_config


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="the model's config.yaml")
    parser.add_argument("output", help="where the copy goes")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)

    def localize():
        rewritten = localize_config(args.config, args.output)
        logging.info("%s -> %s: %s", args.config, args.output,
                     "absolute " + ", ".join(rewritten) if rewritten else "no relative paths")

    return run(localize)


if __name__ == "__main__":
    sys.exit(main())
