#!/usr/bin/env bash
# CoVoST 2 data preparation of one direction into data/{train,dev,test}.<src>-<tgt>, from the
# translations in ${COVOST2} and Common Voice v4 in ${COMMONVOICE} (db.sh says where to get them).
# Options: --src_lang L --tgt_lang L: X->en or en->X (python -m ctcot.bin.prepare_covost2 --help lists them).
set -euo pipefail

src_lang=es
tgt_lang=en
# shellcheck disable=SC2034  # read by utils/parse_options.sh
help_message="Usage: $0 [--src_lang <lang>] [--tgt_lang <lang>]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh
if [ $# -ne 0 ]; then
    echo "$0: unexpected arguments: $* (see $0 --help)" 1>&2
    exit 2
fi

python -m ctcot.bin.prepare_covost2 --covost_dir "${COVOST2}" --cv_dir "${COMMONVOICE}" \
    --src_lang "${src_lang}" --tgt_lang "${tgt_lang}" --output_dir data
