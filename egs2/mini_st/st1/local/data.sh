#!/usr/bin/env bash
# Generates the mini English->German speech translation corpus into data/{train,dev,test,test_espeak}.
# Options: --level easy|hard, --size tiny|default, --seed N, --voices many|espeak, --acoustics clean|varied, --nj N
# (python -m ctcot.bin.prepare_mini_st --help).
set -euo pipefail

level=easy    # easy: the demo's grammar (learnable in minutes on 2 CPU cores); hard: the whole grammar
size=default  # tiny: a few dozen utterances (CI); default: the demo's size
seed=0        # seed of the sentences, the voice assignment and the acoustic conditions
voices=espeak # espeak: the espeak-ng corpus (the demo's); many: espeak-ng, flite and festival (festival only in test)
acoustics=clean  # clean: the synthesised wavs; varied: tempo, room and noise per utterance
nj=2          # parallel synthesis processes
# shellcheck disable=SC2034  # read by utils/parse_options.sh
help_message="Usage: $0 [--level easy|hard] [--size tiny|default] [--seed N] [--voices many|espeak] [--acoustics clean|varied] [--nj N]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

python -m ctcot.bin.prepare_mini_st --output_dir data --level "${level}" --size "${size}" \
    --seed "${seed}" --voices "${voices}" --acoustics "${acoustics}" --nj "${nj}" --wav_dir "${MINI_ST}/wav"
