"""One `ast.parse` per text across the gate's proofs.

The gate's proofs each need the syntax tree of the original file and of the candidate:
names, the call signatures, import-time failures, digest identity, compilation. Parsed
separately that was nine parses per candidate (about a third of the gate's time on a
large file). They share these trees, which no proof modifies.
"""

from __future__ import annotations

import ast
import functools


@functools.lru_cache(maxsize=8)
def parsed(source: str) -> ast.Module:
    """The module's tree (shared: do not modify it); raises what `ast.parse` raises."""
    return ast.parse(source)


def first_line(node: ast.stmt | ast.expr) -> int:
    """The node's first line, its decorators included (they sit above `def` and `class`)."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
