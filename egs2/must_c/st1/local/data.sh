#!/usr/bin/env bash
# MuST-C -> data/{train,dev,tst-COMMON,tst-HE}.en-<tgt>, and with several targets the combined
# multilingual data/{train,dev}.en-<tgt1>_<tgt2>... (see python -m ctcot.bin.prepare_must_c --help).
# Options: --tgt_langs de (several: de_es_fr), --sets "train dev tst-COMMON tst-HE".
set -euo pipefail

tgt_langs=de
sets="train dev tst-COMMON tst-HE"
# shellcheck disable=SC2034  # read by utils/parse_options.sh
help_message="Usage: $0 [--tgt_langs de|de_es_...] [--sets \"train dev tst-COMMON tst-HE\"]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

# shellcheck disable=SC2086
python -m ctcot.bin.prepare_must_c --corpus_dir "${MUST_C}" --tgt_langs "${tgt_langs}" --sets ${sets} --output_dir data
