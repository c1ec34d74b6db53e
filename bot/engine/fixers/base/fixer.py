"""What a fixer is: its metadata, its documented cases, and what it may look at.

A fixer is a libcst transformation of the *flagged node* (or its enclosing
statement). It sees one finding at a time, returns the replacement node or
declines with ``None``; it never writes text by hand, and it asks for imports
through ``FixContext.add_import`` so that `bot.engine.fixers.imports` places them where
isort/ruff would (and ``remove_import_if_unused`` drops one the edit made unused).

Each fixer module keeps its rule ids, explanation, references and its
before/after ``cases`` together: the cases are both its tests and its docs.
"""

from __future__ import annotations

import ast
import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

import libcst as cst
from libcst.metadata import (
    CodeRange,
    ImportAssignment,
    MetadataWrapper,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from bot.engine.findings import Finding, FixConfidence
from bot.engine.fixers.base.parents import parents_for
from bot.engine.project import NO_FACTS, ProjectFacts
from bot.engine.trees import first_line, parsed

Replacement = cst.CSTNode | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel


@dataclass(frozen=True)
class Case:
    """One documented example: `after=None` means the fixer must leave it alone.

    A changing case (INVALID in Fixit's terms) states the bandit id that fires on
    `before`; the case runner asserts bandit on both sides and that the gate
    proves the fix. A non-changing case (VALID) asserts the fixer declines.
    """

    before: str
    after: str | None = None
    rule_id: str | None = None
    path: str = "example.py"
    note: str = ""


@dataclass(frozen=True)
class Edit:
    """A fixer's answer: replace `old` (a node of the parsed module) with `new`."""

    old: cst.CSTNode
    new: Replacement
    description: str = ""


@dataclass
class FixContext:
    """What a fixer may look at: the finding, the parsed module and its metadata."""

    finding: Finding
    source: str
    wrapper: MetadataWrapper
    flagged: cst.CSTNode
    statement: cst.CSTNode
    imports: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    removals: list[tuple[str, str | None]] = field(default_factory=list)
    project: ProjectFacts = NO_FACTS  # the project's declared dependencies and Pythons
    # Every module the whole file imports, when `module` is a focused view that does not show
    # all of it (`bot.engine.fixers.base.focus`); None: the module is the whole file.
    imported: frozenset[str] | None = None

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """Fully qualified names `node` may refer to (resolves `import x as y`).

        The common case is answered without libcst's scope analysis (a third of proving a large
        file): the callee of a call, a name or an attribute chain on a name, whose name the file
        binds exactly once, by a module-level import (`simple_qualified_name`).
        `tests/test_qualified_names.py` proves those answers equal to `QualifiedNameProvider`'s
        on every call of every fixer case and of real files; anything else asks the provider."""
        parent = self.parent(node)
        if isinstance(parent, cst.Call) and parent.func is node:
            simple = simple_qualified_name(self.source, node)
            if simple is not None:
                return {simple}
        value = self.wrapper.resolve(QualifiedNameProvider).get(node, set())
        names = value() if callable(value) else value  # libcst hands out LazyValue
        return {q.name for q in names}

    def refers_to(self, node: cst.CSTNode, *names: str) -> bool:
        return bool(self.qualified_names(node) & set(names))

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return parents_for(self.wrapper).get(node)

    def position(self, node: cst.CSTNode) -> CodeRange:
        return self.wrapper.resolve(PositionProvider)[node]

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def name_is_free(self, node: cst.CSTNode, name: str, qualified: str | None = None) -> bool:
        """Whether writing `name` at `node` is safe: it is unbound there, or bound only by
        imports of `qualified` (default: the module `name`), so a fixer never shadows or
        reuses someone else's name."""
        scope = self.wrapper.resolve(ScopeProvider).get(node)
        if scope is None:
            return False
        want = {qualified or name}
        return all(
            isinstance(a, ImportAssignment) and {q.name for q in a.get_qualified_names_for(name)} == want
            for a in scope[name]
        )

    def add_import(self, module: str, obj: str | None = None, asname: str | None = None) -> None:
        """Request `import module` or `from module import obj` (libcst places it)."""
        self.imports.append((module, obj, asname))

    def remove_import_if_unused(self, module: str, obj: str | None = None) -> None:
        """Drop `import module` / `from module import obj` if the edit left it unused (a fix
        must not leave an unused import behind: the project's linter would fail)."""
        self.removals.append((module, obj))

    def module_imports(self, module: str) -> bool:
        """Whether the file imports `module` (or something under it) anywhere."""
        if self.imported is not None:
            return any(name == module or name.startswith(module + ".") for name in self.imported)
        for node in _walk(self.module):
            if isinstance(node, cst.Import):
                for alias in node.names:
                    name = self.code(alias.name)
                    if name == module or name.startswith(module + "."):
                        return True
            elif isinstance(node, cst.ImportFrom) and node.module is not None:
                name = self.code(node.module)
                if name == module or name.startswith(module + "."):
                    return True
        return False


def _walk(node: cst.CSTNode) -> Iterable[cst.CSTNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


class Fixer:
    """Base class: subclasses set the metadata and implement `fix`.

    `rule_ids`: the bandit ids handled. `title`: the fix in a few words.
    `explanation`: the risk and why the change removes it, in plain language.
    `references`: CWE and documentation links. `confidence`: safe or review.
    `whole_module`: the fixer reads code outside the flagged statement's scopes and the
    module's top level (e.g. every call in the file), so it is never given a focused view
    (`bot.engine.fixers.base.focus`).
    `declines(finding, source)`: a refusal the fixer can tell before the file is given to
    libcst (from the finding's path and lines, the file's text, at most its `ast`): a file whose
    every finding is declined so is never parsed by libcst. It must imply that `fix` returns
    None (`tests/test_fixer_cases.py`).
    """

    rule_ids: ClassVar[tuple[str, ...]] = ()
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    explanation: ClassVar[str] = ""
    references: ClassVar[tuple[str, ...]] = ()
    confidence: ClassVar[FixConfidence] = FixConfidence.REVIEW
    cases: ClassVar[tuple[Case, ...]] = ()
    whole_module: ClassVar[bool] = False

    def fix(self, ctx: FixContext) -> Edit | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def declines(self, finding: Finding, source: str) -> bool:
        """True when `fix` would certainly return None for this finding (see the class docstring)."""
        return False

    def confidence_for(self, ctx: FixContext) -> FixConfidence:
        """Per-finding confidence; most fixers have one class for every case."""
        return self.confidence


def statement_text(source: str, finding: Finding) -> str | None:
    """The lines of the innermost statement holding the finding, and the names of the functions
    and classes around it, by the standard library's parser (ten times cheaper than libcst's with
    metadata); None when the file does not parse or no statement holds it. A superset of every
    text a fixer reads around the flagged node (targets, keywords, keys, enclosing names)."""
    try:
        tree = parsed(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found: ast.stmt | None = None
    enclosing: list[str] = []
    candidates: list[ast.AST] = list(tree.body)
    while candidates:
        node = candidates.pop()
        if not isinstance(node, ast.stmt):
            continue
        if first_line(node) <= finding.start_line and (node.end_lineno or node.lineno) >= finding.end_line:
            found = node
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                enclosing.append(node.name)
            candidates = list(ast.iter_child_nodes(node))
    if found is None:
        return None
    lines = source.splitlines()
    return "\n".join([*lines[first_line(found) - 1 : found.end_lineno or found.lineno], " ".join(enclosing)])


def simple_qualified_name(source: str, node: cst.CSTNode) -> str | None:
    """The one qualified name of `node`, a callee (a name read, or an attribute chain on one),
    when its name is bound exactly once in the whole file, by a module-level `import x`,
    `import x.y as z` or `from m import n [as z]`; None for anything else (the caller asks
    libcst). Only for callees: a name elsewhere may not be a read (an import's own alias)."""
    parts: list[str] = []
    current = node
    while isinstance(current, cst.Attribute):
        parts.append(current.attr.value)
        current = current.value
    if not isinstance(current, cst.Name):
        return None
    target = _single_import_bindings(source).get(current.value)
    if target is None:
        return None
    return ".".join([target, *reversed(parts)])


_TYPE_PARAMS = tuple(getattr(ast, name) for name in ("TypeVar", "ParamSpec", "TypeVarTuple") if hasattr(ast, name))


def _names_bound_by(item: ast.AST) -> list[str]:
    """The names one node binds (a star import binds `*`: anything)."""
    if isinstance(item, ast.Name):
        return [] if isinstance(item.ctx, ast.Load) else [item.id]
    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [item.name]
    if isinstance(item, ast.arg):
        return [item.arg]
    if isinstance(item, (ast.Import, ast.ImportFrom)):
        return ["*" if a.name == "*" else (a.asname or a.name).split(".")[0] for a in item.names]
    if isinstance(item, (ast.Global, ast.Nonlocal)):
        return list(item.names)
    if isinstance(item, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar, *_TYPE_PARAMS)):
        name = getattr(item, "name", None)
        return [name] if isinstance(name, str) else []
    if isinstance(item, ast.MatchMapping) and item.rest:
        return [item.rest]
    return []


def _module_imports(tree: ast.Module) -> dict[str, str]:
    """Name → target of each module-level `import x`, `import x.y as z`, `from m import n`."""
    out: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname is None and "." in alias.name:
                    continue  # `import a.b` binds `a` to a package whose attributes it may not show
                out[alias.asname or alias.name] = alias.name
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            for alias in statement.names:
                out[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
    return out


@functools.lru_cache(maxsize=8)
def _single_import_bindings(source: str) -> dict[str, str]:
    """Name → what a module-level import binds it to, for the names nothing else binds anywhere
    in the file (no assignment, parameter, def, class, other import, handler, pattern or `del`;
    a star import anywhere answers nothing)."""
    try:
        tree = parsed(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    bound: Counter[str] = Counter(name for item in ast.walk(tree) for name in _names_bound_by(item))
    if bound["*"]:
        return {}
    return {name: target for name, target in _module_imports(tree).items() if bound[name] == 1}
