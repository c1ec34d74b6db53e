"""B101: `assert` statements vanish under `python -O`, so checks written with them can silently stop.

Most asserts in real code are internal invariants or written for the type checker; whether
those must survive `-O` is the author's decision, so the fixer acts only where the condition
guards access or input (a permission, an owner, a token, a validation) — the asserts whose
disappearance is a vulnerability. There the fix turns `assert cond, msg` into
`if not cond: raise AssertionError(msg)`,
which runs whatever the optimisation level and raises the same exception type,
so callers that catch `AssertionError` keep working. The condition node is
reused as is (comments and line breaks inside it survive); only the negation is
new, and it is written to read naturally (`x is None` for `assert x is not None`).
"""

from __future__ import annotations

import ast
import functools
import os
import re

import libcst as cst

from bot.engine.context import ContextCase, FindingSite, context_rule
from bot.engine.findings import Finding, FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, m
from bot.engine.fixers.registry import register
from bot.engine.scan import is_test_path

# `not <expr>` needs no parentheses for any expression that is not `and`/`or`/`if-else`/
# `lambda`; for readability, only these atom-like ones go without them.
_ATOMS = (
    cst.Name,
    cst.Attribute,
    cst.Call,
    cst.Subscript,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.Integer,
    cst.Float,
    cst.List,
    cst.Tuple,
    cst.Dict,
    cst.Set,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
    cst.Ellipsis,
    cst.Await,
)
# Inside `not (...)` these may lose their parentheses when the `not` goes away.
_BARE_OK = (cst.BooleanOperation, cst.Comparison, cst.BinaryOperation, cst.Name, cst.Attribute, cst.Call, cst.Subscript)


def _inverse(op: cst.BaseCompOp) -> cst.BaseCompOp | None:
    """The operator that is the negation of `op` by the language's definition, if any.

    `is`/`is not` and `in`/`not in` are exact inverses; `==`/`<` and friends are not
    (a class may define them inconsistently), so those are negated with `not (...)`.
    """
    if isinstance(op, cst.Is):
        return cst.IsNot(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after)
    if isinstance(op, cst.IsNot):
        return cst.Is(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after)
    if isinstance(op, cst.In):
        return cst.NotIn(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after)
    if isinstance(op, cst.NotIn):
        return cst.In(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after)
    return None


def _negate(test: cst.BaseExpression) -> cst.BaseExpression:
    """`not test`, written the way a person would."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and not test.lpar:
        operand = test.expression
        # `if (a or b):` reads oddly; drop the parentheses when they do not span lines.
        if (
            isinstance(operand, _BARE_OK)
            and len(operand.lpar) == 1
            and "\n" not in cst.Module([]).code_for_node(operand)
        ):
            return operand.with_changes(lpar=[], rpar=[])
        return operand
    if isinstance(test, cst.Comparison) and not test.lpar and len(test.comparisons) == 1:
        target = test.comparisons[0]
        inverse = _inverse(target.operator)
        if inverse is not None:
            return test.with_changes(comparisons=[target.with_changes(operator=inverse)])
    if test.lpar or isinstance(test, _ATOMS):
        return cst.UnaryOperation(operator=cst.Not(), expression=test)
    return cst.UnaryOperation(
        operator=cst.Not(whitespace_after=cst.SimpleWhitespace(" ")),
        expression=test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]),
    )


# Messages whose parentheses can move to the call: `(a, b)` or `(yield)` would change meaning.
_UNWRAPPABLE = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.Name,
    cst.Attribute,
    cst.Call,
    cst.Subscript,
    cst.BinaryOperation,
)


def _call_with(func: cst.BaseExpression, value: cst.BaseExpression) -> cst.Call:
    """`func(value)`; a parenthesised message lends its parentheses (and layout) to the call."""
    if isinstance(value, _UNWRAPPABLE) and len(value.lpar) == 1 and len(value.rpar) == 1:
        lpar, rpar = value.lpar[0], value.rpar[0]
        return cst.Call(
            func=func,
            args=[cst.Arg(value.with_changes(lpar=[], rpar=[]), whitespace_after_arg=rpar.whitespace_before)],
            whitespace_before_args=lpar.whitespace_after,
        )
    return cst.Call(func=func, args=[cst.Arg(value)])


# A truthiness assert on one of these names is a check of state or permission, not narrowing.
_PREDICATE = re.compile(
    r"^(is|has|can|may|should|allow|allowed|authori[sz]ed|authenticated|valid|verified|ok)(_|$)|_ok$"
    r"|(^|_)(ready|closed|open|opened|running|enabled|disabled|active|connected|started|finished|done|loaded"
    r"|initiali[sz]ed|alive|locked|available|healthy|empty|full|dirty|set|sent|stopped)$"
)
_NARROWING_CALLS = frozenset({"isinstance", "issubclass", "callable"})


def _returns_type_guard(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    returns = func.returns
    text = ast.unparse(returns) if returns is not None else ""
    return re.search(r"\b(TypeGuard|TypeIs)\[", text) is not None


@functools.lru_cache(maxsize=64)
def _guards_in_file(path: str) -> frozenset[str]:
    """Names of the top-level functions of a file on disk that return TypeGuard/TypeIs."""
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    return frozenset(
        n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and _returns_type_guard(n)
    )


def _type_guards(site: FindingSite) -> set[str]:
    """Names bound in this file to a TypeGuard/TypeIs function: defined here, or imported from a
    sibling module (`from ._types import is_prepared as _is_prepared`) when the file is on disk."""
    guards = {
        n.name
        for n in site.tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and _returns_type_guard(n)
    }
    folder = os.path.dirname(site.path)
    for node in site.tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module and os.path.isfile(site.path):
            sibling = os.path.join(folder, *node.module.split(".")) + ".py"
            found = _guards_in_file(sibling)
            guards |= {alias.asname or alias.name for alias in node.names if alias.name in found}
    return guards


def _narrows(test: ast.expr, guards: frozenset[str] = frozenset()) -> bool:
    """Whether `assert test` is written for the type checker: it narrows a type or an Optional."""
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name):
        return test.func.id in _NARROWING_CALLS or test.func.id in guards
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Is | ast.IsNot):
        right = test.comparators[0]
        none = isinstance(right, ast.Constant) and right.value is None
        is_type = (
            isinstance(test.left, ast.Call) and isinstance(test.left.func, ast.Name) and test.left.func.id == "type"
        )
        return none or is_type
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = test.operand
        return isinstance(inner, ast.Call) and _narrows(inner, guards)
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return all(_narrows(value, guards) for value in test.values)
    if isinstance(test, ast.Name | ast.Attribute):
        name = test.id if isinstance(test, ast.Name) else test.attr
        if name == "TYPE_CHECKING":
            return True
        return _PREDICATE.search(name.lower()) is None  # `assert self._conn` narrows Optional[Conn]
    return False


@context_rule(
    "B101",
    cases=(
        ContextCase("def f(x):\n    assert isinstance(x, int)\n    return x + 1\n", False, "B101", note="isinstance"),
        ContextCase("def f(self):\n    assert self._conn is not None\n", False, "B101", note="Optional narrowing"),
        ContextCase("def f(node):\n    assert not isinstance(node, Leaf), node\n", False, "B101"),
        ContextCase(
            "def f(a, b):\n    assert isinstance(a, str) and b is not None\n", False, "B101", note="`and` of narrowings"
        ),
        ContextCase("def f(self):\n    assert self.transport\n    self.transport.write(b'')\n", False, "B101"),
        ContextCase("def f(t):\n    assert type(t) is Token\n", False, "B101"),
        ContextCase(
            "from typing import TypeIs\n\n\ndef is_ready(r) -> TypeIs[Ready]:\n    return True\n\n\n"
            "def send(r):\n    assert is_ready(r)\n",
            False,
            "B101",
            note="a TypeIs/TypeGuard function",
        ),
        ContextCase(
            "def f(user):\n    assert user.is_admin, 'forbidden'\n", True, "B101", note="a permission check stays"
        ),
        ContextCase("def f(amount):\n    assert amount > 0\n", True, "B101", note="a value check stays"),
        ContextCase("def f(x):\n    assert not x.closed\n", True, "B101", note="a state check stays"),
        ContextCase("def f(state):\n    assert state.ready, 'not ready'\n", True, "B101", note="a state flag stays"),
        ContextCase("def f(x):\n    assert x is not None or fallback()\n", True, "B101"),
    ),
)
def type_narrowing_assert(site: FindingSite) -> str | None:
    """`assert isinstance(x, T)`, `assert x is not None`, `assert self._conn`: written for mypy;
    under `-O` nothing that guards data is lost, and rewriting them breaks the narrowing."""
    node = site.node
    if not isinstance(node, ast.Assert):
        return None
    guards = frozenset(_type_guards(site)) if "Type" in "".join(site.lines) else frozenset()
    if _narrows(node.test, guards):
        return "type-narrowing assert (for the type checker, not a runtime check)"
    return None


# Words of a condition that guards access or input: such an assert must not vanish under -O.
_GUARD_WORDS = frozenset(
    {
        "admin", "auth", "authorized", "authorised", "authenticated", "perm", "perms", "permission",
        "permissions", "permitted", "allowed", "owner", "owns", "role", "roles", "staff", "superuser",
        "csrf", "login", "logged", "privilege", "privileges", "grant", "granted", "expired",
    }
)  # fmt: skip


def guards_access(condition: str) -> bool:
    """Whether an assert's condition reads like an access or input check (`user.is_admin`,
    `request.user.has_perm(...)`, `token.expired`), not an internal invariant (`n > 0`,
    `is_valid(data)`: a maintainer reading real code called rewriting those churn)."""
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", condition))}
    return bool(words & _GUARD_WORDS)


@register
class AssertToRaise(Fixer):
    rule_ids = ("B101",)
    name = "assert-to-raise"
    title = "Replace assert with an explicit check"
    explanation = (
        "Python removes `assert` statements when it runs with optimisation (`python -O`), so a "
        "check written as an assert silently disappears in such deployments. An `if` that raises "
        "`AssertionError` always runs and raises the same exception as before."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/703.html",
        "https://docs.python.org/3/reference/simple_stmts.html#the-assert-statement",
        "https://bandit.readthedocs.io/en/latest/plugins/b101_assert_used.html",
    )
    # An assert is often an internal invariant the author wants gone under -O: whether it
    # must run in production is their call.
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "def withdraw(account, user, amount):\n    assert account.owner == user, 'not your account'\n"
            "    account.balance -= amount\n",
            "def withdraw(account, user, amount):\n    if not (account.owner == user):\n"
            "        raise AssertionError('not your account')\n    account.balance -= amount\n",
            "B101",
            note="an ownership check: comparison gets parentheses",
        ),
        Case(
            "class View:\n    def post(self, request):\n        # only staff may post\n"
            "        assert request.user.has_perm('edit')  # enforced — toujours\n        return self.save(request)\n",
            "class View:\n    def post(self, request):\n        # only staff may post\n"
            "        if not request.user.has_perm('edit'):  # enforced — toujours\n"
            "            raise AssertionError\n        return self.save(request)\n",
            "B101",
            note="a permission check; comments kept; no message",
        ),
        Case(
            "assert user.is_admin or user.owns(doc), (\n    f'{user} may not edit {doc}'\n)\n",
            "if not (user.is_admin or user.owns(doc)):\n    raise AssertionError(\n"
            "        f'{user} may not edit {doc}'\n    )\n",
            "B101",
            note="boolean condition parenthesised, multi-line message",
        ),
        Case(
            "def use(token):\n    assert not token.expired\n",
            "def use(token):\n    if token.expired:\n        raise AssertionError\n",
            "B101",
            note="double negation removed",
        ),
        Case(
            "def grant(role, allowed_roles):\n    assert role in allowed_roles, role\n",
            "def grant(role, allowed_roles):\n    if role not in allowed_roles:\n        raise AssertionError(role)\n",
            "B101",
        ),
        Case(
            "def put(key, value):\n    assert value is None or is_valid(value), (key, value)\n",
            note="a data invariant, not an access check: declined",
        ),
        Case(
            "def withdraw(account, amount):\n    assert amount > 0, 'amount must be positive'\n",
            note="an internal invariant: whether it runs under -O is the author's call; declined",
        ),
        Case(
            "def pick(kind):\n    if kind == 'a':\n        return 1\n    assert False, f'unknown kind {kind!r}'\n",
            note="an unreachable marker: declined",
        ),
        Case("def test_sum():\n    assert sum([1, 2]) == 3\n", path="tests/test_math.py", note="test file"),
        Case("def f(x):\n    assert isinstance(x, int)\n", note="type narrowing: not reported (context rule)"),
        Case("x = load(); assert is_admin(x)\n", note="two statements on one line; declined"),
        Case("if ready: assert check_auth()\n", note="one-line compound body; declined"),
        Case("if not cond:\n    raise AssertionError(msg)\n", note="already explicit"),
    )

    def declines(self, finding: Finding, source: str) -> bool:
        """In a test file, or no word of the assert's lines reads like an access check: the
        condition is part of those lines, so `fix` would decline on `guards_access` too. Most
        asserts of real code are declined here, before their file is parsed."""
        return is_test_path(finding.path) or not guards_access(finding.code)

    def fix(self, ctx: FixContext) -> Edit | None:
        node = ctx.flagged
        line = ctx.statement
        if not isinstance(node, cst.Assert) or is_test_path(ctx.finding.path):
            return None
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or line.body[0] is not node:
            return None
        if not guards_access(ctx.code(node.test)):
            return None  # an internal invariant: whether it must survive -O is the author's call
        exc: cst.BaseExpression = cst.Name("AssertionError")
        if node.msg is not None:
            exc = _call_with(exc, node.msg)
        raise_line = cst.SimpleStatementLine(body=[cst.Raise(exc=exc)])
        if m.matches(node.test, m.Name("False") | m.Integer("0")):  # `assert False, "unreachable"`: always raise
            new_line = raise_line.with_changes(
                leading_lines=line.leading_lines, trailing_whitespace=line.trailing_whitespace
            )
            return Edit(line, new_line, "replace assert False with raise AssertionError")
        new = cst.If(
            test=_negate(node.test),
            body=cst.IndentedBlock(body=[raise_line], header=line.trailing_whitespace),
            leading_lines=line.leading_lines,
        )
        return Edit(line, new, "replace assert with if/raise AssertionError")
