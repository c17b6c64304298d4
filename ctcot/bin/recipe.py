#!/usr/bin/env python3
"""The rules of st.sh that ctcot's Python shares (ctcot.recipe), as shell assignments for st.sh.

Usage:
    eval "$(python -m ctcot.bin.recipe --pretrain ctc_ot --st_init_decoder_from_mt true)"

prints ``pretrain_ot=true``, ``pretrain_ctc=true``, ``need_mt=true`` and
``default_st_tag=ctc_ot_mtdec``. An unknown pre-training, or a multi-task text encoder that cannot
start where asked, is an error (exit 2), so st.sh stops before anything runs.
"""
import argparse
import sys
from typing import List, Optional

from ctcot.bin import print_shell_assignments
from ctcot.recipe import PRETRAINS, TEXT_ENCODER_INITS, shell_settings


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrain", required=True, help=f"st.sh's --pretrain: {', '.join(PRETRAINS)}")
    parser.add_argument("--st_init_decoder_from_mt", required=True, choices=("true", "false"),
                        help="st.sh's --st_init_decoder_from_mt")
    parser.add_argument("--st_multitask", default="false", choices=("true", "false"), help="st.sh's --st_multitask")
    parser.add_argument("--st_init_text_encoder_from", default="mt", choices=TEXT_ENCODER_INITS,
                        help="st.sh's --st_init_text_encoder_from")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    try:
        print_shell_assignments(shell_settings(args.pretrain, args.st_init_decoder_from_mt == "true",
                                               args.st_multitask == "true", args.st_init_text_encoder_from))
    except ValueError as err:
        sys.stderr.write(f"Error: {err}\n")
        return 2  # as st.sh's other option errors
    return 0


if __name__ == "__main__":
    sys.exit(main())
