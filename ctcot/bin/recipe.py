#!/usr/bin/env python3
"""The rules of st.sh that ctcot's Python shares (ctcot.recipe), as shell assignments for st.sh.

Usage:
    eval "$(python -m ctcot.bin.recipe --pretrain ctc_ot --st_init_decoder_from_mt true)"

prints ``pretrain_ot=true``, ``need_mt=true`` and ``default_st_tag=ctc_ot_mtdec``. An unknown
pre-training is an error (exit 2), so st.sh stops before anything runs.
"""
import argparse
import sys
from typing import List, Optional

from ctcot.bin import print_shell_assignments
from ctcot.recipe import PRETRAINS, shell_settings


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrain", required=True, help=f"st.sh's --pretrain: {', '.join(PRETRAINS)}")
    parser.add_argument("--st_init_decoder_from_mt", required=True, choices=("true", "false"),
                        help="st.sh's --st_init_decoder_from_mt")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    try:
        print_shell_assignments(shell_settings(args.pretrain, args.st_init_decoder_from_mt == "true"))
    except ValueError as err:
        sys.stderr.write(f"Error: {err}\n")
        return 2  # as st.sh's other option errors
    return 0


if __name__ == "__main__":
    sys.exit(main())
