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

tgt_langs=de   # of de es fr it nl pt ro ru; several: multilingual
conf=medium    # conf/medium or conf/large
st_opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --tgt_langs) tgt_langs=$2; shift 2 ;;
        --conf) conf=$2; shift 2 ;;
        *) st_opts+=("$1"); shift ;;
    esac
done

read -r -a langs <<< "${tgt_langs}"
if [ "${#langs[@]}" -gt 1 ]; then
    joined=$(tr ' ' _ <<< "${langs[*]}")
    pair=en-${joined}
    tgt_lang=mul   # text.<case>.mul: translations after a <2xx> tag; decoding is forced to start with it
    test_sets=""
    for lang in "${langs[@]}"; do test_sets+=" tst-COMMON.en-${lang} tst-HE.en-${lang}"; done
else
    joined=${langs[0]}
    pair=en-${joined}
    tgt_lang=${joined}
    test_sets="tst-COMMON.${pair} tst-HE.${pair}"
fi

../../../tools/setup_env.sh   # a no-op when tools/venv is up to date

./st.sh \
    --local_data_opts "--tgt_langs ${joined}" \
    --src_lang en --tgt_lang "${tgt_lang}" --src_case lc.rm --tgt_case tc \
    --train_set "train.${pair}" --valid_set "dev.${pair}" --test_sets "${test_sets# }" \
    --conf_dir "conf/${conf}" --ngpu 1 --nj 16 --inference_nj 16 \
    --src_token_type phn --src_nbpe 10000 --tgt_nbpe 10000 \
    --pretrain ctc_ot --st_init_decoder_from_mt true \
    "${st_opts[@]}"
