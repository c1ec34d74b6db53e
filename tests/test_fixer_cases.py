"""Every fixer's documented cases, run as tests, with bandit asserted on both sides."""

from __future__ import annotations

import pytest

from bot.engine.findings import Level
from bot.engine.fixers.base import Case, Fixer
from bot.engine.fixers.registry import all_fixers
from bot.engine.proving import fix_each
from bot.engine.scan import ScanSettings, scan_source

SETTINGS = ScanSettings()
CASES = [
    pytest.param(fixer, case, id=f"{fixer.name}-{index}")
    for fixer in all_fixers()
    for index, case in enumerate(fixer.cases)
]


def test_every_fixer_documents_itself() -> None:
    for fixer in all_fixers():
        assert fixer.title and fixer.explanation and fixer.references, fixer.name
        assert any(c.after is not None for c in fixer.cases), f"{fixer.name} has no changing case"
        assert any(c.after is None for c in fixer.cases), f"{fixer.name} has no case it must leave alone"
        for case in fixer.cases:
            if case.after is not None:
                assert case.rule_id in fixer.rule_ids, (fixer.name, case.rule_id)


@pytest.mark.parametrize(("fixer", "case"), CASES)
def test_case(fixer: Fixer, case: Case) -> None:
    before = scan_source(case.path, case.before, SETTINGS)
    assert before.skipped is None, before.skipped
    if case.after is None:
        targets = [f for f in before.findings if f.rule_id in fixer.rule_ids]
        outcome = fix_each(case.path, case.before, before.findings, SETTINGS, fixable=lambda f: f in targets)
        produced = [fx for fx in outcome.fixes.values() if fx.fixer == fixer.name]
        assert not produced, f"{fixer.name} should leave this alone, produced:\n{produced[0].diff}"
        return
    targets = [f for f in before.findings if f.rule_id == case.rule_id]
    assert targets, f"bandit does not report {case.rule_id} on the 'before' code"
    target = targets[0]
    outcome = fix_each(case.path, case.before, before.findings, SETTINGS, fixable=lambda f: f is target)
    fix = outcome.fixes.get(target.fingerprint)
    assert fix is not None, f"no proven fix; rejections: {[r.reason for r in outcome.rejections]}"
    assert fix.fixer == fixer.name
    assert fix.new_source == case.after, f"got:\n{fix.new_source}"
    after = scan_source(case.path, case.after, SETTINGS)
    assert after.skipped is None
    remaining = [f for f in after.findings if f.rule_id == case.rule_id and f.start_line == target.start_line]
    assert all(f.severity == Level.LOW < target.severity for f in remaining), remaining


_STDLIB = __import__("pathlib").Path(__import__("sysconfig").get_paths()["stdlib"])
_REAL = ["inspect.py", "tarfile.py", "subprocess.py", "pickle.py", "imaplib.py"]


def _declines_imply_no_fix(fixers: list[Fixer], path: str, source: str) -> int:
    import libcst as cst

    from bot.engine.fixers.base import propose

    declined = 0
    module = cst.parse_module(source)  # one parse (and one metadata resolution) per file
    for finding in scan_source(path, source, SETTINGS).findings:
        for fixer in fixers:
            if finding.rule_id in fixer.rule_ids and fixer.declines(finding, source):
                declined += 1
                assert propose(fixer, source, finding, module) is None, (fixer.name, path, finding.line)
    return declined


@pytest.mark.parametrize(("fixer", "case"), CASES)
def test_an_early_decline_is_a_decline(fixer: Fixer, case: Case) -> None:
    """`Fixer.declines` (asked before the file is parsed) never refuses what `fix` would do."""
    _declines_imply_no_fix([fixer], case.path, case.before)


def test_early_declines_on_real_files() -> None:
    fixers = list(all_fixers())
    declined = sum(
        _declines_imply_no_fix(fixers, str(_STDLIB / name), (_STDLIB / name).read_text(encoding="utf-8"))
        for name in _REAL
    )
    assert declined >= 5, "real asserts are declined early"
