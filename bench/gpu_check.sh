#!/usr/bin/env bash
# One prepared check of ctcot's accelerator paths, with a JSON and a markdown table of the results.
#
# Usage: bench/gpu_check.sh [--device cuda|cpu] [--output_dir DIR] [--python PYTHON]
#                           [--step_limit_s N] [--limit STEP=N ...]
#   --step_limit_s N   each step's time limit in seconds (default 300); --limit STEP=N sets one step's
#                      (e.g. --limit bench_ot=60; STEP as named below; bench/gpu_run.sh sets them all)
#
# Steps (each logged to DIR/<step>.log; a failed step is recorded and the next one runs):
#   test_ot      pytest test/test_ot.py (its CUDA test runs where CUDA is)
#   bench_ot     ctcot's OT loss against geomloss on the device, fwd+bwd, with long utterances
#   bench_step   a pre-training step of the paper's medium config: CTC+OT vs CTC vs ESPnet ST vs ctc_compress_ot,
#                time, peak memory and utterances/s, in fp32 and mixed precision (bf16, fp16)
#   train_check  real epochs of ctcot.bin.ctcot_train (--ngpu 1, fp32 and --use_amp) on generated data
#   decode       ESPnet ST decoding on the device against ctcot's batched beam search
#                (bench/bench_decode.py): the mini recipe's trained model if it is there
#                (egs2/mini_st/st1/exp/st_ctc_ot_mtdec), else a random model of the medium config
#                (the tiny one on CPU) on random features
# then bench/gpu_report.py writes DIR/gpu_check.json and DIR/gpu_check.md.
# A step stopped at its limit is recorded as failed (exit 124); bench_ot keeps the rows it finished.
# It has not run on a GPU yet. --device cpu runs reduced sizes
# (1 min 51 s on a 2-core Xeon at 177 GFLOP/s, bench/machine.py), which is how CI tests it.
# Exit status: 0 if every step passed, else 1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
device=cuda
output_dir=""
python=""
step_limit_s=300
declare -A limits=()
while [ $# -gt 0 ]; do
    case "$1" in
        --device) device=$2; shift 2 ;;
        --output_dir) output_dir=$2; shift 2 ;;
        --python) python=$2; shift 2 ;;
        --step_limit_s) step_limit_s=$2; shift 2 ;;
        --limit) [[ "$2" =~ ^[a-z_0-9]+=[0-9]+$ ]] || { echo "gpu_check.sh: --limit STEP=SECONDS, not $2" >&2; exit 2; }
                 limits[${2%%=*}]=${2#*=}; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "${device}" in cuda|cpu) ;; *) echo "gpu_check.sh: --device cuda or cpu, not ${device}" >&2; exit 2 ;; esac
if [ -z "${python}" ]; then
    if [ -x "${root}/tools/venv/bin/python" ]; then python=${root}/tools/venv/bin/python; else python=python3; fi
fi
: "${output_dir:=${root}/bench/results/gpu_check_${device}_$(date +%Y%m%d-%H%M%S)}"
mkdir -p "${output_dir}"
output_dir=$(cd "${output_dir}" && pwd)
cd "${root}"
export PYTHONWARNINGS=ignore

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (gpu_check.sh) $*"; }
# step <name> <command...>: run it within its limit, log to <name>.log, record its status and seconds.
step() {
    local name=$1 limit=${limits[$1]:-${step_limit_s}} start=${SECONDS} status=0
    shift
    log "${name} (limit ${limit} s): $*"
    timeout "${limit}" "$@" > "${output_dir}/${name}.log" 2>&1 || status=$?
    echo "{\"status\": ${status}, \"seconds\": $(( SECONDS - start ))}" > "${output_dir}/${name}.status.json"
    if [ "${status}" -eq 0 ]; then log "  ok ($(( SECONDS - start )) s)"; else
        log "  FAILED (exit ${status}; ${output_dir}/${name}.log ends with:)"; tail -n 5 "${output_dir}/${name}.log" | sed 's/^/    /'
    fi
}

if [ "${device}" = cuda ]; then
    ot_sizes=(--B 16 --S 100 300 750 1500 3000 --T 20 60 --D 256 512 --repeats 5)
    step_sizes=(--conf medium --B 40 --F 1000 --N 100 --T 30 --repeats 5)  # ~40k frames: the paper's batch
    precisions=(fp32 bf16 fp16)
    decode_random=(--random_config egs2/must_c/st1/conf/medium/train_st.yaml --num_utts 64 --min_frames 300
                   --max_frames 1500 --batch_sizes 1 16 64 --espnet_modes BatchBeamSearch)
    decode_utts=100
else
    ot_sizes=(--B 4 --S 100 300 --T 20 --D 256 --repeats 2)
    step_sizes=(--conf_dir egs2/mini_st/st1/conf/tiny --B 2 --F 300 --N 30 --T 10 --tgt_vocab 300 --repeats 2)
    precisions=(fp32 bf16)  # fp16 autocast on CPU is slow and not what anyone trains with
    decode_random=(--random_config egs2/mini_st/st1/conf/tiny/train_st.yaml --vocab 300 --num_utts 4
                   --min_frames 100 --max_frames 300 --out_len 5 --batch_sizes 4 --espnet_modes BatchBeamSearch)
    decode_utts=5
fi

step test_ot "${python}" -m pytest -q test/test_ot.py
step bench_ot "${python}" bench/bench_ot.py --device "${device}" --methods ctcot geomloss "${ot_sizes[@]}" \
    --json "${output_dir}/bench_ot.json"
for precision in "${precisions[@]}"; do
    step "bench_step_${precision}" "${python}" bench/bench_step.py --device "${device}" "${step_sizes[@]}" \
        --precision "${precision}" --json "${output_dir}/bench_step_${precision}.json"
done
step train_check "${python}" bench/train_check.py --device "${device}" --output_dir "${output_dir}/train_check"
if [ -f egs2/mini_st/st1/exp/st_ctc_ot_mtdec/valid.acc.ave.pth ]; then
    step decode "${python}" bench/bench_decode.py --device "${device}" --num_utts "${decode_utts}" \
        --json "${output_dir}/bench_decode.json"
else  # no trained model (egs2/mini_st/st1/run.sh makes one): a random one, as fast to decode
    step decode "${python}" bench/bench_decode.py --device "${device}" "${decode_random[@]}" \
        --json "${output_dir}/bench_decode.json"
fi
"${python}" bench/gpu_report.py "${output_dir}"
