#!/usr/bin/env bash
# CoVoST 2 (Common Voice v4 speech): one of its 21 X->En or 15 En->X directions per run, with the
# paper's setup: CTC+OT pre-training on phonemes, MT-initialised decoder, beam 5, sacreBLEU.
#   ./run.sh --src_lang es --tgt_lang en                         X->En: the paper's medium config
#   ./run.sh --src_lang en --tgt_lang de --conf large --ngpu 4    En->X: the paper uses the large config
#   ./run.sh --src_lang fr --tgt_lang en --pretrain ctc --src_token_type bpe   the CTC baseline
# Set COVOST2 and COMMONVOICE in db.sh first (or export them). --src_lang, --tgt_lang and --conf are run.sh's
# own, anywhere on the line; every other option goes to st.sh (./st.sh --help); later options win.
# One direction per recipe directory: exp/, dump/ and data/token_list/ are not named by direction.
set -euo pipefail
cd "$(dirname "$0")"

src_lang=es
tgt_lang=en
conf=medium   # conf/medium or conf/large
# shellcheck disable=SC2034  # read by utils/recipe_options.sh, which sets st_opts
recipe_options="src_lang tgt_lang conf"  # run.sh's own (--name value or --name=value); the others go to st.sh
st_opts=()
. utils/recipe_options.sh

# Phonemes (espeak-ng) as source units, as in the paper, where espeak-ng reads the language: it has
# no Mongolian voice, and its Japanese one reads kanji as "Chinese letter". Those get SentencePiece.
case "${src_lang}" in
    mn|ja) src_token_type=bpe ;;
    *) src_token_type=phn ;;
esac

../../../tools/setup_env.sh   # a no-op when tools/venv is up to date
. ./path.sh

# train_set, valid_set, test_sets: named by ctcot.corpora.covost2, which writes them (an unknown direction fails here)
train_set="" valid_set="" test_sets=""  # set by the eval below
st_sets=$(python -m ctcot.bin.prepare_covost2 --src_lang "${src_lang}" --tgt_lang "${tgt_lang}" --print_st_sets)
eval "${st_sets}"   # assigned first: eval "$(...)" would hide a failure

./st.sh \
    --src_lang "${src_lang}" --tgt_lang "${tgt_lang}" --src_case lc.rm --tgt_case tc \
    --train_set "${train_set}" --valid_set "${valid_set}" --test_sets "${test_sets}" \
    --local_data_opts "--src_lang ${src_lang} --tgt_lang ${tgt_lang}" \
    --conf_dir "conf/${conf}" --ngpu 1 --nj 16 --inference_nj 16 \
    --src_token_type "${src_token_type}" --src_nbpe 10000 --tgt_nbpe 10000 \
    --pretrain ctc_ot --st_init_decoder_from_mt true \
    "${st_opts[@]}"
