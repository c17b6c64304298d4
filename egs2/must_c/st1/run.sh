#!/usr/bin/env bash
# MuST-C English->X speech translation with the paper's setup: CTC+OT pre-training on phonemes,
# MT-initialised decoder, Transformer medium (d=512) or large (d=1024), beam 5, sacreBLEU.
#   ./run.sh                                  en-de, medium, 1 GPU
#   ./run.sh --tgt_langs fr --conf large --ngpu 4
#   ./run.sh --tgt_langs "de es fr it nl pt ro ru"   one-to-many multilingual ST (<2xx> target tags)
#   ./run.sh --pretrain ctc --src_token_type bpe     the CTC baseline (SentencePiece source units)
# Set MUST_C in db.sh first. Any option of st.sh can be added (./st.sh --help); later options win.
set -euo pipefail
cd "$(dirname "$0")"

tgt_langs=de   # of de es fr it nl pt ro ru; several ("de es" or de_es): multilingual
conf=medium    # conf/medium or conf/large
# shellcheck disable=SC2034  # read by utils/recipe_options.sh, which sets st_opts
recipe_options="tgt_langs conf"  # run.sh's own (--name value or --name=value); the others go to st.sh
st_opts=()
. utils/recipe_options.sh

../../../tools/setup_env.sh   # a no-op when tools/venv is up to date
. ./path.sh

# st.sh's names, from ctcot.corpora.must_c, which names the dirs it writes: tgt_langs joined (de_es, for
# local/data.sh), tgt_lang (mul with several targets: text.<case>.mul, translations after a <2xx> tag that
# decoding is forced to start with), train_set, valid_set (combined with several targets), test_sets.
tgt_lang="" train_set="" valid_set="" test_sets=""  # set by the eval below
st_sets=$(python -m ctcot.bin.prepare_must_c --tgt_langs "${tgt_langs}" --print_st_sets)
eval "${st_sets}"   # assigned first: eval "$(...)" would hide a failure

./st.sh \
    --local_data_opts "--tgt_langs ${tgt_langs}" \
    --src_lang en --tgt_lang "${tgt_lang}" --src_case lc.rm --tgt_case tc \
    --train_set "${train_set}" --valid_set "${valid_set}" --test_sets "${test_sets}" \
    --conf_dir "conf/${conf}" --ngpu 1 --nj 16 --inference_nj 16 \
    --src_token_type phn --src_nbpe 10000 --tgt_nbpe 10000 \
    --pretrain ctc_ot --st_init_decoder_from_mt true \
    "${st_opts[@]}"
