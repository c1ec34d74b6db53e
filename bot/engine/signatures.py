"""Signature check for the calls a candidate fix writes.

Why this exists: the gate proves that a fix parses, compiles, stays inside the
flagged statement and clears the bandit finding, but none of that catches a fix
that calls a real function the wrong way. ``ast.literal_eval(code, ns)`` (it
takes one argument), ``yaml.safe_load(f, Loader=...)`` or
``tempfile.mkstemp(delete=False)`` compile fine, remove the finding, and then
raise ``TypeError`` the first time the code runs. So do keywords added next to a
``**`` expansion (``torch.load(f, **kw, weights_only=True)``): the mapping may
already carry that keyword, and the call fails with "got multiple values".

:func:`call_problems` looks only at calls on the edited lines that are new or
changed (their normalised text does not occur anywhere in the old source), and
checks them against the callee's real signature where it is knowable: the callee
resolves, through the new file's own imports, to the standard library or to an
installed package on a short allowlist. Nothing else is ever imported; in
particular nothing from the scanned project. A call that cannot be resolved, or
whose callee has no signature, is not checked: the check only ever rejects what
it can prove wrong.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import os
import site
import sys
import sysconfig
from collections import defaultdict
from collections.abc import Iterator

from bot.engine.trees import first_line, parsed

__all__ = ["ALLOWED_PACKAGES", "call_problems"]

# Third-party top-level packages whose signatures may be consulted, when already installed.
ALLOWED_PACKAGES = frozenset(
    {
        "yaml",
        "requests",
        "jinja2",
        "markupsafe",
        "defusedxml",
        "paramiko",
        "urllib3",
        "httpx",
        "flask",
        "django",
        "lxml",
        "torch",
    }
)
# Standard-library modules whose import has visible side effects (a browser, a banner, a window).
_NEVER_IMPORT = frozenset({"antigravity", "this", "__main__", "idlelib", "turtle", "turtledemo", "tkinter"})


@functools.lru_cache(maxsize=1)
def _trusted() -> tuple[str, ...]:
    """Where the interpreter's own library and installed packages live (never the scanned checkout)."""
    dirs: set[str] = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            dirs.add(paths[key])
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except Exception:  # some embedded interpreters lack parts of `site`
        pass
    return tuple(os.path.realpath(d) for d in dirs if d)


def _top_level_allowed(top: str) -> bool:
    """True when `top` may be imported: stdlib or allowlisted, installed outside the scanned project."""
    if top in _NEVER_IMPORT or not top.isidentifier():
        return False
    if top not in sys.stdlib_module_names and top not in ALLOWED_PACKAGES:
        return False
    if top in sys.modules:
        return True
    try:
        spec = importlib.util.find_spec(top)
    except Exception:
        return False
    if spec is None:
        return False
    origins: list[str] = []
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        origins.append(spec.origin)
    elif spec.origin in ("built-in", "frozen"):
        return True
    origins.extend(spec.submodule_search_locations or [])
    if not origins:
        return False
    trusted = _trusted()
    for origin in origins:
        real = os.path.realpath(origin)
        if not any(real == d or real.startswith(d + os.sep) for d in trusted):
            return False
    return True


def _resolve(dotted: str) -> object | None:
    parts = dotted.split(".")
    if not _top_level_allowed(parts[0]):
        return None
    try:
        obj: object = importlib.import_module(parts[0])
    except BaseException:  # an import may raise anything, SystemExit included
        return None
    for i, name in enumerate(parts[1:], start=1):
        if hasattr(obj, name):
            obj = getattr(obj, name)
            continue
        if not inspect.ismodule(obj) or not hasattr(obj, "__path__"):
            return None
        try:  # a submodule not imported by its package yet (xml.etree.ElementTree)
            obj = importlib.import_module(".".join(parts[: i + 1]))
        except BaseException:
            return None
    return obj


@functools.lru_cache(maxsize=1024)
def _signature(dotted: str) -> inspect.Signature | None:
    try:
        obj = _resolve(dotted)
        if obj is None or inspect.ismodule(obj) or not callable(obj):
            return None
        return inspect.signature(obj)
    except Exception:  # ValueError / TypeError: no signature; anything else: not knowable
        return None


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    parts.reverse()
    return parts


def _bound_names(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """Import bindings (local name -> dotted target) and the names that are ambiguous."""
    imports: dict[str, str] = {}
    ambiguous: set[str] = set()
    other: set[str] = set()

    def bind(name: str, target: str) -> None:
        if imports.get(name, target) != target:
            ambiguous.add(name)
        imports[name] = target

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bind(alias.asname, alias.name)
                else:
                    top = alias.name.split(".")[0]
                    bind(top, top)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                name = alias.asname or alias.name
                if node.level or not node.module or alias.name == "*":
                    ambiguous.add(name)  # relative: the scanned project's own code
                else:
                    bind(name, f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            other.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            other.add(node.name)
        elif isinstance(node, ast.arg):
            other.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            other.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            other.update(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            other.add(node.name)
    ambiguous.update(other & imports.keys())
    return imports, ambiguous


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _lines_of(node: ast.AST) -> tuple[int, int] | None:
    """A node's line range, its decorators included (they sit above `def`/`class`)."""
    if not isinstance(node, (ast.stmt, ast.expr)):
        return None  # the module, an operator, an argument list: no lines of their own to prune by
    return first_line(node), node.end_lineno or node.lineno


def _calls_on(tree: ast.AST, start: int, end: int) -> Iterator[ast.Call]:
    """The calls on lines `start..end`, visiting only the nodes whose lines reach them (a
    child's lines lie within its parent's): not a walk of the whole file for each candidate."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        lines = _lines_of(node)
        if lines is not None and (lines[1] < start or lines[0] > end):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _explicit_keywords(call: ast.Call) -> list[str]:
    return [kw.arg for kw in call.keywords if kw.arg is not None]


def _check(
    call: ast.Call, text: str, imports: dict[str, str], ambiguous: set[str], old_keywords: dict[str, set[str]]
) -> str | None:
    line = call.lineno
    callee = ast.unparse(call.func)
    has_star = any(isinstance(arg, ast.Starred) for arg in call.args)
    has_double_star = any(kw.arg is None for kw in call.keywords)

    # (b) an explicit keyword beside a ** expansion that may already carry it.
    if has_double_star:
        before = old_keywords.get(callee, set())
        for name in _explicit_keywords(call):
            if name not in before:
                return (
                    f"line {line}: `{text}` adds keyword {name!r} beside a ** expansion that may already carry it "
                    f"(TypeError: got multiple values for keyword argument {name!r} at run time)"
                )

    # (a) arguments the callee's signature does not accept.
    if has_star:
        return None  # positional count unknown
    parts = _dotted(call.func)
    if parts is None or parts[0] in ambiguous or parts[0] not in imports:
        return None
    dotted = ".".join([imports[parts[0]], *parts[1:]])
    sig = _signature(dotted)
    if sig is None:
        return None
    positional = [object()] * len(call.args)
    keywords = {name: object() for name in _explicit_keywords(call)}
    try:
        if has_double_star:
            sig.bind_partial(*positional, **keywords)  # the mapping may supply the required ones
        else:
            sig.bind(*positional, **keywords)
    except TypeError as exc:
        return f"line {line}: `{text}` does not match the signature of {dotted}{sig}: {exc}"
    return None


@functools.lru_cache(maxsize=8)
def _old_calls(old_source: str) -> tuple[frozenset[str], dict[str, set[str]]]:
    """Every call text of the original file and the keywords each callee was given: computed
    once per file, not once per candidate (a file with 100 findings has 100 candidates)."""
    old_calls: set[str] = set()
    old_keywords: dict[str, set[str]] = defaultdict(set)
    for call in _calls(parsed(old_source)):
        old_calls.add(ast.unparse(call))
        old_keywords[ast.unparse(call.func)].update(_explicit_keywords(call))
    return frozenset(old_calls), old_keywords


def call_problems(old_source: str, new_source: str, new_span: tuple[int, int]) -> str | None:
    """Why a call the fix wrote on lines `new_span` (1-based, inclusive) of `new_source` would fail, or None.

    Only calls that are new or changed (their `ast.unparse` text occurs nowhere in `old_source`)
    are checked. Never raises: a source that does not parse is simply not checkable (None).
    """
    try:
        old_calls, old_keywords = _old_calls(old_source)
        new_tree = parsed(new_source)
        start, end = new_span
        imports, ambiguous = _bound_names(new_tree)
        candidates = [
            call for call in _calls_on(new_tree, start, end) if call.lineno <= end and (call.end_lineno or call.lineno) >= start
        ]
        candidates.sort(key=lambda c: (c.lineno, c.col_offset))
        for call in candidates:
            text = ast.unparse(call)
            if text in old_calls:
                continue
            problem = _check(call, text, imports, ambiguous, old_keywords)
            if problem:
                return problem
    except Exception:  # RecursionError, SyntaxError, ValueError (null bytes), ...
        return None
    return None
