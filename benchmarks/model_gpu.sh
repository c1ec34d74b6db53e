#!/usr/bin/env bash
# Prepared GPU check for the learned fixer (one script, a few minutes; CI never runs it).
#
# What it proves on a machine with an NVIDIA GPU:
#   1. onnxruntime-gpu really runs the model on CUDA: the session's get_providers()
#      must start with CUDAExecutionProvider (a CUDA session that cannot load CUDA
#      silently falls back to CPU; that is a FAIL here, not a pass);
#   2. the same artifact gives the same text on CUDA as on CPU (fp32; int8 dynamic
#      quantisation has no full CUDA kernel set, so the GPU worker should ship fp32);
#   3. speed on CUDA at batch 1 and 16 (greedy with IO binding, and beam 3), next to CPU;
#   4. if torch with CUDA is present, a short `--device cuda` training smoke run.
#
# Usage (from the repository root):
#   MENDBOT_GPU_PYTHON=/path/to/python-with-onnxruntime-gpu bash benchmarks/model_gpu.sh [OUT_DIR]
# The python must have: numpy, tokenizers, onnxruntime-gpu (the `gpu` extra), libcst and bandit
# (mendbot's own deps) and this repository importable. Nothing is downloaded.
# Artifacts: models/mendfix_tiny (int8, shipped) and, if present, .work/art_fp32 (fp32 export).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${OUT:-.work/gpu}}"
mkdir -p "$OUT"
PY="${MENDBOT_GPU_PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi: not available"; } | tee "$OUT/gpu.txt"
"$PY" - "$OUT" <<'PYEOF' 2>&1 | tee "$OUT/model_gpu.log"
import json, statistics, sys, time
from pathlib import Path

out = Path(sys.argv[1])
import onnxruntime as ort

report = {"onnxruntime": ort.__version__, "available_providers": ort.get_available_providers()}
if hasattr(ort, "preload_dlls"):
    try:
        ort.preload_dlls()  # CUDA/cuDNN from the nvidia-* wheels, when installed that way
    except Exception as exc:  # noqa: BLE001
        report["preload_dlls_error"] = str(exc)
from models.runtime import Seq2SeqOnnx

dirs = {"int8": Path("models/mendfix_tiny")}
if Path(".work/art_fp32/manifest.json").exists():
    dirs["fp32"] = Path(".work/art_fp32")
prompts = [
    "B307 blacklist @parse\n>>>\nvalue = eval(text)",
    "B506 yaml_load @load_config\nimport yaml as y\n>>>\ndata = y.load(fh, Loader=y.Loader)",
    "B324 hashlib @etag\nimport hashlib\n>>>\nreturn hashlib.md5(self.body).hexdigest()",
    "B602 subprocess_popen_with_shell_equals_true @build\nimport subprocess\n>>>\nsubprocess.run(cmd, shell=True)",
]
data = Path(".work/data/test.jsonl")
if data.exists():
    prompts = [json.loads(l)["src"] for l in data.read_text().splitlines()[:320]]
# The model's view of each prompt (placeholders for rare names, when it was trained on abstracted code).
from models.format import model_view
lexicon = Seq2SeqOnnx(dirs["int8"], providers=["CPUExecutionProvider"]).lexicon
prompts = [model_view(p, lexicon).prompt for p in prompts]
ok = True
for label, path in dirs.items():
    entry = {}
    cuda = Seq2SeqOnnx(path, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    cpu = Seq2SeqOnnx(path, providers=["CPUExecutionProvider"])
    entry["cuda_session_providers"] = cuda.providers
    entry["active_provider"] = cuda.active_provider
    if cuda.active_provider != "CUDAExecutionProvider":
        entry["FAIL"] = "CUDA was requested but the session runs on " + cuda.active_provider
        ok = False
    for name, model in (("cuda", cuda), ("cpu", cpu)):
        model.generate(prompts[:2])
        t = []
        for p in prompts[:60]:
            t0 = time.perf_counter(); model.generate([p]); t.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        texts = [h[0].text for i in range(0, len(prompts), 16) for h in model.generate(prompts[i:i + 16])]
        b16 = len(prompts) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i in range(0, min(len(prompts), 64), 16):
            model.generate(prompts[i:i + 16], num_beams=3, num_return=3)
        beam = min(len(prompts), 64) / (time.perf_counter() - t0)
        entry[name] = {"batch1_median_ms": round(statistics.median(t), 2), "batch16_candidates_per_s": round(b16, 1),
                       "beam3_batch16_inputs_per_s": round(beam, 1)}
        entry[name + "_texts"] = texts
    same = sum(a == b for a, b in zip(entry.pop("cuda_texts"), entry.pop("cpu_texts")))
    entry["same_text_cuda_vs_cpu"] = round(same / len(prompts), 4)
    report[label] = entry
    print(label, json.dumps(entry), flush=True)

try:
    import torch
    report["torch_cuda"] = bool(torch.cuda.is_available())
except ImportError:
    report["torch_cuda"] = None
(out / "model_gpu.json").write_text(json.dumps(report, indent=1))
print(json.dumps({k: v for k, v in report.items() if k not in dirs}, indent=1))
sys.exit(0 if ok else 1)
PYEOF

# Optional: a short CUDA training smoke run (only where torch sees a GPU and the dataset exists).
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null && [ -f .work/data/train.jsonl ]; then
  timeout 300 "$PY" -m models.train --device cuda --data .work/data --out "$OUT/cuda_run" --steps 300 --time-cap 240 \
    2>&1 | grep -v -i warning | tee "$OUT/train_cuda.log" | tail -5
fi
echo "results: $OUT/model_gpu.json"
