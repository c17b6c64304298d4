#!/usr/bin/env python3
"""Generate the mini English→German speech-translation corpus (``ctcot.corpora.mini_st``): sentence
pairs, synthesised audio (espeak-ng, flite, festival), and the train/dev/test/test_espeak Kaldi data dirs.

Usage:
    python -m ctcot.bin.prepare_mini_st --output_dir data --level easy --size default --seed 0 --nj 2
"""
import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ctcot.bin import run
from ctcot.corpora.mini_st import DEFAULT_LEVEL, DEFAULT_VOICES, LEVELS, SIZES, VOICE_SETS, prepare_mini_st
from ctcot.corpora.mini_st.acoustics import ACOUSTICS


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ctcot.bin.prepare_mini_st", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--output_dir", type=Path, required=True,
                        help="Where the train/, dev/ and test/ data directories are written")
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny",
                        help="Corpus size (train/dev/test utterances): "
                             + ", ".join(f"{k}={tuple(v)}" for k, v in SIZES.items()))
    parser.add_argument("--level", choices=sorted(LEVELS), default=DEFAULT_LEVEL,
                        help="Difficulty of the grammar: " + "; ".join(
                            f"{name}: {lvl.description}" for name, lvl in LEVELS.items()))
    parser.add_argument("--seed", type=int, default=0,
                        help="Seed of the sentences, the voice assignment and the acoustic conditions")
    parser.add_argument("--voices", choices=sorted(VOICE_SETS), default=DEFAULT_VOICES,
                        help="Who reads: " + "; ".join(f"{name}: {v.description}" for name, v in VOICE_SETS.items()))
    parser.add_argument("--acoustics", choices=ACOUSTICS, default="clean",
                        help="clean: the synthesised wavs; varied: per utterance a tempo change, often a room "
                             "and noise (white, pink or babble) at 5-20 dB SNR (needs sox)")
    parser.add_argument("--nj", "--num_jobs", type=int, default=1,
                        help="Parallel synthesis processes (--num_jobs: the old spelling)")
    parser.add_argument("--wav_dir", type=Path, default=None,
                        help="Where the audio goes; None: <output_dir>/../downloads/mini_st/wav")
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    return run(lambda: prepare_mini_st(args.output_dir, level=args.level, size=args.size, seed=args.seed,
                                       voices=args.voices, acoustic_conditions=args.acoustics,
                                       wav_dir=args.wav_dir, nj=args.nj))


if __name__ == "__main__":
    sys.exit(main())
