#!/usr/bin/env bash
# What bench/gpu.sh needs on a lent GPU machine, where nothing can be fetched and ../shared does
# not travel. Run here, in the repo root, before the call:
# - .whl/: the wheels its image lacks (it has torch, transformers, accelerate, tokenizers, onnx,
#   numpy, scipy, scikit-learn, typer, rich, PyYAML), for CPython 3.12 on x86_64, at the versions
#   this checkout's venv has;
# - .gpu-data/devign/: a stratified subset of the Devign split (the whole train file would not
#   fit the 64 MiB a call may carry).
# Both are ignored through .git/info/exclude; the call carries them: carry [".whl", ".gpu-data"].
set -euo pipefail
cd "$(dirname "$0")/.."
for ignored in /.whl/ /.gpu-data/; do
  grep -qx "$ignored" .git/info/exclude 2>/dev/null || echo "$ignored" >> .git/info/exclude
done
DEVIGN=${DEVIGN:-../shared/data/devign}
mkdir -p .gpu-data/devign
.venv/bin/python - "$DEVIGN" <<'PY'
import sys
from pathlib import Path

sys.path.insert(0, "bench")
from paper_smoke import stratified_subset

source = Path(sys.argv[1])
for split, n in (("train", 2000), ("valid", 300), ("test", 300)):
    rows = stratified_subset(source / f"{split}.jsonl", n)
    Path(f".gpu-data/devign/{split}.jsonl").write_text("\n".join(rows) + "\n")
PY
PIP=${PIP:-.venv/bin/pip}
NAMES="pydantic pydantic-core annotated-types typing-inspection tree-sitter tree-sitter-c pymoo
autograd cma alive-progress about-time graphemeu Deprecated moocore cffi pycparser platformdirs"
pins=()
for name in $NAMES; do
  version=$($PIP show "$name" 2>/dev/null | sed -n 's/^Version: //p')
  pins+=("$name${version:+==$version}")
done
platforms=()
for n in 2_17 2_24 2_27 2_28 2_31 2_34 2_35; do platforms+=(--platform "manylinux_${n}_x86_64"); done
$PIP download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" --platform manylinux2014_x86_64 --platform any -d .whl "${pins[@]}"
du -sh .whl .gpu-data
