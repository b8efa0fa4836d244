#!/usr/bin/env bash
# Prepares the reader benchmark for a lent GPU machine (no network there): wheels of the packages its image lacks
# into .whl/, the calibration set and the tinyroberta tokenizer into .device/ (both git-ignored, about 12 MiB).
# Then, with the `device` tool: run(command="bash bench/device_reader.sh", carry=[".whl", ".device"], timeout_s=540)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${1:-../shared}
# The machine's image has torch, transformers and tokenizers; these are what docqa's reader and Haystack's import
# on top, at the versions of the project's virtual environment (scripts/setup.sh) where it has them.
PACKAGES=(haystack-ai transformers-haystack pydantic pydantic-core pydantic-settings python-dotenv annotated-types
  typing-inspection docstring-parser filetype jsonschema jsonschema-specifications referencing rpds-py lazy-imports
  more-itertools openai distro jiter sniffio posthog backoff tenacity)
PYTHON=python3
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
mapfile -t specs < <("$PYTHON" - "${PACKAGES[@]}" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

for name in sys.argv[1:]:
    try:
        print(f"{name}=={version(name)}")
    except PackageNotFoundError:
        print(name)
PY
)
rm -rf .whl .device && mkdir -p .device
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl "${specs[@]}"
cp "$SHARED/data/squad2-dev-calibration.json" .device/
cp -r "$SHARED/models/tinyroberta-squad2-tokenizer" .device/
du -sh .whl .device
