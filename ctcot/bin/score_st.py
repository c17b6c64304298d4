#!/usr/bin/env python3
"""Score speech-translation hypotheses with sacreBLEU (BLEU, chrF, TER).

Usage:
    python -m ctcot.bin.score_st --hyp exp/st/decode_st/tst-COMMON/text \\
        --ref data/tst-COMMON/text.tc.de --output_json exp/st/decode_st/tst-COMMON/result.json \\
        --exp_dir exp/st

Writes the scores to --output_json, prints the BLEU line and, with --exp_dir, rewrites
<exp_dir>/RESULTS.md from every <exp_dir>/decode_*/<test-set>/result.json. Exits 1 with a
message naming the file if an input is missing or malformed, e.g. a reference line with only an
id (an empty hypothesis is fine: a model may output nothing). See ctcot.scoring.
"""
import argparse
import logging
import sys
from typing import List, Optional

from ctcot import InputError
from ctcot.bin import setup_logging
from ctcot.scoring import score_translations, write_result_json, write_results_md


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Score speech-translation hypotheses with sacreBLEU (BLEU, chrF, TER).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--hyp", required=True, help="hypotheses, '<utt-id> <text>' lines (detokenised)")
    parser.add_argument("--ref", required=True, help="references, '<utt-id> <text>' lines, same ids as --hyp")
    parser.add_argument("--output_json", required=True, help="where to write the scores (JSON)")
    parser.add_argument("--exp_dir", default=None,
                        help="if given, rewrite <exp_dir>/RESULTS.md from its decode_*/*/result.json")
    parser.add_argument("--utt2group", default=None,
                        help="a '<utt-id> <group>' file (e.g. data/test/utt2engine): also score each group")
    parser.add_argument("--strip_lang_tags", action="store_true",
                        help="remove a leading target-language tag (<2de>) from hypotheses and references")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging()
    try:
        result = score_translations(args.hyp, args.ref, args.strip_lang_tags, args.utt2group)
        write_result_json(args.output_json, result)
        results_md = write_results_md(args.exp_dir) if args.exp_dir is not None else None
    except (InputError, OSError) as err:
        # A DataDirError lists one problem a line after its header; keep the message on one line.
        header, *problems = [line.strip() for line in str(err).splitlines()] or [repr(err)]
        sys.exit(f"score_st: error: {' '.join([header, '; '.join(problems)]).strip()}")
    logging.info("%s: %d sentences, BLEU %.2f, chrF %.2f, TER %.2f; wrote %s%s", args.hyp,
                 result["num_sentences"], result["bleu"], result["chrf"], result["ter"], args.output_json,
                 f" and {results_md}" if results_md else "")
    print(result["bleu_detail"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
