"""Material for a maintainer's reading of mendbot's output on real code, and the tally of the verdicts.

`dump`: runs the current mendbot over the corpus's package folders (`benchmarks/corpus.py build`)
and writes two JSONL files outside the repository (they hold fetched code): every inline
comment mendbot would post (finding, message, the fix if any, 30 lines around it), and every
proven fix it proposes (diff and context). Judges (people, or helper agents given only the code
and the diff) add `verdict` (`accept`, `accept-with-edit`, `reject`; for comments `signal` or
`noise`) and `reason` to each line.

`tally`: reads judged files and prints the rates per rule, the table that goes into BENCHMARKS.md.

    .venv/bin/python benchmarks/judging.py dump [--projects a,b] [--dest /work/corpus]
    .venv/bin/python benchmarks/judging.py tally FILE.jsonl [FILE.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import PROJECTS

ROOT = Path(__file__).resolve().parent.parent
MENDBOT = ROOT / ".venv" / "bin" / "mendbot"
FLAGS = ("--format", "json", "--no-cache", "--fail-on", "never", "--no-progress", "--allow-unscanned")


def _context(tree: Path, path: str, line: int, around: int = 15) -> str:
    try:
        lines = (tree / path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    lo, hi = max(1, line - around), min(len(lines), line + around)
    return "\n".join(f"{n:5} {lines[n - 1]}" for n in range(lo, hi + 1))


def dump(args: argparse.Namespace) -> int:
    wanted = {p for p in args.projects.split(",") if p}
    comments: list[dict[str, Any]] = []
    fixes: list[dict[str, Any]] = []
    for project in PROJECTS:
        if wanted and project.name not in wanted:
            continue
        tree = args.dest / project.name
        if not tree.is_dir():
            continue
        done = subprocess.run(
            [str(MENDBOT), "scan", project.package or ".", *FLAGS],
            cwd=tree,
            capture_output=True,
            text=True,
            check=False,
            timeout=3600,
        )
        if done.returncode not in (0, 1):
            print(f"{project.name}: exit {done.returncode}: {done.stderr[-300:]}", file=sys.stderr)
            continue
        data = json.loads(done.stdout)
        n_comments = n_fixes = 0
        for file in data["files"]:
            for finding in file.get("findings", []):
                fix = finding.get("fix")
                base = {
                    "project": project.name,
                    "tree": str(tree),
                    "path": finding["path"],
                    "line": finding["line"],
                    "rule": finding["rule_id"],
                    "severity": finding["severity"],
                    "confidence": finding["confidence"],
                    "message": finding["message"],
                    "context": _context(tree, finding["path"], finding["line"]),
                    "verdict": None,
                    "reason": None,
                }
                if finding.get("placement") == "inline":
                    comments.append({**base, "fix_diff": fix["diff"] if fix else None})
                    n_comments += 1
                if fix:
                    fixes.append(
                        {
                            **base,
                            "fixer": fix["fixer"],
                            "fix_confidence": fix["confidence"],
                            "description": fix["description"],
                            "diff": fix["diff"],
                        }
                    )
                    n_fixes += 1
        print(f"{project.name:18} inline comments {n_comments:3}  proven fixes {n_fixes:3}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("comments.jsonl", comments), ("fixes.jsonl", fixes)):
        with (args.out / name).open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    print(f"{len(comments)} inline comments, {len(fixes)} proven fixes → {args.out}")
    return 0


def tally(args: argparse.Namespace) -> int:
    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for path in args.files:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            verdict = str(row.get("verdict"))
            per_rule[str(row.get("rule"))][verdict] += 1
            total[verdict] += 1
    kinds = sorted(total)
    print("| rule | " + " | ".join(kinds) + " | n |")
    print("|---|" + "---:|" * (len(kinds) + 1))
    for rule in sorted(per_rule):
        counts = per_rule[rule]
        print(f"| {rule} | " + " | ".join(str(counts[k]) for k in kinds) + f" | {sum(counts.values())} |")
    n = sum(total.values())
    print("| **all** | " + " | ".join(f"{total[k]} ({100 * total[k] / n:.0f} %)" for k in kinds) + f" | {n} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--projects", default="")
    d.add_argument("--dest", type=Path, default=Path("/work/corpus"))
    d.add_argument("--out", type=Path, default=Path("/work/corpus/judging"))
    t = sub.add_parser("tally")
    t.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    return dump(args) if args.command == "dump" else tally(args)


if __name__ == "__main__":
    raise SystemExit(main())
