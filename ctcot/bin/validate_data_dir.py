#!/usr/bin/env python3
"""Check a Kaldi/ESPnet data directory (replaces Kaldi's utils/validate_data_dir.sh).

Usage:
    python -m ctcot.bin.validate_data_dir data/train
    python -m ctcot.bin.validate_data_dir data/train --text_files text.tc.en text.tc.de --no_audio_check

Logs every problem found (file, line and utterance id), then what to do: the fix_data_dir command
line if fix_data_dir resolves every problem, else advice for each problem it does not resolve
(a missing directory or file, a file that is not UTF-8, a missing audio file, ...). A caller such
as st.sh need not add advice of its own. See ctcot.data_dir.validate_data_dir for the checks.

Exit status:
    0  valid;
    1  not valid, and fix_data_dir alone does not make it valid (or another failure, e.g. an
       unreadable file; 2 is argparse's, for bad arguments);
    3  not valid, and the fix_data_dir command printed makes it valid.
"""
import argparse
import logging
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.data_dir import DataDirError, validate_data_dir

FIXABLE = 3
"""Exit status when the fix_data_dir command printed resolves every problem (1 could be any failure)."""


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
    fixable = False

    def validate() -> None:
        nonlocal fixable
        try:
            report = validate_data_dir(args.data_dir, text_files=args.text_files,
                                       require_audio_exists=not args.no_audio_check)
        except DataDirError as err:
            fixable = err.fixable
            raise
        seconds = report.total_duration
        duration = "" if seconds is None else f", {seconds:.1f} s ({seconds / 3600:.2f} h)"
        logging.info("%s is valid: %d utterances, %d speakers, %d recordings%s; text files: %s",
                     report.path, report.num_utterances, report.num_speakers, report.num_recordings,
                     duration, " ".join(report.text_files))

    status = run(validate)
    return FIXABLE if status and fixable else status


if __name__ == "__main__":
    sys.exit(main())
