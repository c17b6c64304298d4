#!/usr/bin/env bash
# Lint ctcot: ruff on the Python code (settings in pyproject.toml) and shellcheck on every shell
# script (settings in .shellcheckrc), both installed into tools/venv by tools/setup_env.sh.
#
# Usage: tools/lint.sh [--fix]     --fix: let ruff fix what it can (import order, ...)
set -euo pipefail
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"${root_dir}/tools/setup_env.sh"
cd "${root_dir}"
status=0
tools/venv/bin/ruff check "$@" . || status=1
# Regular files only: the recipes' st.sh, path.sh, ... are links to egs2/TEMPLATE/st1's.
mapfile -t scripts < <(find egs2 tools bench .ci -path tools/venv -prune -o -type f \( -name '*.sh' -o -name run \) -print | sort)
tools/venv/bin/shellcheck "${scripts[@]}" || status=1
if [ "${status}" -ne 0 ]; then echo "tools/lint.sh: fix the problems above (or justify them where they are)" 1>&2; fi
exit "${status}"
