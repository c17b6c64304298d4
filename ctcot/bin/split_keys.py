#!/usr/bin/env python3
"""Split an scp file into N contiguous parts for parallel jobs (Kaldi's split_scp.pl).

Usage:
    python -m ctcot.bin.split_keys dump/fbank/test/feats.scp exp/st/decode/test/logdir --nj 4

Writes keys.1.scp ... keys.N.scp (N is lowered to the number of lines); each is a valid
--key_file for ESPnet's inference programs.
"""
import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from ctcot.bin import setup_logging


def split_lines(lines: List[str], parts: int) -> List[List[str]]:
    """``parts`` contiguous, non-empty pieces whose sizes differ by at most one."""
    parts = min(parts, len(lines))
    size, extra = divmod(len(lines), parts)
    pieces, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        pieces.append(lines[start:end])
        start = end
    return pieces


def main(cmd: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scp", help="the file to split (one utterance per line)")
    parser.add_argument("output_dir", help="where keys.<n>.scp are written")
    parser.add_argument("--nj", type=int, required=True, help="number of parts")
    args = parser.parse_args(cmd)
    setup_logging()
    lines = [line for line in Path(args.scp).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        logging.error("%s: no lines to split", args.scp)
        return 1
    if args.nj < 1:
        logging.error("--nj must be >= 1, got %d", args.nj)
        return 1
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for old in output_dir.glob("keys.*.scp"):
        old.unlink()
    for i, piece in enumerate(split_lines(lines, args.nj), start=1):
        (output_dir / f"keys.{i}.scp").write_text("".join(f"{line}\n" for line in piece), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
