"""Workflow commands (annotations, notices) and step outputs, escaped so that no string
from a pull request can start a command of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.engine.findings import Finding, Fix
from bot.github.compose import ReviewFile


def escape_data(value: str) -> str:
    """Workflow-command message escaping: a PR-controlled string can never start a new command."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


_ANNOTATION_LEVEL = {3: "error", 2: "warning", 1: "notice", 0: "notice"}


def finding_annotation(finding: Finding, fix: Fix | None) -> str:
    message = finding.message
    if fix is not None:
        message += f" — proven fix ({fix.confidence.value}): {fix.description}; the diff is in the job summary."
    return command(
        _ANNOTATION_LEVEL[int(finding.severity)],
        message,
        file=finding.path,
        line=finding.start_line,
        endLine=finding.end_line,
        title=f"mendbot {finding.rule_id} {finding.rule_name} ({finding.severity.name})",
    )


def annotation_lines(files: Sequence[ReviewFile]) -> list[str]:
    out = []
    for item in files:
        if item.report.skipped is not None:
            out.append(command("warning", f"not scanned: {item.report.skipped.reason}", file=item.path))
        for finding in item.report.findings:
            out.append(finding_annotation(finding, item.report.fixes.get(finding.fingerprint)))
    return out


def write_outputs(path: Path | None, values: Mapping[str, str | int | None]) -> None:
    """Append `name=value` lines to `GITHUB_OUTPUT` (values here are single-line by construction)."""
    if path is None:
        return
    with path.open("a", encoding="utf-8") as handle:
        for name, value in values.items():
            text = "" if value is None else str(value)
            handle.write(f"{name}={text.replace(chr(10), ' ').replace(chr(13), ' ')}\n")


