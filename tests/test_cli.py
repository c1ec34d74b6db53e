"""`mendbot scan` end to end through `main()`: each format, each exit code, --diff, --fix, diff scope."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.engine.scan import scan_source
from bot.faces.cli import UsageError
from workers.cli import main
from workers.commands import worker_concurrency

SAMPLE = """import yaml


def load(text):
    return yaml.load(text)
"""
CLEAN = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app.py").write_text(SAMPLE)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["scan", *args, "--no-cache"])
    return code, capsys.readouterr().out


def test_text_output_shows_finding_frame_and_proven_diff(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, str(project))
    assert code == 1
    assert "B506" in out and "yaml.safe_load" in out and "proven fix" in out


def test_json_schema(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, str(project), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["schema_version"] == 1
    (finding,) = [f for file in doc["files"] for f in file["findings"]]
    assert finding["rule_id"] == "B506" and finding["severity"] == "MEDIUM" and finding["cwe"] == 20
    assert finding["fix"]["provenance"] == "codemod" and finding["fix"]["confidence"] == "safe"
    assert "yaml.safe_load(text)" in finding["fix"]["diff"]
    assert doc["summary"] == {
        "files_scanned": 2,
        "files_skipped": 0,
        "findings": 1,
        "by_severity": {"LOW": 0, "MEDIUM": 1, "HIGH": 0},
        "proven_fixes": 1,
        "dismissed": 0,
        "fail_on": "MEDIUM",
        "failing_findings": 1,
    }


def test_sarif_with_fixes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, str(project), "--format", "sarif")
    doc = json.loads(out)
    assert doc["version"] == "2.1.0"
    run0 = doc["runs"][0]
    assert [r["id"] for r in run0["tool"]["driver"]["rules"]] == ["B506"]
    (result,) = run0["results"]
    assert result["ruleId"] == "B506" and result["level"] == "warning"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 5
    (replacement,) = result["fixes"][0]["artifactChanges"][0]["replacements"]
    assert replacement["deletedRegion"]["startLine"] == 5
    assert replacement["insertedContent"]["text"] == "    return yaml.safe_load(text)\n"
    assert result["partialFingerprints"]["mendbot/v1"]


def test_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(project / "clean.py"))[0] == 0
    assert run(capsys, str(project), "--fail-on", "high")[0] == 0
    assert run(capsys, str(project), "--fail-on", "medium")[0] == 1
    assert run(capsys, str(project), "--fail-on", "never")[0] == 0
    assert main(["scan", str(project / "nope")]) == 2
    assert main(["scan", str(project), "--changed-since", "no-such-ref"]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["scan", "--format", "xml"])
    assert usage.value.code == 2


def test_diff_and_fix(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, str(project), "--diff")
    assert out.startswith("--- a/") and "+    return yaml.safe_load(text)" in out
    assert (project / "app.py").read_text() == SAMPLE  # --diff writes nothing
    mode = os.stat(project / "app.py").st_mode
    run(capsys, str(project), "--fix")
    fixed = (project / "app.py").read_text()
    assert fixed == SAMPLE.replace("yaml.load", "yaml.safe_load")
    assert os.stat(project / "app.py").st_mode == mode
    assert scan_source("app.py", fixed).findings == []
    assert not [p for p in project.iterdir() if p.name.startswith(".mendbot-")]


def test_config_file_and_flags(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".mendbot.toml").write_text('ignore = ["B506"]\n')
    assert run(capsys, str(project))[0] == 0
    code, out = run(capsys, str(project), "--ignore", "B101", "--format", "json")
    assert code == 1 and json.loads(out)["summary"]["findings"] == 1


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_changed_since_keeps_added_lines_only(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    (project / "app.py").write_text(SAMPLE + "\n\ndef load2(text):\n    return yaml.load(text)\n")
    cwd = os.getcwd()
    os.chdir(project)
    try:
        _, out = run(capsys, ".", "--changed-since", "main", "--format", "json")
        lines = [f["line"] for file in json.loads(out)["files"] for f in file["findings"]]
        assert lines == [9]
        _, out = run(capsys, ".", "--changed-since", "main", "--format", "json", "--filter-mode", "file")
        lines = [f["line"] for file in json.loads(out)["files"] for f in file["findings"]]
        assert lines == [5, 9]
    finally:
        os.chdir(cwd)


def test_unified_diff_on_stdin(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    diff = "--- a/app.py\n+++ b/app.py\n@@ -4,2 +4,2 @@\n def load(text):\n-    return 1\n+    return yaml.load(text)\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(diff))
    monkeypatch.chdir(project)
    _, out = run(capsys, ".", "--diff-input", "-", "--format", "json")
    assert [f["line"] for file in json.loads(out)["files"] for f in file["findings"]] == [5]


def test_rules_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any("B506" in row["rule_ids"] for row in rows)


def test_a_worker_serving_review_and_model_gets_two_processes_at_least() -> None:
    """A review waits for its `model` batch: one process serving both queues would wait for itself."""
    assert worker_concurrency("review,model", None) == max(2, os.cpu_count() or 1)
    assert worker_concurrency("review, model", 3) == 3
    with pytest.raises(UsageError, match="--concurrency 2 or more"):
        worker_concurrency("review,model", 1)
    assert worker_concurrency("review", 1) == 1  # nothing to wait for
    assert worker_concurrency("model", 1) == 1  # the GPU worker
    assert worker_concurrency("review", None) is None  # Celery's default
    assert worker_concurrency("review,model", 1, model_queue=False) == 1  # reviews never wait


def _scan_with_stderr(target: Path, stderr: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", "scan", str(target), "--no-cache", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )


def test_progress_shows_every_phase_on_a_terminal_and_nothing_in_a_pipe(tmp_path: Path) -> None:
    import pty

    target = tmp_path / "app.py"
    target.write_text("import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n", encoding="utf-8")
    piped = _scan_with_stderr(target, subprocess.PIPE)
    assert piped.returncode == 1 and piped.stderr == b"", piped.stderr  # a pipe gets the report only
    assert json.loads(piped.stdout)["files"][0]["findings"][0]["rule_id"] == "B506"
    leader, follower = pty.openpty()
    try:
        on_tty = _scan_with_stderr(target, follower)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert on_tty.returncode == 1
    assert json.loads(on_tty.stdout) == json.loads(piped.stdout)  # the report is the same either way
    text = shown.decode("utf-8", "replace")
    assert "scanning" in text and "proving fixes" in text, text[:500]


def _vulnerable_tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "app.py").write_text("import yaml\n\n\ndef load(s):\n    return yaml.load(s)\n", encoding="utf-8")
    return root


def test_fix_writes_a_symlinks_target_and_keeps_the_link(tmp_path: Path) -> None:
    root = _vulnerable_tree(tmp_path)
    (root / "real").mkdir()
    (root / "app.py").rename(root / "real" / "app.py")
    (root / "app.py").symlink_to(root / "real" / "app.py")
    assert main(["scan", str(root / "app.py"), "--fix", "--no-cache"]) == 0
    assert (root / "app.py").is_symlink()
    assert "safe_load" in (root / "real" / "app.py").read_text(encoding="utf-8")


def test_fix_leaves_read_only_and_hard_linked_files_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _vulnerable_tree(tmp_path)
    (root / "linked.py").write_text((root / "app.py").read_text(encoding="utf-8"), encoding="utf-8")
    os.link(root / "linked.py", root / "other_name.py")
    (root / "app.py").chmod(0o444)
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    code = main(["scan", str(root), "--fix", "--no-cache"])
    err = capsys.readouterr().err
    assert "app.py: it is read-only" in err  # by its mode bits, whoever runs mendbot
    assert "linked.py: it has 1 other hard link(s)" in err or "other_name.py: it has 1 other hard link(s)" in err
    assert code == 1  # what was not written still fails the run
    assert (root / "linked.py").read_bytes() == before["linked.py"]  # never a partial write
    assert (root / "linked.py").stat().st_nlink == 2


def test_fix_in_a_folder_that_cannot_take_a_temporary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write in a read-only folder")
    root = _vulnerable_tree(tmp_path)
    root.chmod(0o555)
    try:
        code = main(["scan", str(root), "--fix", "--no-cache"])
    finally:
        root.chmod(0o755)
    assert code == 1 and "no temporary file can be made" in capsys.readouterr().err


def test_fix_removes_what_a_killed_run_left_behind(tmp_path: Path) -> None:
    root = _vulnerable_tree(tmp_path)
    stale = root / ".mendbot-abc123.tmp"
    stale.write_text("half a file", encoding="utf-8")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = root / ".mendbot-def456.tmp"  # another run's, being written right now
    fresh.write_text("", encoding="utf-8")
    assert main(["scan", str(root), "--fix", "--no-cache"]) == 0
    assert not stale.exists() and fresh.exists()
