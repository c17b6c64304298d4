#!/usr/bin/env python3
"""Greedy CTC transcripts of a CTC pre-training, as the MT model's input, and their error rate (st.sh stage 12).

Usage (from a recipe directory, egs2/<corpus>/st1):
    python -m ctcot.bin.cascade \\
        --config exp/pretrain_ctc_ot/config.yaml --model_file exp/pretrain_ctc_ot/valid.loss.ave.pth \\
        --data_dir dump/fbank/test --src_text text.phn.en --output_dir exp/pretrain_ctc_ot/cascade/test

Writes <output_dir>/text, the greedy CTC transcript of each utterance of <data_dir>/feats.scp in the
format of <data_dir>/<src_text> (phonemes: space-separated; SentencePiece units: the detokenised
text), which ESPnet's mt_inference reads as it reads the gold transcripts; and
<output_dir>/ctc_error.json, the corpus-level token error rate against <src_text> (error_rate,
substitutions, deletions, insertions, ref_tokens, utterances). Exits 1 with a one-line message for
a missing file, an utterance without a transcript, or a model without a CTC. See ctcot.cascade.
"""
import argparse
import logging
import sys
from typing import List, Optional

from ctcot.bin import run
from ctcot.cascade import run_cascade


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Greedy CTC transcripts of a CTC pre-training (the cascade's MT input) and their error rate.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--config", required=True, help="config.yaml of the pre-training experiment")
    parser.add_argument("--model_file", required=True, help="its checkpoint, e.g. valid.loss.ave.pth")
    parser.add_argument("--data_dir", required=True, help="a data directory with feats.scp and --src_text")
    parser.add_argument("--src_text", required=True,
                        help="the source transcripts' file in --data_dir (e.g. text.phn.en): the reference "
                             "and the output's format")
    parser.add_argument("--output_dir", required=True, help="where text and ctc_error.json go")
    parser.add_argument("--batch_size", type=int, default=1,
                        help="utterances per batch, sorted by length; 1: each alone, as ESPnet's inference "
                             "(padding changes the states of ESPnet's conv2d subsampling)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--utt2group", default=None,
                        help="a '<utt-id> <group>' file (e.g. data/test/utt2engine): also each group's error rate")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)

    def task() -> None:
        counts = run_cascade(args.config, args.model_file, args.data_dir, args.src_text, args.output_dir,
                             batch_size=args.batch_size, device=args.device,
                             utt2group=args.utt2group)
        rate = "n/a" if counts.error_rate is None else f"{100 * counts.error_rate:.2f}%"
        logging.info("%s/text: greedy CTC transcripts of %d utterances; token error rate %s (%d substitutions, "
                     "%d deletions, %d insertions, %d reference tokens)", args.output_dir, counts.utterances, rate,
                     counts.substitutions, counts.deletions, counts.insertions, counts.ref_tokens)

    return run(task)


if __name__ == "__main__":
    sys.exit(main())
