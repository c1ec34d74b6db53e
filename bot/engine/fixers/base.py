"""What a fixer is, and the machinery that applies one to a single finding.

A fixer is a libcst transformation of the *flagged node* (or its enclosing
statement). It sees one finding at a time, returns the replacement node or
declines with ``None``; it never writes text by hand, and it asks for imports
through ``FixContext.add_import`` so that `bot.engine.fixers.imports` places them where
isort/ruff would (and ``remove_import_if_unused`` drops one the edit made unused). The gate (``bot.engine.gate``) then decides whether the result is a fix.

Each fixer module keeps its rule ids, explanation, references and its
before/after ``cases`` together: the cases are both its tests and its docs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import (
    CodeRange,
    ImportAssignment,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from bot.engine.findings import Finding, FixConfidence
from bot.engine.fixers.imports import add_imports
from bot.engine.project import NO_FACTS, ProjectFacts

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

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """Fully qualified names `node` may refer to (resolves `import x as y`)."""
        value = self.wrapper.resolve(QualifiedNameProvider).get(node, set())
        names = value() if callable(value) else value  # libcst hands out LazyValue
        return {q.name for q in names}

    def refers_to(self, node: cst.CSTNode, *names: str) -> bool:
        return bool(self.qualified_names(node) & set(names))

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.wrapper.resolve(ParentNodeProvider).get(node)

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
    """

    rule_ids: ClassVar[tuple[str, ...]] = ()
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    explanation: ClassVar[str] = ""
    references: ClassVar[tuple[str, ...]] = ()
    confidence: ClassVar[FixConfidence] = FixConfidence.REVIEW
    cases: ClassVar[tuple[Case, ...]] = ()

    def fix(self, ctx: FixContext) -> Edit | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def confidence_for(self, ctx: FixContext) -> FixConfidence:
        """Per-finding confidence; most fixers have one class for every case."""
        return self.confidence


# --- applying a fixer -------------------------------------------------------------


class _Replace(cst.CSTTransformer):
    def __init__(self, old: cst.CSTNode, new: Replacement) -> None:
        self.old = old
        self.new = new

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node is not self.old

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Replacement:  # type: ignore[override]
        return self.new if original_node is self.old else updated_node


def _char_col(lines: Sequence[str], line: int, byte_col: int) -> int:
    """Bandit's columns are UTF-8 byte offsets; libcst counts characters."""
    if not 1 <= line <= len(lines):
        return byte_col
    text = lines[line - 1]
    if text.isascii():
        return byte_col
    return len(text.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))


def locate(wrapper: MetadataWrapper, finding: Finding) -> tuple[cst.CSTNode, cst.CSTNode] | None:
    """Find (flagged node, enclosing statement) for a finding in a parsed module.

    The flagged node is the node whose range equals bandit's (start, col) →
    (end, end_col); failing that, the smallest node containing that range. The
    statement is the smallest simple-statement line or compound statement that
    contains the flagged node.
    """
    positions = wrapper.resolve(PositionProvider)
    start = (finding.start_line, finding.col)
    end = (finding.end_line, finding.end_col if finding.end_col is not None else 10**9)
    exact: cst.CSTNode | None = None
    line_exact: cst.CSTNode | None = None
    smallest: cst.CSTNode | None = None
    smallest_size: tuple[int, int] | None = None
    for node, rng in positions.items():
        node_start = (rng.start.line, rng.start.column)
        node_end = (rng.end.line, rng.end.column)
        end_matches = node_end == end or (finding.end_col is None and rng.end.line == finding.end_line)
        if node_start == start and end_matches and (exact is None or _size(positions[exact]) < _size(rng)):
            exact = node  # prefer the outermost node with exactly this range
        # String checks (B104, B105, B108) report the parent's line range but the string's own
        # columns, on the finding's own line: accept a node that spans exactly those.
        if (
            exact is None
            and finding.line != finding.start_line
            and node_start == (finding.line, finding.col)
            and finding.end_col is not None
            and node_end == (finding.line, finding.end_col)
        ):
            line_exact = node
        if node_start <= start and node_end >= end and not isinstance(node, cst.Module):
            size = _size(rng)
            if smallest_size is None or size < smallest_size:
                smallest, smallest_size = node, size
    flagged = exact or line_exact or smallest
    if flagged is None:
        # Python 3.12+ reports some f-string columns inside the literal (and end columns past
        # the source line): take the node ending on the last line that starts closest before.
        best: tuple[int, int] | None = None
        for node, rng in positions.items():
            node_start = (rng.start.line, rng.start.column)
            if rng.end.line == finding.end_line and node_start <= start and not isinstance(node, cst.Module):
                key = (node_start[0], node_start[1])
                if (
                    best is None
                    or key > best
                    or (key == best and flagged is not None and _size(rng) > _size(positions[flagged]))
                ):
                    best, flagged = key, node
    if flagged is None:
        return None
    parents = wrapper.resolve(ParentNodeProvider)
    if isinstance(flagged, cst.FormattedStringText):
        # On Python 3.12+ bandit sees the literal part of an f-string (its own ast node);
        # on 3.11 the whole f-string. Fixers get the f-string either way.
        flagged = parents.get(flagged) or flagged
    statement: cst.CSTNode | None = flagged
    while statement is not None and not isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        statement = parents.get(statement)
    if statement is None:
        return None
    return flagged, statement


def tidy_imports(
    old_code: str,
    new_module: cst.Module,
    wanted: Sequence[tuple[str, str | None, str | None]] = (),
    removals: Sequence[tuple[str, str | None]] = (),
) -> cst.Module:
    """After an edit: drop the imports it made unused (and those asked for), then add the
    wanted ones where isort/ruff would put them. Codemods and model drafts both end here."""
    unused = [(mod, obj, None) for mod, obj in removals] + _imports_made_unused(old_code, new_module.code)
    if unused:
        codemod_context = CodemodContext()
        for module_name, obj, asname in unused:
            RemoveImportsVisitor.remove_unused_import(codemod_context, module_name, obj, asname)
        new_module = RemoveImportsVisitor(codemod_context).transform_module(new_module)
    if wanted:
        new_module = add_imports(new_module, wanted)
    return new_module


def _imports_made_unused(old_code: str, new_code: str) -> list[tuple[str, str | None, str | None]]:
    """Top-level imports the old file used and the edited one no longer does.

    A fix that replaces `os.system(...)` by `subprocess.run(...)` must not leave `import os`
    behind unused (the project's linter would fail on the fix); imports that were unused
    already, or are re-exported through `__all__`, are not ours to touch."""
    try:
        old_tree, new_tree = ast.parse(old_code), ast.parse(new_code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []

    def loads(tree: ast.Module) -> set[str]:
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        exported = {
            c.value
            for stmt in tree.body
            if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign)
            for c in ast.walk(stmt)
            if isinstance(c, ast.Constant) and isinstance(c.value, str)
        }
        return names | exported

    before, after = loads(old_tree), loads(new_tree)
    out: list[tuple[str, str | None, str | None]] = []
    for statement in old_tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound in before and bound not in after:
                    out.append((alias.name, None, alias.asname))
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            for alias in statement.names:
                bound = alias.asname or alias.name
                if alias.name != "*" and bound in before and bound not in after:
                    out.append((statement.module, alias.name, alias.asname))
    return out


def _size(rng: CodeRange) -> tuple[int, int]:
    return (rng.end.line - rng.start.line, rng.end.column - rng.start.column)


@dataclass(frozen=True)
class Candidate:
    """An unproven proposal: new source for the whole file."""

    fixer: Fixer
    new_source: str
    description: str
    confidence: FixConfidence
    statement_lines: tuple[int, int]


_WRAPPERS: list[tuple[cst.Module, MetadataWrapper]] = []


def _wrapper_for(module: cst.Module) -> MetadataWrapper:
    """One metadata wrapper per parsed module: positions, parents and scope analysis are
    computed once per file, not once per finding (they dominate a fixer's cost)."""
    for known, wrapper in _WRAPPERS:
        if known is module:
            return wrapper
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    _WRAPPERS.append((module, wrapper))
    del _WRAPPERS[:-4]
    return wrapper


def propose(
    fixer: Fixer,
    source: str,
    finding: Finding,
    module: cst.Module | None = None,
    project: ProjectFacts = NO_FACTS,
) -> Candidate | None:
    """Run one fixer on one finding; `None` when it declines or cannot locate it."""
    try:
        parsed = module if module is not None else cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        return None
    wrapper = _wrapper_for(parsed)
    located = locate(wrapper, finding)
    if located is None:
        return None
    flagged, statement = located
    ctx = FixContext(
        finding=finding, source=source, wrapper=wrapper, flagged=flagged, statement=statement, project=project
    )
    edit = fixer.fix(ctx)
    if edit is None:
        return None
    stmt_range = ctx.position(statement)
    new_module = parsed.visit(_Replace(edit.old, edit.new))
    new_module = tidy_imports(parsed.code, new_module, ctx.imports, ctx.removals)
    return Candidate(
        fixer=fixer,
        new_source=new_module.code,
        description=edit.description or fixer.title,
        confidence=fixer.confidence_for(ctx),
        # A finding may extend past its statement (B613 on a comment line next to it).
        statement_lines=(min(stmt_range.start.line, finding.start_line), max(stmt_range.end.line, finding.end_line)),
    )


__all__ = [
    "Candidate",
    "Case",
    "Edit",
    "FixContext",
    "Fixer",
    "locate",
    "m",
    "propose",
    "tidy_imports",
]
