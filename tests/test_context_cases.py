"""Every context rule's documented cases, run through a real scan (bandit on both sides)."""

from __future__ import annotations

import pytest

from bot.engine.context import ContextCase, all_cases
from bot.engine.scan import ScanSettings, scan_source

CASES = [pytest.param(case, id=f"{case.rule_id}-{i}-{case.note or 'case'}") for i, case in enumerate(all_cases())]


def test_every_context_rule_has_both_kinds_of_case() -> None:
    by_rule: dict[str, set[bool]] = {}
    for case in all_cases():
        by_rule.setdefault(case.rule_id, set()).add(case.reported)
    families = [{"B101"}, {"B110", "B112"}, {"B311"}, {"B105", "B106", "B107"}, {"B102", "B307"}, {"B113"}]
    for family in families:
        kinds = set().union(*(by_rule.get(rule, set()) for rule in family))
        assert kinds == {True, False}, family


@pytest.mark.parametrize("case", CASES)
def test_context_case(case: ContextCase) -> None:
    raw = scan_source(case.path, case.code, ScanSettings(context_rules=False, skip_asserts_in_tests=False))
    assert any(f.rule_id == case.rule_id for f in raw.findings), f"bandit does not report {case.rule_id} here"
    judged = scan_source(case.path, case.code, ScanSettings())
    kept = [f for f in judged.findings if f.rule_id == case.rule_id]
    if case.reported:
        assert kept, [d.reason for d in judged.dismissed]
    else:
        assert not kept
        assert any(d.kind == "context" and d.finding.rule_id == case.rule_id for d in judged.dismissed)
