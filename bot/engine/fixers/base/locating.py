"""Finding → node: which libcst node bandit's line and column range points at."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from bot.engine.findings import Finding
from bot.engine.fixers.base.parents import parents_for

_Point = tuple[int, int]
_NO_END_COLUMN = 10**9  # bandit gave no end column: any node ending on the end line will do


def locate(wrapper: MetadataWrapper, finding: Finding) -> tuple[cst.CSTNode, cst.CSTNode] | None:
    """Find (flagged node, enclosing statement) for a finding in a parsed module.

    The flagged node is the node whose range equals bandit's (start, col) →
    (end, end_col); failing that, the smallest node containing that range. The
    statement is the smallest simple-statement line or compound statement that
    contains the flagged node.
    """
    positions = wrapper.resolve(PositionProvider)
    flagged = (
        _exact_node(positions, finding)
        or _node_on_finding_line(positions, finding)
        or _smallest_container(positions, finding)
        or _nearest_on_end_line(positions, finding)
    )
    if flagged is None:
        return None
    parents = parents_for(wrapper)
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


def _exact_node(positions: Mapping[cst.CSTNode, CodeRange], finding: Finding) -> cst.CSTNode | None:
    """The outermost node whose range is exactly bandit's (the first of equal size).

    Without an end column, a node starting at bandit's start and ending on its end line counts.
    """
    start, end = _reported_range(finding)
    found: cst.CSTNode | None = None
    found_size: _Point | None = None
    for node, rng in positions.items():
        ends_there = _end(rng) == end or (finding.end_col is None and rng.end.line == finding.end_line)
        if _start(rng) == start and ends_there and (found_size is None or found_size < _size(rng)):
            found, found_size = node, _size(rng)
    return found


def _node_on_finding_line(positions: Mapping[cst.CSTNode, CodeRange], finding: Finding) -> cst.CSTNode | None:
    """String checks (B104, B105, B108) report the parent's line range but the string's own
    columns, on the finding's own line: the (last) node that spans exactly those."""
    if finding.line == finding.start_line or finding.end_col is None:
        return None
    start, end = (finding.line, finding.col), (finding.line, finding.end_col)
    found: cst.CSTNode | None = None
    for node, rng in positions.items():
        if _start(rng) == start and _end(rng) == end:
            found = node
    return found


def _smallest_container(positions: Mapping[cst.CSTNode, CodeRange], finding: Finding) -> cst.CSTNode | None:
    """The smallest node (below the module; the first of equal size) containing bandit's range."""
    start, end = _reported_range(finding)
    found: cst.CSTNode | None = None
    found_size: _Point | None = None
    for node, rng in positions.items():
        contains = _start(rng) <= start and _end(rng) >= end and not isinstance(node, cst.Module)
        if contains and (found_size is None or _size(rng) < found_size):
            found, found_size = node, _size(rng)
    return found


def _nearest_on_end_line(positions: Mapping[cst.CSTNode, CodeRange], finding: Finding) -> cst.CSTNode | None:
    """Python 3.12+ reports some f-string columns inside the literal (and end columns past the
    source line): of the nodes ending on the finding's last line, the one starting closest
    before bandit's start (the largest of those starting there)."""
    start = (finding.start_line, finding.col)
    found: cst.CSTNode | None = None
    best: tuple[_Point, _Point] | None = None  # (start, size): later start first, then larger
    for node, rng in positions.items():
        if rng.end.line == finding.end_line and _start(rng) <= start and not isinstance(node, cst.Module):
            key = (_start(rng), _size(rng))
            if best is None or key[0] > best[0] or (key[0] == best[0] and key[1] > best[1]):
                found, best = node, key
    return found


def _reported_range(finding: Finding) -> tuple[_Point, _Point]:
    end_col = finding.end_col if finding.end_col is not None else _NO_END_COLUMN
    return (finding.start_line, finding.col), (finding.end_line, end_col)


def _start(rng: CodeRange) -> _Point:
    return (rng.start.line, rng.start.column)


def _end(rng: CodeRange) -> _Point:
    return (rng.end.line, rng.end.column)


def _size(rng: CodeRange) -> _Point:
    return (rng.end.line - rng.start.line, rng.end.column - rng.start.column)
