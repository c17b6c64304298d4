#!/usr/bin/env bash
# The one prepared command for a GPU machine: install ctcot offline, measure it, run the mini recipe.
#
# Usage: bench/gpu_run.sh [--wheelhouse DIR] [--python PYTHON] [--device cuda|cpu] [--budget_s N]
#                         [--venv DIR] [--recipe_args "ARGS"] [--limit STEP=N ...] [--work_dir DIR] OUTDIR
#   --wheelhouse DIR  made by tools/make_wheelhouse.sh (default: ./wheelhouse if it is there); installed
#                     offline into the venv by tools/setup_env.sh --wheelhouse with PYTHON (default
#                     /opt/torch/.venv/bin/python3 where it exists, else python3). Without one (or
#                     with --wheelhouse none), the venv is used as it is.
#   --venv DIR        the venv (default tools/venv; the recipe's copy gets it as its tools/venv)
#   --device          cuda (default) or cpu: the reduced sizes of bench/gpu_check.sh --device cpu
#   --budget_s N      the wall time of the whole run, install included (default 480: 8 minutes)
#   --recipe_args     more options for the mini recipe's run.sh (later ones win), e.g. "--stop_stage 8"
#   --limit STEP=N    a time limit in seconds for one step of bench/gpu_check.sh (overrides the plan)
#   --work_dir DIR    where the recipe runs (a copy of egs2/mini_st/st1; default a temporary folder)
#
# Parts, each with its own time limit, as shares of --budget_s (480 s: install 90 s; then
# bench/gpu_check.sh's steps: test_ot 40, bench_ot 60 (OT vs geomloss up to S = 3000), bench_step
# 35 each in fp32, bf16 and fp16 (the medium config), train_check 70 (real epochs with and without
# AMP), decode 40 (batched decoding)); then the mini recipe (run.sh --local_data_opts "--level hard"
# --ngpu 1 --gpu_inference true; on CPU the tiny corpus and configs) for whatever time is left but
# 15 s, if at least 30 s are. A part that fails or reaches its limit is recorded and the next runs.
# OUTDIR gets install.log, gpu_check/ (its logs, JSON and gpu_check.md), recipe/ (run.log, each
# experiment's train.log and RESULTS.md), ot_time.png, gpu_run.json and RESULTS.md (all of it).
# Exit status: 0 if every part passed, else 1; 2 for bad options.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wheelhouse=""
python=""
device=cuda
budget_s=480
recipe_args=""
venv=${root}/tools/venv
work_dir=""
outdir=""
check_limits=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wheelhouse) wheelhouse=$2; shift 2 ;;
        --python) python=$2; shift 2 ;;
        --venv) venv=$2; shift 2 ;;
        --device) device=$2; shift 2 ;;
        --budget_s) budget_s=$2; shift 2 ;;
        --recipe_args) recipe_args=$2; shift 2 ;;
        --limit) check_limits+=(--limit "$2"); shift 2 ;;
        --work_dir) work_dir=$2; shift 2 ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        -*) echo "gpu_run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) [ -z "${outdir}" ] || { echo "gpu_run.sh: one OUTDIR only (see --help)" >&2; exit 2; }
           outdir=$1; shift ;;
    esac
done
[ -n "${outdir}" ] || { echo "gpu_run.sh: no OUTDIR given (see --help)" >&2; exit 2; }
case "${device}" in cuda|cpu) ;; *) echo "gpu_run.sh: --device cuda or cpu, not ${device}" >&2; exit 2 ;; esac
[[ "${budget_s}" =~ ^[0-9]+$ ]] || { echo "gpu_run.sh: --budget_s N (seconds), not ${budget_s}" >&2; exit 2; }
if [ -z "${wheelhouse}" ] && [ -d "${root}/wheelhouse" ]; then wheelhouse=${root}/wheelhouse; fi
if [ "${wheelhouse}" = none ]; then wheelhouse=""; fi
if [ -n "${wheelhouse}" ] && [ ! -f "${wheelhouse}/target.txt" ]; then
    echo "gpu_run.sh: ${wheelhouse} is not a wheelhouse of tools/make_wheelhouse.sh (no target.txt)" >&2; exit 2
fi
if [ -z "${python}" ]; then
    if [ -x /opt/torch/.venv/bin/python3 ]; then python=/opt/torch/.venv/bin/python3; else python=python3; fi
fi
mkdir -p "${outdir}"
outdir=$(cd "${outdir}" && pwd)
SECONDS=0

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (gpu_run.sh) [${SECONDS}/${budget_s} s] $*"; }
share() { echo $(( budget_s * $1 / 480 )); }  # the plan's seconds for 480 s, scaled to the budget
# part <name> <limit s> <log file> <command...>: run it within its limit, record status, seconds, limit.
part() {
    local name=$1 limit=$2 logfile=$3 start=${SECONDS} status=0
    shift 3
    log "${name} (limit ${limit} s): $*"
    timeout "${limit}" "$@" > "${logfile}" 2>&1 || status=$?
    printf '{"status": %d, "seconds": %d, "limit_s": %d}\n' "${status}" $(( SECONDS - start )) "${limit}" \
        > "${outdir}/${name}.status.json"
    if [ "${status}" -eq 0 ]; then log "  ${name} ok ($(( SECONDS - start )) s)"; else
        log "  ${name} FAILED (exit ${status}$([ "${status}" -eq 124 ] && echo ': its time limit'); ${logfile} ends with:)"
        tail -n 5 "${logfile}" | sed 's/^/    /'
    fi
}
rm -f "${outdir}"/*.status.json

# 1. The offline install.
if [ -n "${wheelhouse}" ]; then
    part install "$(share 90)" "${outdir}/install.log" \
        "${root}/tools/setup_env.sh" --wheelhouse "${wheelhouse}" --python "${python}" --venv "${venv}"
elif [ -x "${venv}/bin/python" ]; then
    log "install: no wheelhouse, ${venv} used as it is"
else
    log "install: no wheelhouse and no ${venv}: make one (tools/make_wheelhouse.sh) or run tools/setup_env.sh"
    exit 2
fi
venv_python=${venv}/bin/python

# 2. bench/gpu_check.sh, each step with its own limit.
mkdir -p "${outdir}/gpu_check"
part gpu_check $(( $(share 40) + $(share 60) + 3 * $(share 35) + $(share 70) + $(share 40) + 30 )) \
    "${outdir}/gpu_check.log" "${root}/bench/gpu_check.sh" --device "${device}" --python "${venv_python}" \
    --output_dir "${outdir}/gpu_check" --limit "test_ot=$(share 40)" --limit "bench_ot=$(share 60)" \
    --limit "bench_step_fp32=$(share 35)" --limit "bench_step_bf16=$(share 35)" \
    --limit "bench_step_fp16=$(share 35)" --limit "train_check=$(share 70)" --limit "decode=$(share 40)" \
    ${check_limits[@]+"${check_limits[@]}"}

# 3. The mini recipe, in a copy, for the time that is left.
left=$(( budget_s - SECONDS - 15 ))
if [ "${left}" -lt 30 ]; then
    log "recipe: skipped (${left} s left)"
else
    if [ -z "${work_dir}" ]; then
        work_dir=$(mktemp -d "${TMPDIR:-/tmp}/ctcot_gpu_run.XXXXXX")
        trap 'rm -rf "${work_dir}"' EXIT
    fi
    copy=${work_dir}/ctcot
    mkdir -p "${copy}/egs2" "${outdir}/recipe"
    mkdir -p "${copy}/tools"  # tools/ as the repo's, but with the venv as tools/venv
    for f in "${root}"/tools/*; do [ "$(basename "${f}")" = venv ] || ln -sfn "${f}" "${copy}/tools/"; done
    ln -sfn "$(cd "${venv}" && pwd)" "${copy}/tools/venv"
    ln -sfn "${root}/egs2/TEMPLATE" "${copy}/egs2/TEMPLATE"
    mkdir -p "${copy}/egs2/mini_st/st1"
    (cd "${root}/egs2/mini_st/st1" && find . -mindepth 1 -maxdepth 1 ! -name data ! -name dump ! -name exp \
        ! -name downloads -exec cp -a {} "${copy}/egs2/mini_st/st1/" \;)
    if [ "${device}" = cuda ]; then
        nj=$(nproc)
        recipe=(--local_data_opts "--level hard --nj ${nj}" --nj "${nj}" --ngpu 1 --gpu_inference true)
    else
        recipe=(--local_data_opts "--level hard --size tiny" --conf_dir conf/tiny --ngpu 0)
    fi
    read -ra extra <<< "${recipe_args}"
    export CTCOT_SKIP_SETUP=1  # tools/venv is ready: run.sh must not reinstall it
    part recipe "${left}" "${outdir}/recipe/run.log" \
        "${copy}/egs2/mini_st/st1/run.sh" "${recipe[@]}" ${extra[@]+"${extra[@]}"}
    (cd "${copy}/egs2/mini_st/st1" && find exp \( -name train.log -o -name RESULTS.md -o -name result.json \) \
        -size -5M -exec cp --parents {} "${outdir}/recipe/" \; 2>/dev/null) || true
fi

# 4. The summary: gpu_run.json, RESULTS.md, ot_time.png.
report_python=${venv_python}
"${report_python}" -c "" 2>/dev/null || report_python=${python}
"${report_python}" "${root}/bench/gpu_run_report.py" "${outdir}" --budget_s "${budget_s}" --seconds "${SECONDS}"
