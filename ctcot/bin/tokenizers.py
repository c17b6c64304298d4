#!/usr/bin/env python3
"""Token units for the recipes (stage 5): SentencePiece, espeak-ng phonemes, token lists, shape files.

Usage:
    python -m ctcot.bin.tokenizers prepare --train_dir dump/fbank/train_sp --valid_dir dump/fbank/dev \
        --test_dirs dump/fbank/test --encoder_config conf/train_st.yaml --src_token_type phn \
        --src_text_raw text.lc.rm.en --src_text text.phn.en --tgt_text text.tc.de \
        --src_tokendir data/token_list/src_phn --tgt_tokendir data/token_list/tgt_bpe_unigram300 --tgt_nbpe 300 ...
        (all of stage 5: ctcot.tokenizers.prepare_tokens; the steps below, each usable alone)
    python -m ctcot.bin.tokenizers bpe --text dump/fbank/train/text.tc.de \\
        --output_dir data/token_list/tgt_bpe_unigram1000 --vocab_size 1000
    python -m ctcot.bin.tokenizers phonemize --voice en-us --text text.lc.rm.en --output text.phn.en
    python -m ctcot.bin.tokenizers phoneme_list --text dump/fbank/train/text.phn.en \\
        --output data/token_list/src_phn/tokens.txt
    python -m ctcot.bin.tokenizers shape --text dump/fbank/train/text.tc.de --token_type bpe \\
        --bpemodel data/token_list/tgt_bpe_unigram1000/bpe.model \\
        --token_list data/token_list/tgt_bpe_unigram1000/tokens.txt --output dump/fbank/train/text_shape.bpe
    python -m ctcot.bin.tokenizers ctc_filter --data_dir dump/fbank/train --text dump/fbank/train/text.phn.en \
        --token_type word --encoder_config conf/train_st.yaml --shape_files dump/fbank/train/speech_shape ...
"""
import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import List, Optional

from ctcot import InputError, tokenizers
from ctcot.bin import run
from ctcot.filtering import drop_ctc_infeasible


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    prepare = commands.add_parser("prepare", help="all of stage 5 (ctcot.tokenizers.prepare_tokens)",
                                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    prepare.add_argument("--train_dir", required=True, help="the training set's data directory (tokenizers, shapes)")
    prepare.add_argument("--valid_dir", required=True, help="the validation set's (shapes)")
    prepare.add_argument("--test_dirs", nargs="*", default=[], help="the test sets' (phoneme transcripts only)")
    prepare.add_argument("--encoder_config", required=True,
                         help="the ST training config: its encoder_conf.input_layer (default conv2d) sets the "
                              "subsampling that decides which utterances CTC can align")
    prepare.add_argument("--tokenizers_from", default=None,
                         help="another recipe directory whose token lists (same names) to copy instead of training")
    for field in dataclasses.fields(tokenizers.TokenSetup):
        if field.type is bool:
            prepare.add_argument(f"--{field.name}", action="store_true", help="every target begins with <2xx>")
        elif field.default is dataclasses.MISSING:
            prepare.add_argument(f"--{field.name}", type=field.type, required=True)
        else:
            prepare.add_argument(f"--{field.name}", type=field.type, default=field.default)

    bpe = commands.add_parser("bpe", help="train a SentencePiece model and write tokens.txt beside it")
    bpe.add_argument("--text", required=True, help="Kaldi text file (<utt> <transcript>)")
    bpe.add_argument("--output_dir", required=True, help="where bpe.model, bpe.vocab, tokens.txt go")
    bpe.add_argument("--vocab_size", type=int, required=True, help="pieces to ask for (at most)")
    bpe.add_argument("--model_type", default="unigram", choices=["unigram", "bpe", "char", "word"])
    bpe.add_argument("--character_coverage", type=float, default=1.0)
    bpe.add_argument("--lang_tags", action="store_true",
                     help="every transcript begins with a target-language tag (<2de>): make the tags pieces")

    phn = commands.add_parser("phonemize", help="write the espeak-ng phoneme transcript of a text file")
    phn.add_argument("--text", required=True, help="Kaldi text file (<utt> <transcript>)")
    phn.add_argument("--output", required=True, help="phoneme transcript (<utt> <ph> <ph> ...)")
    phn.add_argument("--voice", default="en-us", help="espeak-ng voice (espeak-ng --voices lists them)")

    inventory = commands.add_parser("phoneme_list", help="write the token list of a phoneme transcript")
    inventory.add_argument("--text", required=True, help="phoneme transcript of the training set")
    inventory.add_argument("--output", required=True, help="tokens.txt to write")

    shape = commands.add_parser("shape", help="write <utt> <num_tokens>,<vocab_size> for a text file")
    shape.add_argument("--text", required=True)
    shape.add_argument("--token_type", required=True, choices=["bpe", "word"])
    shape.add_argument("--bpemodel", default=None, help="SentencePiece model (token_type bpe)")
    shape.add_argument("--token_list", required=True, help="tokens.txt (gives the vocabulary size)")
    shape.add_argument("--output", required=True)

    ctc = commands.add_parser("ctc_filter", help="leave out of the shape files the utterances whose source tokens "
                                                 "outnumber their encoder frames (CTC cannot align them)")
    ctc.add_argument("--data_dir", required=True, help="data directory with utt2num_frames; "
                                                       "dropped_utts_ctc is written there")
    ctc.add_argument("--text", required=True, help="its source transcripts")
    ctc.add_argument("--token_type", required=True, choices=["bpe", "word"])
    ctc.add_argument("--bpemodel", default=None, help="SentencePiece model (token_type bpe)")
    ctc.add_argument("--encoder_config", required=True,
                     help="training config whose encoder_conf.input_layer (default conv2d) sets the subsampling")
    ctc.add_argument("--shape_files", nargs="+", required=True, help="shape files to rewrite")
    return parser


def make_units(args: argparse.Namespace) -> None:
    if args.command == "prepare":
        fields = dataclasses.fields(tokenizers.TokenSetup)
        setup = tokenizers.TokenSetup(**{field.name: getattr(args, field.name) for field in fields})
        tokenizers.prepare_tokens(setup, args.train_dir, args.valid_dir, args.test_dirs, args.encoder_config,
                                  args.tokenizers_from)
    elif args.command == "bpe":
        tokenizers.train_sentencepiece(args.text, args.output_dir, args.vocab_size, args.model_type,
                                       args.character_coverage, args.lang_tags)
    elif args.command == "phonemize":
        tokenizers.phonemize_text_file(args.text, args.output, args.voice)
    elif args.command == "phoneme_list":
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        tokens = tokenizers.write_token_list(tokenizers.phoneme_inventory(args.text), args.output)
        logging.info(f"{args.output}: {len(tokens) - 3} phonemes")
    elif args.token_type == "bpe" and args.bpemodel in (None, "none"):
        raise InputError("--bpemodel is required with --token_type bpe")
    elif args.command == "ctc_filter":
        drop_ctc_infeasible(args.data_dir, args.text, tokenizers.tokenizer_for(args.token_type, args.bpemodel),
                            tokenizers.encoder_input_layer(args.encoder_config), args.shape_files)
    else:
        vocab_size = len(tokenizers.read_token_list(args.token_list))
        tokenize = tokenizers.tokenizer_for(args.token_type, args.bpemodel)
        lengths = tokenizers.write_shape_file(args.text, args.output, tokenize, vocab_size)
        logging.info(f"{args.output}: {len(lengths)} utterances, {max(lengths.values(), default=0)} tokens at most")


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    return run(lambda: make_units(args))


if __name__ == "__main__":
    sys.exit(main())
