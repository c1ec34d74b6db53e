"""Finding → node: which libcst node bandit's line and column range points at."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider

from bot.engine.findings import Finding


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


def _size(rng: CodeRange) -> tuple[int, int]:
    return (rng.end.line - rng.start.line, rng.end.column - rng.start.column)

