#!/usr/bin/env bash
# Create (or update) the Python environment of ctcot in tools/venv.
#
# Usage: tools/setup_env.sh [--force]
#
# Installs, in this order (the order matters: pip, given espnet and torch together, swaps torch for
# another build or backtracks espnet to a release that cannot build offline; see 2.):
#   1. torch==$CTCOT_TORCH_VERSION (default 2.13.0).  pip takes whichever build its
#      index serves: the CPU build where the machine provides one, the CUDA build from
#      PyPI on a GPU machine.  To force a build, pass pip options through
#      CTCOT_TORCH_PIP_ARGS (e.g. PyTorch's own index for a given CUDA version).
#   2. espnet==202511 and torchaudio with --no-deps: espnet pins setuptools<74 while
#      torch needs >=77, so pip would otherwise swap torch for another build.
#      If torchaudio's native libraries cannot load next to this torch (the only
#      torchaudio on the registry is built for another torch), they are removed:
#      ESPnet's ST/ASR/MT path only uses torchaudio's pure-Python modules.
#   3. ESPnet's runtime dependencies and ctcot's own (tools/requirements.txt),
#      pinned by tools/constraints.txt, with torch held at the installed version.
#   4. ctcot itself, editable.
# System package: espeak-ng (the TTS engine of the embedded mini corpus), with apt-get when
# running as root on Debian/Ubuntu; elsewhere the script says how to install it.
# A second run with unchanged inputs is a no-op (a stamp file records their hash).
set -euo pipefail

tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)  # -P: the real tools/, also when reached through a link
root_dir=$(dirname "${tools_dir}")
venv="${tools_dir}/venv"
stamp="${venv}/.ctcot_installed"
torch_version=${CTCOT_TORCH_VERSION:-2.13.0}
espnet_version=202511
torchaudio_version=2.11.0
python=${PYTHON:-python3}

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (setup_env.sh:${BASH_LINENO[0]}) $*" >&2; }

force=false
case "${1:-}" in
  --force) force=true ;;
  -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
  "") ;;
  *) echo "Unknown option: $1 (try --help)" >&2; exit 2 ;;
esac

if ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "Installing espeak-ng with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null
  else
    log "WARNING: espeak-ng is missing (needed for the mini corpus): sudo apt-get install espeak-ng"
  fi
fi

inputs_hash=$(cat "${BASH_SOURCE[0]}" "${tools_dir}/requirements.txt" "${tools_dir}/constraints.txt" \
  "${root_dir}/setup.py" <(echo "${torch_version} ${CTCOT_TORCH_PIP_ARGS:-}") | sha256sum | cut -d' ' -f1)
if ! ${force} && [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${inputs_hash}" ] \
   && "${venv}/bin/python" -c "import ctcot" 2>/dev/null; then
  log "tools/venv is up to date"
  exit 0
fi

SECONDS=0
if [ ! -x "${venv}/bin/python" ]; then
  log "Creating ${venv}"
  "${python}" -m venv "${venv}"
fi
pip=("${venv}/bin/python" -m pip --disable-pip-version-check --quiet)
rm -f "${stamp}"

log "Installing torch==${torch_version}"
# shellcheck disable=SC2086
"${pip[@]}" install -c "${tools_dir}/constraints.txt" ${CTCOT_TORCH_PIP_ARGS:-} "torch==${torch_version}"
installed_torch=$("${venv}/bin/python" -c "import torch; print(torch.__version__.split('+')[0])")
torch_pin="${venv}/torch-constraint.txt"
echo "torch==${installed_torch}" > "${torch_pin}"

log "Installing espnet==${espnet_version} and torchaudio==${torchaudio_version} (--no-deps)"
"${pip[@]}" install --no-deps "espnet==${espnet_version}" "torchaudio==${torchaudio_version}"
if ! "${venv}/bin/python" -c "import torchaudio" 2>/dev/null; then
  log "torchaudio's native libraries do not load next to torch ${installed_torch}: using its pure-Python part"
  "${venv}/bin/python" - <<'PY'
import glob, importlib.util, os
lib_dir = os.path.join(os.path.dirname(importlib.util.find_spec("torchaudio").origin), "lib")
for path in glob.glob(os.path.join(lib_dir, "*.so")):
    os.remove(path)
PY
  "${venv}/bin/python" -c "import torchaudio"
fi

log "Installing the dependencies (tools/requirements.txt, pinned by tools/constraints.txt)"
"${pip[@]}" install -c "${torch_pin}" -c "${tools_dir}/constraints.txt" -r "${tools_dir}/requirements.txt"

log "Installing ctcot (editable)"
"${pip[@]}" install --no-deps --no-build-isolation -e "${root_dir}"

"${venv}/bin/python" -c "import espnet2.tasks.st, espnet2.tasks.asr, espnet2.tasks.mt, ctcot" >/dev/null 2>&1 \
  || { log "Import check failed:"; "${venv}/bin/python" -c "import espnet2.tasks.st, ctcot"; exit 1; }
echo "${inputs_hash}" > "${stamp}"
log "tools/venv is ready [elapsed=${SECONDS}s]"
