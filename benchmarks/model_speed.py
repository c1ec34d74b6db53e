"""Learned fixer speed: PyTorch eager `generate` vs the ONNX Runtime loop (fp32, int8), on CPU.

Same trained model, same prompts (held-out test rows), greedy decoding, one thread
each (one intra-op thread beat two on these 2-core machines). Reports, at batch 1
and batch 16: median ms per candidate, candidates/s, speed-up over PyTorch, and
the share of outputs identical to PyTorch's. Then, in a fresh *main-venv* process
(no torch): cold-load time and the worker's RSS with the model loaded.

Needs the training venv for the PyTorch baseline:
    .venv-train/bin/python benchmarks/model_speed.py --checkpoint .work/run \
        --fp32 .work/art_fp32 --int8 models/mendfix_tiny --data .work/data --out .work/speed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RSS_SCRIPT = """
import json, time, resource
t0 = time.perf_counter()
from models.runtime import Seq2SeqOnnx
model = Seq2SeqOnnx({model_dir!r}, providers=["CPUExecutionProvider"])
loaded = time.perf_counter() - t0
model.generate([{prompt!r}])
first = time.perf_counter() - t0
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) // 1024
import sys
print(json.dumps({{"import_and_load_s": round(loaded, 3), "first_candidate_s": round(first, 3),
                  "rss_mb": status("VmRSS"), "peak_rss_mb": status("VmHWM"),
                  "torch_imported": any(m.split(".")[0] in ("torch", "transformers", "optimum") for m in sys.modules)}}))
"""
BASE_SCRIPT = """
import json
import bot.engine.proving, bot.engine.scan
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) // 1024
print(json.dumps({"rss_mb": status("VmRSS")}))
"""


def _timed(fn: Any, batches: list[list[str]]) -> tuple[list[str], list[float]]:
    texts: list[str] = []
    times: list[float] = []
    for batch in batches:
        t0 = time.perf_counter()
        texts += fn(batch)
        times.append((time.perf_counter() - t0) * 1000 / len(batch))
    return texts, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=Path(".work/run"))
    parser.add_argument("--fp32", type=Path, default=Path(".work/art_fp32"))
    parser.add_argument("--int8", type=Path, default=ROOT / "models" / "mendfix_tiny")
    parser.add_argument("--data", type=Path, default=Path(".work/data"))
    parser.add_argument("--n1", type=int, default=60, help="prompts at batch 1")
    parser.add_argument("--n16", type=int, default=320, help="prompts at batch 16")
    parser.add_argument("--main-python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSeq2SeqLM, PreTrainedTokenizerFast

    from models.format import model_view
    from models.runtime import Seq2SeqOnnx

    torch.set_num_threads(1)
    rows = [json.loads(line) for line in (args.data / "test.jsonl").read_text().splitlines() if line.strip()]
    # What the model sees: rare names as placeholders when the artifact ships a lexicon.
    lexicon = Seq2SeqOnnx(args.int8, providers=["CPUExecutionProvider"]).lexicon
    views = [model_view(r["src"], lexicon) for r in rows[: args.n1 + args.n16]]
    prompts1 = [v.prompt for v in views[: args.n1]]
    prompts16 = [v.prompt for v in views[args.n1 :]]
    tok = PreTrainedTokenizerFast.from_pretrained(str(args.checkpoint))
    pt = AutoModelForSeq2SeqLM.from_pretrained(str(args.checkpoint)).eval()

    def torch_generate(batch: list[str]) -> list[str]:
        enc = tok(batch, return_tensors="pt", padding=True, return_token_type_ids=False)
        with torch.no_grad():
            out = pt.generate(**enc, max_new_tokens=160, num_beams=1, do_sample=False)
        return list(tok.batch_decode(out, skip_special_tokens=True))

    systems: dict[str, Any] = {"pytorch": torch_generate}
    for label, path in (("ort_fp32", args.fp32), ("ort_int8", args.int8)):
        model = Seq2SeqOnnx(path, providers=["CPUExecutionProvider"], threads=1)

        def ort_generate(batch: list[str], model: Seq2SeqOnnx = model) -> list[str]:
            return [h[0].text for h in model.generate(batch)]

        systems[label] = ort_generate
    results: dict[str, Any] = {"threads": 1, "n_batch1": len(prompts1), "n_batch16": len(prompts16), "systems": {}}
    reference: dict[str, list[str]] = {}
    for label, fn in systems.items():
        fn(prompts1[:2])  # warm-up
        texts1, times1 = _timed(fn, [[p] for p in prompts1])
        texts16, times16 = _timed(fn, [prompts16[i : i + 16] for i in range(0, len(prompts16), 16)])
        entry = {
            "batch1_median_ms": round(statistics.median(times1), 2),
            "batch1_candidates_per_s": round(1000 / statistics.mean(times1), 1),
            "batch16_ms_per_candidate": round(statistics.mean(times16), 2),
            "batch16_candidates_per_s": round(1000 / statistics.mean(times16), 1),
        }
        if label == "pytorch":
            reference = {"b1": texts1, "b16": texts16}
        else:
            same = sum(a == b for a, b in zip(texts1 + texts16, reference["b1"] + reference["b16"], strict=True))
            entry["same_text_as_pytorch"] = round(same / (len(texts1) + len(texts16)), 4)
            pt_entry = results["systems"]["pytorch"]
            entry["speedup_batch1"] = round(pt_entry["batch1_median_ms"] / entry["batch1_median_ms"], 2)
            entry["speedup_batch16"] = round(
                entry["batch16_candidates_per_s"] / pt_entry["batch16_candidates_per_s"], 2
            )
        results["systems"][label] = entry
        print(label, json.dumps(entry), flush=True)
    prompt = prompts1[0]
    runs = []
    for _ in range(3):
        done = subprocess.run(
            [args.main_python, "-c", RSS_SCRIPT.format(model_dir=str(args.int8), prompt=prompt)],
            capture_output=True, text=True, cwd=ROOT, timeout=120, check=True,
        )  # fmt: skip
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    base = subprocess.run([args.main_python, "-c", BASE_SCRIPT], capture_output=True, text=True, cwd=ROOT, check=True)
    results["worker_int8"] = {
        "cold_import_and_load_s_median": statistics.median(r["import_and_load_s"] for r in runs),
        "first_candidate_s_median": statistics.median(r["first_candidate_s"] for r in runs),
        "rss_mb_with_model": max(r["rss_mb"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "rss_mb_engine_without_model": json.loads(base.stdout.strip().splitlines()[-1])["rss_mb"],
        "torch_imported": any(r["torch_imported"] for r in runs),
    }
    print("worker", json.dumps(results["worker_int8"]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
