#!/usr/bin/env python3
"""Prepare one CoVoST 2 direction's Kaldi data dirs (``ctcot.corpora.covost2``), or print the names ``st.sh`` needs.

Usage:
    python -m ctcot.bin.prepare_covost2 --covost_dir downloads/covost2 --cv_dir downloads/commonvoice \\
        --src_lang es --tgt_lang en --output_dir data
    python -m ctcot.bin.prepare_covost2 --src_lang es --tgt_lang en --print_st_sets   # st.sh's set names, to eval
"""
import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ctcot.bin import print_shell_assignments, run
from ctcot.corpora import covost2


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ctcot.bin.prepare_covost2", description=covost2.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--covost_dir", "--covost_root", type=Path,
                        help="Directory of the CoVoST 2 translations, covost_v2.<src>_<tgt>.tsv (needed unless "
                             "--print_st_sets; --covost_root: the old spelling)")
    parser.add_argument("--cv_dir", "--cv_root", type=Path,
                        help="Common Voice v4 root, holding <src>/validated.tsv and <src>/clips/ (needed unless "
                             "--print_st_sets; --cv_root: the old spelling)")
    parser.add_argument("--src_lang", required=True,
                        help=f"Source language: en, or one of {' '.join(covost2.XX_EN_SOURCES)}")
    parser.add_argument("--tgt_lang", required=True,
                        help=f"Target language: en, or one of {' '.join(covost2.EN_XX_TARGETS)}")
    parser.add_argument("--output_dir", type=Path, default=Path("data"), help="Where the data dirs go")
    parser.add_argument("--print_st_sets", action="store_true",
                        help="Prepare nothing: print the shell assignments train_set, valid_set and test_sets, "
                             "for st.sh's options, to eval")
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> int:
    parser = get_parser()
    args = parser.parse_args(cmd)
    if args.print_st_sets:
        return run(lambda: print_shell_assignments(covost2.st_sets(args.src_lang, args.tgt_lang)))
    missing = [option for option in ("--covost_dir", "--cv_dir") if getattr(args, option[2:]) is None]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)} (unless --print_st_sets)")
    return run(lambda: covost2.prepare_covost2(args.covost_dir, args.cv_dir, args.output_dir,
                                               src_lang=args.src_lang, tgt_lang=args.tgt_lang))


if __name__ == "__main__":
    sys.exit(main())
