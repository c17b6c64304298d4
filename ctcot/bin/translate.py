#!/usr/bin/env python3
"""Translate audio files with a packed ST model (st.sh stage 11's exp/st_<tag>/<tag>_packed.zip).

Usage:
    python -m ctcot.bin.translate --model exp/st_ctc_ot_mtdec/ctc_ot_mtdec_packed.zip a.wav b.flac c.mp3
    python -m ctcot.bin.translate --model model.zip --device cuda --beam_size 10 recordings/*.wav

Prints one line per translated file, "<file><TAB><translation>", in the order given, each as soon
as its batch is decoded. Any sample rate (resampled to 16 kHz) and any number of channels
(averaged) is accepted. A file that cannot be translated (missing, empty, unreadable, too short,
longer than --max_seconds, or needing more memory than --max_memory_gb) is named in an error on
stderr; the others are still translated, and the exit status is then 1. See ctcot.translate.
"""
import argparse
import contextlib
import logging
import signal
import sys
from typing import List, Optional

from ctcot import InputError
from ctcot.bin import setup_logging
from ctcot.translate import DECODE_OPTIONS, Translator


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("audio", nargs="+", help="audio files (wav, flac, mp3, ogg, ...)")
    parser.add_argument("--model", required=True, help="packed ST model (stage 11's <tag>_packed.zip)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--tgt_lang_tag", default=None, help="multilingual models: the target's tag, e.g. '<2de>'")
    parser.add_argument("--max_seconds", type=float, default=60.0, help="longer files are refused")
    parser.add_argument("--max_memory_gb", type=float, default=None,
                        help="files whose encoder self-attention would need more memory are refused "
                             "(default: half the memory available at start)")
    parser.add_argument("--batch_bins", type=int, default=20000,
                        help="feature frames (100 per second, padded) per decoding batch")
    group = parser.add_argument_group("decoding (default: the archive's decode.yaml)")
    for name, default in DECODE_OPTIONS.items():
        group.add_argument(f"--{name}", type=type(default), default=None, help=f"(without a config: {default})")
    return parser


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds: the unpacked model is removed


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    overrides = {name: getattr(args, name) for name in DECODE_OPTIONS if getattr(args, name) is not None}
    try:
        with contextlib.redirect_stdout(sys.stderr):  # ESPnet prints notes at import: stdout is translations only
            translator = Translator(args.model, device=args.device, tgt_lang_tag=args.tgt_lang_tag,
                                    max_seconds=args.max_seconds, max_memory_gb=args.max_memory_gb,
                                    batch_bins=args.batch_bins, **overrides)
    except (InputError, OSError) as error:
        logging.error("%s", error)
        return 1
    failed = total = 0
    with translator:
        for result in translator.translate_iter(args.audio):
            total += 1
            if result.error is None:
                print(f"{result.path}\t{result.text}", flush=True)
            else:
                failed += 1
                logging.error("%s", result.error)
    if failed:
        logging.error("%d of %d files could not be translated (see above)", failed, total)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
