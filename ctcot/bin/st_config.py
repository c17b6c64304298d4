#!/usr/bin/env python3
"""Write stage 8's ST config for a pre-training whose encoder is the whole ctc_compress stack.

Usage:
    python -m ctcot.bin.st_config conf/train_st.yaml exp/pretrain_ctc_compress_ot/config.yaml \\
        exp/pretrain_ctc_compress_ot/train_st.yaml

The output is the ST config (its budget: batches, epochs, optimiser, decoder) with the
pre-training's ``encoder`` and ``encoder_conf`` (speech encoder, CTC, compression, adapter, MT
encoder), the MT encoder trainable unless ``--freeze_mt_encoder true``; see
ctcot.compress_model.st_config_with_encoder.
"""
import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

import yaml

from ctcot import InputError
from ctcot.bin import run
from ctcot.fileio import atomic_write


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("st_config", help="the ST config (e.g. conf/train_st.yaml)")
    parser.add_argument("pretrain_config", help="the pre-training's config.yaml")
    parser.add_argument("output", help="where the ST config goes")
    parser.add_argument("--freeze_mt_encoder", choices=["true", "false"], default="false",
                        help="keep the MT encoder fixed during ST training")
    return parser


def _load(path: str) -> dict:
    try:
        value = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InputError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: not a config (expected a YAML mapping)")
    return value


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)

    def write():
        from ctcot.compress_model import st_config_with_encoder

        config = st_config_with_encoder(_load(args.st_config), _load(args.pretrain_config),
                                        args.freeze_mt_encoder == "true")
        header = f"# {args.st_config} with the encoder of {args.pretrain_config} (ctcot.bin.st_config)\n"
        atomic_write(args.output, (header + yaml.safe_dump(config, sort_keys=False)).encode("utf-8"))
        logging.info("%s: the ST config with the encoder stack of %s", args.output, args.pretrain_config)

    return run(write)


if __name__ == "__main__":
    sys.exit(main())
