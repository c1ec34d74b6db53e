"""Hostile or unreadable inputs are reported as *not scanned* with a reason — never clean, never a crash."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bot.engine.scan import ScanSettings, scan_source
from workers.cli import main


def test_syntax_error_is_not_scanned() -> None:
    report = scan_source("bad.py", "def f(:\n    pass\n")
    assert report.skipped is not None and "syntax error" in report.skipped.reason
    assert report.findings == []


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="PEP 701 f-strings parse on 3.12+")
def test_newer_syntax_names_the_python_version() -> None:
    report = scan_source("new.py", "x = f'{a['b']}'\n")
    assert report.skipped is not None
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in report.skipped.reason


def test_deeply_nested_expression() -> None:
    report = scan_source("deep.py", "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    assert report.skipped is not None
    assert "nested" in report.skipped.reason or "syntax" in report.skipped.reason


def test_deep_but_parseable_nesting_does_not_crash() -> None:
    report = scan_source("deep.py", "x = " + "[" * 90 + "1" + "]" * 90 + "\nimport pickle\n")
    assert report.skipped is None or report.skipped.reason


def test_non_utf8_without_cookie() -> None:
    report = scan_source("latin.py", "s = 'caf\xe9'\n".encode("latin-1"))
    assert report.skipped is not None and "decode" in report.skipped.reason


def test_non_utf8_with_cookie_is_scanned() -> None:
    data = "# -*- coding: latin-1 -*-\nimport yaml\ns = 'caf\xe9'; yaml.load(s)\n".encode("latin-1")
    report = scan_source("latin.py", data)
    assert report.skipped is None and [f.rule_id for f in report.findings] == ["B506"]


def test_binary_file() -> None:
    report = scan_source("blob.py", b"\x7fELF\x00\x01\x02" * 100)
    assert report.skipped is not None and "binary" in report.skipped.reason


def test_five_megabyte_file_is_over_the_cap() -> None:
    data = b"x = 1\n" * (5 * 1024 * 1024 // 6 + 1)
    report = scan_source("huge.py", data)
    assert report.skipped is not None and "too large" in report.skipped.reason
    roomy = scan_source("huge.py", data[:600_000], ScanSettings(max_bytes=10_000_000))
    assert roomy.skipped is None


def test_cli_reports_unscanned_files_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "bad.py").write_text("def f(:\n")
    (tmp_path / "blob.py").write_bytes(b"\x00\x01")
    os.symlink(tmp_path / "loop_a.py", tmp_path / "loop_b.py")
    os.symlink(tmp_path / "loop_b.py", tmp_path / "loop_a.py")
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path, tmp_path / "sub" / "up")  # a folder loop: not followed
    code = main(["scan", str(tmp_path), "--format", "json", "--no-cache"])
    import json

    doc = json.loads(capsys.readouterr().out)
    status = {Path(f["path"]).name: f["status"] for f in doc["files"]}
    assert status["ok.py"] == "scanned"
    assert status["bad.py"] == status["blob.py"] == status["loop_a.py"] == status["loop_b.py"] == "skipped"
    assert code == 1
    assert main(["scan", str(tmp_path), "--format", "json", "--no-cache", "--allow-unscanned"]) == 0
