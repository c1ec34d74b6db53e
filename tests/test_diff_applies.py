"""Every patch mendbot prints applies with `git apply` and `patch -p1`: files without a final
newline, CRLF files, form feeds, and several files in one combined `--diff`."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.patches import NO_NEWLINE, unified_diff

_LINE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("\t\x0cé"), max_size=12)


@st.composite
def _file_pair(draw: st.DrawFn) -> tuple[str, str]:
    lines = draw(st.lists(_LINE, min_size=1, max_size=8))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.booleans())
    old = ending.join(lines) + (ending if final else "")
    new_lines = list(lines)
    at = draw(st.integers(0, len(new_lines) - 1))
    kind = draw(st.sampled_from(["change", "insert", "delete"]))
    if kind == "change":
        new_lines[at] = new_lines[at] + "  # fixed"
    elif kind == "insert":
        new_lines.insert(at, "import os")
    elif len(new_lines) > 1:
        del new_lines[at]
    new_final = draw(st.booleans())
    new = ending.join(new_lines) + (ending if new_final else "")
    return old, new


def _applies(files: dict[str, tuple[str, str]]) -> None:
    patch = "".join(unified_diff(name, old, new) for name, (old, new) in files.items())
    for tool in (["git", "apply", "-"], ["patch", "-p1", "--quiet", "--batch"]):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            for name, (old, _) in files.items():
                (root / name).write_bytes(old.encode())
            done = subprocess.run(tool, input=patch.encode(), cwd=root, capture_output=True, check=False)
            assert done.returncode == 0, (tool, patch, done.stderr.decode())
            for name, (_, new) in files.items():
                assert (root / name).read_bytes() == new.encode(), (tool, name, patch)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_file_pair(), _file_pair())
def test_combined_patches_apply_with_git_and_patch(first: tuple[str, str], second: tuple[str, str]) -> None:
    files = {name: pair for name, pair in (("a.py", first), ("b.py", second)) if pair[0] != pair[1]}
    if files:
        _applies(files)


def test_a_file_without_final_newline_is_marked() -> None:
    diff = unified_diff("app.py", "x = 1\ny = eval(s)", "x = 1\ny = literal_eval(s)")
    assert diff.endswith("+y = literal_eval(s)\n" + NO_NEWLINE)
    _applies({"app.py": ("x = 1\ny = eval(s)", "x = 1\ny = literal_eval(s)"), "b.py": ("a\n", "b\n")})


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
@pytest.mark.parametrize("final", [True, False])
def test_the_cli_diff_applies_to_the_files_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bom: bytes, ending: bytes, final: bool
) -> None:
    """`mendbot scan --diff` on files with a byte-order mark, CRLF endings or no final newline,
    the edit next to the first line (so the BOM is in the patch's context)."""
    from workers.cli import main

    lines = [b"import requests", b"r = requests.get(u)"]
    data = bom + ending.join(lines) + (ending if final else b"")
    (tmp_path / "app.py").write_bytes(data)
    (tmp_path / "other.py").write_bytes(b"import yaml\ny = yaml.load(s)")
    code = main(["scan", str(tmp_path), "--diff", "--no-cache", "--fail-on", "never"])
    patch = capsys.readouterr().out
    assert code == 0 and patch.count("+++ ") == 2, patch
    patch = patch.replace(f"a/{tmp_path}/", "a/").replace(f"b/{tmp_path}/", "b/")
    for tool in (["git", "apply", "-"], ["patch", "-p1", "--quiet", "--batch"]):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            (root / "app.py").write_bytes(data)
            (root / "other.py").write_bytes(b"import yaml\ny = yaml.load(s)")
            done = subprocess.run(tool, input=patch.encode(), cwd=root, capture_output=True, check=False)
            assert done.returncode == 0, (tool, patch, done.stderr.decode())
            assert (root / "app.py").read_bytes().startswith(bom + b"import requests")
            assert b"timeout=" in (root / "app.py").read_bytes()
