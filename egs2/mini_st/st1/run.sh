#!/usr/bin/env bash
# The embedded mini corpus: English speech (espeak-ng; --voices many: also flite, festival) -> German text, offline.
# Runs every stage: data, features, tokenizers, MT, CTC+OT pre-training, ST, decoding, BLEU.
#   ./run.sh                           the demo (easy level, conf/), about 9 min on 2 cores (README.md)
#   ./run.sh --pretrain none --st_init_decoder_from_mt false    ST from scratch (also: ce, ctc, ctc_ce)
#   ./run.sh --local_data_opts "--level hard"                   the whole grammar (for GPUs: --ngpu 1)
#   ./run.sh --local_data_opts "--voices many" --test_sets "test test_espeak"   three engines, test in unseen ones
#   ./run.sh --local_data_opts "--size tiny" --conf_dir conf/tiny     the CI configuration
# Any option of st.sh can be added (./st.sh --help); later options win.
set -euo pipefail
cd "$(dirname "$0")"
../../../tools/setup_env.sh   # a no-op when tools/venv is up to date

./st.sh \
    --src_lang en --tgt_lang de --src_case lc.rm --tgt_case tc \
    --train_set train --valid_set dev --test_sets test --score_groups utt2engine \
    --src_token_type phn --tgt_nbpe 300 \
    --nj 2 --inference_nj 2 --num_mel_bins 40 \
    --pretrain ctc_ot --st_init_decoder_from_mt true \
    "$@"
