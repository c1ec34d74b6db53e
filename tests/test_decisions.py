"""The project's own decisions (ruff, flake8, bandit config, `# noqa`) are honoured as those tools read them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.engine import decisions
from bot.engine.config import ConfigError, load
from bot.engine.scan import ScanSettings, scan_source

SOURCE = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def _settings(texts: dict[str, str]) -> ScanSettings:
    return ScanSettings(decisions=decisions.from_texts(texts))


def test_ruff_ignore_maps_s_codes_to_bandit_ids() -> None:
    texts = {"pyproject.toml": '[tool.ruff.lint]\nselect = ["S"]\nignore = ["S602"]\n'}
    report = scan_source("pkg/run.py", SOURCE, _settings(texts))
    assert not [f for f in report.findings if f.rule_id == "B602"]
    assert [d.kind for d in report.dismissed if d.finding.rule_id == "B602"] == ["config"]
    assert "ruff's config in pyproject.toml" in report.dismissed[0].reason


def test_ruff_prefix_and_per_file_ignores() -> None:
    texts = {"ruff.toml": '[lint]\nper-file-ignores = { "scripts/*" = ["S6"], "tests/**" = ["S"] }\n'}
    assert {f.rule_id for f in scan_source("scripts/run.py", SOURCE, _settings(texts)).findings} == {"B404"}
    assert not scan_source("tests/unit/test_run.py", SOURCE, _settings(texts)).findings
    kept = scan_source("pkg/run.py", SOURCE, _settings(texts)).findings
    assert {f.rule_id for f in kept} == {"B404", "B602"}


def test_flake8_per_file_ignores() -> None:
    texts = {"setup.cfg": "[flake8]\nextend-ignore = E203\nper-file-ignores =\n    tools/*.py: S602,S404\n"}
    assert not scan_source("tools/run.py", SOURCE, _settings(texts)).findings
    assert scan_source("pkg/run.py", SOURCE, _settings(texts)).findings


def test_noqa_comments_as_ruff_reads_them() -> None:
    code = (
        "import subprocess  # noqa: S404\n\n"
        "subprocess.call(cmd, shell=True)  # noqa:S602\n"
        "subprocess.call(cmd2, shell=True)  # noqa: E501\n"
        "subprocess.call(cmd3, shell=True)  # noqa\n"
        "s = '# noqa'; subprocess.call(cmd4, shell=True)\n"
    )
    report = scan_source("x.py", code, ScanSettings())
    assert sorted(f.line for f in report.findings) == [4, 6]
    assert {d.kind for d in report.dismissed} == {"noqa"}
    plain = "# ruff: noqa: S602\nimport subprocess\n\nsubprocess.call(cmd, shell=True)\n"
    file_level = scan_source("x.py", plain, ScanSettings())
    assert {f.rule_id for f in file_level.findings} == {"B404"}


def test_noqa_can_be_switched_off() -> None:
    code = "import subprocess\nsubprocess.call(cmd, shell=True)  # noqa: S602\n"
    assert any(f.rule_id == "B602" for f in scan_source("x.py", code, ScanSettings(ignore_nosec=True)).findings)


def test_bandit_ini_and_exclude_dirs(tmp_path: Path) -> None:
    (tmp_path / ".bandit").write_text("[bandit]\nskips = B404\nexclude = ./vendor\n")
    found = decisions.from_root(tmp_path)
    assert found.bandit_skips == ("B404",)
    assert found.bandit_excluded("vendor/lib.py") is not None
    assert found.bandit_excluded("pkg/lib.py") is None
    report = scan_source("pkg/run.py", SOURCE, ScanSettings(decisions=found))
    assert {f.rule_id for f in report.findings} == {"B602"}


def test_same_finding_set_as_bandit_cli_on_its_config(tmp_path: Path) -> None:
    """bandit's own CLI on the project's config and mendbot agree on what is reported."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "pkg" / "run.py").write_text(SOURCE + "import pickle\n\nassert run\n")
    (tmp_path / "tests" / "test_run.py").write_text(SOURCE)
    (tmp_path / "pyproject.toml").write_text('[tool.bandit]\nexclude_dirs = ["tests"]\nskips = ["B101"]\n')
    out = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", ".", "-c", "pyproject.toml", "-f", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    theirs = {
        (r["filename"].removeprefix("./"), r["test_id"], r["line_number"]) for r in json.loads(out.stdout)["results"]
    }
    from bot.faces.scan_command import ScanRequest, execute

    config = load(tmp_path, {"cache": False, "context_rules": False})
    result = execute(ScanRequest(paths=[str(tmp_path)], root=tmp_path, config=config, excludes=(), mode="findings"))
    ours = {(os.path.relpath(r.path, tmp_path), f.rule_id, f.line) for r in result.reports for f in r.findings}
    assert ours == theirs
    assert ("pkg/run.py", "B101", 9) not in ours


def test_ruff_and_flake8_excludes_are_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg" / "_vendor").mkdir(parents=True)
    (tmp_path / "gen").mkdir()
    for rel in ("src/pkg/run.py", "src/pkg/_vendor/lib.py", "gen/out.py"):
        (tmp_path / rel).write_text(SOURCE)
    (tmp_path / "pyproject.toml").write_text('[tool.ruff]\nextend-exclude = ["_vendor"]\n')
    (tmp_path / ".flake8").write_text("[flake8]\nextend-exclude = ./gen\n")
    from bot.faces.scan_command import ScanRequest, execute

    config = load(tmp_path, {"cache": False})
    result = execute(ScanRequest(paths=[str(tmp_path)], root=tmp_path, config=config, excludes=(), mode="findings"))
    assert [os.path.relpath(r.path, tmp_path) for r in result.reports] == ["src/pkg/run.py"]


def test_unknown_rule_ids_are_errors() -> None:
    try:
        load(None, {"select": "B602,B999"})
    except ConfigError as exc:
        assert "B999" in str(exc) and "B602" in str(exc).split("valid ids:")[1]
    else:  # pragma: no cover
        raise AssertionError("B999 accepted")
    try:
        load(None, {}, {"rules": {"B1O1": "off"}})
    except ConfigError as exc:
        assert "B1O1" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("B1O1 accepted")


def test_rules_set_off_are_dismissed_by_the_scan_itself() -> None:
    """`off` is applied where every face scans (CLI, Action, App), so it never fails a check."""
    settings = load(None, {}, {"rules": {"B602": "off"}}).scan_settings()
    report = scan_source("pkg/run.py", SOURCE, settings)
    assert {f.rule_id for f in report.findings} == {"B404"}
    assert [(d.finding.rule_id, d.kind) for d in report.dismissed] == [("B602", "policy")]
