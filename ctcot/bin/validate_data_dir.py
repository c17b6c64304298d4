#!/usr/bin/env python3
"""Check a Kaldi/ESPnet data directory (replaces Kaldi's utils/validate_data_dir.sh).

Usage:
    python -m ctcot.bin.validate_data_dir data/train
    python -m ctcot.bin.validate_data_dir data/train --text_files text.tc.en text.tc.de --no_audio_check

Exits 0 if the directory is valid, 1 otherwise, after logging every problem found (file, line
and utterance id). See ctcot.data_dir.validate_data_dir for the checks.
"""
import argparse
import logging
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.data_dir import validate_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Check a Kaldi/ESPnet data directory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("data_dir", help="the data directory (wav.scp, utt2spk, text files, ...)")
    parser.add_argument("--text_files", nargs="+", default=None,
                        help="text files to check; None: every 'text' and 'text.*' in data_dir")
    parser.add_argument("--no_audio_check", action="store_true",
                        help="do not check that the audio files of wav.scp exist")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)

    def validate() -> None:
        report = validate_data_dir(args.data_dir, text_files=args.text_files,
                                   require_audio_exists=not args.no_audio_check)
        seconds = report.total_duration
        duration = "" if seconds is None else f", {seconds:.1f} s ({seconds / 3600:.2f} h)"
        logging.info("%s is valid: %d utterances, %d speakers, %d recordings%s; text files: %s",
                     report.path, report.num_utterances, report.num_speakers, report.num_recordings,
                     duration, " ".join(report.text_files))

    return run(validate)


if __name__ == "__main__":
    sys.exit(main())
