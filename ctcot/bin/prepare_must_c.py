#!/usr/bin/env python3
"""Prepare MuST-C's Kaldi data dirs (``ctcot.corpora.must_c``), or print the names ``st.sh`` needs.

Usage:
    python -m ctcot.bin.prepare_must_c --corpus_dir /data/MUST_C --tgt_langs de --output_dir data
    python -m ctcot.bin.prepare_must_c --corpus_dir /data/MUST_C --tgt_langs de_es --output_dir data   # or "de es"
    python -m ctcot.bin.prepare_must_c --tgt_langs de_es --print_st_sets   # st.sh's set names, for run.sh to eval
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from ctcot.bin import print_shell_assignments, run
from ctcot.corpora import must_c


def _tgt_langs(value: str) -> List[str]:
    langs = must_c.split_tgt_langs(value)
    unknown = [lang for lang in langs if lang not in must_c.TARGETS]
    if unknown:
        choices = ", ".join(map(repr, must_c.TARGETS))
        raise argparse.ArgumentTypeError(f"invalid choice: {unknown[0]!r} (choose from {choices})")  # argparse's words
    return langs


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ctcot.bin.prepare_must_c", description=must_c.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus_dir", "--root", type=Path,
                        help="MuST-C root, holding en-<tgt>/ directories (needed unless --print_st_sets; --root: the "
                             "old spelling)")
    parser.add_argument("--tgt_langs", nargs="+", type=_tgt_langs, required=True, metavar="LANG",
                        help=f"Target language(s), of {' '.join(must_c.TARGETS)}; several (de es, or de_es): "
                             f"multilingual")
    parser.add_argument("--sets", nargs="+", default=list(must_c.SETS), choices=must_c.SETS, metavar="SET",
                        help=f"Sets to prepare, of {' '.join(must_c.SETS)}")
    parser.add_argument("--output_dir", type=Path, default=Path("data"), help="Where the data dirs go")
    parser.add_argument("--print_st_sets", action="store_true",
                        help="Prepare nothing: print the shell assignments tgt_langs (joined: de_es), tgt_lang, "
                             "train_set, valid_set and test_sets, for st.sh's options, to eval")
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> int:
    parser = get_parser()
    args = parser.parse_args(cmd)
    tgt_langs = [lang for value in args.tgt_langs for lang in value]
    if args.print_st_sets:
        return run(lambda: print_shell_assignments(must_c.st_sets(tgt_langs)))
    if args.corpus_dir is None:
        parser.error("the following arguments are required: --corpus_dir (unless --print_st_sets)")
    return run(lambda: must_c.prepare_must_c(args.corpus_dir, args.output_dir, tgt_langs=tgt_langs, sets=args.sets))


if __name__ == "__main__":
    sys.exit(main())
