"""Where a finding is said: inline on the diff, in the summary's collapsed section, or not at all.

The default is what a maintainer will act on: an inline comment only for a finding of MEDIUM
or HIGH severity that comes with a proven fix (at MEDIUM confidence or more, or with a `safe`
fix) — the comment carries a suggestion to commit. A judged sample of real projects' output
(BENCHMARKS.md) found every inline comment without a fix to be noise to its maintainers
(pickle of the tool's own cache, `exec` as the feature, protocol-mandated SHA-1, a
user-configured shell command), while most suggestions were committable. Findings without a
fix still reach the summary and the check run's annotations, and fail the check at
`fail_on`. Everything else — LOW severity, and bandit's audit notes (B101 assert,
B110/B112 ignored exceptions, B4xx imports, B603/B607 subprocess notes, …), which flag a
construct for a look rather than a defect — goes to one collapsed section of the
summary. A repository changes any rule with `[tool.mendbot.rules]`:
`B603 = "inline"`, `B101 = "off"`, `B311 = "summary"`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from bot.engine.findings import Finding, Fix, FixConfidence, Level


class Placement(enum.StrEnum):
    INLINE = "inline"
    SUMMARY = "summary"
    OFF = "off"


# Bandit's notes that mark a construct for an audit, not a defect: never inline by default.
AUDIT_RULES = frozenset(
    {
        "B101", "B110", "B112", "B403", "B404", "B603", "B606", "B607",
        *(f"B4{n:02d}" for n in range(1, 16)),
    }
)  # fmt: skip


def placement(finding: Finding, fix: Fix | None, rules: Mapping[str, Placement]) -> Placement:
    """The place of one finding under the repository's per-rule policy and the default."""
    chosen = rules.get(finding.rule_id)
    if chosen is not None:
        return chosen
    if finding.rule_id in AUDIT_RULES or finding.severity < Level.MEDIUM:
        return Placement.SUMMARY
    if fix is None:
        return Placement.SUMMARY
    if finding.confidence >= Level.MEDIUM or fix.confidence == FixConfidence.SAFE:
        return Placement.INLINE
    return Placement.SUMMARY
