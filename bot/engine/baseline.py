"""Adopting mendbot on existing code: findings already present in a baseline report are not raised again.

Like bandit's `-b`, a baseline is an earlier report (`mendbot scan --format json -o
baseline.json`); a finding matches a baseline entry with the same rule, file (relative to
the project root) and flagged code (whitespace-normalised), counted, so a second copy of a
known-bad line is still new. Line numbers do not matter: code moving around keeps matching.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.findings import Dismissal, FileReport, normalise_code


class BaselineError(ValueError):
    """The baseline file cannot be read; the message says why."""


@dataclass
class Baseline:
    known: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    source: str = ""

    @classmethod
    def load(cls, path: str, root: Path) -> Baseline:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            files = data["files"]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise BaselineError(f"{path}: not a mendbot JSON report ({type(exc).__name__}: {exc})") from None
        known: Counter[tuple[str, str, str]] = Counter()
        for entry in files:
            rel = _rel(str(entry.get("path", "")), root)
            for finding in entry.get("findings", []):
                known[(finding["rule_id"], rel, normalise_code(finding.get("code", "")))] += 1
        return cls(known, path)

    def apply(self, report: FileReport, rel_path: str) -> None:
        """Move the findings the baseline already has into `report.dismissed`."""
        remaining = Counter(self.known)
        kept = []
        for finding in report.findings:
            key = (finding.rule_id, rel_path, normalise_code(finding.code))
            if remaining[key] > 0:
                remaining[key] -= 1
                report.dismissed.append(Dismissal(finding, "baseline", f"already in the baseline {self.source}"))
            else:
                kept.append(finding)
        report.findings = kept


def _rel(path: str, root: Path) -> str:
    """A report's path (absolute, or relative to where that scan ran: here) relative to the root."""
    try:
        return os.path.relpath(os.path.abspath(path), root.resolve()).replace(os.sep, "/")
    except ValueError:
        return path
