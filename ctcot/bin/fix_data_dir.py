#!/usr/bin/env python3
"""Make a Kaldi/ESPnet data directory consistent (replaces Kaldi's utils/fix_data_dir.sh).

Usage:
    python -m ctcot.bin.fix_data_dir data/train
    python -m ctcot.bin.fix_data_dir data/train --text_files text.tc.en text.tc.de

Sorts every file, keeps the utterances that are complete and well-formed in all of them, drops
recordings no longer used, rewrites spk2utt, and logs each dropped utterance with the reason.
The old files are kept in data/train/.backup/. Exits 1 (changing nothing), saying what to do, if
a required file is missing, a file is not UTF-8, or no utterance would be left. Audio files are
not checked. See ctcot.data_dir.fix_data_dir.
"""
import argparse
import logging
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.data_dir import fix_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Make a Kaldi/ESPnet data directory consistent.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("data_dir", help="the data directory (wav.scp, utt2spk, text files, ...)")
    parser.add_argument("--text_files", nargs="+", default=None,
                        help="text files to use, others are left as they are; "
                             "None: every 'text' and 'text.*' in data_dir")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)

    def fix() -> None:
        report = fix_data_dir(args.data_dir, text_files=args.text_files)
        logging.info("%s: %d of %d utterances kept, %d dropped", report.path, report.num_utterances,
                     report.num_utterances_before, len(report.dropped))

    return run(fix)


if __name__ == "__main__":
    sys.exit(main())
