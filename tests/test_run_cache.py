"""The run cache (`bot.faces.runcache`): an unchanged re-run of `mendbot scan` replays the
recorded output without importing the engine, and any change to what a run reads — a scanned
file, a new file, a configuration file above the scanned folder, an environment variable — runs
the scan again. Real processes, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.faces import runcache

VULN = "import yaml\n\n\ndef load(s):\n    return yaml.load(s)\n"


def _run(root: Path, cache: Path, *args: str, **env: str) -> tuple[int, str, bool]:
    """(exit code, stdout, replayed?) of `mendbot scan` on root/pkg, from root."""
    command = [sys.executable, "-X", "importtime", "-m", "workers.cli", "scan", "pkg", "--format", "json", *args]
    environment = {**os.environ, "MENDBOT_CACHE_DIR": str(cache), **env}
    environment.pop("MENDBOT_RUN_CACHE", None)
    done = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, check=False)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done.returncode, done.stdout, "bot.engine" not in imported


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (root / "pkg" / "app.py").write_text(VULN, encoding="utf-8")
    return root


def test_an_unchanged_rerun_is_replayed_without_the_engine(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _run(project, cache)
    assert cold[0] == 1 and '"B506"' in cold[1] and not cold[2]
    warm = _run(project, cache)
    assert warm == (cold[0], cold[1], True)


def test_every_input_change_runs_the_scan_again(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _run(project, cache)
    app = project / "pkg" / "app.py"
    app.write_text(VULN.replace("yaml.load(s)", "yaml.safe_load(s)"), encoding="utf-8")
    code, out, replayed = _run(project, cache)
    assert not replayed and code == 0 and "B506" not in out
    assert _run(project, cache)[2]  # and that is recorded in turn
    (project / "pkg" / "more.py").write_text("import pickle\n", encoding="utf-8")
    code, out, replayed = _run(project, cache)
    assert not replayed and "B403" in out
    (project / "pyproject.toml").write_text(
        "[project]\nname = 'demo'\n\n[tool.mendbot]\nignore = ['B403']\n", encoding="utf-8"
    )
    code, out, replayed = _run(project, cache)
    assert not replayed and "B403" not in out
    code, out, replayed = _run(project, cache, MENDBOT_IGNORE="B506")
    assert not replayed


def test_runs_that_must_not_be_replayed_are_not(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for args in (("--fix",), ("--no-cache",)):
        _run(project, cache, *args)
        assert not _run(project, cache, *args)[2]
        (project / "pkg" / "app.py").write_text(VULN, encoding="utf-8")
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.mendbot]\ncache = false\n", encoding="utf-8")
    _run(project, cache)
    assert not _run(project, cache)[2]  # `cache = false` records nothing
    assert not _run(project, cache, MENDBOT_RUN_CACHE="0")[2]


def test_the_configuration_files_are_the_engines_own() -> None:
    from bot.engine.decisions import DECISION_FILES
    from bot.engine.project import FACT_FILES
    from bot.engine.proofcache import _RUFF_CONFIGS

    assert {*DECISION_FILES, *FACT_FILES, *_RUFF_CONFIGS, ".mendbot.toml", ".gitignore"} <= set(runcache.CONFIG_FILES)


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_a_terminal_or_stdin_is_never_replayed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert runcache.cacheable(["scan", "."]) or sys.stdout.isatty() or sys.stderr.isatty()
    assert not runcache.cacheable(["scan", "-", "--stdin-filename", "x.py"])
    assert not runcache.cacheable(["rules"])
    monkeypatch.setattr(sys, "stdout", _Terminal())
    assert not runcache.cacheable(["scan", "."])
