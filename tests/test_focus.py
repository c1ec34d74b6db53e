"""A focused view (`bot.engine.fixers.base.focus`) must change what proving costs, never what
it proposes: every fixer, on every documented case and on real files, drafts exactly the
candidate it drafts on the full text."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from bot.engine.findings import Finding
from bot.engine.fixers.base import Candidate, Fixer
from bot.engine.fixers.base.focus import focus
from bot.engine.fixers.registry import all_fixers, fixers_for
from bot.engine.project import NO_FACTS
from bot.engine.proving import _Views
from bot.engine.scan import ScanSettings, scan_source

SETTINGS = ScanSettings()
# Code around a case that a fixer cannot need: a function and a class (with a decorated
# method first, an import, a nested def) long enough to be blanked.
PADDING = (
    "\n\ndef _unrelated(items):\n"
    + "".join(f"    value_{i} = len(items) + {i}\n" for i in range(30))
    + "    import json\n    return json.dumps(value_0)\n"
    "\n\nclass _Unrelated:\n    @property\n    def size(self):\n"
    + "".join(f"        total_{i} = {i}\n" for i in range(20))
    + "        def inner():\n            return total_0\n        return inner()\n"
)
STDLIB = Path(sysconfig.get_paths()["stdlib"])
REAL_FILES = ["imaplib.py", "urllib/request.py", "pydoc.py", "uuid.py", "multiprocessing/connection.py", "inspect.py", "sqlite3/dump.py", "webbrowser.py", "importlib/_bootstrap.py"]


def _same(full: Candidate | None, focused: Candidate | None) -> bool:
    if full is None or focused is None:
        return full is focused
    return (full.new_source, full.description, full.confidence, full.statement_lines) == (
        focused.new_source,
        focused.description,
        focused.confidence,
        focused.statement_lines,
    )


def _compare(path: str, source: str) -> tuple[int, int]:
    """(findings compared, how many had a focused view); asserts every proposal is identical."""
    findings = [f for f in scan_source(path, source, SETTINGS).findings if fixers_for(f.rule_id)]
    if not findings:
        return 0, 0
    full, focused = _Views(source, findings, focused=False), _Views(source, findings)
    for finding in findings:
        for fixer in fixers_for(finding.rule_id):
            expected, got = full.propose(fixer, finding, NO_FACTS), focused.propose(fixer, finding, NO_FACTS)
            assert _same(expected, got), _explain(path, fixer, finding, expected, got)
    return len(findings), int(focused.view is not None)


def _explain(path: str, fixer: Fixer, finding: Finding, expected: Candidate | None, got: Candidate | None) -> str:
    show = lambda c: "declined" if c is None else c.new_source  # noqa: E731
    return f"{path}: {fixer.name} on {finding.rule_id} line {finding.line}\nfull:\n{show(expected)}\nfocused:\n{show(got)}"


CASES = [
    pytest.param(case, id=f"{fixer.name}-{index}")
    for fixer in all_fixers()
    for index, case in enumerate(fixer.cases)
]


@pytest.mark.parametrize("case", CASES)
def test_every_fixer_case_proposes_the_same_focused(case: object) -> None:
    source = case.before + PADDING  # type: ignore[attr-defined]
    compared, focused = _compare(case.path, source)  # type: ignore[attr-defined]
    if compared:
        assert focused, "the padding is long enough to be blanked"


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_files_propose_the_same_focused(name: str) -> None:
    path = STDLIB / name
    compared, _ = _compare(str(path), path.read_text(encoding="utf-8"))
    assert compared, f"{name} has no finding a fixer handles any more; pick another file"


def test_the_view_keeps_every_kept_line_in_place_and_maps_edits_back() -> None:
    source = "import os\n\n" + PADDING + "\n\ndef run(cmd):\n    os.system(cmd)\n"
    line = source.splitlines().index("    os.system(cmd)") + 1
    view = focus(source, [(line, line)])
    assert view is not None and view.blanked
    old, new = source.splitlines(), view.text.splitlines()
    assert len(old) == len(new)
    blanked = {n for lo, hi in view.blanked for n in range(lo, hi + 1)}
    assert all(old[i - 1] == new[i - 1] for i in range(1, len(old) + 1) if i not in blanked)
    assert "json" in view.imported and "len" in view.used_elsewhere
    edited = view.text.replace("    os.system(cmd)", "    subprocess.run(cmd)").replace("import os", "import subprocess")
    assert view.unfocus(edited) == source.replace("    os.system(cmd)", "    subprocess.run(cmd)").replace(
        "import os", "import subprocess"
    )
    # An edit that reaches into a blanked body cannot be mapped back: the fixer gets the full text.
    lo = view.blanked[0][0]
    lines = view.text.splitlines(keepends=True)
    lines[lo] = "    changed = True\n"
    assert view.unfocus("".join(lines)) is None


def test_bodies_that_bind_other_scopes_are_kept() -> None:
    body = "".join(f"    x_{i} = {i}\n" for i in range(50))
    source = f"import os\n\n\ndef counter():\n    global TOTAL\n{body}\n\ndef run(cmd):\n    os.system(cmd)\n"
    line = source.splitlines().index("    os.system(cmd)") + 1
    assert focus(source, [(line, line)]) is None  # nothing else to blank: `global` keeps `counter`
