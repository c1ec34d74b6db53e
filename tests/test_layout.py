"""The house rules, checked: which room may import which, nothing wired by strings, and
the CLI-only install running without the App's or the model's packages.

Rooms (DESIGN.md, "Map"): `bot.engine` imports only itself; `bot.github` the engine;
`bot.faces` the engine and `bot.github`; `models` implements `bot`'s protocols;
`workers` is the top and wires everything. `ghsim` (tests/simulator) is a development
package: only the composition root's `demo` command may reach it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "models", "workers")

# room → the rooms it may import (a room is the longest matching prefix below)
ALLOWED = {
    "bot": {"bot"},  # bot/__init__.py: the version, nothing else
    "bot.engine": {"bot", "bot.engine"},
    "bot.github": {"bot", "bot.engine", "bot.github"},
    "bot.faces": {"bot", "bot.engine", "bot.github", "bot.faces"},
    "models": {"bot", "bot.engine", "bot.faces", "models"},
    "workers": {"bot", "bot.engine", "bot.github", "bot.faces", "models", "workers", "ghsim"},
}
ROOMS = sorted(ALLOWED, key=len, reverse=True)
# Modules that import by name on purpose: they inspect the code under review's own libraries
# (call signatures, whether a name resolves), not mendbot's.
REFLECTIVE = {"bot/engine/signatures.py", "models/resolve.py"}


def room_of(module: str) -> str | None:
    return next((room for room in ROOMS if module == room or module.startswith(room + ".")), None)


def modules() -> list[tuple[str, Path]]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out.append((".".join(parts), path))
    return out


def imported(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                names.append(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                names.append(node.module)
    return names


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v) if isinstance(v, str) else "")
def test_imports_go_one_way(module: str, path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mine = room_of(module)
    assert mine is not None, module
    wrong = []
    for name in imported(tree, module, path.name == "__init__.py"):
        target = room_of(name) or ("ghsim" if name.split(".")[0] == "ghsim" else None)
        if target is not None and target not in ALLOWED[mine]:
            wrong.append(f"{name} ({target})")
    assert not wrong, f"{module} ({mine}) may not import {', '.join(wrong)}"


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v) if isinstance(v, str) else "")
def test_nothing_is_reached_by_a_string(module: str, path: Path) -> None:
    """`importlib.import_module`, `__import__` and `-A module` strings are how layering is
    cheated; entry points (`importlib.metadata`) are the plugin mechanism and allowed."""
    rel = str(path.relative_to(ROOT))
    if rel in REFLECTIVE:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            assert name not in ("import_module", "__import__"), f"{rel}:{node.lineno} imports by name"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert "-A workers" not in node.value, f"{rel}:{node.lineno} names a module in a string"


@pytest.mark.parametrize("room", ["bot/engine", "bot/github", "bot/faces"])
def test_no_function_above_complexity_grade_c(room: str) -> None:
    """`radon cc -n D` on the room prints nothing: no function or class over 20 branches."""
    from radon.complexity import cc_visit

    too_complex = [
        f"{path.relative_to(ROOT)}:{block.lineno} {block.fullname} ({block.complexity})"
        for path in sorted((ROOT / room).rglob("*.py"))
        for block in cc_visit(path.read_text(encoding="utf-8"))
        if block.complexity > 20
    ]
    assert not too_complex, "split into smaller named helpers: " + ", ".join(too_complex)


def test_the_engine_door_is_the_public_api() -> None:
    import bot.engine as engine

    for name in engine.__all__:
        assert hasattr(engine, name), name
    for door in ("review_source", "review_files", "review_paths", "fix_files", "Proposer"):
        assert door in engine.__all__


BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = {"celery", "redis", "github", "jwt", "uvicorn", "starlette", "prometheus_client",
               "onnxruntime", "numpy", "tokenizers", "ghsim"}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"No module named {name!r} (blocked: not in the CLI-only install)")
            return None

    sys.meta_path.insert(0, Blocker())
    from workers.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _cli_only(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, *args], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )


def test_the_cli_runs_without_the_apps_or_the_models_packages(tmp_path: Path) -> None:
    """What `pip install mendbot` gets: scan, prove and report work; the App's commands and the
    demo say exactly what to install instead of a traceback."""
    target = tmp_path / "app.py"
    target.write_text("import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n", encoding="utf-8")
    scan = _cli_only("scan", str(target), "--no-cache", "--format", "json")
    assert scan.returncode == 1, scan.stderr  # a MEDIUM finding fails the default gate
    assert '"B506"' in scan.stdout and '"fix"' in scan.stdout, scan.stdout[:500]
    for command, wanted in (("serve", "mendbot[app]"), ("worker", "mendbot[app]"), ("demo", "tests/simulator")):
        result = _cli_only(command)
        assert result.returncode == 2, (command, result.stderr)
        assert wanted in result.stderr and "Traceback" not in result.stderr, (command, result.stderr)
