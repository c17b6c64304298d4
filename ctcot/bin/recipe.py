#!/usr/bin/env python3
"""The rules of st.sh that ctcot's Python shares (ctcot.recipe), as shell assignments for st.sh.

Usage:
    python -m ctcot.bin.recipe --pretrain ctc_ot --st_init_decoder_from_mt true \\
        --option nj=4 --option max_wav_duration=30 --config st=conf/train_st.yaml

prints ``pretrain_ot=true``, ``pretrain_ctc=true``, ``need_mt=true``,
``default_st_tag=ctc_ot_mtdec`` and, for each --config, ``<name>_config_digest=<md5>`` (of the
parsed YAML: comments and key order do not count; empty for a missing file). An unknown
pre-training, a multi-task text encoder that cannot start where asked, a numeric option that is
not a number in range (ctcot.recipe.NUMBER_OPTIONS) or a config that is not YAML is an error
(exit 2), so st.sh stops before anything runs.
"""
import argparse
import sys
from typing import List, Optional

from ctcot.bin import print_shell_assignments
from ctcot.recipe import PRETRAINS, TEXT_ENCODER_INITS, check_options, config_digest, shell_settings


def _pair(text: str) -> List[str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return [name, value]


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrain", required=True, help=f"st.sh's --pretrain: {', '.join(PRETRAINS)}")
    parser.add_argument("--st_init_decoder_from_mt", required=True, choices=("true", "false"),
                        help="st.sh's --st_init_decoder_from_mt")
    parser.add_argument("--st_multitask", default="false", choices=("true", "false"), help="st.sh's --st_multitask")
    parser.add_argument("--st_init_text_encoder_from", default="mt", choices=TEXT_ENCODER_INITS,
                        help="st.sh's --st_init_text_encoder_from")
    parser.add_argument("--option", type=_pair, action="append", default=[], metavar="NAME=VALUE",
                        help="a numeric option of st.sh to check (repeatable)")
    parser.add_argument("--config", type=_pair, action="append", default=[], metavar="NAME=PATH",
                        help="a config whose digest to print as <NAME>_config_digest (repeatable)")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    try:
        check_options(dict(args.option))
        settings = shell_settings(args.pretrain, args.st_init_decoder_from_mt == "true",
                                  args.st_multitask == "true", args.st_init_text_encoder_from)
        settings.update({f"{name}_config_digest": config_digest(path) for name, path in args.config})
    except ValueError as err:
        sys.stderr.write(f"Error: {err}\n")
        return 2  # as st.sh's other option errors
    print_shell_assignments(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
