"""The `--format json` document. Its schema is stable (see docs/json-output.md);
additive changes only within a `schema_version`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot import __version__
from bot.engine.findings import FileReport, Level
from bot.engine.policy import Placement, placement
from bot.engine.scan import BANDIT_VERSION

SCHEMA_VERSION = 1


def to_json(
    reports: Sequence[FileReport], fail_on: Level, rules: Mapping[str, Placement] | None = None
) -> dict[str, Any]:
    files = []
    counts = {level.name: 0 for level in (Level.LOW, Level.MEDIUM, Level.HIGH)}
    fixed = 0
    for report in reports:
        entry: dict[str, Any] = {"path": report.path, "status": "skipped" if report.skipped else "scanned"}
        if report.skipped:
            entry["reason"] = report.skipped.reason
        findings = []
        for finding in report.findings:
            counts[finding.severity.name] = counts.get(finding.severity.name, 0) + 1
            fix = report.fixes.get(finding.fingerprint)
            fixed += fix is not None
            item = finding.to_dict()
            item["cwe_link"] = finding.cwe_link
            item["fix"] = fix.to_dict() if fix else None
            item["rejected"] = [r.reason for r in report.rejections if r.finding.fingerprint == finding.fingerprint]
            item["placement"] = placement(finding, fix, rules or {}).value
            findings.append(item)
        entry["findings"] = findings
        entry["dismissed"] = [d.to_dict() for d in report.dismissed]
        files.append(entry)
    failing = sum(1 for r in reports for f in r.findings if f.severity >= fail_on)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mendbot", "version": __version__, "bandit": BANDIT_VERSION},
        "files": files,
        "summary": {
            "files_scanned": sum(1 for r in reports if not r.skipped),
            "files_skipped": sum(1 for r in reports if r.skipped),
            "findings": sum(counts.values()),
            "by_severity": counts,
            "proven_fixes": fixed,
            "dismissed": sum(len(r.dismissed) for r in reports),
            "fail_on": fail_on.name,
            "failing_findings": failing,
        },
    }
