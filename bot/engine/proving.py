"""Findings → candidates → gate → proven fixes, for one file.

Three steps, which `bot.engine.api` runs over a whole file set (codemods for every
file, then one proposer call for all their leftovers, then combining):
`codemod_fixes` proves one codemod fix per finding against the original file (what
a review suggests, each independently committable); `prove_drafts` proves a
proposer's candidates into that outcome; `combine_overlapping` replaces fixes that
edit the same lines by one combined fix. `fix_each` is the three for one file.
`fix_all` applies proven fixes one after another, re-scanning between steps (what
`--fix` writes).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from bot.engine.findings import UNPROVEN, Finding, Fix, Rejection
from bot.engine.fixers.base import Candidate, Fixer, propose
from bot.engine.fixers.base.focus import focus
from bot.engine.fixers.registry import fixers_for
from bot.engine.gate import Rejected, prove, prove_combined
from bot.engine.project import ProjectFacts, facts_for
from bot.engine.proposers import DraftRequest, Drafts, Proposer, may_draft
from bot.engine.scan import ScanSettings, scan_source

log = logging.getLogger("mendbot.engine")
Wanted = Callable[[Finding], bool]


def _every(finding: Finding) -> bool:
    return True


@dataclass
class FixOutcome:
    fixes: dict[str, Fix] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    def leftovers(self, findings: Iterable[Finding], fixable: Wanted = _every) -> tuple[Finding, ...]:
        """The findings no fix was proven for that a proposer may be asked about."""
        return tuple(f for f in findings if fixable(f) and f.fingerprint not in self.fixes and may_draft(f))


def _parse(source: str) -> cst.Module | None:
    try:
        return cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return None


class _Views:
    """The file as the fixers see it: a focused view (`fixers.base.focus`) parsed once, and the
    full module parsed only for a fixer that needs it or an edit the view cannot map back."""

    def __init__(self, source: str, targets: Sequence[Finding], focused: bool = True) -> None:
        self.source = source
        self.view = focus(source, [(f.start_line, f.end_line) for f in targets]) if focused else None
        self.focused = _parse(self.view.text) if self.view is not None else None
        self._full: cst.Module | None = None
        self._full_parsed = False

    @property
    def full(self) -> cst.Module | None:
        if not self._full_parsed:
            self._full, self._full_parsed = _parse(self.source), True
        return self._full

    @property
    def parses(self) -> bool:
        return self.focused is not None or self.full is not None

    def propose(self, fixer: Fixer, finding: Finding, facts: ProjectFacts) -> Candidate | None:
        if self.view is not None and self.focused is not None and not fixer.whole_module:
            drafted = propose(
                fixer, self.view.text, finding, self.focused, facts, self.view.used_elsewhere, self.view.imported
            )
            if drafted is None:
                return None
            full_text = self.view.unfocus(drafted.new_source)
            if full_text is not None:
                return dataclasses.replace(drafted, new_source=full_text)
        if self.full is None:
            return None
        return propose(fixer, self.source, finding, self.full, facts)


def codemod_fixes(
    path: str,
    source: str,
    findings: Sequence[Finding],
    settings: ScanSettings,
    fixable: Wanted = _every,
    deadline: float | None = None,
) -> FixOutcome:
    """Prove at most one codemod fix per finding, each against the unmodified file; after
    `deadline` (a `time.time()`), the findings not reached are rejected as unproven."""
    outcome = FixOutcome()
    targets = [f for f in findings if fixable(f)]
    wanted = [f for f in targets if any(not fixer.declines(f, source) for fixer in fixers_for(f.rule_id))]
    if not wanted:
        return outcome  # nothing to draft: the file is not parsed at all
    views = _Views(source, wanted)
    if not views.parses:
        outcome.rejections += [Rejection(f, "-", "libcst cannot parse this file; no fix attempted") for f in targets]
        return outcome
    facts = settings.project_facts or facts_for(settings.root)
    for finding in wanted:
        if deadline is not None and time.time() > deadline:
            outcome.rejections.append(Rejection(finding, "-", f"{UNPROVEN}the review's time budget ran out"))
            continue
        for fixer in fixers_for(finding.rule_id):
            if fixer.declines(finding, source):
                continue
            try:
                candidate = views.propose(fixer, finding, facts)
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
    return outcome


def prove_drafts(
    path: str,
    source: str,
    findings: Sequence[Finding],
    settings: ScanSettings,
    outcome: FixOutcome,
    proposer_name: str,
    drafts: Drafts,
) -> None:
    """Prove a proposer's candidates for the findings still without a fix, best first, into `outcome`."""
    for finding in outcome.leftovers(findings):
        for candidate, score in drafts.get(finding.fingerprint, ()):
            try:
                outcome.fixes[finding.fingerprint] = prove(
                    path, source, list(findings), finding, candidate, settings, provenance="model", score=score
                )
                break
            except Rejected as exc:
                outcome.rejections.append(Rejection(finding, proposer_name, str(exc)))


def ask(
    proposer: Proposer, requests: Sequence[DraftRequest], opted_in: frozenset[str] = frozenset()
) -> dict[str, Drafts]:
    """One proposer call; a proposer that fails leaves the codemods' fixes (logged, never raised)."""
    if not requests:
        return {}
    try:
        return dict(proposer.propose(requests, opted_in))
    except Exception:
        log.exception("proposer %s failed; keeping the codemods' fixes", getattr(proposer, "name", proposer))
        return {}


def fix_each(
    path: str,
    source: str,
    findings: Sequence[Finding],
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    fixable: Wanted = _every,
    opted_in: frozenset[str] = frozenset(),
) -> FixOutcome:
    """One file, all three steps: codemods, then each proposer on what they left, then combining."""
    outcome = codemod_fixes(path, source, findings, settings, fixable)
    for proposer in proposers:
        left = outcome.leftovers(findings, fixable)
        if not left:
            break
        drafts = ask(proposer, [DraftRequest(path, source, left)], opted_in).get(path, {})
        prove_drafts(path, source, findings, settings, outcome, proposer.name, drafts)
    combine_overlapping(path, source, list(findings), outcome, settings)
    return outcome


def _member_of(prints: set[str]) -> Wanted:
    return lambda finding: finding.fingerprint in prints


def _overlapping_groups(fixes: Iterable[Fix]) -> list[list[Fix]]:
    groups: list[list[Fix]] = []
    for fix in sorted(fixes, key=lambda fx: (fx.edit_start, fx.edit_end)):
        if groups and fix.edit_start <= max(f.edit_end for f in groups[-1]):
            groups[-1].append(fix)
        else:
            groups.append([fix])
    return [group for group in groups if len(group) > 1]


def combine_overlapping(
    path: str, source: str, findings: list[Finding], outcome: FixOutcome, settings: ScanSettings
) -> None:
    """Fixes proven alone but editing the same lines cannot all be committed as
    suggestions (the second would undo the first); replace each such group by one
    combined fix, proven as a whole, or keep only the most severe one."""
    for group in _overlapping_groups(outcome.fixes.values()):
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


def _moved(old: Finding, fix: Fix, current: Sequence[Finding], before: set[str], wanted: set[str]) -> Finding | None:
    """A wanted finding on the very lines a step edited gets new code text (a new
    fingerprint): follow it by rule within the edit."""
    edit_end = fix.edit_start + max(len(fix.replacement.splitlines()), 1) - 1 + len(fix.import_lines)
    return next(
        (
            f
            for f in current
            if f.rule_id == old.rule_id
            and f.fingerprint not in before
            and f.fingerprint not in wanted
            and f.start_line <= edit_end
            and f.end_line >= fix.edit_start
        ),
        None,
    )


def fix_all(
    path: str,
    source: str,
    findings: Sequence[Finding],
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    fixable: Wanted = _every,
    max_steps: int = 200,
    accept: Callable[[Fix], bool] = lambda fx: True,
    opted_in: frozenset[str] = frozenset(),
) -> tuple[str, list[Fix]]:
    """Apply proven fixes one at a time; every step is gated against the current text.

    Fingerprints do not depend on line numbers, so findings away from an edit keep
    their identity across steps; one on the edited lines is followed (`_moved`).
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
        outcome = fix_each(path, current, current_findings, settings, proposers, target.__eq__, opted_in)
        fix = outcome.fixes.get(target.fingerprint)
        if fix is None or not accept(fix):
            continue
        applied.append(fix)
        previous, before = current_findings, {f.fingerprint for f in current_findings}
        current = fix.new_source
        current_findings = scan_source(path, current, settings).findings
        now = {f.fingerprint for f in current_findings}
        for old in previous:
            if old.fingerprint in wanted - done and old.fingerprint not in now:
                moved = _moved(old, fix, current_findings, before, wanted)
                if moved is not None:
                    wanted.add(moved.fingerprint)
                    done.add(old.fingerprint)
    return current, applied


__all__ = [
    "Candidate",
    "FixOutcome",
    "ask",
    "codemod_fixes",
    "combine_overlapping",
    "fix_all",
    "fix_each",
    "prove_drafts",
]
