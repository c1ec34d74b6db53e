"""Export: a Hugging Face seq2seq checkpoint folder → mendbot's ONNX artifact.

The same path serves the shipped model and any larger checkpoint a user trains or
downloads elsewhere (`mendbot model export PATH --out DIR`), so swapping models
needs no code change. Steps, and why:

1. optimum's exporter (`text2text-generation-with-past`): encoder, decoder,
   decoder-with-past and the merged decoder (one graph with a `use_cache_branch`
   If-node). The exporter needs transformers 4.57.x + optimum 2.1 + optimum-onnx
   0.1 (the `train` extra pins them).
2. Dynamic int8 with optimum's `ORTQuantizer`, file by file. onnxruntime's own
   `quantize_dynamic` silently leaves the merged decoder unquantised (it does not
   enter If subgraphs), so every output file is checked: it must contain integer
   matmuls, or the export fails.
3. The artifact keeps encoder + merged decoder (about half the bytes of encoder +
   decoder + decoder-with-past, which each carry their own embedding copy), plus
   `tokenizer.json`, `config.json`, and `manifest.json` with each file's SHA-256,
   checked by the runtime at load.

Needs the `train` extra (torch, transformers, optimum, onnx); imported lazily.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from models.format import STATEMENT_FORMAT

MANIFEST = "manifest.json"
LEXICON = "lexicon.json"
FORMAT_VERSION = 1
ENCODER = "encoder_model.onnx"
MERGED = "decoder_model_merged.onnx"
DECODER = "decoder_model.onnx"
DECODER_WITH_PAST = "decoder_with_past_model.onnx"
QUANT_OPS = frozenset(
    {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul", "DynamicQuantizeMatMul", "MatMulNBits"}
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_quantized_nodes(path: Path) -> int:
    """Integer-matmul nodes in a graph, subgraphs (If branches) included."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    count = 0
    stack = [model.graph]
    while stack:
        graph = stack.pop()
        for node in graph.node:
            if node.op_type in QUANT_OPS:
                count += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    stack.append(attr.g)
                stack.extend(attr.graphs)
    return count


def export_onnx(checkpoint: Path, work: Path) -> Path:
    """optimum export with past key values; returns the folder of fp32 ONNX files."""
    from optimum.exporters.onnx import main_export

    fp32 = work / "fp32"
    main_export(str(checkpoint), output=str(fp32), task="text2text-generation-with-past", device="cpu")
    return fp32


def quantize(fp32: Path, names: list[str], out: Path) -> dict[str, int]:
    """Dynamic int8 with ORTQuantizer; returns the integer-matmul node count per file."""
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    qconfig = AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=False)
    counts: dict[str, int] = {}
    for name in names:
        qdir = out / f"q_{Path(name).stem}"
        quantizer = ORTQuantizer.from_pretrained(str(fp32), file_name=name)
        quantizer.quantize(save_dir=str(qdir), quantization_config=qconfig)
        produced = next(p for p in qdir.glob("*.onnx"))
        target = out / name
        shutil.move(str(produced), target)
        shutil.rmtree(qdir)
        counts[name] = count_quantized_nodes(target)
        if counts[name] == 0:
            raise RuntimeError(f"{name}: quantisation left no integer matmuls; refusing to ship it as int8")
    return counts


def _tokenizer_json(checkpoint: Path, dest: Path) -> None:
    source = checkpoint / "tokenizer.json"
    if source.exists():
        data = json.loads(source.read_text(encoding="utf-8"))
        data["padding"] = None  # transformers saves the padding of its last batch call; the runtime pads itself
        data["truncation"] = None
        dest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return
    from transformers import AutoTokenizer  # a slow tokenizer converted to the fast format

    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint), use_fast=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        if not (Path(tmp) / "tokenizer.json").exists():
            raise RuntimeError(f"{checkpoint}: no fast tokenizer (tokenizer.json) can be made for this model")
        shutil.copy(Path(tmp) / "tokenizer.json", dest)


def write_manifest(out: Path, name: str, meta: dict[str, Any]) -> dict[str, Any]:
    """SHA-256 and size of every file the runtime loads, plus generation settings."""
    files = {}
    for path in sorted(out.iterdir()):
        # metrics.json is the card's data (rewritten by models.card), not something the runtime loads.
        if path.is_file() and path.name not in {MANIFEST, "metrics.json"} and path.suffix in {".onnx", ".json"}:
            files[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = {"format": FORMAT_VERSION, "name": name, "files": files, **meta}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def write_edit_vocab(train_jsonl: Path, out: Path) -> int:
    """`edit_vocab.json` from the training pairs: what each rule's fixes may remove and add."""
    from models.format import STATEMENT_MARK, edit_vocabulary

    pairs = []
    with train_jsonl.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("kind", "fix") == "fix":
                pairs.append((row["rule"], row["src"].split(f"\n{STATEMENT_MARK}\n", 1)[1], row["tgt"]))
    vocab = edit_vocabulary(pairs)
    (out / "edit_vocab.json").write_text(json.dumps(vocab, indent=0, sort_keys=True) + "\n")
    return len(vocab)


def export(
    checkpoint: Path,
    out: Path,
    name: str | None = None,
    int8: bool = True,
    keep_split: bool = False,
    log: Any = print,
    train_data: Path | None = None,
    output_format: str | None = None,
) -> dict[str, Any]:
    """Checkpoint folder → artifact folder (`out`), returns the manifest."""
    t0 = time.perf_counter()
    config = json.loads((checkpoint / "config.json").read_text())
    if not config.get("is_encoder_decoder", False):
        raise ValueError(f"{checkpoint}: not an encoder-decoder (seq2seq) checkpoint")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fp32 = export_onnx(checkpoint, work)
        exported = sorted(p.name for p in fp32.glob("*.onnx"))
        log(f"exported {exported} in {time.perf_counter() - t0:.1f}s")
        layout = "merged" if MERGED in exported and not keep_split else "split"
        names = [ENCODER, MERGED] if layout == "merged" else [ENCODER, DECODER, DECODER_WITH_PAST]
        for stale in out.glob("*.onnx"):
            stale.unlink()
        counts: dict[str, int] = {}
        if int8:
            counts = quantize(fp32, names, out)
        else:
            for item in names:
                shutil.copy(fp32 / item, out / item)
        fp32_bytes = {item: (fp32 / item).stat().st_size for item in names}
    _tokenizer_json(checkpoint, out / "tokenizer.json")
    stale_vocab = out / "edit_vocab.json"
    if train_data is not None:
        log(f"edit vocabulary for {write_edit_vocab(train_data, out)} rules from {train_data}")
    elif stale_vocab.exists():
        stale_vocab.unlink()
    shutil.copy(checkpoint / "config.json", out / "config.json")
    stale_lexicon = out / LEXICON
    if (checkpoint / LEXICON).exists():  # trained on abstracted code: the runtime needs the same lexicon
        shutil.copy(checkpoint / LEXICON, stale_lexicon)
    elif stale_lexicon.exists():
        stale_lexicon.unlink()
    decoder_start = config.get("decoder_start_token_id")
    if decoder_start is None:
        decoder_start = config.get("pad_token_id", 0)
    meta = {
        "decoder_layout": layout,
        "quantization": "int8-dynamic (optimum ORTQuantizer, avx512_vnni, per-tensor)" if int8 else "none (fp32)",
        "quantized_nodes": counts,
        "fp32_bytes": fp32_bytes,
        "generation": {
            "decoder_start_token_id": decoder_start,
            "eos_token_id": config.get("eos_token_id", 1),
            "pad_token_id": config.get("pad_token_id", 0),
            "max_new_tokens": 160,
        },
        "model_type": config.get("model_type"),
        # How to read the outputs (models.format); a user's own checkpoint writes whole statements.
        "output_format": output_format or config.get("mendbot_output_format", STATEMENT_FORMAT),
        "source": str(checkpoint.name),
    }
    manifest = write_manifest(out, name or out.name, meta)
    log(
        f"artifact {out}: {sum(f['bytes'] for f in manifest['files'].values()) / 1e6:.1f} MB in {time.perf_counter() - t0:.1f}s"
    )
    return manifest
