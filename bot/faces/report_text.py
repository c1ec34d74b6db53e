"""Terminal output with rich: code frames, the proven diff per finding, a summary."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from bot.engine.findings import FileReport, Finding, Level

_STYLE = {Level.HIGH: "bold red", Level.MEDIUM: "yellow", Level.LOW: "cyan", Level.UNDEFINED: "dim"}


def _frame(finding: Finding, source: str | None) -> Syntax | Text:
    """The flagged lines with two lines either side, numbered as in the file.

    Only that slice is given to the highlighter: rich lexes all the code it is handed even when
    a line range is set, so handing it the whole file made a warm run of a 30k-line project spend
    five seconds in pygments.
    """
    if source is None:
        return Text(finding.code)
    lines = source.splitlines()
    start = max(1, finding.start_line - 2)
    end = min(len(lines), finding.end_line + 2)
    return Syntax(
        "\n".join(lines[start - 1 : end]),
        "python",
        line_numbers=True,
        start_line=start,
        highlight_lines=set(range(finding.start_line, finding.end_line + 1)),
        theme="ansi_dark",
        word_wrap=True,
    )


def render(console: Console, reports: Sequence[FileReport], sources: dict[str, str], show_fixes: bool = True) -> None:
    total = 0
    fixed = 0
    shown: set[int] = set()
    for report in reports:
        if report.skipped is not None:
            console.print(f"[bold magenta]not scanned[/] {report.path}: {report.skipped.reason}")
            continue
        for finding in report.findings:
            total += 1
            header = Text.assemble(
                (f"{finding.severity.name:<6} ", _STYLE[finding.severity]),
                (f"{finding.rule_id} ", "bold"),
                (f"{finding.path}:{finding.line}:{finding.col + 1} ", "underline"),
                finding.message,
            )
            meta = f"confidence {finding.confidence.name}" + (f" · CWE-{finding.cwe}" if finding.cwe else "")
            parts: list[Text | Syntax] = [Text(meta, style="dim"), _frame(finding, sources.get(finding.path))]
            fix = report.fixes.get(finding.fingerprint) if show_fixes else None
            if fix is not None and id(fix) in shown:
                fixed += 1
                parts.append(Text("proven fix: the combined edit shown above fixes this one too", "green"))
            elif fix is not None:
                fixed += 1
                shown.add(id(fix))
                parts.append(
                    Text(
                        f"proven fix ({fix.confidence.value}, {fix.provenance}: {fix.fixer}): {fix.description}",
                        "green",
                    )
                )
                parts.append(Syntax(fix.diff, "diff", theme="ansi_dark"))
            console.print(Panel(Group(*parts), title=header, title_align="left", border_style=_STYLE[finding.severity]))
    table = Table(title="mendbot summary", show_header=True)
    for column in ("files scanned", "not scanned", "findings", "HIGH", "MEDIUM", "LOW", "proven fixes"):
        table.add_column(column, justify="right")
    by = {lvl: sum(1 for r in reports for f in r.findings if f.severity == lvl) for lvl in Level}
    table.add_row(
        str(sum(1 for r in reports if r.skipped is None)),
        str(sum(1 for r in reports if r.skipped is not None)),
        str(total),
        str(by[Level.HIGH]),
        str(by[Level.MEDIUM]),
        str(by[Level.LOW]),
        str(fixed),
    )
    console.print(table)
