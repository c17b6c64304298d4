#!/usr/bin/env bash
# Run ctcot's linters (tools/lint.sh) and test suite, setting up tools/venv first if needed (idempotent).
#
# Usage: tools/test.sh [pytest options]     e.g. tools/test.sh -k ot -x
set -euo pipefail
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"${root_dir}/tools/setup_env.sh"
cd "${root_dir}"
tools/lint.sh
exec "${root_dir}/tools/venv/bin/python" -m pytest test "$@"
