"""Focus: the file as a fixer needs to see it, with the bodies it cannot need blanked out.

Why: a fixer looks at one flagged statement, its scope and the module's imports, but
libcst's metadata (positions, parents, scopes) is computed for the whole module: on a
3,000-line file that is ~0.4 s per provider, spent again for every file with a finding,
and it dominated the cost of proving. Blanking the bodies of the functions and classes
that hold no finding — line for line, so every kept node keeps its exact position —
makes that cost grow with the code around the findings instead of with the file.

What must not change is what a fixer decides, so a body is blanked only when nothing
in it binds a name of another scope (`global`/`nonlocal`), and what the blanked bodies
hold that a fixer may still ask about is kept aside: every module the file imports
(`imported`, for "does this file import flask anywhere?") and the names the bodies use
(`used_elsewhere`, so an import the edit stops using is not taken for unused). Fixers that
read the whole module (`Fixer.whole_module`) are run on the full text. The edit is
mapped back onto the full file by line (`Focus.unfocus`); if the mapping would touch a
blanked line the fixer is run on the full text instead. `tests/test_focus.py` proves
the focused proposals identical to full-file ones on every fixer case and on real files.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.engine.trees import first_line, parsed

_Span = tuple[int, int]
_Scoped = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
MIN_BLANKED_LINES = 40  # below this, focusing costs more than it saves


@dataclass(frozen=True)
class Focus:
    source: str  # the full text
    text: str  # the same lines, blanked bodies replaced by `...` and numbered comment lines
    used_elsewhere: frozenset[str]  # names the blanked bodies load
    imported: frozenset[str]  # every module the whole file imports (at any depth)
    blanked: tuple[_Span, ...]  # 1-based inclusive line ranges that were blanked

    def unfocus(self, new_text: str) -> str | None:
        """The full file with the edit that turned `text` into `new_text`; None when the edit
        reaches a blanked line (then the fixer must see the full text)."""
        old_lines = self.text.splitlines(keepends=True)
        full_lines = self.source.splitlines(keepends=True)
        new_lines = new_text.splitlines(keepends=True)
        out: list[str] = []
        matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                out += full_lines[i1:i2]
                continue
            if any(lo <= i2 and hi >= i1 + 1 for lo, hi in self.blanked):
                return None
            out += new_lines[j1:j2]
        return "".join(out)


def _names(nodes: Iterable[ast.AST]) -> set[str]:
    """Every name the nodes mention (`os` in `os.path` too: it is a Name node of its own)."""
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


_OTHER_SCOPES = re.compile(r"\b(global|nonlocal)\b")


def _reaches_out(node: _Scoped, lines: Sequence[str]) -> bool:
    """Whether the scope binds a name of another scope; read from the tree only when its text
    holds `global` or `nonlocal` at all (a walk of every blankable body was a third of focusing)."""
    text = "".join(lines[_first_line(node) - 1 : node.end_lineno or node.lineno])
    if not _OTHER_SCOPES.search(text):
        return False
    return any(isinstance(n, ast.Global | ast.Nonlocal) for n in ast.walk(node))


def _imported(tree: ast.Module) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return frozenset(names)


_Block = ast.If | ast.Try | ast.TryStar | ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While


def _blocks(node: _Block) -> Iterable[list[ast.stmt]]:
    """The statement lists of a compound statement (an `if`'s branches, a `try`'s handlers, …)."""
    yield node.body
    yield getattr(node, "orelse", [])
    yield getattr(node, "finalbody", [])
    for handler in getattr(node, "handlers", []):
        yield handler.body


def _first_line(node: _Scoped) -> int:
    return first_line(node)


def _body_span(node: _Scoped, lines: Sequence[str]) -> _Span | None:
    """The lines of the body, when it starts on a line of its own (not `def f(): return 1`)."""
    first = node.body[0]
    start = _first_line(first) if isinstance(first, _Scoped) else first.lineno  # a decorated first member
    if start <= node.lineno or node.end_lineno is None:
        return None
    if lines[start - 1][: first.col_offset].strip():
        return None
    return start, node.end_lineno


def _blankable(
    body: Iterable[ast.stmt], spans: Sequence[_Span], lines: Sequence[str]
) -> Iterable[tuple[_Span, _Scoped]]:
    """Bodies to blank, with their scope: of scopes holding no finding (into classes that hold one,
    method by method)."""
    for node in body:
        if isinstance(node, _Block):  # module-level `if TYPE_CHECKING:`, `try: … except ImportError:`, …
            for block in _blocks(node):
                yield from _blankable(block, spans, lines)
            continue
        if not isinstance(node, _Scoped):
            continue
        top, bottom = _first_line(node), node.end_lineno or node.lineno
        holds = any(lo <= bottom and hi >= top for lo, hi in spans)
        if holds:
            if isinstance(node, ast.ClassDef):
                yield from _blankable(node.body, spans, lines)
            continue
        span = _body_span(node, lines)
        if span is not None and not _reaches_out(node, lines):
            yield span, node


def focus(
    source: str, spans: Sequence[_Span], tree: ast.Module | None = None, *, names: bool = True
) -> Focus | None:
    """The focused view for findings on `spans`, or None when there is little to blank.
    `names=False`: without `used_elsewhere` and `imported` (empty), for a caller that only
    reads the text (the gate's re-scan), since collecting them walks every blanked body."""
    try:
        tree = tree or parsed(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = source.splitlines(keepends=True)
    scopes = sorted(_blankable(tree.body, spans, lines), key=lambda pair: pair[0])
    blanked = [span for span, _ in scopes]
    if sum(hi - lo + 1 for lo, hi in blanked) < MIN_BLANKED_LINES:
        return None
    used = _names(statement for _, scope in scopes for statement in scope.body) if names else set()
    out = list(lines)
    for lo, hi in blanked:
        first = lines[lo - 1]
        indent = first[: len(first) - len(first.lstrip())]
        ending = "\r\n" if first.endswith("\r\n") else "\n"
        out[lo - 1] = f"{indent}...{ending}"
        for index in range(lo, hi):
            # A numbered comment, not an empty line: every blanked line stays unique, so mapping the
            # edit back (`unfocus`, difflib) aligns lines at once instead of searching runs of blanks.
            out[index] = f"#{index}" + ("\r\n" if lines[index].endswith("\r\n") else "\n")
    imported = _imported(tree) if names else frozenset()
    return Focus(source, "".join(out), frozenset(used), imported, tuple(blanked))
