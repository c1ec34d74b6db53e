"""Parents of the nodes a fixer asks about, without a whole-module pass.

libcst's `ParentNodeProvider` visits every node of the module to answer any question;
a fixer asks about a handful (the flagged node's statement, a call's enclosing
expression). `Parents` finds a node's ancestors by descending from the module into
the one child whose position range contains the node's (positions are resolved once
per file anyway), remembers the path, and answers like the provider's mapping. A node
outside every range its ancestors report (libcst puts a function's decorators outside
the function's own range) is answered by the provider after all.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider

_INDEX: list[tuple[cst.Module, Parents]] = []


def _contains(outer: CodeRange, inner: CodeRange) -> bool:
    return (outer.start.line, outer.start.column) <= (inner.start.line, inner.start.column) and (
        outer.end.line,
        outer.end.column,
    ) >= (inner.end.line, inner.end.column)


class Parents:
    """`get(node)`: the node's parent (None for the module or a node not in it)."""

    def __init__(self, wrapper: MetadataWrapper) -> None:
        self.wrapper = wrapper
        self.module = wrapper.module
        self.positions: Mapping[cst.CSTNode, CodeRange] = wrapper.resolve(PositionProvider)
        self.known: dict[int, cst.CSTNode] = {}  # id(child) → parent; nodes live as long as the module

    def get(self, node: cst.CSTNode, default: cst.CSTNode | None = None) -> cst.CSTNode | None:
        if node is self.module:
            return default
        if id(node) in self.known or self._find(node):
            return self.known[id(node)]
        return self.wrapper.resolve(ParentNodeProvider).get(node, default)

    def _find(self, target: cst.CSTNode) -> bool:
        """Depth-first from the module, pruning subtrees whose range cannot hold the target."""
        where = self.positions.get(target)
        if where is None:
            return False
        stack: list[tuple[cst.CSTNode, list[cst.CSTNode]]] = [(self.module, list(reversed(self.module.children)))]
        path: list[cst.CSTNode] = [self.module]
        while stack:
            parent, children = stack[-1]
            if not children:
                stack.pop()
                path.pop()
                continue
            child = children.pop()  # children are stacked in reverse: this is the next in order
            if child is target:
                self.known[id(child)] = parent
                for above, below in itertools.pairwise(path):
                    self.known.setdefault(id(below), above)
                return True
            span = self.positions.get(child)
            if span is not None and not _contains(span, where):
                continue
            stack.append((child, list(reversed(child.children))))
            path.append(child)
        return False


def parents_for(wrapper: MetadataWrapper) -> Parents:
    """One index per parsed module (the last few kept), like the metadata wrapper itself."""
    module = wrapper.module
    for known, index in _INDEX:
        if known is module:
            return index
    index = Parents(wrapper)
    _INDEX.append((module, index))
    del _INDEX[:-4]
    return index
