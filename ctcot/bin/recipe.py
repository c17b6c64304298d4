#!/usr/bin/env python3
"""What st.sh derives from its options (ctcot.recipe.recipe_settings), as shell assignments for st.sh.

Usage:
    python -m ctcot.bin.recipe --set pretrain=ctc_ot --set st_init_decoder_from_mt=true ... (every option)

st.sh passes every one of its options (``--set NAME=VALUE``) and evaluates the output: the configs
(defaults from --conf_dir) and their digests, the names of data, token lists and experiments, and
what stages 7, 8 and 12 train and load (``name=value`` lines, quoted for the shell). An option st.sh
cannot use (unknown pre-training or token type, a numeric option out of range, a multi-task text
encoder that cannot start where asked, a config that is not YAML) is an error (exit 2), so st.sh
stops before anything runs.
"""
import argparse
import sys
from typing import List, Optional

from ctcot import InputError
from ctcot.bin import print_shell_assignments
from ctcot.recipe import recipe_settings


def _pair(text: str) -> List[str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return [name, value]


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=_pair, action="append", default=[], metavar="NAME=VALUE", dest="options",
                        help="an option of st.sh and its value (repeat for every option)")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    try:
        settings = recipe_settings(dict(args.options))
    except KeyError as err:
        sys.stderr.write(f"Error: st.sh did not pass its option --{err.args[0]}\n")
        return 2
    except InputError as err:
        sys.stderr.write(f"Error: {err}\n")
        return 2  # as st.sh's other option errors
    print_shell_assignments(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
