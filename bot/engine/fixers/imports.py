"""Place the imports a fix needs where isort / ruff's ``I`` rules would put them.

Why this exists: libcst's ``AddImportsVisitor`` places an import after the module's *leading*
imports, so a module whose first statement is not an import -- an Ansible module, whose imports
follow ``DOCUMENTATION = r'''...'''`` -- gets it at the very top, above the documentation
strings (ruff E402/I001, ansible-test ``import-before-documentation``); and it merges
``from hashlib import md5`` + ``sha256`` into the unsorted ``from hashlib import sha256, md5``.
Either way the fix adds lint errors that the gate's lint delta (``bot.engine.lintdelta``) rejects.

:func:`add_imports` follows ruff's isort defaults instead: sections future / standard library /
third party / first party / local (relative) separated by one blank line; within a section
every ``import x`` before every ``from x import y`` (``force-sort-within-sections = false``),
modules compared case-insensitively in natural order; the names of a ``from`` import
ordered by type (``order-by-type``: CONSTANTS, then Classes, then everything else, each
case-insensitively); ``as`` imports kept in their own statements (``combine-as-imports =
false``); a merged ``from`` import wrapped one name per line with a trailing comma when it
grows past the line length. What it cannot know: which modules the project calls
first-party (ruff's ``src`` / ``known-first-party``); it infers them from an existing import
block (a second third-party-looking section after the third-party one) or from
``known_first_party``.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import libcst as cst

__all__ = ["Wanted", "add_imports"]

#: (module, obj, asname): ``import module [as asname]`` or ``from module import obj [as asname]``.
Wanted = tuple[str, str | None, str | None]

FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL = range(5)
_DIGITS = re.compile(r"([0-9]+)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOC_CONSTANTS_ANY_LITERAL = frozenset({"ANSIBLE_METADATA"})

NaturalKey = tuple[tuple[int, int], ...]


def add_imports(
    module: cst.Module,
    wanted: Sequence[Wanted],
    *,
    line_length: int = 88,
    known_first_party: Collection[str] = (),
) -> cst.Module:
    """`module` with each wanted import present, placed as isort / ruff ``I`` would place it.

    An import already present at module top level exactly as wanted is left alone. A
    ``from m import obj`` joins an existing top-level ``from m import ...`` in sorted position;
    anything else becomes a new statement in the first top-level import block (a run of
    consecutive top-level import statements other than ``__future__`` ones), in its section at
    its sorted place. Without such a block it goes after the docstring, ``__future__`` imports,
    dunder assignments (``__metaclass__ = type``) and ALL_CAPS documentation strings
    (``DOCUMENTATION = r'''...'''``), followed by the blank lines ruff expects.
    """
    for mod, obj, asname in dict.fromkeys(wanted):
        _validate(mod, obj, asname)
        if _already_imported(module, mod, obj, asname):
            continue
        if obj is not None and asname is None:
            merged = _merge_into_existing(module, mod, obj, line_length)
            if merged is not None:
                module = merged
                continue
        module = _insert_statement(module, mod, obj, asname, frozenset(known_first_party))
    return module


# --- names and keys ---------------------------------------------------------------------------


def _validate(mod: str, obj: str | None, asname: str | None) -> None:
    dots = len(mod) - len(mod.lstrip("."))
    rest = mod[dots:]
    parts = rest.split(".") if rest else []
    ok = all(_IDENT.match(p) for p in parts) and (parts or dots)
    ok = ok and (obj is None or _IDENT.match(obj) is not None or obj == "*")
    ok = ok and (asname is None or _IDENT.match(asname) is not None)
    ok = ok and (obj is not None or (dots == 0 and bool(parts)))
    if not ok:
        raise ValueError(f"not an importable name: {(mod, obj, asname)!r}")


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise TypeError(f"not a dotted name: {node!r}")


def _from_module(node: cst.ImportFrom) -> str:
    dots = "".join("." for _ in node.relative)
    return dots + (_dotted(node.module) if node.module is not None else "")


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None:
        return None
    name = alias.asname.name
    return name.value if isinstance(name, cst.Name) else None


def _natural(text: str) -> NaturalKey:
    """Natural order like the natord crate ruff uses: digit runs compare as numbers."""
    key: list[tuple[int, int]] = []
    for part in _DIGITS.split(text):
        if not part:
            continue
        if part[0].isascii() and part[0].isdigit():
            key.append((ord("0"), int(part)))
        else:
            key.extend((ord(c), 0) for c in part)
    return tuple(key)


def _optional(text: str | None) -> tuple[int, NaturalKey]:
    return (0, ()) if text is None else (1, _natural(text))


def _member_type(name: str) -> int:
    """ruff's order-by-type: CONSTANT (0), Class (1), anything else (2)."""
    if len(name) > 1 and name.isupper():
        return 0
    if name[:1].isupper():
        return 1
    return 2


def _member_key(name: str, asname: str | None) -> tuple[object, ...]:
    return (name != "*", _member_type(name), _natural(name.lower()), _natural(name), _optional(asname))


def _straight_key(name: str, asname: str | None) -> tuple[object, ...]:
    return (0, (0, 0), _optional(name.lower()), _optional(name), (0, ()), _optional(asname))


def _from_key(mod: str, first_name: str, first_asname: str | None) -> tuple[object, ...]:
    dots = len(mod) - len(mod.lstrip("."))
    name = mod[dots:] or None
    distance = (0, 0) if dots == 0 else (1, -dots)  # relative-imports-order = furthest-to-closest
    lower = name.lower() if name is not None else None
    return (1, distance, _optional(lower), _optional(name), (1, _member_key(first_name, first_asname)), (0, ()))


def _statement_key(small: cst.Import | cst.ImportFrom) -> tuple[object, ...]:
    if isinstance(small, cst.Import):
        first = small.names[0]
        return _straight_key(_dotted(first.name), _asname(first))
    if isinstance(small.names, cst.ImportStar):
        return _from_key(_from_module(small), "*", None)
    first_alias = small.names[0]
    return _from_key(_from_module(small), _dotted(first_alias.name), _asname(first_alias))


def _section(mod: str, first_party: frozenset[str]) -> int:
    if mod.startswith("."):
        return LOCAL
    top = mod.split(".", 1)[0]
    if top == "__future__":
        return FUTURE
    if top in first_party:
        return FIRST_PARTY
    if top in sys.stdlib_module_names:
        return STDLIB
    return THIRD_PARTY


def _statement_module(small: cst.Import | cst.ImportFrom) -> str:
    return _dotted(small.names[0].name) if isinstance(small, cst.Import) else _from_module(small)


# --- the module's top-level imports -------------------------------------------------------------


def _import_smalls(statement: cst.BaseStatement) -> list[cst.Import | cst.ImportFrom] | None:
    """The import statements of a top-level line made only of imports, else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or not statement.body:
        return None
    smalls = [s for s in statement.body if isinstance(s, (cst.Import, cst.ImportFrom))]
    return smalls if len(smalls) == len(statement.body) else None


def _is_future(statement: cst.BaseStatement) -> bool:
    smalls = _import_smalls(statement)
    return bool(smalls) and all(isinstance(s, cst.ImportFrom) and _from_module(s) == "__future__" for s in smalls or ())


def _already_imported(module: cst.Module, mod: str, obj: str | None, asname: str | None) -> bool:
    for statement in module.body:
        for small in _import_smalls(statement) or ():
            if obj is None and isinstance(small, cst.Import):
                if any(_dotted(a.name) == mod and _asname(a) == asname for a in small.names):
                    return True
            elif (
                obj is not None
                and isinstance(small, cst.ImportFrom)
                and not isinstance(small.names, cst.ImportStar)
                and _from_module(small) == mod
                and any(_dotted(a.name) == obj and _asname(a) == asname for a in small.names)
            ):
                return True
    return False


# --- merging into an existing `from m import ...` -------------------------------------------------


def _merge_into_existing(module: cst.Module, mod: str, obj: str, line_length: int) -> cst.Module | None:
    for index, statement in enumerate(module.body):
        smalls = _import_smalls(statement)
        if smalls is None:
            continue
        assert isinstance(statement, cst.SimpleStatementLine)
        for position, small in enumerate(statement.body):
            if not (
                isinstance(small, cst.ImportFrom)
                and not isinstance(small.names, cst.ImportStar)
                and _from_module(small) == mod
                and any(a.asname is None for a in small.names)
            ):
                continue
            merged = _insert_alias(small, obj)
            new_body = list(statement.body)
            new_body[position] = merged
            line = statement.with_changes(body=new_body)
            if merged.lpar is None and len(statement.body) == 1 and _too_long(module, line, line_length):
                line = _wrapped(module, line, merged)
            body = list(module.body)
            body[index] = line
            return module.with_changes(body=body)
    return None


def _plain_separator(comma: cst.Comma | cst.MaybeSentinel) -> cst.Comma | None:
    """A copy of a separating comma without the comment that may follow it."""
    if not isinstance(comma, cst.Comma):
        return None
    after = comma.whitespace_after
    if isinstance(after, cst.ParenthesizedWhitespace):
        after = after.with_changes(first_line=cst.TrailingWhitespace(newline=after.first_line.newline), empty_lines=[])
    return comma.with_changes(whitespace_after=after)


def _insert_alias(node: cst.ImportFrom, obj: str) -> cst.ImportFrom:
    assert not isinstance(node.names, cst.ImportStar)
    names = list(node.names)
    key = _member_key(obj, None)
    index = next((i for i, a in enumerate(names) if _member_key(_dotted(a.name), _asname(a)) > key), len(names))
    separators = [s for s in (_plain_separator(a.comma) for a in names[:-1]) if s is not None]
    if separators:
        separator = separators[max(0, min(index - 1, len(separators) - 1))]
    elif node.lpar is not None and isinstance(node.lpar.whitespace_after, cst.ParenthesizedWhitespace):
        separator = cst.Comma(whitespace_after=node.lpar.whitespace_after)
    else:
        separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if index == len(names):
        last = names[-1]
        names[-1] = last.with_changes(comma=separator)
        names.append(cst.ImportAlias(name=cst.Name(obj), comma=last.comma))
    else:
        names.insert(index, cst.ImportAlias(name=cst.Name(obj), comma=separator))
    return node.with_changes(names=names)


def _too_long(module: cst.Module, line: cst.SimpleStatementLine, line_length: int) -> bool:
    code = module.with_changes(body=[line.with_changes(leading_lines=[])], header=[], footer=[]).code
    return any(len(text) > line_length for text in code.splitlines())


def _wrapped(module: cst.Module, line: cst.SimpleStatementLine, node: cst.ImportFrom) -> cst.SimpleStatementLine:
    """The ``from m import (\\n    a,\\n    b,\\n)`` form ruff gives a from-import past the line length."""
    assert not isinstance(node.names, cst.ImportStar)
    indent = module.default_indent
    newline = module.default_newline
    members = [module.code_for_node(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)) for a in node.names]
    head = module.code_for_node(node.with_changes(names=[cst.ImportAlias(name=cst.Name("_"))])).rsplit("_", 1)[0]
    text = head + "(" + newline + "".join(f"{indent}{m},{newline}" for m in members) + ")" + newline
    wrapped = cst.parse_statement(text, config=module.config_for_parsing)
    assert isinstance(wrapped, cst.SimpleStatementLine)
    return wrapped.with_changes(leading_lines=line.leading_lines, trailing_whitespace=line.trailing_whitespace)


# --- adding a new statement -----------------------------------------------------------------------


@dataclass
class _Group:
    section: int
    indices: list[int]  # positions in module.body


def _new_statement(module: cst.Module, mod: str, obj: str | None, asname: str | None) -> cst.SimpleStatementLine:
    alias = f" as {asname}" if asname else ""
    text = f"import {mod}{alias}" if obj is None else f"from {mod} import {obj}{alias}"
    statement = cst.parse_statement(text + module.default_newline, config=module.config_for_parsing)
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement


def _first_block(module: cst.Module) -> list[int] | None:
    run: list[int] = []
    for index, statement in enumerate(module.body):
        if _import_smalls(statement) is not None:
            run.append(index)
            continue
        if run and not all(_is_future(module.body[i]) for i in run):
            return run
        run = []
    if run and not all(_is_future(module.body[i]) for i in run):
        return run
    return None


def _has_blank(lines: Sequence[cst.EmptyLine]) -> bool:
    return any(line.comment is None for line in lines)


def _groups(module: cst.Module, block: list[int], first_party: frozenset[str]) -> list[_Group]:
    groups: list[_Group] = []
    for index in block:
        statement = module.body[index]
        assert isinstance(statement, cst.SimpleStatementLine)
        smalls = _import_smalls(statement) or []
        section = _section(_statement_module(smalls[0]), first_party)
        # A blank line starts a new section unless it only sets off the comment above an import.
        pure_blank = _has_blank(statement.leading_lines) and statement.leading_lines[-1].comment is None
        if groups and groups[-1].section == section and not pure_blank:
            groups[-1].indices.append(index)
        else:
            groups.append(_Group(section, [index]))
    # A second third-party-looking section after the third-party one is the first-party section.
    seen_third = False
    for group in groups:
        if group.section == THIRD_PARTY:
            if seen_third:
                group.section = FIRST_PARTY
            seen_third = True
        elif group.section > THIRD_PARTY:
            seen_third = True
    return groups


def _insert_statement(
    module: cst.Module, mod: str, obj: str | None, asname: str | None, first_party: frozenset[str]
) -> cst.Module:
    new = _new_statement(module, mod, obj, asname)
    block = _first_block(module)
    if block is None:
        return _insert_without_block(module, new)
    groups = _groups(module, block, first_party)
    section = _section(mod, first_party)
    first_small = new.body[0]
    assert isinstance(first_small, (cst.Import, cst.ImportFrom))
    key = _statement_key(first_small)
    top = mod.split(".", 1)[0]
    target = None
    if not mod.startswith("."):
        for group in groups:
            if any(_statement_module(s).split(".", 1)[0] == top for i in group.indices for s in _smalls_at(module, i)):
                target = group
                break
    if target is None:
        target = next((g for g in groups if g.section == section), None)
    body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = list(module.body)
    if target is not None:
        before = next((i for i in target.indices if _statement_key(_smalls_at(module, i)[0]) > key), None)
        if before is None:
            body.insert(target.indices[-1] + 1, new)
        else:
            _insert_before(
                body,
                before,
                new,
                first_of_block=before == block[0],
                first_of_group=before == target.indices[0],
                new_section=False,
            )
    else:
        following = next((g for g in groups if g.section > section), None)
        if following is None:
            body.insert(block[-1] + 1, new.with_changes(leading_lines=[cst.EmptyLine()]))
        else:
            start = following.indices[0]
            _insert_before(body, start, new, first_of_block=start == block[0], first_of_group=True, new_section=True)
    return module.with_changes(body=body)


def _smalls_at(module: cst.Module, index: int) -> list[cst.Import | cst.ImportFrom]:
    return _import_smalls(module.body[index]) or []


def _insert_before(
    body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement],
    index: int,
    new: cst.SimpleStatementLine,
    *,
    first_of_block: bool,
    first_of_group: bool,
    new_section: bool,
) -> None:
    """Insert `new` above body[index], sharing out the blank lines and comments as ruff would:
    comments above the block's first import stay at the top of the block; comments above any
    other import stay with it, one blank line before them; sections are one blank line apart."""
    old = body[index]
    assert isinstance(old, cst.SimpleStatementLine)
    separator = [cst.EmptyLine()] if new_section else []
    if first_of_block:
        ahead, kept = list(old.leading_lines), separator
    else:
        comments = [line for line in old.leading_lines if line.comment is not None]
        ahead = [cst.EmptyLine()] if first_of_group or new_section else []
        kept = [cst.EmptyLine(), *comments] if comments else separator
    body[index] = old.with_changes(leading_lines=kept)
    body.insert(index, new.with_changes(leading_lines=ahead))


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _is_preamble_assignment(module: cst.Module, statement: cst.BaseStatement) -> bool:
    """``__dunder__ = name-or-string`` or ``ALL_CAPS = "documentation string"``."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
    else:
        return False
    if not isinstance(target, cst.Name):
        return False
    name = target.value
    is_string = isinstance(value, (cst.SimpleString, cst.ConcatenatedString))
    if name.startswith("__") and name.endswith("__") and len(name) > 4:
        return is_string or isinstance(value, cst.Name)
    if name in _DOC_CONSTANTS_ANY_LITERAL:
        try:
            ast.literal_eval(module.code_for_node(value))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return False
        return True
    return is_string and name.isupper()


def _insert_without_block(module: cst.Module, new: cst.SimpleStatementLine) -> cst.Module:
    body = list(module.body)
    index = 1 if body and _is_docstring(body[0]) else 0
    while index < len(body) and (_is_future(body[index]) or _is_preamble_assignment(module, body[index])):
        index += 1
    new = new.with_changes(leading_lines=[cst.EmptyLine()] if index > 0 else [])
    if index < len(body):
        following = body[index]
        wanted_blank = 2 if _is_definition(following) else 1
        lines = list(getattr(following, "leading_lines", ()))
        while lines and lines[0].comment is None:
            lines.pop(0)
        blank = [cst.EmptyLine() for _ in range(wanted_blank)]
        body[index] = following.with_changes(leading_lines=[*blank, *lines])
    body.insert(index, new)
    if not module.body:
        return module.with_changes(body=body, has_trailing_newline=True)
    return module.with_changes(body=body)


def _is_definition(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, (cst.FunctionDef, cst.ClassDef))
