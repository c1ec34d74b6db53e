"""How fixers are laid out and found: rule modules share only the base, never each other;
built-ins are listed statically, third-party fixers come through `mendbot.fixers` entry points."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

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



# --- the registry: built-ins listed statically, plugins through entry points ---------------


def test_builtin_lists_every_rule_module() -> None:
    from bot.engine.fixers import builtin

    listed = [module.__name__ for module in builtin.MODULES]
    assert listed == sorted(listed), "keep bot/engine/fixers/builtin.py in alphabetical order"
    assert set(listed) == {f"{PACKAGE}.{p.stem}" for p in RULE_MODULES}, "add the rule module to builtin.py"


def test_builtin_fixers_are_every_fixer_without_plugins() -> None:
    from bot.engine.fixers.registry import all_fixers, builtin_fixers

    assert [f.name for f in builtin_fixers()] == [f.name for f in all_fixers()]
    assert len({f.name for f in builtin_fixers()}) == len(builtin_fixers()), "fixer names must be unique"


PLUGIN = '''
import libcst as cst
import libcst.matchers as m

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer


class EvalToLiteralEval(Fixer):
    rule_ids = ("B307",)
    name = "eval-literal-eval"
    title = "Parse the literal with ast.literal_eval"
    explanation = "eval runs any expression; ast.literal_eval only reads literals."
    references = ("https://cwe.mitre.org/data/definitions/95.html",)
    confidence = FixConfidence.REVIEW
    cases = (
        Case("def parse(text):\\n    return eval(text)\\n", "import ast\\n\\n\\ndef parse(text):\\n    return ast.literal_eval(text)\\n", "B307"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not m.matches(call, m.Call(func=m.Name("eval"), args=[m.Arg(keyword=None, star="")])):
            return None
        assert isinstance(call, cst.Call)
        ctx.add_import("ast")
        new = call.with_changes(func=cst.Attribute(cst.Name("ast"), cst.Name("literal_eval")))
        return Edit(call, new, "read the literal with ast.literal_eval")


def not_a_fixer():
    return None


class Nameless(Fixer):
    rule_ids = ("B307",)


class Clash(EvalToLiteralEval):
    name = "subprocess-shell-false"
'''


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The registry with its built-ins loaded and plugins not yet looked up; restored afterwards."""
    from bot.engine.fixers import registry

    registry.all_fixers()
    monkeypatch.setattr(registry, "_ALL", list(registry._ALL))
    monkeypatch.setattr(registry, "_BY_RULE", {rule: list(fixers) for rule, fixers in registry._BY_RULE.items()})
    monkeypatch.setattr(registry, "_LOADED", False)
    yield registry
    for name in [n for n in sys.modules if n == "myplugin" or n.startswith("myplugin.")]:
        del sys.modules[name]


def _install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str, source: str = PLUGIN) -> None:
    """A real installed distribution: a module and its .dist-info with entry_points.txt."""
    (tmp_path / "myplugin.py").write_text(source, encoding="utf-8")
    info = tmp_path / "myplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[mendbot.fixers]\n{entry_points}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates importlib's (and metadata's) caches


def test_plugin_fixer_is_found_and_proves_a_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: ModuleType
) -> None:
    from bot.engine.proving import fix_each
    from bot.engine.scan import ScanSettings, scan_source

    _install(tmp_path, monkeypatch, "eval-literal = myplugin:EvalToLiteralEval")
    builtins_before = [f.name for f in fresh_registry.builtin_fixers()]
    assert [f.name for f in fresh_registry.fixers_for("B307")] == ["eval-literal-eval"]
    assert "eval-literal-eval" in [f.name for f in fresh_registry.all_fixers()]
    assert [f.name for f in fresh_registry.builtin_fixers()] == builtins_before

    settings = ScanSettings()
    source = "def parse(text):\n    return eval(text)\n"
    report = scan_source("example.py", source, settings)
    target = next(f for f in report.findings if f.rule_id == "B307")
    outcome = fix_each("example.py", source, report.findings, settings, fixable=lambda f: f is target)
    fix = outcome.fixes.get(target.fingerprint)
    assert fix is not None, [r.reason for r in outcome.rejections]
    assert fix.fixer == "eval-literal-eval"
    assert fix.new_source == "import ast\n\n\ndef parse(text):\n    return ast.literal_eval(text)\n"


def test_no_plugin_leaks_out_of_the_test_above() -> None:
    from bot.engine.fixers.registry import all_fixers, fixers_for

    assert "eval-literal-eval" not in [f.name for f in fixers_for("B307")]
    assert "eval-literal-eval" not in [f.name for f in all_fixers()]


@pytest.mark.parametrize(
    ("entry_point", "source", "problem"),
    [
        ("broken = myplugin:EvalToLiteralEval", "import no_such_module_anywhere\n", "cannot be loaded"),
        ("broken = myplugin:NoSuchClass", PLUGIN, "cannot be loaded"),
        ("broken = myplugin:not_a_fixer", PLUGIN, "not a Fixer subclass"),
        ("broken = myplugin:Nameless", PLUGIN, "must set rule_ids and name"),
        ("broken = myplugin:Clash", PLUGIN, "'subprocess-shell-false' is already used by the built-in fixer"),
    ],
    ids=["import-error", "missing-attribute", "not-a-fixer", "no-name", "name-clash"],
)
def test_broken_plugin_is_a_clear_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_registry: ModuleType,
    entry_point: str,
    source: str,
    problem: str,
) -> None:
    _install(tmp_path, monkeypatch, entry_point, source)
    where = "mendbot.fixers entry point 'broken' = 'myplugin:"
    for _ in range(2):  # nothing half-registered: the next lookup fails the same way
        with pytest.raises(fresh_registry.FixerPluginError) as raised:
            fresh_registry.fixers_for("B307")
        message = str(raised.value)
        assert where in message and "(from myplugin 0.1)" in message and problem in message, message
    assert not fresh_registry._BY_RULE.get("B307")


def test_a_later_broken_plugin_registers_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: ModuleType
) -> None:
    _install(tmp_path, monkeypatch, "good = myplugin:EvalToLiteralEval\nzz-bad = myplugin:not_a_fixer")
    with pytest.raises(fresh_registry.FixerPluginError, match="'zz-bad'"):
        fresh_registry.all_fixers()
    assert "eval-literal-eval" not in [f.name for f in fresh_registry._ALL]
