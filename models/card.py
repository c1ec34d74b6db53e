"""Render the model card from the JSON the pipeline wrote, so every number in it is measured.

Inputs (all produced by commands, none typed by hand): the dataset summary
(`models.dataset`), the training metrics (`models.train`), the artifact manifest
(`models.export`), and the benchmark outputs (`benchmarks/model_quality.py`,
`benchmarks/model_speed.py`). The card is written next to the artifact together
with `metrics.json`, the merged inputs.

    .venv/bin/python -m models.card models/mendfix_tiny --dataset .work/data/dataset.json \
        --train .work/run/metrics.json --quality .work/quality.json --speed .work/speed.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from models.format import LEXICON_MIN_COUNT


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _quality_section(quality: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    models = {k: v for k, v in quality.items() if isinstance(v, dict) and "exact_match" in v}
    if not models:
        return ["(not measured)"]
    names = list(models)
    first = models[names[0]]["exact_match"]
    beams_key = next((k for k in first if k.startswith("exact_match_any_of_")), None)
    lines.append(f"Test set: {quality['test_rows']} pairs from packages the model never saw (package split).")
    lines.append("")
    header = "| artifact | greedy exact match | " + (
        f"any of {beams_key.rsplit('_', 1)[-1]} (beam) | " if beams_key else ""
    )
    header += "fix rows | keep rows left unchanged |"
    lines += [header, "|---|---|" + ("---|" if beams_key else "") + "---|---|"]
    for name in names:
        em = models[name]["exact_match"]
        q = models[name]["model"].get("quantization", "")
        label = f"{Path(name).name} ({'int8' if 'int8' in q else 'fp32'})"
        row = f"| {label} | {_pct(em['exact_match_greedy'])} | "
        row += f"{_pct(em[beams_key])} | " if beams_key else ""
        row += f"{_pct(em['exact_match_fix_rows'])} | {_pct(em['unchanged_kept_rows'])} |"
        lines.append(row)
    lines += [
        "",
        f"Per rule ({Path(names[0]).name}):",
        "",
        "| rule | pairs | greedy | beam any-of |",
        "|---|---|---|---|",
    ]
    for rule, r in first["per_rule"].items():
        any_key = next((k for k in r if k.startswith("any")), "greedy")
        lines.append(f"| {rule} | {r['n']} | {_pct(r['greedy'])} | {_pct(r[any_key])} |")
    rescue = models[names[0]].get("rescue")
    if rescue:
        lines += [
            "",
            "**Rescue rate on real code** (every file of the held-out packages scanned with bandit; findings of the "
            "trained rules; codemods first, then the model's candidates through the gate):",
            "",
            f"- files scanned: {rescue['files_scanned']}; findings of trained rules: {rescue['findings']}; "
            f"fixed by codemods: {rescue['codemod_fixed']}; left by the codemods: {rescue['left_by_codemods']}",
            f"- proven model fixes among those: {rescue['model_rescued']} → **rescue rate {_pct(rescue['rescue_rate'])}**",
            "",
            "| rule | findings | codemod fixed | left | model rescued |",
            "|---|---|---|---|---|",
        ]
        for rule, c in rescue["per_rule"].items():
            lines.append(
                f"| {rule} | {c.get('findings', 0)} | {c.get('codemod_fixed', 0)} | {c.get('left_by_codemods', 0)} | "
                f"{c.get('model_rescued', 0)} |"
            )
        if rescue.get("examples"):
            lines += ["", "Examples of rescued findings (real code, proven by the gate):", ""]
            for ex in rescue["examples"][:6]:
                lines.append(f"- {ex['rule']} `{ex['before']}` → `{ex['after']}` (score {ex['score']})")
    return lines


def _speed_section(speed: dict[str, Any]) -> list[str]:
    if not speed:
        return ["(not measured)"]
    lines = [
        f"CPU, one thread each, greedy, {speed['n_batch1']} prompts at batch 1 and {speed['n_batch16']} at batch 16.",
        "",
        "| system | batch 1 median ms | speed-up | batch 16 candidates/s | speed-up | same text as PyTorch |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in speed["systems"].items():
        lines.append(
            f"| {name} | {s['batch1_median_ms']} | {s.get('speedup_batch1', 1.0)}× | {s['batch16_candidates_per_s']} | "
            f"{s.get('speedup_batch16', 1.0)}× | {_pct(s.get('same_text_as_pytorch', 1.0))} |"
        )
    w = speed.get("worker_int8")
    if w:
        lines += [
            "",
            f"Worker process (main venv, no torch imported: {not w['torch_imported']}): cold import + load "
            f"{w['cold_import_and_load_s_median']} s, first candidate after {w['first_candidate_s_median']} s; RSS with the "
            f"model loaded {w['rss_mb_with_model']} MB (peak {w['peak_rss_mb']} MB); the engine alone "
            f"{w['rss_mb_engine_without_model']} MB.",
        ]
    return lines


def render(
    artifact: Path, dataset: dict[str, Any], train: dict[str, Any], quality: dict[str, Any], speed: dict[str, Any]
) -> str:
    manifest = json.loads((artifact / "manifest.json").read_text())
    cfg = train["config"]
    counts = dataset["counts"]
    total_bytes = sum(f["bytes"] for f in manifest["files"].values())
    rules = sorted({k.split(":")[-1] for k in counts if ":rule:" in k})
    lexicon_file = artifact / "lexicon.json"
    lexicon_size = len(json.loads(lexicon_file.read_text())) if lexicon_file.exists() else 0
    lines = [
        f"# Model card: {manifest['name']}",
        "",
        "A small sequence-to-sequence model that drafts a fix for one flagged Python statement. mendbot asks it only "
        "for findings no codemod fixed; every draft must pass the gate (parses and compiles, edit confined to the statement, "
        "names bound, calls fit their signatures and nothing new fails at import, the finding is gone on re-scan "
        "with nothing new, its rule left nowhere on the edited lines, no new lint) before anyone sees it, and is marked model-proposed "
        "with its score.",
        "",
        "## Task",
        "",
        "Input: `RULE test_name @scope`, the file's import lines that bind a name the statement uses, `>>>`, then "
        "the flagged statement (whole lines, dedented; only the header of a compound statement). Output: `#+ import …` "
        "lines for imports to add, then "
        + (
            "the edit as hunks `⟦anchor‖old→new`, left to right: find `anchor` + `old` (counted in code pieces, from "
            "where the previous hunk ended), replace `old` by `new`; the anchor is the shortest context that makes "
            "the first match the right one, usually empty or one piece (`⟦‖load→safe_load`, `⟦url‖→, timeout=10`); "
            "no hunk means leave the statement as it is. "
            if manifest.get("output_format") == "edit-v1"
            else "the replacement text. "
        )
        + "Reading the hunks back, indentation, splicing and import placement are done deterministically "
        "(`models/format.py`, `models/proposer.py`), so the model's capacity goes to the edit, not to copying.",
        *(
            [
                "",
                f"Abstraction: names, numbers, string literals and comments of the statement and its imports that "
                f"are not among the {lexicon_size} lexemes seen at least {LEXICON_MIN_COUNT} times in training "
                "(`lexicon.json`) are replaced by typed placeholders (`§v1` name, `§n1` number, `§s1` string, `§c1` "
                "comment) before the model sees them, and restored in its answer; an answer naming a placeholder the "
                "prompt lacks is refused. A small model trained from scratch copies rare tokens badly; it copies "
                "`§v1` well.",
            ]
            if lexicon_size
            else []
        ),
        "",
        "## Data",
        "",
        f"- Real statements mined with `ast` from the standard library and the installed packages of the main venv "
        f"(Python {dataset['python']}): {len(dataset['packages']['train'])} training packages, "
        f"{len(dataset['packages']['test'])} test packages (split by a hash of the package name; test packages: "
        f"{', '.join(dataset['packages']['test'])}).",
        f"- A vulnerable call is placed in them in many shapes (assigned, returned, alone, nested in a real call, "
        f"chained, aliased imports, from-imports, shuffled keywords, calls over several lines, methods in classes, "
        f"trailing comments); {dataset['per_package']} drafts per package, seed {dataset['seed']}.",
        f"- Labels: the project's fixers where one applies ({counts.get('train:label:fixer', 0)} train / "
        f"{counts.get('test:label:fixer', 0)} test pairs), curated templates for rules or shapes no codemod covers "
        f"({counts.get('train:label:template', 0)} / {counts.get('test:label:template', 0)}). Every pair is checked "
        f"with bandit: the rule fires before and not after.",
        f"- Negatives (already-fixed statements that must come back unchanged): {counts.get('train:keep', 0)} train / "
        f"{counts.get('test:keep', 0)} test.",
        f"- Total: {counts.get('train:fix', 0) + counts.get('train:keep', 0)} train pairs, "
        f"{counts.get('test:fix', 0) + counts.get('test:keep', 0)} test pairs; {len(rules)} bandit rules: "
        f"{', '.join(rules)}. Build time {dataset['seconds']} s.",
        "",
        "## Model and artifact",
        "",
        f"- {'mBART (pre-LN)' if cfg.get('arch') == 'mbart' else 'BART'} from scratch: d_model {cfg['d_model']}, {cfg['layers']}+{cfg['layers']} layers, {cfg['heads']} heads, "
        f"FFN {cfg['ffn']}, learned positions (max {cfg['max_positions']}), tied embeddings; "
        f"{train['parameters'] / 1e6:.2f} M parameters. Byte-level BPE tokenizer, {cfg['vocab_size']} tokens, trained "
        "on the training pairs.",
        f"- Exported with optimum (encoder + merged decoder with past), {manifest['quantization']}; integer matmul "
        f"nodes per file: {manifest['quantized_nodes']}.",
        f"- Shipped files: {total_bytes / 1e6:.1f} MB in all (fp32 ONNX would be "
        f"{sum(manifest['fp32_bytes'].values()) / 1e6:.1f} MB); SHA-256 of each in `manifest.json`, checked at load.",
        "",
        "## Training cost",
        "",
        f"- {train['steps_done']} steps of batch {cfg['batch_size']} (planned {cfg['steps']}; stopped by: "
        f"{train['stopped_by']}) in {train['train_seconds'] / 60:.1f} min on {cfg['device']} with "
        f"{train['threads']} thread(s) of a {train['cpu_count']}-core machine shared with other work; AdamW lr "
        f"{cfg['lr']}, warm-up {cfg['warmup']}, cosine to {cfg['min_lr_ratio']}×; seed {cfg['seed']}; torch "
        f"{train['torch']}.",
        f"- Final training loss {train['final_loss']:.3f}; dev exact match (PyTorch greedy, {train['dev_rows']} pairs "
        f"held out from the training packages) {_pct(train['dev_exact_match'])}.",
        "",
        "| step | minutes | loss | dev exact match |",
        "|---|---|---|---|",
        *[
            f"| {h['step']} | {h['seconds'] / 60:.1f} | {h['loss']:.3f} | {_pct(h['dev_em'])} |"
            for h in train["history"]
        ],
        "",
        "## Held-out quality",
        "",
        *_quality_section(quality),
        "",
        "## Speed and footprint",
        "",
        *_speed_section(speed),
        "",
        "## Intended use",
        "",
        "- Drafting candidates for bandit findings that mendbot's codemods do not fix, in the rules listed above, "
        "for the gate to prove or refuse. Its output is never shown unproven.",
        "- A demonstration that the pipeline (data → training → optimum export → int8 → numpy/onnxruntime decoding "
        "on CUDA or CPU) works end to end, so a larger checkpoint can be swapped in with `mendbot model export`.",
        "",
        "## Limits",
        "",
        "- Trained from scratch in under an hour on 2 CPU cores: it is narrow. It knows only the rules and shapes "
        "of its synthetic data (the statement kinds per rule are shipped in `edit_vocab.json`, and drafts for other "
        "kinds are refused before the gate).",
        "- The data's vulnerable calls are placed into real statements, but the combination is synthetic; held-out "
        "exact match measures the learned edits, the real-code rescue rate measures usefulness. A draft that "
        "passes the gate can still be wrong in ways bandit cannot see (a return value used differently, a shell "
        "pipeline split into argv): model fixes are always `review` fixes, and the learned fixer is off unless a "
        "repository sets `model = true`.",
        "- It sees one statement, its imports and the scope's name, nothing else: proven candidates are still "
        '`review` fixes (e.g. `ast.literal_eval` accepts only literals, a `filter="data"` may reject archives '
        "that worked before).",
        "- int8 changes some outputs relative to fp32 (see the speed table); CPU and GPU workers may draft different "
        "text for the same finding.",
        "- To use a bigger model: train or fine-tune any Hugging Face encoder-decoder on the same prompt format "
        "(`mendbot model data` writes it), then `mendbot model export CHECKPOINT --out DIR` and point "
        "`--model-dir`/`MENDBOT_MODEL_DIR` at it.",
        "",
        "## Reproduce",
        "",
        "```",
        "python3.11 -m venv .venv-train && .venv-train/bin/pip install -e '.[train]'",
        f".venv/bin/python -m models.dataset .work/data --per-package {dataset['per_package']} --seed {dataset['seed']}",
        f".venv-train/bin/python -m models.train --data .work/data --out .work/run --steps {cfg['steps']} "
        f"--threads {cfg['threads']} --time-cap {int(cfg['time_cap_s'])}",
        ".venv-train/bin/mendbot model export .work/run --out models/mendfix_tiny --name mendfix-tiny "
        "--train-data .work/data/train.jsonl",
        ".venv-train/bin/mendbot model export .work/run --out .work/art_fp32 --fp32",
        ".venv/bin/python benchmarks/model_quality.py --data .work/data --out .work/quality.json",
        ".venv-train/bin/python benchmarks/model_speed.py --out .work/speed.json",
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--quality", type=Path)
    parser.add_argument("--speed", type=Path)
    parser.add_argument("--notes", type=Path, help="markdown appended as 'Findings from building it' (measured notes)")
    args = parser.parse_args(argv)
    dataset = json.loads(args.dataset.read_text())
    train = json.loads(args.train.read_text())
    quality = json.loads(args.quality.read_text()) if args.quality and args.quality.exists() else {}
    speed = json.loads(args.speed.read_text()) if args.speed and args.speed.exists() else {}
    card = render(args.artifact, dataset, train, quality, speed)
    if args.notes and args.notes.exists():
        card += "\n## Findings from building it\n\n" + args.notes.read_text().strip() + "\n"
    (args.artifact / "card.md").write_text(card)
    merged = {"dataset": {k: v for k, v in dataset.items() if k != "packages"}, "test_packages": dataset["packages"]["test"],
              "train": train, "quality": quality, "speed": speed}  # fmt: skip
    (args.artifact / "metrics.json").write_text(json.dumps(merged, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
