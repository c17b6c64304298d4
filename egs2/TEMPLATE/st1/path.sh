# Puts ctcot's Python environment (tools/venv, made by tools/setup_env.sh) first on the PATH.
# Sourced by run.sh and st.sh; recipes link to this file.
CTCOT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ ! -x "${CTCOT_ROOT}/tools/venv/bin/python" ]; then
    echo "path.sh: ${CTCOT_ROOT}/tools/venv is missing: run ${CTCOT_ROOT}/tools/setup_env.sh first" 1>&2
    return 1
fi
export PATH="${CTCOT_ROOT}/tools/venv/bin:${PATH}"
export PYTHONUTF8=1
export LC_ALL=C  # byte order for sort, as Kaldi data directories require
