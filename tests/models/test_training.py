"""Train → export → runtime, end to end on a tiny run (only where the `train` extra is installed).

CI has no torch: these tests skip there. They are run in the training venv:
`.venv-train/bin/python -m pytest --noconftest tests/models/test_training.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.models.conftest import HAS_TORCH

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs the train extra (torch, transformers, optimum)")


def _rows(n: int) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        arg = "value" + "_more" * (i % 5)  # different lengths: batched decoding must handle padding
        rows.append({"src": f"B307 blacklist @f\n>>>\nx = eval({arg})", "tgt": f"#+ import ast\nx = ast.literal_eval({arg})",
                     "rule": "B307"})  # fmt: skip
    return rows


def test_tiny_training_run_exports_and_decodes_like_pytorch(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSeq2SeqLM, PreTrainedTokenizerFast

    from models.export import export
    from models.runtime import Seq2SeqOnnx
    from models.train import TrainConfig, train

    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(200)))
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), steps=30, d_model=64, layers=1, heads=2, ffn=128,
                      vocab_size=300, batch_size=16, eval_every=1000, dev_rows=16, lr=3e-3, warmup=5)  # fmt: skip
    metrics = train(cfg, log=lambda m: None)
    assert metrics["steps_done"] == 30 and metrics["stopped_by"] == "steps"
    again = train(TrainConfig(**{**cfg.__dict__, "out": str(tmp_path / "run2")}), log=lambda m: None)
    assert again["final_loss"] == pytest.approx(metrics["final_loss"], rel=1e-5)  # seeded and reproducible
    manifest = export(tmp_path / "run", tmp_path / "art", "tiny", int8=False, log=lambda m: None)
    assert manifest["decoder_layout"] == "merged"
    model = Seq2SeqOnnx(tmp_path / "art", providers=["CPUExecutionProvider"])
    prompts = [r["src"] for r in _rows(4)]
    ort_text = [h[0].text for h in model.generate(prompts, max_new_tokens=24)]
    tok = PreTrainedTokenizerFast.from_pretrained(str(tmp_path / "run"))
    pt = AutoModelForSeq2SeqLM.from_pretrained(str(tmp_path / "run")).eval()
    enc = tok(prompts, return_tensors="pt", padding=True, return_token_type_ids=False)
    with torch.no_grad():
        out = pt.generate(**enc, max_new_tokens=24, num_beams=1, do_sample=False)
    assert ort_text == tok.batch_decode(out, skip_special_tokens=True)
    int8 = export(tmp_path / "run", tmp_path / "art8", "tiny8", log=lambda m: None)
    assert all(count > 0 for count in int8["quantized_nodes"].values())
