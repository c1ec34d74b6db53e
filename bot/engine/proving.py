"""Findings → candidates → gate → proven fixes, for one file at a time.

Two uses: `fix_each` proves one fix per finding against the original file (what
a review suggests, each independently committable); `fix_all` applies proven
fixes one after another, re-scanning between steps (what `--fix` writes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import libcst as cst

from bot.engine.findings import FileReport, Finding, Fix, Rejection
from bot.engine.fixers.base import Candidate, propose
from bot.engine.fixers.registry import fixers_for
from bot.engine.gate import AUDIT_MARKERS, Rejected, prove, prove_combined
from bot.engine.project import facts_for
from bot.engine.scan import ScanSettings, scan_source


class Proposer(Protocol):
    """Something other than the codemods that drafts candidates (the learned model).

    It gets the findings no codemod fixed and returns scored candidates per
    fingerprint; each still has to pass the gate.
    """

    name: str

    def candidates(
        self, path: str, source: str, findings: Sequence[Finding]
    ) -> dict[str, list[tuple[Candidate, float]]]: ...


def model_may_fix(finding: Finding) -> bool:
    """Whether the learned fixer may be asked about this finding.

    Not about import audit notes (B4xx) or bandit's audit markers: their "fix" is a
    design decision, and a model would only invent one.
    """
    return not finding.rule_id.startswith("B4") and finding.rule_id not in AUDIT_MARKERS


@dataclass
class FixOutcome:
    fixes: dict[str, Fix] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


def _parse(source: str) -> cst.Module | None:
    try:
        return cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return None


def fix_each(
    path: str,
    source: str,
    findings: Sequence[Finding],
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    fixable: Callable[[Finding], bool] = lambda f: True,
    combine: bool = True,
) -> FixOutcome:
    """Prove at most one fix per finding, each against the unmodified file.

    `combine=False` leaves overlapping fixes uncombined, for a caller that will add
    model fixes later (`add_model_fixes`) and then call `combine_overlapping` once."""
    outcome = FixOutcome()
    targets = [f for f in findings if fixable(f)]
    if not targets:
        return outcome
    module = None
    facts = settings.project_facts or facts_for(settings.root)
    for finding in targets:
        fixers = fixers_for(finding.rule_id)
        if not fixers:
            continue
        if module is None:
            module = _parse(source)
            if module is None:
                for f in targets:
                    outcome.rejections.append(Rejection(f, "-", "libcst cannot parse this file; no fix attempted"))
                return outcome
        for fixer in fixers:
            try:
                candidate = propose(fixer, source, finding, module, facts)
            except Exception as exc:  # a fixer bug must not sink the review
                outcome.rejections.append(Rejection(finding, fixer.name, f"fixer crashed: {type(exc).__name__}: {exc}"))
                continue
            if candidate is None:
                continue
            try:
                outcome.fixes[finding.fingerprint] = prove(path, source, list(findings), finding, candidate, settings)
                break
            except Rejected as exc:
                outcome.rejections.append(Rejection(finding, fixer.name, str(exc)))
    add_model_fixes(path, source, findings, settings, outcome, proposers, fixable)
    if combine:
        combine_overlapping(path, source, list(findings), outcome, settings)
    return outcome


def add_model_fixes(
    path: str,
    source: str,
    findings: Sequence[Finding],
    settings: ScanSettings,
    outcome: FixOutcome,
    proposers: Sequence[Proposer],
    fixable: Callable[[Finding], bool] = lambda f: True,
) -> None:
    """Ask the proposers about the findings no fix was proven for yet; prove their candidates into `outcome`."""
    remaining = [f for f in findings if fixable(f) and f.fingerprint not in outcome.fixes and model_may_fix(f)]
    for proposer in proposers:
        if not remaining:
            break
        drafted = proposer.candidates(path, source, remaining)
        for finding in remaining:
            for candidate, score in drafted.get(finding.fingerprint, []):
                try:
                    outcome.fixes[finding.fingerprint] = prove(
                        path, source, list(findings), finding, candidate, settings, provenance="model", score=score
                    )
                    break
                except Rejected as exc:
                    outcome.rejections.append(Rejection(finding, proposer.name, str(exc)))
        remaining = [f for f in remaining if f.fingerprint not in outcome.fixes]


def _member_of(prints: set[str]) -> Callable[[Finding], bool]:
    return lambda finding: finding.fingerprint in prints


def combine_overlapping(
    path: str, source: str, findings: list[Finding], outcome: FixOutcome, settings: ScanSettings
) -> None:
    """Fixes proven alone but editing the same lines cannot all be committed as
    suggestions (the second would undo the first); replace each such group by one
    combined fix, proven as a whole, or keep only the most severe one."""
    fixes = sorted(outcome.fixes.values(), key=lambda fx: (fx.edit_start, fx.edit_end))
    groups: list[list[Fix]] = []
    for fix in fixes:
        if groups and fix.edit_start <= max(f.edit_end for f in groups[-1]):
            groups[-1].append(fix)
        else:
            groups.append([fix])
    for group in groups:
        if len(group) < 2:
            continue
        wanted = {fx.finding.fingerprint for fx in group}
        new_source, applied = fix_all(path, source, findings, settings, fixable=_member_of(wanted))
        try:
            if len(applied) != len(group):
                raise Rejected("not every finding of the group could be fixed in sequence")
            combined = prove_combined(path, source, findings, group, new_source, settings)
        except Rejected as exc:
            keep = max(group, key=lambda fx: fx.finding.severity)
            for fx in group:
                if fx is not keep:
                    del outcome.fixes[fx.finding.fingerprint]
                    outcome.rejections.append(
                        Rejection(fx.finding, fx.fixer, f"overlaps the fix for {keep.finding.rule_id}; combined: {exc}")
                    )
            continue
        for fingerprint in wanted:
            outcome.fixes[fingerprint] = combined


def fix_all(
    path: str,
    source: str,
    findings: Sequence[Finding],
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    fixable: Callable[[Finding], bool] = lambda f: True,
    max_steps: int = 200,
    accept: Callable[[Fix], bool] = lambda fx: True,
) -> tuple[str, list[Fix]]:
    """Apply proven fixes one at a time; every step is gated against the current text.

    Fingerprints do not depend on line numbers, so findings away from an edit keep
    their identity across steps. A wanted finding on the very lines a step edited
    gets new code text (a new fingerprint): it is followed by rule within the edit.
    """
    current = source
    current_findings = list(findings)
    wanted = {f.fingerprint for f in findings if fixable(f)}
    done: set[str] = set()
    applied: list[Fix] = []
    for _ in range(max_steps):
        target = next((f for f in current_findings if f.fingerprint in wanted - done), None)
        if target is None:
            break
        done.add(target.fingerprint)
        outcome = fix_each(path, current, current_findings, settings, proposers, target.__eq__)
        fix = outcome.fixes.get(target.fingerprint)
        if fix is None or not accept(fix):
            continue
        applied.append(fix)
        previous = current_findings
        before = {f.fingerprint for f in previous}
        current = fix.new_source
        current_findings = scan_source(path, current, settings).findings
        now = {f.fingerprint for f in current_findings}
        edit_end = fix.edit_start + max(len(fix.replacement.splitlines()), 1) - 1 + len(fix.import_lines)
        for old in previous:
            if old.fingerprint not in wanted - done or old.fingerprint in now:
                continue
            moved = next(
                (
                    f
                    for f in current_findings
                    if f.rule_id == old.rule_id
                    and f.fingerprint not in before
                    and f.fingerprint not in wanted
                    and f.start_line <= edit_end
                    and f.end_line >= fix.edit_start
                ),
                None,
            )
            if moved is not None:
                wanted.add(moved.fingerprint)
                done.add(old.fingerprint)
    return current, applied


def review_file(
    path: str,
    source: str,
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    fixable: Callable[[Finding], bool] = lambda f: True,
) -> FileReport:
    """Scan one in-memory file and prove a fix per finding: the unit every face uses."""
    report = scan_source(path, source, settings)
    if report.skipped is not None or not report.findings:
        return report
    outcome = fix_each(path, source, report.findings, settings, proposers, fixable)
    report.fixes = outcome.fixes
    report.rejections = outcome.rejections
    return report
