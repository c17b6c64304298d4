#!/usr/bin/env bash
# The paper's ablation on this recipe's corpus: ST from each pre-training (ctcot.recipe.PRETRAINS), with a
# random and an MT-initialised decoder, over several seeds (and pre-training seeds: --pretrain_seeds),
# through ./run.sh; writes exp/ablation/{RESULTS.md,bleu_chrf.png}. Options: ./ablation.sh --help.
# Recipes link here.
#   ./ablation.sh --seeds 1 2 3 --parallel 2 --st_args "--max_epoch 5"
#   ./ablation.sh --summarize_only
set -euo pipefail
cd "$(dirname "$0")"
../../../tools/setup_env.sh   # a no-op when tools/venv is up to date
. ./path.sh
exec python -m ctcot.bin.ablation "$@"
