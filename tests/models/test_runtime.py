"""The torch-free runtime on the shipped artifact: integrity, providers, decoding paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.runtime import ModelUnavailable, Seq2SeqOnnx, verify_manifest
from tests.models.conftest import needs_runtime

PROMPTS = [
    "B307 blacklist @parse\n>>>\nvalue = eval(text)",
    "B506 yaml_load @load_config\nimport yaml as y\n>>>\ndata = y.load(fh, Loader=y.Loader)",
    "B324 hashlib @etag\nimport hashlib\n>>>\nreturn hashlib.md5(self.body).hexdigest()",
]


def test_worker_path_imports_no_torch_transformers_or_optimum() -> None:
    code = (
        "import sys, models.runtime, models.proposer, models.cli, models.format, models.worker\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers', 'optimum'})\n"
        "print(bad)\n"
        "raise SystemExit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_clear_error_without_onnxruntime(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    with pytest.raises(ModelUnavailable, match=r"mendbot\[cpu\].*mendbot\[gpu\]"):
        Seq2SeqOnnx(model_dir)


def test_artifact_is_small_and_listed_in_the_manifest(model_dir: Path) -> None:
    manifest = verify_manifest(model_dir)
    total = sum(meta["bytes"] for meta in manifest["files"].values())
    assert total <= 25 * 1024 * 1024
    assert {"encoder_model.onnx", "tokenizer.json"} <= set(manifest["files"])
    assert all(count > 0 for count in manifest["quantized_nodes"].values())
    assert (model_dir / "card.md").exists()


def test_tampered_file_is_refused(tmp_path: Path, model_dir: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    data = bytearray((copy / "tokenizer.json").read_bytes())
    data[-3] = ord(" ") if data[-3] != ord(" ") else ord("\t")
    (copy / "tokenizer.json").write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="SHA-256"):
        verify_manifest(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "encoder_model.onnx").unlink()
    assert "encoder_model.onnx" in manifest["files"]
    with pytest.raises(ModelUnavailable, match="missing"):
        verify_manifest(copy)


@needs_runtime
def test_reports_the_provider_that_actually_runs(model_dir: Path) -> None:
    import onnxruntime

    model = Seq2SeqOnnx(model_dir, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert model.providers == model.encoder.get_providers()
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert model.active_provider == "CPUExecutionProvider"
        assert model.device == "cpu"
    assert model.describe()["active_provider"] == model.active_provider


@needs_runtime
def test_greedy_equals_beam_of_one_and_batching_does_not_change_text(model: Seq2SeqOnnx) -> None:
    greedy = [h[0].text for h in model.generate(PROMPTS, max_new_tokens=48)]
    single = [model.generate([p], max_new_tokens=48)[0][0].text for p in PROMPTS]
    assert greedy == single
    beam1 = [h[0].text for h in model._beam(PROMPTS, 1, 1, 48)]
    assert beam1 == greedy


@needs_runtime
def test_io_binding_loop_matches_the_plain_loop(model: Seq2SeqOnnx) -> None:
    """The CUDA path (KV cache kept on the device) run on the CPU device gives the same text."""
    plain = model._greedy(PROMPTS, 48)
    bound = model._greedy_bound(PROMPTS, 48)
    assert [h.text for h in plain] == [h.text for h in bound]
    # int8 dynamic quantisation scales activations per tensor, i.e. over the rows in the batch; the CPU
    # loop drops finished rows, the device loop keeps them, so scores may differ in the second decimal.
    assert np.allclose([h.logprob for h in plain], [h.logprob for h in bound], rtol=0.02, atol=0.05)


@needs_runtime
def test_beam_returns_distinct_ranked_candidates(model: Seq2SeqOnnx) -> None:
    for hyps in model.generate(PROMPTS, num_beams=4, num_return=3, max_new_tokens=48):
        texts = [h.text for h in hyps]
        assert 1 <= len(texts) <= 3 and len(set(texts)) == len(texts)
        assert all(0.0 <= h.score <= 1.0 for h in hyps)


@needs_runtime
def test_a_tokenizer_saved_with_padding_does_not_pad_ids(tmp_path: Path, model_dir: Path) -> None:
    """transformers saves the padding of its last batch call in tokenizer.json; the runtime must ignore it."""
    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    data = json.loads((copy / "tokenizer.json").read_text())
    data["padding"] = {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None, "pad_id": 0,
                       "pad_type_id": 0, "pad_token": "<pad>"}  # fmt: skip
    (copy / "tokenizer.json").write_text(json.dumps(data))
    model = Seq2SeqOnnx(copy, providers=["CPUExecutionProvider"], verify=False)
    _ids, mask = model._encode(PROMPTS)
    assert mask.sum(axis=1).tolist() == [len(model.tokenizer.encode(p).ids) for p in PROMPTS]
    batched = [h[0].text for h in model.generate(PROMPTS, max_new_tokens=48)]
    assert batched == [model.generate([p], max_new_tokens=48)[0][0].text for p in PROMPTS]
