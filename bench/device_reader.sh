#!/usr/bin/env bash
# Runs on the lent GPU machine (prepared by bench/prepare_device.sh): docqa's reader against Haystack's on every
# question of the calibration set with model FLOP utilisation, the reader's time by stage and token budget, its host
# work alone (a stand-in model), and the passage embedder against plain sentence-transformers. Each stage has its
# own time limit, so one that fails or overruns leaves the others' figures; logs land in $OUT.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HAYSTACK_TELEMETRY_ENABLED=False TOKENIZERS_PARALLELISM=true
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
DATA=.device/squad2-dev-calibration.json
MODEL=/tmp/tinyroberta-random
quiet() { grep --line-buffered -v -e "Loading weights" -e "Writing model shards" -e "Batches:"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee "$OUT/gpu.txt"
# SM clock, utilisation and power once a second, with the time, to line up with the stages' start times below
nvidia-smi dmon -s puc -d 1 -o T >"$OUT/dmon.txt" 2>&1 &
DMON=$!
trap 'kill "$DMON" 2>/dev/null' EXIT
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
python3 bench/make_random_model.py "$MODEL" --tokenizer .device/tinyroberta-squad2-tokenizer 2>&1 | quiet || exit

echo "== reader vs Haystack, $(date +%T)"
timeout "${READER_S:-270}" python3 bench/reader.py --data "$DATA" --model "$MODEL" --limit "${LIMIT:-2828}" \
  --chunk "${CHUNK:-500}" --device "${DEVICE:-cuda}" --precision "${PRECISION:-auto,fp32}" 2>&1 | quiet \
  | tee "$OUT/reader.log" || echo "reader benchmark failed or ran out of time (exit $?)"

echo "== reader stages by token budget and chunk size, $(date +%T)"
timeout "${STAGES_S:-100}" python3 bench/reader_stages.py --data "$DATA" --model "$MODEL" --limit "${LIMIT:-2828}" \
  --device "${DEVICE:-cuda}" --budgets "${BUDGETS:-32768}" --chunk-pairs "${CHUNK_PAIRS:-1024}" \
  --cudnn-attention "${CUDNN_ATTENTION:-off,on}" 2>&1 | quiet \
  | tee "$OUT/stages.log" || echo "stage benchmark failed or ran out of time (exit $?)"

echo "== reader host work alone: stand-in model, this machine's CPU, $(date +%T)"
timeout "${HOST_S:-40}" python3 bench/reader_stages.py --data "$DATA" --model "$MODEL" --limit "${LIMIT:-2828}" \
  --device cpu --precision fp32 --stand-in-model --pipelined --budgets 32768 2>&1 | quiet \
  | tee "$OUT/host.log" || echo "host-work benchmark failed or ran out of time (exit $?)"

echo "== passage embedder vs plain sentence-transformers, $(date +%T)"
python3 - <<'PY' || exit
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

source, target = Path(".device/minilm-fp16"), Path("/tmp/minilm")
shutil.copytree(source, target, dirs_exist_ok=True)
weights = load_file(source / "model.safetensors")
save_file({name: tensor.float() for name, tensor in weights.items()}, target / "model.safetensors")
PY
timeout "${EMBEDDER_S:-100}" python3 bench/embedder.py --data "$DATA" --model /tmp/minilm --device "${DEVICE:-cuda}" \
  --precisions auto,fp32 --repeat "${REPEAT:-20}" --rounds 3 2>&1 | quiet \
  | tee "$OUT/embedder.log" || echo "embedder benchmark failed or ran out of time (exit $?)"
