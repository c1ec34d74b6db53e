"""bot.engine.lintdelta: the gate's "adds no lint errors under the project's ruff config" check."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import bot.engine.lintdelta as lintdelta
from bot.engine.lintdelta import SYNTAX_ERROR, LintContext, LintUnavailable, lint_codes, new_lint_errors

NO_CONFIG = LintContext(root=None)

OLD_MD5 = "import hashlib\n\n\ndef digest(data):\n    return hashlib.md5(data).hexdigest()\n"
# A fix that switched the call to a `from` import but left `import hashlib` behind.
NEW_UNUSED = "import hashlib\nfrom hashlib import sha256\n\n\ndef digest(data):\n    return sha256(data).hexdigest()\n"


def _project(tmp_path: Path, pyproject: str) -> LintContext:
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return LintContext(root=str(tmp_path))


def test_unused_import_is_reported() -> None:
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, "app.py", NO_CONFIG) == ["F401 line 1: `hashlib` imported but unused"]


def test_import_below_code_is_reported() -> None:
    old = "import os\n\nX = os.sep\n"
    new = "import os\n\nX = os.sep\nimport shlex\n\nY = shlex.quote(X)\n"
    errors = new_lint_errors(old, new, "app.py", NO_CONFIG)
    assert [e.split(" ")[0] for e in errors] == ["E402"]
    assert errors[0].startswith("E402 line 4:")


def test_extra_codes_apply_under_a_project_config_that_does_not_select_them(tmp_path: Path) -> None:
    ctx = _project(tmp_path, '[tool.ruff.lint]\nselect = ["B"]\n')
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, "app.py", ctx) == ["F401 line 1: `hashlib` imported but unused"]


@pytest.mark.parametrize(
    "lint_table",
    ['ignore = ["F401"]', 'extend-ignore = ["F401"]', 'ignore = ["F"]', 'select = ["E", "F"]\nignore = ["F4"]'],
)
def test_project_ignore_suppresses_the_extra_code(tmp_path: Path, lint_table: str) -> None:
    ctx = _project(tmp_path, f"[tool.ruff.lint]\n{lint_table}\n")
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, "app.py", ctx) == []


def test_project_ignore_from_branch_config_files() -> None:
    ctx = LintContext(root=None, config_files=(("pyproject.toml", '[tool.ruff.lint]\nignore = ["F401"]\n'),))
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, "app.py", ctx) == []
    plain = LintContext(root=None, config_files=(("ruff.toml", '[lint]\nselect = ["E"]\n'),))
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, "app.py", plain) == ["F401 line 1: `hashlib` imported but unused"]


def test_more_specific_select_in_a_later_layer_re_enables(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text('[lint]\nignore = ["F401"]\n', encoding="utf-8")
    ctx = _project(tmp_path, '[tool.ruff]\nextend = "base.toml"\n[tool.ruff.lint]\nextend-select = ["F401"]\n')
    assert [e[:4] for e in new_lint_errors(OLD_MD5, NEW_UNUSED, "app.py", ctx)] == ["F401"]
    ctx = _project(tmp_path, '[tool.ruff]\nextend = "base.toml"\n')
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, "app.py", ctx) == []


def test_ruff_cli_extend_select_beats_config_ignore(tmp_path: Path) -> None:
    """Pins the ruff behaviour lintdelta works around: CLI --extend-select re-enables a code
    that the project's lint.ignore turned off (per-file-ignores still win)."""
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nignore = ["F401"]\n', encoding="utf-8")
    args = ["check", "--no-cache", "--exit-zero", "--stdin-filename", "a.py", "--extend-select", "F401", "-"]
    out = subprocess.run(
        [lintdelta._ruff_binary(), *args],
        input="import os\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert "F401" in out


def test_per_file_ignores_apply_via_the_relative_path(tmp_path: Path) -> None:
    ctx = _project(tmp_path, '[tool.ruff.lint]\nper-file-ignores = { "scripts/*.py" = ["F401"] }\n')
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, "scripts/tool.py", ctx) == []
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, str(tmp_path / "scripts" / "tool.py"), ctx) == []
    assert [e[:4] for e in new_lint_errors(OLD_MD5, NEW_UNUSED, "pkg/tool.py", ctx)] == ["F401"]


def test_closest_config_to_the_file_is_used(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.ruff.lint]\nselect = ["E"]\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "ruff.toml").write_text('[lint]\nignore = ["F401"]\n', encoding="utf-8")
    ctx = LintContext(root=str(tmp_path))
    assert new_lint_errors(OLD_MD5, NEW_UNUSED, "legacy/mod.py", ctx) == []
    assert [e[:4] for e in new_lint_errors(OLD_MD5, NEW_UNUSED, "mod.py", ctx)] == ["F401"]


def test_stale_noqa_is_reported_as_ruf100(tmp_path: Path) -> None:
    ctx = _project(tmp_path, '[tool.ruff.lint]\nselect = ["E", "F", "S"]\n')
    old = 'password = "hunter2"  # noqa: S105\n'
    new = 'import os\n\npassword = os.environ["PASSWORD"]  # noqa: S105\n'
    assert lint_codes(old, "app.py", ctx) == {}
    assert [e[:13] for e in new_lint_errors(old, new, "app.py", ctx)] == ["RUF100 line 3"]


def test_identical_sources_give_nothing() -> None:
    assert new_lint_errors(NEW_UNUSED, NEW_UNUSED, "app.py", NO_CONFIG) == []


def test_existing_errors_are_not_reported_again() -> None:
    old = "import os\nimport sys\n"
    new = "import os\nimport sys\n\nX = 1\n"
    assert lint_codes(old, "app.py", NO_CONFIG) == {"F401": 2}
    assert new_lint_errors(old, new, "app.py", NO_CONFIG) == []


def test_multiset_difference_names_the_new_diagnostic() -> None:
    old = "import os\nimport sys\n"
    new = "import json\nimport os\nimport sys\n"
    assert new_lint_errors(old, new, "app.py", NO_CONFIG) == ["F401 line 1: `json` imported but unused"]


def test_syntax_errors_are_counted() -> None:
    codes = lint_codes("def f(:\n    pass\n", "app.py", NO_CONFIG)
    assert codes[SYNTAX_ERROR] >= 1
    errors = new_lint_errors("X = 1\n", "X = (\n", "app.py", NO_CONFIG)
    assert errors and all(e.startswith(SYNTAX_ERROR) for e in errors)


def test_broken_project_config_is_unavailable(tmp_path: Path) -> None:
    ctx = _project(tmp_path, '[tool.ruff.lint]\nselect = ["NOPE999"]\n')
    with pytest.raises(LintUnavailable, match="ruff failed"):
        lint_codes("X = 1\n", "app.py", ctx)


def test_missing_ruff_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import ruff.__main__

    def _missing() -> str:
        raise FileNotFoundError("no ruff")

    monkeypatch.setattr(ruff.__main__, "find_ruff_bin", _missing)
    monkeypatch.setattr(lintdelta.shutil, "which", lambda name: None)
    with pytest.raises(LintUnavailable, match="not installed"):
        new_lint_errors("X = 1\n", "X = 2\n", "app.py", NO_CONFIG)


def test_timeout_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def _slow(*args: object, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        raise subprocess.TimeoutExpired(cmd="ruff", timeout=lintdelta.TIMEOUT_S)

    monkeypatch.setattr(lintdelta.subprocess, "run", _slow)
    with pytest.raises(LintUnavailable, match="timed out"):
        lint_codes("X = 1\n", "app.py", NO_CONFIG)


def test_config_file_names_must_stay_inside_the_project() -> None:
    ctx = LintContext(root=None, config_files=(("../evil.toml", "x = 1\n"),))
    with pytest.raises(LintUnavailable, match="outside"):
        lint_codes("X = 1\n", "app.py", ctx)
