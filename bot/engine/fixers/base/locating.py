"""Finding → node: which libcst node bandit's line and column range points at.

Every finding of a file is located in the same parsed module, so the module's node positions
are flattened once (`_Spans`: plain tuples in the provider's order, and the nodes by start
line) and each finding is answered from that table instead of walking every `CodeRange` of
the module four times per finding.
"""

from __future__ import annotations

from collections import defaultdict

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from bot.engine.findings import Finding
from bot.engine.fixers.base.parents import parents_for

_Point = tuple[int, int]
_Span = tuple[int, int, int, int, cst.CSTNode]  # start line, start column, end line, end column, node
_NO_END_COLUMN = 10**9  # bandit gave no end column: any node ending on the end line will do


class _Spans:
    """The module's node ranges as tuples, in the position provider's (pre-)order."""

    def __init__(self, wrapper: MetadataWrapper) -> None:
        self.module = wrapper.module
        self.all: list[_Span] = [
            (rng.start.line, rng.start.column, rng.end.line, rng.end.column, node)
            for node, rng in wrapper.resolve(PositionProvider).items()
        ]
        self.by_start_line: dict[int, list[_Span]] = defaultdict(list)
        for span in self.all:
            self.by_start_line[span[0]].append(span)


_SPANS: list[tuple[cst.Module, _Spans]] = []


def _spans_for(wrapper: MetadataWrapper) -> _Spans:
    for module, spans in _SPANS:
        if module is wrapper.module:
            return spans
    spans = _Spans(wrapper)
    _SPANS.append((wrapper.module, spans))
    del _SPANS[:-4]
    return spans


def locate(wrapper: MetadataWrapper, finding: Finding) -> tuple[cst.CSTNode, cst.CSTNode] | None:
    """Find (flagged node, enclosing statement) for a finding in a parsed module.

    The flagged node is the node whose range equals bandit's (start, col) →
    (end, end_col); failing that, the smallest node containing that range. The
    statement is the smallest simple-statement line or compound statement that
    contains the flagged node.
    """
    spans = _spans_for(wrapper)
    flagged = (
        _exact_node(spans, finding)
        or _node_on_finding_line(spans, finding)
        or _smallest_container(spans, finding)
        or _nearest_on_end_line(spans, finding)
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


def _exact_node(spans: _Spans, finding: Finding) -> cst.CSTNode | None:
    """The outermost node whose range is exactly bandit's (the first of equal size).

    Without an end column, a node starting at bandit's start and ending on its end line counts.
    """
    (start_line, start_col), end = _reported_range(finding)
    found: cst.CSTNode | None = None
    found_size: _Point | None = None
    for sl, sc, el, ec, node in spans.by_start_line.get(start_line, ()):
        if sc != start_col:
            continue
        ends_there = (el, ec) == end or (finding.end_col is None and el == finding.end_line)
        size = (el - sl, ec - sc)
        if ends_there and (found_size is None or found_size < size):
            found, found_size = node, size
    return found


def _node_on_finding_line(spans: _Spans, finding: Finding) -> cst.CSTNode | None:
    """String checks (B104, B105, B108) report the parent's line range but the string's own
    columns, on the finding's own line: the (last) node that spans exactly those."""
    if finding.line == finding.start_line or finding.end_col is None:
        return None
    found: cst.CSTNode | None = None
    for _, sc, el, ec, node in spans.by_start_line.get(finding.line, ()):
        if sc == finding.col and el == finding.line and ec == finding.end_col:
            found = node
    return found


def _smallest_container(spans: _Spans, finding: Finding) -> cst.CSTNode | None:
    """The smallest node (below the module; the first of equal size) containing bandit's range."""
    start, end = _reported_range(finding)
    found: cst.CSTNode | None = None
    found_size: _Point | None = None
    for sl, sc, el, ec, node in spans.all:
        if (sl, sc) <= start and (el, ec) >= end and node is not spans.module:
            size = (el - sl, ec - sc)
            if found_size is None or size < found_size:
                found, found_size = node, size
    return found


def _nearest_on_end_line(spans: _Spans, finding: Finding) -> cst.CSTNode | None:
    """Python 3.12+ reports some f-string columns inside the literal (and end columns past the
    source line): of the nodes ending on the finding's last line, the one starting closest
    before bandit's start (the largest of those starting there)."""
    start = (finding.start_line, finding.col)
    found: cst.CSTNode | None = None
    best: tuple[_Point, _Point] | None = None  # (start, size): later start first, then larger
    for sl, sc, el, ec, node in spans.all:
        if el == finding.end_line and (sl, sc) <= start and node is not spans.module:
            key = ((sl, sc), (el - sl, ec - sc))
            if best is None or key[0] > best[0] or (key[0] == best[0] and key[1] > best[1]):
                found, best = node, key
    return found


def _reported_range(finding: Finding) -> tuple[_Point, _Point]:
    end_col = finding.end_col if finding.end_col is not None else _NO_END_COLUMN
    return (finding.start_line, finding.col), (finding.end_line, end_col)
