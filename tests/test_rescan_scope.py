"""The gate re-scans only the code around an edit (`bot.engine.gate.rescan_view`); that must
change what the re-scan costs, never what it finds. Property: for any edited span, the findings
bandit reports in the kept code of the view are exactly the full-file scan's findings there
(rule, lines, column, severity, confidence, fingerprint) — on every fixer case, before and after
its fix, and on real files of the standard library, for the span of every finding they have."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from bot.engine.findings import Finding
from bot.engine.fixers.registry import all_fixers
from bot.engine.gate import rescan_view
from bot.engine.scan import ScanSettings, scan_source

SETTINGS = ScanSettings()
# Code an edit elsewhere cannot affect, long enough to be blanked, with findings of its own
# (bandit must not see them in the view, and the kept code's findings must not change).
PADDING = (
    "\n\ndef _unrelated(items, cmd):\n"
    + "".join(f"    value_{i} = len(items) + {i}\n" for i in range(30))
    + "    eval(cmd)\n    assert value_0\n    return value_0\n"
    "\n\nclass _Unrelated:\n    password = 'hunter2'\n\n    @property\n    def size(self):\n"
    + "".join(f"        total_{i} = {i}\n" for i in range(20))
    + "        def inner():\n            return eval(total_0)\n        return inner()\n"
)
STDLIB = Path(sysconfig.get_paths()["stdlib"])
REAL_FILES = [
    "imaplib.py", "urllib/request.py", "pydoc.py", "uuid.py", "multiprocessing/connection.py", "inspect.py",
    "sqlite3/dump.py", "webbrowser.py", "subprocess.py", "tarfile.py", "smtplib.py", "http/server.py",
    "xmlrpc/client.py", "pickle.py", "shutil.py", "tempfile.py", "random.py", "logging/config.py",
]  # fmt: skip


def _key(finding: Finding) -> tuple[object, ...]:
    return (
        finding.rule_id,
        finding.start_line,
        finding.end_line,
        finding.col,
        finding.severity,
        finding.confidence,
        finding.fingerprint,
    )


def _compare(path: str, source: str) -> int:
    """How many spans had a view; asserts each view's kept findings equal the full scan's."""
    full = scan_source(path, source, SETTINGS).findings
    viewed = 0
    for span in sorted({(f.start_line, f.end_line) for f in full}):
        view = rescan_view(source, span)
        if view is None:
            continue
        viewed += 1

        def kept(findings: list[Finding], blanked: tuple[tuple[int, int], ...] = view.blanked) -> list[tuple[object, ...]]:
            return sorted(
                _key(f) for f in findings if not any(f.start_line <= hi and f.end_line >= lo for lo, hi in blanked)
            )

        scoped = scan_source(path, view.text, SETTINGS)
        assert scoped.skipped is None
        assert kept(scoped.findings) == kept(full), f"{path}: span {span} blanked {view.blanked}"
    return viewed


CASES = [
    pytest.param(case, id=f"{fixer.name}-{index}")
    for fixer in all_fixers()
    for index, case in enumerate(fixer.cases)
]


@pytest.mark.parametrize("case", CASES)
def test_every_fixer_case_rescans_the_same_scoped(case: object) -> None:
    for text in (case.before, case.after or case.before):  # type: ignore[attr-defined]
        source = text + PADDING
        if scan_source(case.path, source, SETTINGS).findings:  # type: ignore[attr-defined]
            assert _compare(case.path, source)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_files_rescan_the_same_scoped(name: str) -> None:
    path = STDLIB / name
    _compare(str(path), path.read_text(encoding="utf-8"))


def test_real_files_use_the_scoped_view() -> None:
    viewed = sum(_compare(str(STDLIB / name), (STDLIB / name).read_text(encoding="utf-8")) for name in REAL_FILES[:6])
    assert viewed >= 10, "the property is only tested if the views are used"


def test_the_imports_of_a_blanked_body_are_kept_for_bandit() -> None:
    """bandit resolves `sp.call` through an import it met in another function: the view keeps it."""
    body = "".join(f"    x_{i} = {i}\n" for i in range(50))
    nested = "    if x_0:\n        from os import (\n            system as run_it,\n        )\n"
    source = (
        f"def helper():\n{body}    import subprocess as sp\n{nested}\n\n"
        "def run(cmd):\n    sp.call(cmd, shell=True)\n    run_it(cmd)\n"
    )
    line = source.splitlines().index("    sp.call(cmd, shell=True)") + 1
    view = rescan_view(source, (line, line + 1))
    assert view is not None and view.blanked
    assert "    import subprocess as sp\n" in view.text and "    from os import (\n" in view.text
    assert _compare("app.py", source)
    rules = {f.rule_id for f in scan_source("app.py", view.text, SETTINGS).findings if f.start_line >= line}
    assert {"B602", "B605"} <= rules
