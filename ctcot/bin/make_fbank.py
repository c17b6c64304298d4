#!/usr/bin/env python3
"""Compute 80-dim log-mel fbank features of a data directory into kaldiio ark/scp (stage 3).

Usage:
    python -m ctcot.bin.make_fbank --nj 4 data/train dump/fbank/org/train

Writes feats.scp, utt2num_frames, feat_dim and feats_stats.npz (global CMVN statistics in
ESPnet's global_mvn format) into the output directory, and the ark files into its data/ folder.
Finished chunks are kept: re-running after an interruption resumes. Unusable audio (unreadable,
empty, too short, multichannel) is reported all at once, listed in full in the output directory's
bad_audio.txt; a full disk names the file being written. Both exit 1 without a traceback, keeping
the finished chunks. See ctcot.features.
"""
import argparse
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.features import FbankConfig, extract_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("data_dir", help="Kaldi data directory (wav.scp, optional segments)")
    parser.add_argument("output_dir", help="where feats.scp, utt2num_frames, feats_stats.npz go")
    parser.add_argument("--nj", type=int, default=1, help="parallel processes")
    parser.add_argument("--num_mel_bins", type=int, default=FbankConfig.num_mel_bins)
    parser.add_argument("--sample_rate", type=int, default=FbankConfig.sample_rate,
                        help="rate the features are computed at; audio at another rate is resampled to it")
    parser.add_argument("--utts_per_chunk", type=int, default=200, help="unit of parallel work and resumption")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    config = FbankConfig(num_mel_bins=args.num_mel_bins, sample_rate=args.sample_rate)
    return run(lambda: extract_data_dir(args.data_dir, args.output_dir, nj=args.nj, config=config,
                                        utts_per_chunk=args.utts_per_chunk))


if __name__ == "__main__":
    sys.exit(main())
