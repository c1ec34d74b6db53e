"""The proof cache: an unchanged file is never proven twice, and a warm run reports exactly
what the cold one did (fixes, shared combined fixes and rejections alike)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import bot.engine.api as api
from bot.engine.api import review_paths
from bot.engine.discover import PathFilter
from bot.engine.proofcache import ProofCache, decode, encode, engine_digest
from bot.engine.proposers import DraftRequest, Drafts
from bot.engine.scan import ScanSettings
from workers.cli import main

SOURCE = (
    "import hashlib\n\nimport requests\nimport yaml\n\n\n"
    "def load(text):\n    return yaml.load(text)\n\n\n"
    "def fetch(url):\n    return requests.get(url, verify=False)\n\n\n"
    "def digest(body):\n    return hashlib.md5(body).hexdigest()\n"
)


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text(SOURCE, encoding="utf-8")
    (root / "other.py").write_text("import yaml\n\n\ndef read(s):\n    return yaml.load(s)\n", encoding="utf-8")
    return root


def _review(root: Path, cache: ProofCache, proposers: Sequence[object] = ()) -> api.Review:
    settings = ScanSettings(root=str(root))
    return review_paths([str(root)], settings, PathFilter(root, ()), proposers, proofs=cache)  # type: ignore[arg-type]


def _outcomes(review: api.Review) -> dict[str, object]:
    return {
        r.path: (
            sorted((fp, fx.diff, fx.fixer, fx.covers) for fp, fx in r.fixes.items()),
            sorted((x.finding.fingerprint, x.fixer, x.reason) for x in r.rejections),
        )
        for r in review.reports
    }


def _no_proving(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the files the codemods are run on (the first proving step of `prove_reports`)."""
    proven: list[str] = []
    real = api._codemods

    def counting(work: api._CodemodWork) -> object:
        proven.append(work[0])
        return real(work)

    monkeypatch.setattr(api, "_codemods", counting)
    return proven


def test_a_warm_run_proves_nothing_and_reports_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path)
    cache = ProofCache(tmp_path / "cache")
    proven = _no_proving(monkeypatch)
    cold = _review(root, cache)
    assert len(proven) == 2
    assert any(r.fixes for r in cold.reports)
    warm = _review(root, cache)
    assert len(proven) == 2, "an unchanged file was proven again"
    assert _outcomes(warm) == _outcomes(cold)
    (root / "other.py").write_text("import yaml\n\n\ndef read(s):\n    return yaml.load(s) or {}\n", encoding="utf-8")
    _review(root, cache)
    assert proven[2:] == [str(root / "other.py")], "only the changed file is proven again"


def test_combined_fixes_stay_one_fix_for_all_they_cover() -> None:
    from bot.engine.api import review_source

    report = review_source("import requests\n\n\ndef f(u):\n    return requests.get(u, verify=False)\n", "m.py")
    shared = {id(fx) for fx in report.fixes.values()}
    assert len(report.fixes) == 2 and len(shared) == 1  # B113 + B501 on one call: one combined fix
    fixes, rejections = decode(encode((report.fixes, report.rejections)))
    assert len({id(fx) for fx in fixes.values()}) == 1
    assert {fp: fx.new_source for fp, fx in fixes.items()} == {fp: fx.new_source for fp, fx in report.fixes.items()}
    assert rejections == report.rejections


class _Uncacheable:
    """A proposer that cannot say what its drafts depend on: nothing may be cached for it."""

    name = "uncacheable"

    def propose(self, requests: Sequence[DraftRequest], opted_in: frozenset[str] = frozenset()) -> Mapping[str, Drafts]:
        return {}


def test_a_proposer_without_a_cache_key_switches_the_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path)
    cache = ProofCache(tmp_path / "cache")
    proven = _no_proving(monkeypatch)
    _review(root, cache, [_Uncacheable()])
    _review(root, cache, [_Uncacheable()])
    assert len(proven) == 4


def test_the_key_follows_the_settings_and_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.engine.proofcache import proof_key

    args = ("a.py", SOURCE, [], ScanSettings(), [])
    assert proof_key(*args) == proof_key(*args)  # type: ignore[arg-type]
    assert proof_key(*args) != proof_key("a.py", SOURCE, [], ScanSettings(ignore_nosec=True), [])
    assert proof_key(*args) != proof_key("a.py", SOURCE, [], ScanSettings(), ["model:x|abc"])
    assert len(engine_digest()) == 16
    before = proof_key(*args)  # type: ignore[arg-type]
    engine_digest.cache_clear()
    monkeypatch.setattr("bot.engine.proofcache.metadata.version", lambda name: "0.0.0-other")
    after = proof_key(*args)  # type: ignore[arg-type]
    engine_digest.cache_clear()
    monkeypatch.undo()
    assert before != after, "another ruff version must not reuse proofs"


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[object]:
    assert main(["scan", *argv, "--format", "json", "--fail-on", "never"]) == 0
    return json.loads(capsys.readouterr().out)["files"]  # type: ignore[no-any-return]


def test_cold_warm_and_one_process_runs_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path)
    cache = str(tmp_path / "cli-cache")
    cold = _json(capsys, str(root), "--cache-dir", cache, "--jobs", "2")
    warm = _json(capsys, str(root), "--cache-dir", cache, "--jobs", "2")
    single = _json(capsys, str(root), "--no-cache", "--jobs", "1")
    assert cold == warm == single
    assert (Path(cache) / "proofs-v1.sqlite").is_file()


def test_the_key_is_the_same_in_another_process(tmp_path: Path) -> None:
    """A key that depends on hash order (a frozenset's repr) would miss on every warm run."""
    import subprocess
    import sys

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["requests", "pyyaml", "flask", "rich", "attrs"]\n', encoding="utf-8"
    )
    code = (
        "from bot.engine.proofcache import proof_key; from bot.engine.scan import ScanSettings; "
        f"print(proof_key('a.py', 'x = 1\\n', [], ScanSettings(root={str(tmp_path)!r}), []))"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(keys) == 1, keys


def test_a_warm_run_loads_neither_libcst_nor_bandit(tmp_path: Path) -> None:
    """A run answered from both caches needs no fixer, no gate and no bandit: importing them
    cost about 0.6 s of a 1.1 s warm run on a 30k-line project. Checked on a real process."""
    root = _tree(tmp_path)
    env = {**os.environ, "MENDBOT_CACHE_DIR": str(tmp_path / "cache"), "MENDBOT_RUN_CACHE": "0"}  # not replayed
    command = [sys.executable, "-X", "importtime", "-m", "workers.cli", "scan", str(root), "--format", "json"]
    cold = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    warm = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert cold.returncode == warm.returncode == 1, warm.stderr[-2000:]
    assert json.loads(warm.stdout)["files"] == json.loads(cold.stdout)["files"]
    imported = {line.split("|")[-1].strip() for line in warm.stderr.splitlines() if line.startswith("import time:")}
    assert "libcst" in {line.split("|")[-1].strip() for line in cold.stderr.splitlines() if "import time:" in line}
    assert not {"libcst", "bandit", "bot.engine.gate", "bot.engine.proving"} & imported
