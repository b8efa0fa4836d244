#!/usr/bin/env bash
# Set up a virtual environment with the test requirements and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
"${DOCQA_VENV:-.venv}/bin/python" -m pytest "$@"
