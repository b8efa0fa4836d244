#!/usr/bin/env bash
# Runs on the lent GPU machine (prepared by bench/prepare_device.sh): docqa's reader against Haystack's on every
# question of the calibration set, with model FLOP utilisation; the log and figures land in $OUT.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HAYSTACK_TELEMETRY_ENABLED=False
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee "$OUT/gpu.txt" || true
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
python3 bench/make_random_model.py /tmp/tinyroberta-random --tokenizer .device/tinyroberta-squad2-tokenizer
python3 bench/reader.py --data .device/squad2-dev-calibration.json --model /tmp/tinyroberta-random \
  --limit "${LIMIT:-2828}" --chunk "${CHUNK:-500}" --device "${DEVICE:-cuda}" --precision "${PRECISION:-auto}" 2>&1 \
  | grep --line-buffered -v "Loading weights" | tee "$OUT/reader.log"
