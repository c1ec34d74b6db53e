"""SARIF 2.1.0 output, with proven fixes as SARIF `fixes` (artifactChanges).

GitHub code scanning reads `partialFingerprints`, `security-severity` and the
rule metadata; editors that understand `fixes` can apply them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from bot import __version__
from bot.engine.findings import FileReport, Finding, Fix, Level
from bot.engine.scan import BANDIT_VERSION

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Level.HIGH: "error", Level.MEDIUM: "warning", Level.LOW: "note", Level.UNDEFINED: "none"}
_SECURITY_SEVERITY = {Level.HIGH: "8.0", Level.MEDIUM: "5.5", Level.LOW: "2.0", Level.UNDEFINED: "0.0"}


def replacements(old: str, new: str) -> list[dict[str, Any]]:
    """Whole-line replacements that turn `old` into `new` (one per changed hunk)."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:
            region = {"startLine": i1 + 1, "startColumn": 1, "endLine": i1 + 1, "endColumn": 1}
        else:
            region = {"startLine": i1 + 1, "startColumn": 1, "endLine": i2 + 1, "endColumn": 1}
        out.append({"deletedRegion": region, "insertedContent": {"text": "".join(new_lines[j1:j2])}})
    return out


def _rule(finding: Finding) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "name": finding.rule_name,
        "shortDescription": {"text": finding.rule_name.replace("_", " ")},
        "helpUri": finding.more_info or "https://bandit.readthedocs.io/",
        "properties": {"tags": ["security"], "security-severity": _SECURITY_SEVERITY[finding.severity]},
    }
    if finding.cwe:
        rule["properties"]["tags"].append(f"external/cwe/cwe-{finding.cwe}")
    return rule


def _result(finding: Finding, fix: Fix | None, sources: dict[str, str]) -> dict[str, Any]:
    region: dict[str, Any] = {
        "startLine": finding.start_line,
        "startColumn": finding.col + 1,
        "endLine": finding.end_line,
    }
    if finding.end_col is not None:
        region["endColumn"] = finding.end_col + 1
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"mendbot/v1": finding.fingerprint},
        "properties": {"severity": finding.severity.name, "confidence": finding.confidence.name, "cwe": finding.cwe},
    }
    if fix is not None and finding.path in sources:
        result["fixes"] = [
            {
                "description": {"text": f"{fix.description} ({fix.confidence.value}, {fix.provenance}: {fix.fixer})"},
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                        "replacements": replacements(sources[finding.path], fix.new_source),
                    }
                ],
            }
        ]
    return result


def to_sarif(reports: Sequence[FileReport], sources: dict[str, str]) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for report in reports:
        for finding in report.findings:
            rules.setdefault(finding.rule_id, _rule(finding))
            results.append(_result(finding, report.fixes.get(finding.fingerprint), sources))
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"not scanned: {r.skipped.reason}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": r.path}}}],
        }
        for r in reports
        if r.skipped is not None
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mendbot",
                        "version": __version__,
                        "informationUri": "https://github.com/mendbot/mendbot",
                        "rules": sorted(rules.values(), key=lambda r: r["id"]),
                        "properties": {"bandit": BANDIT_VERSION},
                    }
                },
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }
