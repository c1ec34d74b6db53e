"""Does a model draft call what exists? A check for names the gate cannot see.

The gate proves a draft parses, compiles, clears the finding and adds none; it
cannot know that `secrets.SystemRandom()._Random()` fails at run time (the model
once wrote exactly that for `random.Random()` → a proven, broken fix). So before
the gate, every attribute chain a draft *adds* that is rooted in a standard-library
import is resolved by introspection: a module attribute that does not exist, or a
method called on an instance of a standard-library class that the class does not
define, refuses the draft. Chains rooted elsewhere are not judged (unknown is not
wrong). Only standard-library modules are imported, minus those with side effects
on import.
"""

from __future__ import annotations

import ast
import importlib
import sys
from typing import Any

_NO_IMPORT = frozenset({"antigravity", "this", "turtle", "turtledemo", "tkinter", "idlelib", "__hello__", "__phello__"})
_UNKNOWN = object()


class _Instance:
    def __init__(self, cls: type) -> None:
        self.cls = cls


def _module(name: str) -> Any:
    top = name.split(".")[0]
    if top not in sys.stdlib_module_names or top in _NO_IMPORT:
        return _UNKNOWN
    try:
        return importlib.import_module(name)
    except Exception:
        return _UNKNOWN


def _bindings(tree: ast.Module) -> dict[str, tuple[str, str | None]]:
    """Top-level import bindings: local name → (module, attribute or None)."""
    bound: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = (top, None)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = (node.module, alias.name)
    return bound


class _Missing(Exception):
    pass


def _resolve(node: ast.expr, bound: dict[str, tuple[str, str | None]], called: bool = False) -> Any:
    if isinstance(node, ast.Name):
        if node.id not in bound:
            return _UNKNOWN
        module, attr = bound[node.id]
        value = _module(module)
        if value is _UNKNOWN or attr is None:
            return value
        return getattr(value, attr, _UNKNOWN)  # `from m import x` that fails is the gate's compile/scan business
    if isinstance(node, ast.Call):
        func = _resolve(node.func, bound, called=True)
        return _Instance(func) if isinstance(func, type) else _UNKNOWN
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, bound)
        if base is _UNKNOWN:
            return _UNKNOWN
        if isinstance(base, _Instance):
            if hasattr(base.cls, node.attr):
                return getattr(base.cls, node.attr)
            if called:  # instance attributes set in __init__ are invisible here, methods are not
                raise _Missing(f"{base.cls.__module__}.{base.cls.__qualname__} has no method {node.attr!r}")
            return _UNKNOWN
        if hasattr(base, node.attr):
            return getattr(base, node.attr)
        if isinstance(base, type(sys)):
            raise _Missing(f"module {base.__name__} has no attribute {node.attr!r}")
        return _UNKNOWN
    return _UNKNOWN


def _chains(tree: ast.AST) -> dict[str, tuple[ast.expr, bool]]:
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {
        ast.unparse(n): (n, id(n) in calls) for n in ast.walk(tree) if isinstance(n, ast.Attribute)
    }


def unresolved(old_source: str, new_source: str) -> str | None:
    """Why a draft refers to a standard-library attribute or method that does not exist; None if it does not."""
    try:
        old, new = ast.parse(old_source), ast.parse(new_source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the gate reports what does not parse
    before = set(_chains(old))
    bound = _bindings(new)
    for text, (node, called) in _chains(new).items():
        if text in before:
            continue
        try:
            _resolve(node, bound, called)
        except _Missing as exc:
            return f"calls what does not exist: {exc}"
    return None
