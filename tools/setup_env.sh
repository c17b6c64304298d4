#!/usr/bin/env bash
# Create (or update) the Python environment of ctcot in tools/venv.
#
# Usage: tools/setup_env.sh [--force]
#        tools/setup_env.sh --wheelhouse DIR [--venv VENV] [--python PYTHON]   (offline; see below)
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
# System packages: the embedded mini corpus's synthesisers (espeak-ng, flite, festival and three of its
# English voices) and sox, with apt-get when running as root on Debian/Ubuntu; elsewhere the script
# says how to install them.
# A second run with unchanged inputs is a no-op (a stamp file records their hash); so is a run on
# a venv installed from a wheelhouse (--force reinstalls it from the index), and a run with
# CTCOT_SKIP_SETUP=1 (tools/venv is used as it is: bench/gpu_run.sh sets it for the recipe).
#
# --wheelhouse DIR: install offline (pip --no-index --no-deps) what tools/make_wheelhouse.sh put in
# DIR into VENV (default tools/venv), made by PYTHON (default python3; it must be DIR's target.txt
# version) and seeing PYTHON's own packages (torch...) through a .pth file, also when PYTHON is
# itself a venv's (as /opt/torch/.venv's on the GPU machines, where --system-site-packages would not
# see them). Then tools/wheelhouse.py check names any requirement that neither the wheelhouse nor
# PYTHON provides, `import espnet2.tasks.st, ctcot.task` is tried (its error is shown if it fails),
# and espeak-ng is unpacked from DIR/espeak-ng into VENV/espeak-ng, run through VENV/bin/espeak-ng.
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
wheelhouse=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=true; shift ;;
    --wheelhouse) wheelhouse=${2:?--wheelhouse DIR}; shift 2 ;;
    --venv) venv=${2:?--venv DIR}; stamp="${venv}/.ctcot_installed"; shift 2 ;;
    --python) python=${2:?--python PYTHON}; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "Unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
done

# strip_torchaudio PYTHON: keep torchaudio's pure-Python part where its native libraries do not load.
strip_torchaudio() {
  "$1" -c "import torchaudio" 2>/dev/null && return 0
  log "torchaudio's native libraries do not load next to this torch: using its pure-Python part"
  "$1" - <<'PY'
import glob, importlib.util, os
lib_dir = os.path.join(os.path.dirname(importlib.util.find_spec("torchaudio").origin), "lib")
for path in glob.glob(os.path.join(lib_dir, "*.so")):
    os.remove(path)
PY
  "$1" -c "import torchaudio"
}

# unpack_deb DEB DIR: the files of a Debian package (dpkg-deb where there is one, else ar and tar).
unpack_deb() {
  if command -v dpkg-deb >/dev/null 2>&1; then dpkg-deb -x "$1" "$2"; return; fi
  local member
  member=$(ar t "$1" | grep '^data\.tar')
  ar p "$1" "${member}" | tar -x --auto-compress -f - -C "$2" 2>/dev/null || ar p "$1" "${member}" | tar -xJ -C "$2"
}

# install_wheelhouse: the offline install of --wheelhouse (see the usage above).
install_wheelhouse() {
  local target version py site wrapper deb
  [ -f "${wheelhouse}/target.txt" ] \
    || { log "${wheelhouse}/target.txt is missing: make the wheelhouse with tools/make_wheelhouse.sh"; exit 2; }
  target=$(cat "${wheelhouse}/target.txt")
  version=$("${python}" -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
    || { log "${python} does not run (--python)"; exit 2; }
  [ "${version}" = "${target}" ] \
    || { log "${wheelhouse} is for Python ${target} (its target.txt), ${python} is ${version}: use --python"; exit 2; }
  SECONDS=0
  if [ ! -x "${venv}/bin/python" ]; then
    log "Creating ${venv} (${python}'s packages visible)"
    "${python}" -m venv --without-pip "${venv}"  # ensurepip may be missing (Debian's python3-venv); PYTHON's pip serves
  fi
  py="${venv}/bin/python"
  site=$("${py}" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # After the venv's own site-packages: PYTHON's (site.addsitedir also reads their .pth files).
  "${python}" -c 'import site; print("import site; " + "; ".join(f"site.addsitedir({p!r})" for p in
    site.getsitepackages()))' > "${site}/_ctcot_base_python.pth"
  "${py}" -m pip --version >/dev/null 2>&1 || "${py}" -m ensurepip --default-pip >/dev/null \
    || { log "No pip for ${py}: ${python} has none and ensurepip failed"; exit 1; }
  log "Installing $(find "${wheelhouse}" -maxdepth 1 -name '*.whl' | wc -l) wheels from ${wheelhouse} (offline, --no-deps)"
  "${py}" -m pip install --quiet --disable-pip-version-check --no-index --no-deps --no-cache-dir --ignore-installed \
    "${wheelhouse}"/*.whl
  if [ -d "${site}/torchaudio" ]; then strip_torchaudio "${py}"; fi  # only the venv's own, never PYTHON's
  "${py}" "${tools_dir}/wheelhouse.py" check "${wheelhouse}" || {
    log "${wheelhouse} and ${python} lack the packages above: add them (tools/make_wheelhouse.sh --have)"; exit 1; }
  if ! "${py}" -c "import espnet2.tasks.st, ctcot.task" > "${venv}/import_check.log" 2>&1; then
    log "import espnet2.tasks.st, ctcot.task failed in ${venv} (${venv}/import_check.log):"
    tail -n 3 "${venv}/import_check.log" >&2
    log "Missing: $(sed -n "s/.*No module named '\([^']*\)'.*/\1/p" "${venv}/import_check.log" | tail -n 1)"
    exit 1
  fi
  if [ -d "${wheelhouse}/espeak-ng" ]; then
    log "Unpacking espeak-ng into ${venv}/espeak-ng (run through ${venv}/bin/espeak-ng)"
    rm -rf "${venv}/espeak-ng"
    mkdir -p "${venv}/espeak-ng"
    for deb in "${wheelhouse}"/espeak-ng/*.deb; do unpack_deb "${deb}" "${venv}/espeak-ng"; done
    cp -r "${wheelhouse}/espeak-ng/lib" "${venv}/espeak-ng/lib"
    wrapper="${venv}/bin/espeak-ng"
    # shellcheck disable=SC2016,SC1003  # the wrapper's own variables, expanded when it runs
    {
      echo '#!/bin/sh'
      echo '# espeak-ng unpacked from Debian packages by tools/setup_env.sh --wheelhouse; libraries and data beside it.'
      echo "root='${venv}/espeak-ng'"
      echo 'LD_LIBRARY_PATH="${root}/lib:${root}/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}" \'
      echo '  ESPEAK_DATA_PATH="${root}/usr/lib/x86_64-linux-gnu" exec "${root}/usr/bin/espeak-ng" "$@"'
    } > "${wrapper}"
    chmod +x "${wrapper}"
    [ -n "$("${wrapper}" -q --ipa -v en-us "hello world" 2> "${venv}/espeak_check.log")" ] \
      || { log "${wrapper} does not run:"; cat "${venv}/espeak_check.log" >&2; exit 1; }
  fi
  echo "wheelhouse ${wheelhouse} $(date '+%Y-%m-%dT%H:%M:%S')" > "${stamp}"
  log "${venv} is ready (Python ${version}, torch $("${py}" -c 'import torch; print(torch.__version__)')," \
    "offline install) [elapsed=${SECONDS}s]"
}

if [ -n "${wheelhouse}" ]; then
  install_wheelhouse
  exit 0
fi
if [ "${CTCOT_SKIP_SETUP:-0}" = 1 ]; then
  log "CTCOT_SKIP_SETUP=1: the Python environment is used as it is"
  exit 0
fi
if ! ${force} && [ -f "${stamp}" ] && [ "$(cut -d' ' -f1 "${stamp}")" = wheelhouse ]; then
  log "${venv} was installed offline ($(cat "${stamp}")): kept as it is (--force reinstalls from the index)"
  exit 0
fi

# The mini corpus's synthesisers (their packages: ENGINES in ctcot/corpora/mini_st/speech.py) and sox.
system_packages=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts sox)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for package in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "${package}" 2>/dev/null | grep -q "ok installed" || missing+=("${package}")
  done
else
  for program in espeak-ng flite text2wave sox; do command -v "${program}" >/dev/null 2>&1 || missing+=("${program}"); done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "Installing with apt-get: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "WARNING: missing (the mini corpus's voices need them): ${missing[*]}; on Debian/Ubuntu:" \
        "sudo apt-get install ${system_packages[*]} (the default mini corpus, --voices espeak, needs only espeak-ng)"
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
strip_torchaudio "${venv}/bin/python"

log "Installing the dependencies (tools/requirements.txt, pinned by tools/constraints.txt)"
"${pip[@]}" install -c "${torch_pin}" -c "${tools_dir}/constraints.txt" -r "${tools_dir}/requirements.txt"

log "Installing ctcot (editable)"
"${pip[@]}" install --no-deps --no-build-isolation -e "${root_dir}"

"${venv}/bin/python" -c "import espnet2.tasks.st, espnet2.tasks.asr, espnet2.tasks.mt, ctcot" >/dev/null 2>&1 \
  || { log "Import check failed:"; "${venv}/bin/python" -c "import espnet2.tasks.st, ctcot"; exit 1; }
echo "${inputs_hash}" > "${stamp}"
log "tools/venv is ready [elapsed=${SECONDS}s]"
