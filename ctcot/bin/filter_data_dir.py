#!/usr/bin/env python3
"""Drop utterances that are too short, too long or without transcript (ESPnet st.sh stage 4).

Usage:
    python -m ctcot.bin.filter_data_dir dump/fbank/org/train dump/fbank/train
    python -m ctcot.bin.filter_data_dir SRC DST --min_frames 10 --max_frames 3000 --text_files text.tc.en text.tc.de

The source needs utt2num_frames (from feature extraction). The kept utterances go to DST;
DST/dropped_utts lists each dropped one with its reason. Exits 1 if a file is missing or
malformed, if every utterance would be dropped, or (--check_features) if kept utterances have NaN
or infinite features. See ctcot.filtering.filter_data_dir.
"""
import argparse
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.filtering import filter_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Drop utterances unfit for training from a Kaldi/ESPnet data directory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("src", help="the data directory, with utt2num_frames (only read)")
    parser.add_argument("dst", help="the directory to write")
    parser.add_argument("--min_frames", type=int, default=10, help="fewest frames an utterance may have")
    parser.add_argument("--max_frames", type=int, default=3000, help="most frames an utterance may have")
    parser.add_argument("--text_files", nargs="+", default=None,
                        help="text files to check; None: every 'text' and 'text.*' in src")
    parser.add_argument("--max_text_words", type=int, default=None,
                        help="most words a transcript may have; None: no limit")
    parser.add_argument("--check_features", action="store_true",
                        help="refuse NaN or infinite features of kept utterances, naming them (reads feats.scp)")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    return run(lambda: filter_data_dir(args.src, args.dst, min_frames=args.min_frames, max_frames=args.max_frames,
                                       text_files=args.text_files, max_text_words=args.max_text_words,
                                       check_features=args.check_features))


if __name__ == "__main__":
    sys.exit(main())
