"""Learned fixer quality: held-out exact match per rule, and the rescue rate on real code.

1. Exact match: greedy output, read back as a whole statement in the original
   names (`models.format.read_answer`), == target text, on the package-split test set
   (`models.dataset` test.jsonl: packages the model never saw), per rule, for the
   ONNX artifact(s) given. Beam-k "any of k" is reported too (the proposer sends
   k candidates to the gate, so that is what bounds it).
2. Rescue rate on *real* vulnerable code: every Python file of the held-out
   packages is scanned with bandit; for findings of the rules the model was trained
   on, the codemods run first (`bot.engine.proving.fix_each` without proposers); for each
   finding they did not fix, the model proposes k candidates and the gate judges.
   rescue = findings with a proven model fix / findings the codemods left.

Run in the main venv (numpy + tokenizers + onnxruntime; no torch):
    .venv/bin/python benchmarks/model_quality.py --data .work/data --out .work/quality.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.proving import fix_each
from bot.engine.scan import ScanSettings, scan_source
from models.dataset import default_roots, split_of
from models.format import Abstracted, model_view, read_answer
from models.proposer import OnnxProposer
from models.runtime import DEFAULT_MODEL_DIR, Seq2SeqOnnx


def exact_match(model: Seq2SeqOnnx, rows: list[dict[str, Any]], beams: int, batch: int = 16) -> dict[str, Any]:
    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    t0 = time.perf_counter()
    for i in range(0, len(rows), batch):
        part = rows[i : i + batch]
        views = [model_view(r["src"], model.lexicon) for r in part]
        prompts = [v.prompt for v in views]
        greedy = model.generate(prompts)
        beam = model.generate(prompts, num_beams=beams, num_return=beams) if beams > 1 else greedy
        for row, view, g, b in zip(part, views, greedy, beam, strict=True):

            def hit(text: str, row: dict[str, Any] = row, view: Abstracted = view) -> bool:
                return read_answer(model.output_format, view, text) == row["tgt"]

            c = per_rule[row["rule"]]
            c["n"] += 1
            c["greedy"] += hit(g[0].text)
            c[f"any{beams}"] += any(hit(h.text) for h in b)
            c[f"kind_{row['kind']}"] += 1
            c[f"greedy_{row['kind']}"] += hit(g[0].text)
    total: Counter[str] = Counter()
    for c in per_rule.values():
        total.update(c)

    def rate(c: Counter[str], key: str, n: str = "n") -> float:
        return round(c[key] / c[n], 4) if c[n] else 0.0

    return {
        "rows": total["n"],
        "exact_match_greedy": rate(total, "greedy"),
        f"exact_match_any_of_{beams}": rate(total, f"any{beams}"),
        "exact_match_fix_rows": rate(total, "greedy_fix", "kind_fix"),
        "unchanged_kept_rows": rate(total, "greedy_keep", "kind_keep"),
        "seconds": round(time.perf_counter() - t0, 1),
        "per_rule": {
            rule: {"n": c["n"], "greedy": rate(c, "greedy"), f"any{beams}": rate(c, f"any{beams}")}
            for rule, c in sorted(per_rule.items())
        },
    }


def held_out_files(max_files: int) -> list[Path]:
    files: list[Path] = []
    for root, stdlib in default_roots():
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).parts
            if any(p in {"test", "tests", "site-packages", "__pycache__", "idle_test"} for p in rel):
                continue
            top = rel[0][:-3] if rel[0].endswith(".py") else rel[0]
            package = f"std.{top}" if stdlib else top
            if split_of(package) == "test":
                files.append(path)
    return files[:max_files]


def rescue(model: Seq2SeqOnnx, rules: set[str], k: int, max_files: int, filter_edits: bool = True) -> dict[str, Any]:
    settings = ScanSettings()
    proposer = OnnxProposer(model=model, k=k, filter_edits=filter_edits)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    examples: list[dict[str, str]] = []
    t0 = time.perf_counter()
    files = held_out_files(max_files)
    for path in files:
        try:
            source = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        name = str(path)
        report = scan_source(name, source, settings)
        findings = [f for f in report.findings if f.rule_id in rules]
        if not findings:
            continue
        # One engine call: codemods first, then the model for every finding they did not fix
        # (no codemod for the rule, or the codemod declined / was rejected), each candidate gated.
        outcome = fix_each(name, source, report.findings, settings, proposers=[proposer],
                           fixable=lambda f: f.rule_id in rules)  # fmt: skip
        left = []
        for f in findings:
            fix = outcome.fixes.get(f.fingerprint)
            counts[f.rule_id]["findings"] += 1
            if fix is not None and fix.provenance == "codemod":
                counts[f.rule_id]["codemod_fixed"] += 1
            else:
                left.append(f)
        for f in left:
            counts[f.rule_id]["left_by_codemods"] += 1
            fix = outcome.fixes.get(f.fingerprint)
            if fix is not None and fix.provenance == "model":
                counts[f.rule_id]["model_rescued"] += 1
                if len(examples) < 12:
                    examples.append(
                        {
                            "file": name,
                            "rule": f.rule_id,
                            "before": f.code.strip()[:200],
                            "after": fix.replacement.strip()[:200],
                            "score": str(fix.score),
                        }
                    )
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    return {
        "files_scanned": len(files),
        "findings": total["findings"],
        "codemod_fixed": total["codemod_fixed"],
        "left_by_codemods": total["left_by_codemods"],
        "model_rescued": total["model_rescued"],
        "rescue_rate": round(total["model_rescued"] / total["left_by_codemods"], 4)
        if total["left_by_codemods"]
        else None,
        "per_rule": {rule: dict(c) for rule, c in sorted(counts.items())},
        "examples": examples,
        "faithfulness_filter": filter_edits,
        "outputs_refused_by_filter": len(proposer.refused),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(".work/data"))
    parser.add_argument("--model-dir", type=Path, action="append", help="artifact(s); default: the shipped one")
    parser.add_argument("--beams", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="test rows (0 = all)")
    parser.add_argument("--max-files", type=int, default=4000)
    parser.add_argument("--skip-rescue", action="store_true")
    parser.add_argument(
        "--no-filter", action="store_true", help="rescue without the faithfulness filter (to measure it)"
    )
    parser.add_argument("--skip-exact-match", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (args.data / "test.jsonl").read_text().splitlines() if line.strip()]
    if args.limit:
        rows = rows[: args.limit]
    train_rules = {
        json.loads(line)["rule"] for line in (args.data / "train.jsonl").read_text().splitlines() if line.strip()
    }
    results: dict[str, Any] = {"test_rows": len(rows), "rules_trained": sorted(train_rules)}
    for model_dir in args.model_dir or [DEFAULT_MODEL_DIR]:
        model = Seq2SeqOnnx(model_dir, providers=["CPUExecutionProvider"])
        entry: dict[str, Any] = {"model": model.describe()}
        if not args.skip_exact_match:
            entry["exact_match"] = exact_match(model, rows, args.beams)
            summary = {k: v for k, v in entry["exact_match"].items() if k != "per_rule"}
            print(json.dumps({str(model_dir): summary}), flush=True)
        if not args.skip_rescue:
            entry["rescue"] = rescue(model, train_rules, args.beams, args.max_files, not args.no_filter)
            print(
                json.dumps({k: v for k, v in entry["rescue"].items() if k not in {"per_rule", "examples"}}), flush=True
            )
        results[str(model_dir)] = entry
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
