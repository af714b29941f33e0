#!/usr/bin/env bash
# Everything a lent GPU machine should measure for moekd, in one call under 10 minutes:
#   1. paper-size throughput per model in bf16 (bench/standin_throughput.py: the full-size
#      teacher, the 3 MB and 1.5 MB students, training and inference at block 400);
#   2. a short paper-scale run: bench/paper_smoke.py --quick over both paper configs with the
#      full-size stand-ins, projected to the full configs at the rates of step 1;
#   3. the attack-speed ratio, batched vs one string at a time, on that run's full-size teacher
#      (bench/attack_speed.py --one-at-a-time).
# Here first: bench/gpu_prepare.sh (wheels the image lacks, a Devign subset). Then call the
# device tool's run with command "bash bench/gpu.sh", carry [".whl", ".gpu-data"],
# timeout_s 600. Figures print and land in $OUT (rates.json, *.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/moekd-gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', \
transformers.__version__, 'cuda', torch.cuda.is_available())"

echo "== 1. throughput per model (bf16)"
timeout 150 python3 bench/standin_throughput.py --out "$OUT/rates.json" | tee "$OUT/throughput.txt"

echo "== 2. paper-scale smoke of both configs, projected at the rates above"
timeout 300 python3 bench/paper_smoke.py --quick --data .gpu-data/devign --out /tmp/smoke \
  --rates "$OUT/rates.json" 2> "$OUT/smoke-log.txt" | tee "$OUT/smoke.txt"
tail -5 "$OUT/smoke-log.txt"

echo "== 3. attack speed on the full-size teacher: batched vs one at a time"
timeout 120 python3 bench/attack_speed.py --run /tmp/smoke/devign-codebert --victim teacher \
  --limit 4 --budget 50 --substitute-limit 2 --one-at-a-time 2>&1 | tee "$OUT/attack-speed.txt"
