"""Applying a fixer: run it on one finding, splice its edit in, tidy the imports.

The gate (``bot.engine.gate``) then decides whether the resulting candidate is a fix.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import MetadataWrapper

from bot.engine.candidate import Candidate
from bot.engine.findings import Finding
from bot.engine.fixers.base.fixer import FixContext, Fixer, Replacement
from bot.engine.fixers.base.locating import locate
from bot.engine.fixers.base.parents import parents_for
from bot.engine.fixers.imports import add_imports
from bot.engine.project import NO_FACTS, ProjectFacts


def _swap_child(parent: cst.CSTNode, old: cst.CSTNode, new: cst.CSTNode) -> cst.CSTNode | None:
    """`parent` with its child `old` replaced by `new` (a field, or one item of a sequence
    field); None when `old` is not found directly in a field."""
    for spec in dataclasses.fields(parent):
        value = getattr(parent, spec.name)
        if value is old:
            return parent.with_changes(**{spec.name: new})
        if isinstance(value, (tuple, list)) and any(item is old for item in value):
            return parent.with_changes(**{spec.name: type(value)(new if item is old else item for item in value)})
    return None


def replaced(wrapper: MetadataWrapper, old: cst.CSTNode, new: Replacement) -> cst.Module:
    """The module with `old` replaced by `new`, rebuilding only `old`'s ancestors.

    Why not a transformer: libcst's `visit` walks every node of the module to replace one, about
    a third of a proposal's cost in a large file; the ancestors are known (`parents_for`), so
    only they are copied. Sentinels (removal, flattening) and nodes whose ancestors cannot be
    found this way take the transformer, which handles them."""
    module = wrapper.module
    if isinstance(new, cst.CSTNode) and old is not module:
        parents = parents_for(wrapper)
        child: cst.CSTNode = old
        replacement: cst.CSTNode = new
        while child is not module:
            parent = parents.get(child)
            swapped = _swap_child(parent, child, replacement) if parent is not None else None
            if swapped is None:
                break
            child, replacement = parent, swapped  # type: ignore[assignment]
        else:
            if isinstance(replacement, cst.Module):
                return replacement
    return module.visit(_Replace(old, new))


class _Replace(cst.CSTTransformer):
    def __init__(self, old: cst.CSTNode, new: Replacement) -> None:
        self.old = old
        self.new = new

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node is not self.old

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Replacement:  # type: ignore[override]
        return self.new if original_node is self.old else updated_node


def tidy_imports(
    old_code: str,
    new_module: cst.Module,
    wanted: Sequence[tuple[str, str | None, str | None]] = (),
    removals: Sequence[tuple[str, str | None]] = (),
    used_elsewhere: frozenset[str] = frozenset(),
    new_code: str | None = None,
) -> cst.Module:
    """After an edit: drop the imports it made unused (and those asked for), then add the
    wanted ones where isort/ruff would put them. Codemods and model drafts both end here.
    `used_elsewhere`: names used in code the module does not show (a focused view's blanked
    bodies), so an import they need is never dropped. `new_code`: `new_module.code`, when the
    caller has it already (a codegen of a large module is not free). Returns `new_module`
    itself when no import changes."""
    unused = [(mod, obj, None) for mod, obj in removals] + _imports_made_unused(
        old_code, new_code if new_code is not None else new_module.code, used_elsewhere
    )
    if unused:
        codemod_context = CodemodContext()
        for module_name, obj, asname in unused:
            RemoveImportsVisitor.remove_unused_import(codemod_context, module_name, obj, asname)
        new_module = RemoveImportsVisitor(codemod_context).transform_module(new_module)
    if wanted:
        new_module = add_imports(new_module, wanted)
    return new_module


@functools.lru_cache(maxsize=8)
def _loads(code: str) -> tuple[ast.Module, frozenset[str]]:
    """The module's tree and every name it reads, or re-exports as a string of a module-level
    assignment (`__all__`); once per text (the original file's is asked for every proposal)."""
    tree = ast.parse(code)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    exported = {
        c.value
        for stmt in tree.body
        if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign)
        for c in ast.walk(stmt)
        if isinstance(c, ast.Constant) and isinstance(c.value, str)
    }
    return tree, frozenset(names | exported)


def _imports_made_unused(
    old_code: str, new_code: str, used_elsewhere: frozenset[str] = frozenset()
) -> list[tuple[str, str | None, str | None]]:
    """Top-level imports the old file used and the edited one no longer does.

    A fix that replaces `os.system(...)` by `subprocess.run(...)` must not leave `import os`
    behind unused (the project's linter would fail on the fix); imports that were unused
    already, or are re-exported through `__all__`, are not ours to touch."""
    try:
        old_tree, old_loads = _loads(old_code)
        _, new_loads = _loads(new_code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    before, after = old_loads | used_elsewhere, new_loads | used_elsewhere
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
    used_elsewhere: frozenset[str] = frozenset(),
    imported: frozenset[str] | None = None,
) -> Candidate | None:
    """Run one fixer on one finding; `None` when it declines or cannot locate it.
    `used_elsewhere`, `imported`: what a focused view does not show (`focus.Focus`): the names
    its blanked bodies use, and every module the whole file imports."""
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
        finding=finding,
        source=source,
        wrapper=wrapper,
        flagged=flagged,
        statement=statement,
        project=project,
        imported=imported,
    )
    edit = fixer.fix(ctx)
    if edit is None:
        return None
    stmt_range = ctx.position(statement)
    edited = replaced(wrapper, edit.old, edit.new)
    edited_code = edited.code
    new_module = tidy_imports(source, edited, ctx.imports, ctx.removals, used_elsewhere, edited_code)
    return Candidate(
        fixer=fixer,
        new_source=edited_code if new_module is edited else new_module.code,
        description=edit.description or fixer.title,
        confidence=fixer.confidence_for(ctx),
        # A finding may extend past its statement (B613 on a comment line next to it).
        statement_lines=(min(stmt_range.start.line, finding.start_line), max(stmt_range.end.line, finding.end_line)),
    )
