"""Training recipe: a byte-level BPE tokenizer and a small BART, from scratch.

Why these choices (measured, see shared/reference/model.md):
- BART, not T5: with learned absolute positions a ~9.5M-parameter BART learned a
  copy-and-edit task several times faster than a T5 of the same size on 2 cores.
- One intra-op thread by default: on a shared 2-core machine two threads collapse
  (OpenMP oversubscription); `--threads` overrides it.
- Dynamic padding with length-bucketed batches: fixed padding was 2.4x slower.
- Seeded (python, torch, data order) and step-based, so a run is reproducible; a
  wall-clock cap only guards the budget and is recorded when it stops a run.

torch and transformers are imported inside functions: this module is importable
(and its `--help` works) without the `train` extra.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PAD, EOS, UNK = 0, 1, 2


@dataclass
class TrainConfig:
    """Everything that decides the result of a run (written next to the weights)."""

    data: str = ".work/data"
    out: str = ".work/run"
    device: str = "cpu"
    arch: str = "mbart"  # mbart (pre-LN) | bart (post-LN: its encoder collapsed on this data, see card)
    seed: int = 13
    vocab_size: int = 8000
    d_model: int = 256
    layers: int = 4
    heads: int = 4
    ffn: int = 1024
    max_positions: int = 256
    max_src_tokens: int = 192
    max_tgt_tokens: int = 160
    batch_size: int = 32
    steps: int = 2600
    lr: float = 1e-3
    warmup: int = 100
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    threads: int = 1
    time_cap_s: float = 40 * 60
    eval_every: int = 400
    eval_rows: int = 200
    dev_rows: int = 600
    output_format: str = "edit-v1"  # models.format: "edit-v1" (hunks) or "statement" (whole replacement)
    abstract: bool = True  # rare names/literals → placeholders (models.format.abstract; ships lexicon.json)

    @classmethod
    def for_device(cls, device: str, **overrides: Any) -> TrainConfig:
        """CPU: fits ~45 min on 2 shared cores. CUDA: a bigger model trained longer."""
        base = cls()
        if device == "cuda":
            base = cls(device="cuda", d_model=384, layers=6, heads=6, ffn=1536, batch_size=128, steps=8000, lr=7e-4,
                       warmup=400, time_cap_s=9 * 60, eval_every=1000)  # fmt: skip
        for key, value in overrides.items():
            if value is not None:
                setattr(base, key, value)
        return base


def read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def prepare_rows(rows: list[dict[str, Any]], output_format: str, lexicon: frozenset[str] | None) -> list[dict[str, Any]]:
    """Rows in the model's view: `model_src` (abstracted prompt) and `out` (the answer in the output format).

    `src`/`tgt` stay the statement-format truth. Rows whose target cannot be said in
    that format are dropped (counted by the caller).
    """
    from models.format import abstract, write_answer

    prepared = []
    for row in rows:
        view = abstract(row["src"], lexicon)
        out = None if view is None else write_answer(output_format, view, row["tgt"])
        if view is not None and out is not None:
            prepared.append({**row, "model_src": view.prompt, "out": out, "view": view})
    return prepared


def decoded_matches(output_format: str, texts: list[str], rows: list[dict[str, Any]]) -> list[bool]:
    """Whether each output, read back as a whole statement in the original names, equals the row's target."""
    from models.format import read_answer

    return [read_answer(output_format, r["view"], t) == r["tgt"] for t, r in zip(texts, rows, strict=True)]


def train_tokenizer(texts: list[str], vocab_size: int, path: Path) -> None:
    """Byte-level BPE: exact round trip of indentation and newlines, no unknown bytes."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", EOS)])
    tokenizer.save(str(path))


def _batches(
    rows: list[tuple[list[int], list[int]]], size: int, rng: random.Random
) -> Iterator[list[tuple[list[int], list[int]]]]:
    """Endless length-bucketed batches: shuffle, sort pools of 50 batches by length, shuffle batches."""
    while True:
        order = list(range(len(rows)))
        rng.shuffle(order)
        pool = size * 50
        batches = []
        for i in range(0, len(order), pool):
            chunk = sorted(order[i : i + pool], key=lambda j: len(rows[j][0]) + len(rows[j][1]))
            batches += [chunk[k : k + size] for k in range(0, len(chunk), size)]
        rng.shuffle(batches)
        for batch in batches:
            yield [rows[j] for j in batch]


def _lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def greedy_exact_match(
    model: Any, tokenizer: Any, rows: list[dict[str, Any]], device: str, output_format: str, batch: int = 32
) -> float:
    """Share of rows whose greedy output, decoded, equals the target statement exactly."""
    import torch

    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            enc = tokenizer([r["model_src"] for r in part], return_tensors="pt", padding=True, return_token_type_ids=False)
            enc = {k: v.to(device) for k, v in enc.items()}
            out = model.generate(**enc, max_new_tokens=160, num_beams=1, do_sample=False)
            texts = tokenizer.batch_decode(out, skip_special_tokens=True)
            hits += sum(decoded_matches(output_format, texts, part))
    model.train()
    return hits / max(1, len(rows))


def _encoder_use(model: Any, input_ids: Any, attention: Any, labels: Any) -> float:
    """Loss with each row's source swapped for another row's, minus the true loss.

    Near zero means the decoder ignores the encoder (a collapsed encoder that
    only models the target language): the failure to watch for from scratch.
    """
    import torch

    model.eval()
    with torch.no_grad():
        perm = torch.roll(torch.arange(input_ids.shape[0], device=input_ids.device), 1)
        true = float(model(input_ids=input_ids, attention_mask=attention, labels=labels).loss)
        swapped = float(model(input_ids=input_ids[perm], attention_mask=attention[perm], labels=labels).loss)
    model.train()
    return swapped - true


def train(cfg: TrainConfig, log: Any = print) -> dict[str, Any]:
    """Train tokenizer and model; save a Hugging Face checkpoint folder and metrics.json."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    if cfg.device == "cpu":
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(cfg.data)
    raw = read_rows(data / "train.jsonl")
    rng = random.Random(cfg.seed)
    rng.shuffle(raw)
    lexicon: frozenset[str] | None = None
    if cfg.abstract:
        from models.format import build_lexicon, statement_of

        fit = raw[cfg.dev_rows :]  # the dev rows' rare names stay rare, as on unseen code
        words = build_lexicon([statement_of(r["src"]) for r in fit] + [r["tgt"] for r in fit])
        (out / "lexicon.json").write_text(json.dumps(words, indent=0) + "\n")
        lexicon = frozenset(words)
        log(f"lexicon: {len(words)} lexemes kept as they are; rarer ones become placeholders")
    all_train = prepare_rows(raw, cfg.output_format, lexicon)
    log(f"{len(all_train)} of {len(raw)} pairs in the {cfg.output_format} format")
    dev, train_rows = all_train[: cfg.dev_rows], all_train[cfg.dev_rows :]
    t0 = time.perf_counter()
    tok_path = out / "tokenizer.json"
    train_tokenizer([r["model_src"] for r in train_rows] + [r["out"] for r in train_rows], cfg.vocab_size, tok_path)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(tok_path), pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
        model_input_names=["input_ids", "attention_mask"],
    )  # fmt: skip
    log(f"tokenizer: {tokenizer.vocab_size} tokens in {time.perf_counter() - t0:.1f}s")
    encoded: list[tuple[list[int], list[int]]] = []
    src_ids = tokenizer([r["model_src"] for r in train_rows])["input_ids"]
    tgt_ids = tokenizer([r["out"] for r in train_rows])["input_ids"]
    dropped = 0
    for s, t in zip(src_ids, tgt_ids, strict=True):
        if len(s) > cfg.max_src_tokens or len(t) > cfg.max_tgt_tokens:
            dropped += 1
            continue
        encoded.append((s, t))
    log(f"train pairs: {len(encoded)} (dropped {dropped} over the length limits); dev {len(dev)}")
    config_class: Any = BartConfig
    model_class: Any = BartForConditionalGeneration
    if cfg.arch == "mbart":
        from transformers import MBartConfig, MBartForConditionalGeneration

        config_class, model_class = MBartConfig, MBartForConditionalGeneration
    config = config_class(
        vocab_size=tokenizer.vocab_size, d_model=cfg.d_model, encoder_layers=cfg.layers, decoder_layers=cfg.layers,
        encoder_attention_heads=cfg.heads, decoder_attention_heads=cfg.heads, encoder_ffn_dim=cfg.ffn,
        decoder_ffn_dim=cfg.ffn, max_position_embeddings=cfg.max_positions, dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, pad_token_id=PAD, eos_token_id=EOS, bos_token_id=EOS, decoder_start_token_id=EOS,
        forced_eos_token_id=None, forced_bos_token_id=None, scale_embedding=False, tie_word_embeddings=True,
        mendbot_output_format=cfg.output_format,
    )  # fmt: skip
    model = model_class(config).to(cfg.device)
    params = sum(p.numel() for p in model.parameters())
    log(f"model: {cfg.arch} {params / 1e6:.2f}M parameters on {cfg.device}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    batches = _batches(encoded, cfg.batch_size, random.Random(cfg.seed + 1))
    history: list[dict[str, Any]] = []
    model.train()
    start = time.perf_counter()
    losses: list[float] = []
    stopped_by = "steps"
    step = 0
    for step in range(cfg.steps):
        if time.perf_counter() - start > cfg.time_cap_s:
            stopped_by = "time_cap"
            break
        batch = next(batches)
        width_s = max(len(s) for s, _ in batch)
        width_t = max(len(t) for _, t in batch)
        input_ids = torch.tensor([s + [PAD] * (width_s - len(s)) for s, _ in batch], device=cfg.device)
        attention = (input_ids != PAD).long()
        labels = torch.tensor([t + [-100] * (width_t - len(t)) for _, t in batch], device=cfg.device)
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, cfg)
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if (step + 1) % 50 == 0:
            elapsed = time.perf_counter() - start
            log(f"step {step + 1} loss {sum(losses[-50:]) / 50:.3f} lr {_lr_at(step, cfg):.2e} {elapsed:.0f}s "
                f"({(step + 1) / elapsed:.2f} steps/s)")  # fmt: skip
        if (step + 1) % cfg.eval_every == 0:
            em = greedy_exact_match(model, tokenizer, dev[: cfg.eval_rows], cfg.device, cfg.output_format)
            gap = _encoder_use(model, input_ids, attention, labels)
            history.append({"step": step + 1, "seconds": round(time.perf_counter() - start), "dev_em": em,
                            "loss": sum(losses[-50:]) / 50, "shuffled_source_loss_gap": gap})  # fmt: skip
            log(f"eval step {step + 1}: dev exact match {em:.3f}; loss gap with shuffled sources {gap:.3f}")
            model.save_pretrained(out)  # a stopped run still leaves its latest weights
            tokenizer.save_pretrained(out)
    steps_done = step + 1 if stopped_by == "steps" else step
    train_seconds = time.perf_counter() - start
    dev_em = greedy_exact_match(model, tokenizer, dev, cfg.device, cfg.output_format)
    model.config.forced_eos_token_id = None
    model.generation_config.forced_eos_token_id = None
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics = {
        "config": asdict(cfg),
        "parameters": params,
        "train_pairs": len(encoded),
        "steps_done": steps_done,
        "stopped_by": stopped_by,
        "train_seconds": round(train_seconds, 1),
        "final_loss": sum(losses[-50:]) / max(1, len(losses[-50:])),
        "dev_exact_match": dev_em,
        "dev_rows": len(dev),
        "history": history,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    log(f"done: {steps_done} steps in {train_seconds:.0f}s, dev exact match {dev_em:.3f}")
    return metrics


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="train the learned fixer (needs the `train` extra)")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    return run_train(args)


def add_train_arguments(parser: Any) -> None:
    parser.add_argument("--data", default=".work/data", help="folder with train.jsonl (models.dataset output)")
    parser.add_argument("--out", default=".work/run", help="checkpoint folder to write")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--arch", choices=("bart", "mbart"))
    parser.add_argument("--lr", type=float)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--time-cap", type=float, help="stop after this many seconds of training")
    parser.add_argument("--seed", type=int)


def run_train(args: Any) -> int:
    cfg = TrainConfig.for_device(
        args.device, data=args.data, out=args.out, steps=args.steps, arch=args.arch, lr=args.lr, batch_size=args.batch_size, threads=args.threads,
        time_cap_s=args.time_cap, seed=args.seed,
    )  # fmt: skip
    train(cfg, log=lambda msg: print(msg, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
