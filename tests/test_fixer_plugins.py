"""How fixers are laid out and found: rule modules share only the base, never each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FIXERS = Path(__file__).resolve().parent.parent / "bot" / "engine" / "fixers"
PACKAGE = "bot.engine.fixers"
# What a rule module may import from the fixers package: the shared base, the registry's
# `register`, and the import placer. Anything else would make one rule depend on another.
SHARED = {f"{PACKAGE}.base", f"{PACKAGE}.registry", f"{PACKAGE}.imports"}
NOT_RULES = {"__init__", "base", "registry", "imports", "builtin"}
RULE_MODULES = sorted(p for p in FIXERS.glob("*.py") if p.stem not in NOT_RULES)


def _fixer_imports(path: Path) -> list[str]:
    """Every `bot.engine.fixers...` module a file imports (relative imports resolved)."""
    package = f"{PACKAGE}.base" if path.parent.name == "base" else PACKAGE
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            if base == PACKAGE:  # `from bot.engine.fixers import x` imports the module x
                out += [f"{PACKAGE}.{alias.name}" for alias in node.names]
            else:
                out.append(base)
    return [name for name in out if name == PACKAGE or name.startswith(PACKAGE + ".")]


def test_rule_modules_are_found() -> None:
    assert len(RULE_MODULES) > 20
    assert {p.stem for p in RULE_MODULES} >= {"subprocess_shell", "mark_safe", "markupsafe_escape", "os_system"}


@pytest.mark.parametrize("path", RULE_MODULES, ids=lambda p: p.stem)
def test_rule_module_imports_only_the_shared_modules(path: Path) -> None:
    imported = _fixer_imports(path)
    others = [name for name in imported if not any(name == s or name.startswith(s + ".") for s in SHARED)]
    assert not others, f"{path.name} imports another rule module: {others}; move shared helpers to fixers.base"


def test_base_imports_no_rule_module() -> None:
    for path in sorted((FIXERS / "base").glob("*.py")):
        imported = _fixer_imports(path)
        assert all(name.startswith(f"{PACKAGE}.base") or name == f"{PACKAGE}.imports" for name in imported), (
            path.name,
            imported,
        )
