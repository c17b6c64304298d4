#!/usr/bin/env bash
# Generates the mini English->German speech translation corpus into data/{train,dev,test}.
# Options: --size tiny|default (default: default), --seed N, --nj N.
set -euo pipefail

size=default  # tiny: 60/15/15 utterances (CI); default: 3000/200/200 (demo)
seed=0        # seed of the sentences and of the speaker assignment
nj=2          # parallel espeak-ng processes
help_message="Usage: $0 [--size tiny|default] [--seed N] [--nj N]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

python -m ctcot.corpora.mini_st --output_dir data --size "${size}" --seed "${seed}" --nj "${nj}" \
    --wav_dir "${MINI_ST}/wav"
