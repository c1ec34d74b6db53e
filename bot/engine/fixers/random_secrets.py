"""B311: the `random` module is predictable, so tokens drawn from it can be guessed.

Mersenne Twister output can be reconstructed from a few hundred observed values,
so passwords, reset codes or session ids made with `random` are not secret. The
`secrets` module draws from the operating system's CSPRNG. B311 fires on every
use of `random`, most of which (simulations, jitter, sampling) are fine, so this
fixer only acts when the value is plainly a secret: the name it is assigned to,
passed as, or returned from says so (token, password, otp, nonce...). The
rewrite keeps the value's range and type; it does lose seeding, which is the point.
"""

from __future__ import annotations

import ast

import libcst as cst

from bot.engine.behaviour import words as _words
from bot.engine.context import ContextCase, FindingSite, context_rule
from bot.engine.findings import Finding, FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args
from bot.engine.fixers.base.fixer import statement_text
from bot.engine.fixers.registry import register
from bot.engine.scan import is_test_path

_SECRET_WORDS = frozenset(
    {
        "token", "tokens", "password", "passwords", "passwd", "pwd", "passphrase", "secret", "secrets", "key",
        "apikey", "nonce", "salt", "otp", "totp", "hotp", "code", "pin", "session", "sid", "csrf", "xsrf", "auth",
        "verification", "reset", "invite", "invitation", "activation", "captcha", "iv", "cookie", "credential",
    }
)  # fmt: skip
# Any of these near the value means it is probably not a secret: leave it alone.
_NOT_SECRET_WORDS = frozenset(
    {
        "jitter", "delay", "backoff", "sleep", "wait", "retry", "retries", "simulate", "simulation", "sample",
        "sampling", "test", "tests", "mock", "fake", "demo", "example", "shuffle", "color", "colour", "noise",
        "dice", "roll", "game", "weight", "weights", "probability", "prob", "port", "seed", "random_state",
    }
)  # fmt: skip
# Value positions where `a + b` needs no parentheses.
_OPEN_PARENTS = (
    cst.Assign,
    cst.AnnAssign,
    cst.AugAssign,
    cst.Return,
    cst.Arg,
    cst.Element,
    cst.DictElement,
    cst.Index,
    cst.FormattedStringExpression,
)
# random.X → secrets.SystemRandom().X keeps the signature exactly.
_SYSTEM_RANDOM = frozenset({"random", "uniform", "triangular", "choices", "sample"})


def _target_text(node: cst.BaseExpression | cst.BaseAssignTargetExpression, ctx: FixContext) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript):
        return ctx.code(node.slice[0]) if node.slice else ""
    if isinstance(node, (cst.Tuple, cst.List)):
        return " ".join(_target_text(e.value, ctx) for e in node.elements)
    return ""


def _destination_words(ctx: FixContext, call: cst.Call) -> set[str]:
    """Words naming where the value goes: assignment targets, keyword/dict keys, function names."""
    text: list[str] = []
    node: cst.CSTNode | None = call
    while node is not None:
        parent = ctx.parent(node)
        if isinstance(parent, cst.Arg) and parent.keyword is not None:
            text.append(parent.keyword.value)
        elif isinstance(parent, cst.DictElement) and parent.value is node:
            text.append(ctx.code(parent.key))
        elif isinstance(parent, cst.Assign):
            text.extend(_target_text(t.target, ctx) for t in parent.targets)
        elif isinstance(parent, (cst.AnnAssign, cst.AugAssign)):
            text.append(_target_text(parent.target, ctx))
        elif isinstance(parent, (cst.FunctionDef, cst.ClassDef)):
            text.append(parent.name.value)
        node = parent
    return _words(" ".join(text))


def _int_value(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer) and not node.lpar:
        value = node.evaluated_value
        return value if isinstance(value, int) else None
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _int_value(node.expression)
        return -inner if inner is not None else None
    return None


def _simple(node: cst.BaseExpression) -> bool:
    """Names, attributes and int literals: safe to repeat in an arithmetic expression."""
    if isinstance(node, cst.Name):
        return True
    if isinstance(node, cst.Attribute):
        return _simple(node.value) and not node.lpar
    return _int_value(node) is not None


def _plus(expr: str, k: int) -> str:
    return expr if k == 0 else f"{expr} + {k}" if k > 0 else f"{expr} - {-k}"


def _range_code(ctx: FixContext, start: cst.BaseExpression, stop: cst.BaseExpression, extra: int) -> str | None:
    """`randrange(start, stop + extra)` with `secrets`: `start + secrets.randbelow(stop + extra - start)`.

    Integer literals are folded, so `randint(100000, 999999)` reads `100000 + secrets.randbelow(900000)`.
    """
    low, high = _int_value(start), _int_value(stop)
    if low is not None and high is not None:
        span = high + extra - low
        if span <= 0:
            return None  # raises ValueError today; keep that visible
        below = f"secrets.randbelow({span})"
    elif low is not None:
        below = f"secrets.randbelow({_plus(ctx.code(stop), extra - low)})"
    else:
        below = f"secrets.randbelow({_plus(f'{ctx.code(stop)} - {ctx.code(start)}', extra)})"
    return below if low == 0 else f"{ctx.code(start)} + {below}"


def _rewrite(ctx: FixContext, func: str, call: cst.Call) -> cst.BaseExpression | None:
    """The replacement expression, or None when the call shape is not one we map."""
    args = call.args
    if func in _SYSTEM_RANDOM:  # same signature on a SystemRandom instance
        return call.with_changes(func=cst.parse_expression(f"secrets.SystemRandom().{func}"))
    if any(a.keyword is not None for a in args):
        return None
    renamed = {"choice": "secrets.choice", "getrandbits": "secrets.randbits", "randbytes": "secrets.token_bytes"}
    if func in renamed and len(args) == 1:
        return call.with_changes(func=cst.parse_expression(renamed[func]))
    if func == "randrange" and len(args) == 1:
        return call.with_changes(func=cst.parse_expression("secrets.randbelow"))
    if func in ("randint", "randrange") and len(args) == 2 and all(_simple(a.value) for a in args):
        code = _range_code(ctx, args[0].value, args[1].value, 1 if func == "randint" else 0)
        return cst.parse_expression(code) if code is not None else None
    return None


def _site_words(site: FindingSite, node: ast.AST) -> set[str]:
    """Words of the statement holding the call and of the functions/classes around it."""
    statement: ast.AST = node
    for outer in site.ancestors(node):
        statement = outer
        if isinstance(outer, ast.stmt):
            break
    first = getattr(statement, "lineno", site.finding.line)
    last = min(getattr(statement, "end_lineno", None) or first, first + 5)
    text = "\n".join(site.lines[first - 1 : last])
    return _words(text + "\n" + " ".join(site.enclosing_names(node)))


@context_rule(
    "B311",
    cases=(
        ContextCase("import random\n\ndelay = base * random.uniform(0.5, 1.5)\n", False, "B311", note="jitter"),
        ContextCase("import random\n\nbatch = random.sample(rows, 100)\n", False, "B311", note="sampling"),
        ContextCase("import random\n\n\ndef pick_server(servers):\n    return random.choice(servers)\n", False, "B311"),
        ContextCase("import random\n\ntoken = random.random()\n", False, "B311", path="tests/test_auth.py"),
        ContextCase(
            "import random\nimport string\n\n\ndef make_token(n):\n"
            "    return ''.join(random.choice(string.ascii_letters) for _ in range(n))\n",
            True,
            "B311",
            note="a token stays",
        ),
        ContextCase("import random\n\nreset_code = random.randint(100000, 999999)\n", True, "B311"),
    ),
)
def not_a_secret(site: FindingSite) -> str | None:
    """B311 fires on every `random` call; it is a risk only where the value is a secret."""
    if is_test_path(site.rel_path):
        return "random values in test code"
    node = site.node
    if node is None:
        return None
    words = _site_words(site, node)
    if words & _SECRET_WORDS and not words & _NOT_SECRET_WORDS:
        return None
    return "not used for anything secret (no token, password, key or code in sight)"


@register
class RandomSecrets(Fixer):
    rule_ids = ("B311",)
    name = "random-to-secrets"
    title = "Draw secret values from the secrets module"
    explanation = (
        "The `random` module's generator is predictable: after observing some outputs an attacker "
        "can compute the next ones, so tokens, passwords or codes made with it can be guessed. The "
        "`secrets` module uses the operating system's cryptographic generator. Only values whose "
        "name marks them as secrets are changed; seeding no longer affects them."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/330.html",
        "https://docs.python.org/3/library/secrets.html",
        "https://docs.python.org/3/library/random.html",
        "https://bandit.readthedocs.io/en/latest/blacklists/blacklist_calls.html#b311-random",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import random\nimport string\n\n\ndef make_token(n=32):\n"
            "    return ''.join(random.choice(string.ascii_letters) for _ in range(n))\n",
            (
                "import secrets\n"
                "import string\n"
                "\n"
                "\n"
                "def make_token(n=32):\n"
                "    return ''.join(secrets.choice(string.ascii_letters) for _ in range(n))\n"
            ),
            "B311",
            note="function name says token",
        ),
        Case(
            "import random\n\notp_code = random.randint(100000, 999999)  # code à 6 chiffres\n",
            ("import secrets\n\notp_code = 100000 + secrets.randbelow(900000)  # code à 6 chiffres\n"),
            "B311",
            note="randint folded into randbelow",
        ),
        Case(
            "from random import randint\n\n\nclass Reset:\n    def new(self, user):\n"
            "        self.pin = randint(0, 9999)\n",
            (
                "import secrets\n"
                "\n"
                "\n"
                "class Reset:\n"
                "    def new(self, user):\n"
                "        self.pin = secrets.randbelow(10000)\n"
            ),
            "B311",
            note="from-import, attribute target",
        ),
        Case(
            "import random as rnd\n\nsend(session_id=rnd.random(), user=u)\n",
            ("import secrets\n\nsend(session_id=secrets.SystemRandom().random(), user=u)\n"),
            "B311",
            note="keyword argument name, alias import",
        ),
        Case(
            "import random\n\n\nclass Otp:\n    def new(self):\n        return str(random.randrange(10 ** 6)).zfill(6)\n",
            (
                "import secrets\n"
                "\n"
                "\n"
                "class Otp:\n"
                "    def new(self):\n"
                "        return str(secrets.randbelow(10 ** 6)).zfill(6)\n"
            ),
            "B311",
            note="class name says OTP; one-argument randrange is randbelow",
        ),
        Case(
            ("import random\n\n\ndef make_salt(lo, hi):\n    return random.randrange(lo, hi) * 2\n"),
            ("import secrets\n\n\ndef make_salt(lo, hi):\n    return (lo + secrets.randbelow(hi - lo)) * 2\n"),
            "B311",
            note="non-literal bounds; parenthesised inside an operation",
        ),
        Case(
            "import random\n\npassword = ''.join(random.choices(\n    alphabet,\n    k=16,\n))\n",
            ("import secrets\n\npassword = ''.join(secrets.SystemRandom().choices(\n    alphabet,\n    k=16,\n))\n"),
            "B311",
            note="choices through SystemRandom keeps the call's layout",
        ),
        Case("import random\n\ndelay = base * random.uniform(0.5, 1.5)\n", note="jitter: not a secret"),
        Case("import random\n\nretry_token_delay = random.random()\n", note="mixed signals: declined"),
        Case("import random\n\nrng = random.Random(42)\nkey = rng.random()\n", note="seeded generator: declined"),
        Case("import secrets\n\ntoken = secrets.token_hex(16)\n", note="already secrets"),
        Case("import random\n\ntoken = random.random()\n", path="tests/test_auth.py", note="test fixture"),
    )

    def declines(self, finding: Finding, source: str) -> bool:
        """In a test file, or no word of the flagged statement and of the functions and classes
        around it is a secret's: the words `fix` reads (assignment targets, keywords, dict keys,
        enclosing names) are among them, so it would decline too. Most `random` calls of real
        code (jitter, sampling, shuffling) are declined here, before libcst parses the file."""
        if is_test_path(finding.path):
            return True
        statement = statement_text(source, finding)
        if statement is None:
            return False
        return not _words(statement) & _SECRET_WORDS

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or has_star_args(call) or is_test_path(ctx.finding.path):
            return None  # tests use random for fixtures, not secrets
        names = ctx.qualified_names(call.func)
        if len(names) != 1:
            return None
        func = next((q[len("random.") :] for q in names if q.startswith("random.")), None)
        if func is None or "." in func:
            return None  # random.Random(...).x and friends: a seeded generator is deliberate
        words = _destination_words(ctx, call)
        if not words & _SECRET_WORDS or words & _NOT_SECRET_WORDS:
            return None
        if not ctx.name_is_free(call, "secrets"):
            return None
        new_call = _rewrite(ctx, func, call)
        if new_call is None:
            return None
        if isinstance(new_call, cst.BinaryOperation) and not isinstance(ctx.parent(call), _OPEN_PARENTS):
            new_call = new_call.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        ctx.add_import("secrets")
        return Edit(call, new_call, f"draw the value with the secrets module instead of random.{func}")
