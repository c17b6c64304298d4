#!/usr/bin/env bash
# Run ctcot's linters (tools/lint.sh) and test suite, setting up tools/venv first if needed (idempotent).
#
# Usage: tools/test.sh [--quick] [pytest options]     e.g. tools/test.sh -k ot -x
#   --quick: leave out the tests marked recipe (recipe runs end to end, most of the suite's time)
set -euo pipefail
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lane=()
if [ "${1:-}" = --quick ]; then
    shift
    lane=(-m "not recipe")
fi
"${root_dir}/tools/setup_env.sh"
cd "${root_dir}"
tools/lint.sh
exec "${root_dir}/tools/venv/bin/python" -m pytest test "${lane[@]}" "$@"
