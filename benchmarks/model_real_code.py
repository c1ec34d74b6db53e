"""The learned fixer on real code: which rules may use it.

The precision issue allows the model for a rule only where its drafts, on real projects, are
accepted as often as the codemods' fixes. This script runs the current mendbot with the model
asked about every rule (`--model --model-all-rules`) over the package folders of the real-code
corpus (`benchmarks/corpus.py build`), and records per rule how many findings were left to the
model, how many of its drafts the gate proved, and a JSONL of every proven draft with 30 lines
of code around it, for a maintainer's reading (the JSONL holds fetched code: it is written
outside the repository). The judged verdicts go into `models/model_rules.json`
(`allowed_rules`), which the CLI, Action and App read (`models.proposer.measured_rules`).

    .venv/bin/python benchmarks/model_real_code.py [--projects flask,requests] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import PROJECTS, Project

ROOT = Path(__file__).resolve().parent.parent
MENDBOT = ROOT / ".venv" / "bin" / "mendbot"
FLAGS = ("--fail-on", "never", "--no-progress", "--allow-unscanned")
AUDIT = frozenset({"B403", "B404", "B603", "B606", "B607"})


def _scan(project: Project, tree: Path, timeout: float) -> dict[str, Any]:
    target = project.package or "."
    done = subprocess.run(
        [str(MENDBOT), "scan", target, "--model", "--model-all-rules", "--format", "json", "--no-cache", *FLAGS],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{project.name}: mendbot exit {done.returncode}: {done.stderr[-500:]}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _context(tree: Path, path: str, line: int) -> str:
    try:
        lines = (tree / path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    lo, hi = max(0, line - 16), min(len(lines), line + 15)
    return "\n".join(f"{n + 1:5} {lines[n]}" for n in range(lo, hi))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path("/work/corpus"))
    parser.add_argument("--projects", default="")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "model_real_code.json")
    parser.add_argument("--drafts", type=Path, default=Path("/work/corpus/samples/model_drafts.jsonl"))
    args = parser.parse_args(argv)
    wanted = {p for p in args.projects.split(",") if p}
    projects = [p for p in PROJECTS if not wanted or p.name in wanted]
    asked: Counter[str] = Counter()
    proven: Counter[str] = Counter()
    drafts: list[dict[str, Any]] = []
    per_project: dict[str, dict[str, Any]] = {}
    for project in projects:
        tree = args.dest / project.name
        if not tree.is_dir():
            print(f"{project.name}: no tree (run corpus.py build)", file=sys.stderr)
            continue
        started = time.perf_counter()
        data = _scan(project, tree, args.timeout)
        seconds = time.perf_counter() - started
        left = model = 0
        for file in data["files"]:
            for finding in file.get("findings", []):
                fix = finding.get("fix")
                rule = finding["rule_id"]
                left_over = fix is None or fix.get("provenance") == "model"
                if left_over and not rule.startswith("B4") and rule not in AUDIT:
                    asked[rule] += 1
                    left += 1
                if fix is not None and fix.get("provenance") == "model":
                    proven[rule] += 1
                    model += 1
                    drafts.append(
                        {
                            "project": project.name,
                            "path": finding["path"],
                            "line": finding["line"],
                            "rule_id": rule,
                            "message": finding["message"],
                            "score": fix.get("score"),
                            "diff": fix["diff"],
                            "context": _context(tree, finding["path"], finding["line"]),
                        }
                    )
        per_project[project.name] = {"left_to_model": left, "model_proven": model, "seconds": round(seconds, 1)}
        print(f"{project.name:18} left to the model {left:4}  proven drafts {model:3}  {seconds:6.1f}s", flush=True)
    args.drafts.parent.mkdir(parents=True, exist_ok=True)
    with args.drafts.open("w", encoding="utf-8") as handle:
        for draft in drafts:
            handle.write(json.dumps(draft) + "\n")
    result = {
        "per_project": per_project,
        "asked_per_rule": dict(asked.most_common()),
        "proven_per_rule": dict(proven.most_common()),
        "drafts_file": str(args.drafts),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["proven_per_rule"]), f"of {sum(asked.values())} left to the model")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
