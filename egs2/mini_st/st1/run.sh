#!/usr/bin/env bash
# The embedded mini corpus: English speech (espeak-ng) -> German text, generated offline.
# Runs every stage: data, features, tokenizers, MT, CTC+OT pre-training, ST, decoding, BLEU.
#   ./run.sh                                   the demo (default corpus, conf/)
#   ./run.sh --pretrain none                   ST from scratch
#   ./run.sh --local_data_opts "--size tiny" --conf_dir conf/tiny   the CI configuration
# Any option of st.sh can be added; see ./st.sh --help.
set -euo pipefail

./st.sh \
    --src_lang en --tgt_lang de --src_case lc.rm --tgt_case tc \
    --train_set train --valid_set dev --test_sets "test" \
    --src_nbpe 200 --tgt_nbpe 300 \
    --nj 2 --inference_nj 2 \
    --pretrain ctc_ot --st_init_decoder_from_mt true \
    "$@"
