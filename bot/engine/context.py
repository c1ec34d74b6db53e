"""Context rules: a finding bandit reports for a construct that, in this place, is not a risk.

Bandit's noisiest rules fire on shapes real code uses on purpose: `assert isinstance(x, T)`
written for the type checker, `except OSError: pass  # already gone`, `random.uniform`
for retry jitter, `password = ":****"` as a mask. A maintainer reads those as noise, and a
bot that comments on them is ignored. A context rule looks at the flagged node (Python's
`ast`, the tree the scan already parsed) and its surroundings and returns why the finding
is deliberate, or None when it stands.

Each rule lives in its fixer's module, next to the fixer, with VALID (dismissed) and
INVALID (still reported) cases drawn from real code; `tests/test_context_cases.py` runs
every case through a real scan, and the README's rule table counts them.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from bot.engine.behaviour import comment_tokens
from bot.engine.findings import Dismissal, Finding


@dataclass(frozen=True)
class ContextCase:
    """`reported=False`: the rule dismisses the finding (VALID); True: it must stay (INVALID)."""

    code: str
    reported: bool
    rule_id: str
    path: str = "example.py"
    note: str = ""


class TreeIndex:
    """Parents and nodes by line of one parsed file, built once for all its findings (a file with
    hundreds of findings must not walk its tree once per finding)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self._parents: dict[int, ast.AST] | None = None
        self._by_line: dict[int, list[ast.AST]] | None = None

    @property
    def parents(self) -> dict[int, ast.AST]:
        if self._parents is None:
            self._parents = {id(child): outer for outer in ast.walk(self.tree) for child in ast.iter_child_nodes(outer)}
        return self._parents

    def on_line(self, line: int) -> list[ast.AST]:
        """Nodes starting on `line`, in `ast.walk` order."""
        if self._by_line is None:
            self._by_line = {}
            for node in ast.walk(self.tree):
                start = getattr(node, "lineno", None)
                if start is not None:
                    self._by_line.setdefault(start, []).append(node)
        return self._by_line.get(line, [])


@dataclass
class FindingSite:
    """A finding with the parsed file around it: what a context rule may look at."""

    finding: Finding
    tree: ast.Module
    lines: Sequence[str]
    path: str  # as scanned (a file on disk for the CLI)
    index: TreeIndex | None = None  # shared by the file's findings
    rel_path: str = ""  # relative to the project root: what "test code" is judged on

    def __post_init__(self) -> None:
        self.rel_path = self.rel_path or self.path.replace("\\", "/")
        if self.index is None:
            self.index = TreeIndex(self.tree)

    @property
    def _index(self) -> TreeIndex:
        assert self.index is not None
        return self.index

    @cached_property
    def node(self) -> ast.AST | None:
        """The flagged node: the outermost node starting at bandit's line and column."""
        best = self.node_of(ast.AST)
        if best is None:  # a string in a statement whose line range bandit reports: first node on the line
            best = next(iter(self._index.on_line(self.finding.line)), None)
        return best

    def node_of(self, *types: type[ast.AST]) -> ast.AST | None:
        """The outermost node of one of these types starting at bandit's line and column."""
        best: ast.AST | None = None
        for node in self._index.on_line(self.finding.line):
            if (
                isinstance(node, types)
                and _char_col(self, node) == self.finding.col
                and (best is None or _span(node) > _span(best))
            ):
                best = node
        return best

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._index.parents.get(id(node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def enclosing_names(self, node: ast.AST) -> list[str]:
        """Names of the functions and classes around `node`, innermost first."""
        return [
            a.name for a in self.ancestors(node) if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]

    def comments(self, first: int, last: int) -> list[str]:
        """Comment texts on lines first..last (1-based, inclusive)."""
        return [text.lstrip("#").strip() for text, _ in comment_tokens(self.lines[first - 1 : last])]


def _span(node: ast.AST) -> tuple[int, int]:
    end_line = getattr(node, "end_lineno", None) or 0
    end_col = getattr(node, "end_col_offset", None) or 0
    return (end_line, end_col)


def _char_col(site: FindingSite, node: ast.AST) -> int:
    col = int(getattr(node, "col_offset", -1))
    line = site.lines[site.finding.line - 1] if 0 < site.finding.line <= len(site.lines) else ""
    if line.isascii():
        return col
    return len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))


ContextRule = Callable[[FindingSite], str | None]
EVERY_RULE = "*"  # a context rule that looks at every finding (e.g. test code)
_RULES: dict[str, list[ContextRule]] = {}
_CASES: dict[str, list[ContextCase]] = {}


def context_rule(*rule_ids: str, cases: Sequence[ContextCase] = ()) -> Callable[[ContextRule], ContextRule]:
    """Register a context rule for these bandit ids, with its documented cases."""

    def register(func: ContextRule) -> ContextRule:
        for rule in rule_ids:
            _RULES.setdefault(rule, []).append(func)
        for case in cases:
            _CASES.setdefault(case.rule_id, []).append(case)
        func.cases = tuple(cases)  # type: ignore[attr-defined]
        return func

    return register


def _is_test_path(path: str) -> bool:
    from bot.engine.scan import is_test_path

    return is_test_path(path)


@context_rule(
    EVERY_RULE,
    cases=(
        ContextCase("import requests\n\nrequests.get(url)\n", False, "B113", path="tests/test_api.py"),
        ContextCase("import subprocess\n\nsubprocess.run(['git', 'init'])\n", False, "B603", path="tests/conftest.py"),
        ContextCase(
            "import flask\n\napp = flask.Flask(__name__)\napp.run(debug=True)\n",
            False,
            "B201",
            path="tests/test_basic.py",
        ),
        ContextCase("import requests\n\nrequests.get(url)\n", True, "B113", path="app/client.py"),
    ),
)
def test_code(site: FindingSite) -> str | None:
    """Test code never runs in production: tests talk to local servers without timeouts, write to
    /tmp, pickle fixtures and run apps in debug mode on purpose (bandit's own documentation
    advises excluding tests). `context_rules = false` shows them again."""
    return "test code" if _is_test_path(site.rel_path) else None


@context_rule(
    "B102",
    "B307",
    cases=(
        ContextCase(
            "def load(path, ns):\n    with open(path) as f:\n        exec(compile(f.read(), path, 'exec'), ns)\n",
            False,
            "B102",
            note="a config file run on purpose",
        ),
        ContextCase("def startup(f, ctx):\n    eval(compile(f.read(), 'startup', 'exec'), ctx)\n", False, "B307"),
        ContextCase("def calc(expr):\n    return eval(expr)\n", True, "B307", note="a string from elsewhere stays"),
    ),
)
def compiled_on_purpose(site: FindingSite) -> str | None:
    """`exec(compile(source, filename, "exec"), namespace)` is the documented way to run a file of
    Python (a config file, PYTHONSTARTUP): executing code is the feature, not an injection."""
    node = site.node_of(ast.Call)
    if not isinstance(node, ast.Call) or not node.args:
        return None
    first = node.args[0]
    is_compile = isinstance(first, ast.Call) and isinstance(first.func, ast.Name) and first.func.id == "compile"
    return "runs code compiled on purpose (`exec(compile(...))`)" if is_compile else None


def _load() -> None:
    from bot.engine.fixers.registry import all_fixers

    all_fixers()  # importing the fixer modules registers their context rules


def rules_for(rule_id: str) -> list[ContextRule]:
    _load()
    return [*_RULES.get(rule_id, ()), *_RULES.get(EVERY_RULE, ())]


def all_cases() -> list[ContextCase]:
    _load()
    return [case for cases in _CASES.values() for case in cases]


def cases_for(rule_ids: Sequence[str]) -> list[ContextCase]:
    _load()
    return [case for rule in rule_ids for case in _CASES.get(rule, ())]


def dismiss_deliberate(
    path: str, text: str, tree: ast.Module, findings: Sequence[Finding], rel_path: str = ""
) -> tuple[list[Finding], list[Dismissal]]:
    """Split findings into (still reported, dismissed by a context rule)."""
    _load()
    if EVERY_RULE not in _RULES and not any(f.rule_id in _RULES for f in findings):
        return list(findings), []
    lines = text.splitlines()
    index = TreeIndex(tree)
    kept: list[Finding] = []
    dismissed: list[Dismissal] = []
    for finding in findings:
        reason = None
        rules = rules_for(finding.rule_id)
        if rules:
            site = FindingSite(finding, tree, lines, path, index, rel_path)
            try:
                reason = next((r for r in (rule(site) for rule in rules) if r), None)
            except (RecursionError, ValueError):
                reason = None  # a rule that cannot judge leaves the finding standing
        if reason:
            dismissed.append(Dismissal(finding, "context", reason))
        else:
            kept.append(finding)
    return kept, dismissed
