"""B105/B106/B107: a secret written into the source is readable by anyone who can read the code.

The fix reads it from the environment at run time instead, under the UPPER_SNAKE form
of the name it was given (`db_password` → `DB_PASSWORD`). Most hits of these rules are
labels, not secrets (`token_type = "bearer"`, `PASSWORD_FIELD = "password"`, prompts,
URLs), so anything that looks like a label, a comparison or a dict key is declined.
The suspected secret is never copied into a description.
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from bot.engine.context import ContextCase, FindingSite, context_rule
from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, name_is_free_or
from bot.engine.fixers.registry import register

# Bandit's own test for a secret-looking name (general_hardcoded_password.RE_CANDIDATES).
_WORDS = "(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)"
_CANDIDATE = re.compile(f"(^{_WORDS}$|_{_WORDS}_|^{_WORDS}_|_{_WORDS}$)", re.IGNORECASE)
_SECRET_WORD = re.compile(r"pass|pwd|token|secret", re.IGNORECASE)

# A name with one of these words names something *about* a secret, not the secret.
_LABEL_NAME_WORDS = frozenset(
    {
        "attr", "attribute", "class", "col", "column", "count", "dir", "endpoint", "env", "error",
        "expires", "expiry", "fail", "field", "file", "fmt", "format", "hash", "header", "help",
        "hint", "id", "input", "kind", "label", "len", "length", "limit", "location", "max",
        "bad", "changed", "delim", "delimiter", "dummy", "end", "example", "fake", "incorrect", "invalid",
        "last", "mock", "ref", "regexp", "reset", "rx", "sample", "start", "test", "used", "wrong",
        "message", "method", "min", "mode", "msg", "name", "output", "param", "parameter", "path",
        "pattern", "placeholder", "policy", "prefix", "prompt", "reason", "regex", "scheme", "sep",
        "size", "state", "status", "style", "suffix", "template", "text", "timeout", "title",
        "ttl", "type", "uri", "url", "validator", "var", "widget",
    }
)  # fmt: skip
# Identifier-like values that are vocabulary, not credentials.
_LABEL_VALUES = frozenset(
    {
        "basic", "bearer", "default", "digest", "disabled", "enabled", "false", "hidden", "jwt",
        "mac", "none", "null", "oauth", "optional", "plain", "required", "true", "unset",
    }
)  # fmt: skip
_PLACEHOLDER = re.compile(r"\{[^}]*\}|<[^>]*>|\$\{|%\(|%s|\*\*\*|\\[a-zA-Z]|\(\?|\[\^|\]\*|\]\+")
# Variables the process environment already uses for something else.
_RESERVED_ENV = frozenset({"HOME", "LANG", "LOGNAME", "OLDPWD", "PATH", "PWD", "SHELL", "TERM", "TMPDIR", "USER"})
_TEST_PATH = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_tests?\.py$|(^|/)conftest\.py$")


def looks_like_label(name: str, value: str) -> bool:
    """Whether a literal given to a secret-looking name is more likely a label than a secret."""
    words = {w for w in re.split(r"[_\W]+", _snake(name).lower()) if w}
    if words & _LABEL_NAME_WORDS:
        return True
    text = value.strip()
    if len(text) <= 2 or text != value or any(c.isspace() for c in text):
        return True  # empty, flags like "1", prompts and messages
    if "://" in text or text.startswith(("/", "./", "~")) or _PLACEHOLDER.search(text):
        return True  # URLs, paths, templates and placeholders
    if re.fullmatch(r"[A-Za-z]+(?:[_.:-][A-Za-z]+)+", text):
        return True  # `not_supported`, `auth.token`, `input-token`: vocabulary, not a credential
    if re.fullmatch(r"[A-Za-z]+", text):  # one plain word: a label only if it is a known one
        return text.lower() in _LABEL_VALUES or _SECRET_WORD.search(text) is not None
    return False


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)


def env_var_name(name: str) -> str | None:
    """`dbPassword`/`db_password` → `DB_PASSWORD`; None if that is not a plain variable name."""
    env = _snake(name).strip("_").upper()
    return env if re.fullmatch(r"[A-Z][A-Z0-9_]*", env) and env not in _RESERVED_ENV else None


def secret_literal(node: cst.BaseExpression) -> str | None:
    """The text of a plain str literal (no bytes, no f-string), or None."""
    if not isinstance(node, cst.SimpleString) or any(c in node.prefix.lower() for c in "br"):
        return None  # raw strings are regexes and paths, not credentials
    value = node.evaluated_value
    return value if isinstance(value, str) else None


def environ(var: str, like: cst.SimpleString) -> cst.Subscript:
    """`os.environ["VAR"]`, quoted like the literal it replaces."""
    quote = like.quote[0]
    return cst.Subscript(
        value=cst.Attribute(value=cst.Name("os"), attr=cst.Name("environ")),
        slice=[cst.SubscriptElement(cst.Index(cst.SimpleString(f"{quote}{var}{quote}")))],
    )


def _replacement(name: str, node: cst.BaseExpression) -> tuple[str, cst.Subscript] | None:
    value = secret_literal(node)
    var = env_var_name(name)
    if value is None or var is None or not plausible_secret(name, value):
        return None
    assert isinstance(node, cst.SimpleString)
    return var, environ(var, node)


def _is_string_constant(node: cst.BaseExpression) -> bool:
    """What bandit sees as a str constant: a literal, or implicitly joined literals."""
    if isinstance(node, cst.SimpleString):
        return "b" not in node.prefix.lower()
    if isinstance(node, cst.ConcatenatedString):
        return _is_string_constant(node.left) and _is_string_constant(node.right)
    return False


def _docstring_count(body: cst.IndentedBlock) -> int:
    first = body.body[0] if body.body else None
    if (
        isinstance(first, cst.SimpleStatementLine)
        and len(first.body) == 1
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        return 1
    return 0


# Values that stand in for a secret: placeholders, documented public defaults, redaction marks.
_STAND_INS = frozenset(
    {
        "changeme", "change_me", "changeit", "redacted", "hidden", "secret", "password", "passwd", "token",
        "guest", "anonymous", "anon", "example", "sample", "dummy", "placeholder", "xxx", "todo", "fixme",
        "your_password", "your-password", "yourpassword", "mypassword", "notset", "not_set",
    }
)  # fmt: skip
_MASK_CHARS = frozenset("*xX#•.-_?:")


def plausible_secret(name: str, value: str) -> bool:
    """Whether a literal given to a secret-looking name could be a real credential.

    Not: a label (`looks_like_label`), a mask (`":****"`, `"xxxx"`), a placeholder or a
    documented public default (`"changeme"`, `"guest"`), an ALL_CAPS marker
    (`"NOT_LOGGING_PASSWORD"`), or a short / low-variety string (`"abc"`, `"aaaaaa"`).
    """
    text = value.strip()
    if looks_like_label(name, value) or text.lower() in _STAND_INS:
        return False
    if sum(c in _MASK_CHARS for c in text) * 2 >= len(text):
        return False
    if re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*", text) and "_" in text:
        return False
    return len(text) >= 6 and len(set(text)) >= 4


def _assigned_name(site: FindingSite, node: ast.AST) -> str | None:
    parent = site.parent(node)
    if isinstance(parent, ast.Subscript) and parent.slice is node and isinstance(node, ast.Constant):
        return str(node.value)  # `result["password"] = ...`: bandit points at the key
    targets: list[ast.expr] = []
    if isinstance(parent, ast.Assign):
        targets = list(parent.targets)
    elif isinstance(parent, ast.AnnAssign):
        targets = [parent.target]
    elif isinstance(parent, ast.Compare):
        targets = [parent.left, *parent.comparators]
    elif isinstance(parent, ast.Dict):
        for key, value in zip(parent.keys, parent.values, strict=True):
            if value is node and isinstance(key, ast.Constant) and isinstance(key.value, str):
                return key.value
    for target in targets:
        if isinstance(target, ast.Name):
            return target.id
        if isinstance(target, ast.Attribute):
            return target.attr
        if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
            return str(target.slice.value)
    return None


def _literals(site: FindingSite) -> list[tuple[str, str]]:
    """(name, value) pairs of the string literals the finding is about."""
    rule = site.finding.rule_id
    node = site.node_of({"B105": ast.Constant, "B106": ast.Call}.get(rule, ast.FunctionDef)) or site.node
    if rule == "B105" and isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _string_literal(site, node, node.value)
    if rule == "B106" and isinstance(node, ast.Call):
        return _keyword_literals(node)
    if rule == "B107" and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return _default_literals(node)
    return []


def _string_literal(site: FindingSite, node: ast.Constant, text: str) -> list[tuple[str, str]]:
    """B105 points at a string: a dict key (`{"token": ...}`), a subscript key
    (`conf["password"] = ...`), or the value assigned to or compared with a name."""
    parent = site.parent(node)
    if isinstance(parent, ast.Dict) and node in parent.keys:  # `{"token_type": "Bearer"}`, `{"token": None}`
        item = parent.values[parent.keys.index(node)]
        return [(text, _str_value(item))]
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        assign = site.parent(parent)
        value = assign.value if isinstance(assign, ast.Assign) else None
        return [(text, value.value)] if isinstance(value, ast.Constant) and isinstance(value.value, str) else []
    name = _assigned_name(site, node)
    return [(name, text)] if name else []


def _str_value(node: ast.AST | None) -> str:
    """A str constant's value; "" for anything else (no literal secret there)."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


def _keyword_literals(call: ast.Call) -> list[tuple[str, str]]:
    """B106: the call's secret-like keywords passed a str literal."""
    return [
        (kw.arg, kw.value.value)
        for kw in call.keywords
        if kw.arg and _CANDIDATE.search(kw.arg) and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)
    ]


def _default_literals(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, str]]:
    """B107: the function's secret-like parameters whose default is a str literal."""
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
    return [
        (arg.arg, default.value)
        for arg, default in pairs
        if _CANDIDATE.search(arg.arg) and isinstance(default, ast.Constant) and isinstance(default.value, str)
    ]


@context_rule(
    "B105",
    "B106",
    "B107",
    cases=(
        ContextCase('MASK = None\npassword = ":****"\n', False, "B105", note="a mask"),
        ContextCase('result = {}\nresult["password"] = "NOT_LOGGING_PASSWORD"\n', False, "B105", note="a marker"),
        ContextCase('FTP_PASSWORD = "guest"\n', False, "B105", note="documented anonymous default"),
        ContextCase('token_type = "bearer"\n', False, "B105", note="a token type"),
        ContextCase('password = "changeme"\n', False, "B105", note="placeholder"),
        ContextCase('DB_PASSWORD = "hunter2"\n', False, "B105", path="tests/test_db.py", note="test data"),
        ContextCase('def login(user, password="xxxxxxxx"):\n    pass\n', False, "B107"),
        ContextCase('connect(host="db", password="")\n', False, "B106", note="empty"),
        ContextCase("ref = {'token': None}\n", False, "B105", note="a dict key with no literal secret"),
        ContextCase("resp = {'access_token': tok, 'token_type': 'Bearer'}\n", False, "B105", note="a token type"),
        ContextCase("conf = {'password': 'Zq8#kLm2pW'}\n", True, "B105", note="a literal secret in a dict stays"),
        ContextCase('DB_PASSWORD = "hunter2"\n', True, "B105", note="a real-looking secret stays"),
        ContextCase('connect(host="db", password="Tr0ub4dor&3")\n', True, "B106"),
        ContextCase('def login(user, password="s3cr3t-pw"):\n    pass\n', True, "B107"),
    ),
)
def not_a_real_secret(site: FindingSite) -> str | None:
    """B105–B107 match names; most matches hold labels, masks and placeholders, not credentials."""
    if _TEST_PATH.search(site.rel_path):
        return "test data in a test file"
    pairs = _literals(site)
    if pairs and not any(plausible_secret(name, value) for name, value in pairs):
        return "the string is a label, mask or placeholder, not a credential"
    return None


@register
class HardcodedSecretFromEnv(Fixer):
    rule_ids = ("B105", "B106", "B107")
    name = "secret-from-env"
    title = "Read the secret from the environment"
    explanation = (
        "A password or token written into the source is visible to everyone who can read the "
        "repository, its history and its built packages, and it cannot be rotated without a "
        "release. Reading it from an environment variable keeps it out of the code; the variable "
        "must then be set wherever the code runs, and a missing one fails loudly with KeyError."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/259.html",
        "https://docs.python.org/3/library/os.html#os.environ",
        "https://bandit.readthedocs.io/en/latest/plugins/b105_hardcoded_password_string.html",
        "https://bandit.readthedocs.io/en/latest/plugins/b106_hardcoded_password_funcarg.html",
        "https://bandit.readthedocs.io/en/latest/plugins/b107_hardcoded_password_default.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import os\n\nDB_PASSWORD = 'hunter2'\n",
            note="module level: reading a required variable at import would stop the program starting",
        ),
        Case(
            "import os\n\n\ndef connect():\n    db_password = 'hunter2'\n    return open_db(db_password)\n",
            "import os\n\n\ndef connect():\n    db_password = os.environ['DB_PASSWORD']\n    return open_db(db_password)\n",
            "B105",
            note="inside a function: read when called",
        ),
        Case(
            'class Client:\n    def __init__(self):\n        self.api_token = "s3cr3t-Ä"  # schlüssel\n',
            (
                "import os\n"
                "\n"
                "\n"
                "class Client:\n"
                "    def __init__(self):\n"
                '        self.api_token = os.environ["API_TOKEN"]  # schlüssel\n'
            ),
            "B105",
            note="attribute target, non-ASCII text; import added",
        ),
        Case(
            "import psycopg2\n\n\ndef connect():\n    return psycopg2.connect(\n        host='db',\n"
            "        password='tiger-Scott-42',\n    )\n",
            "import os\n\nimport psycopg2\n\n\ndef connect():\n    return psycopg2.connect(\n        host='db',\n"
            "        password=os.environ['PASSWORD'],\n    )\n",
            "B106",
            note="keyword argument in a multi-line call",
        ),
        Case(
            'def login(user, password="hunter2"):\n    """Log in."""\n    return check(user, password)\n',
            (
                "import os\n"
                "\n"
                "\n"
                "def login(user, password=None):\n"
                '    """Log in."""\n'
                "    if password is None:\n"
                '        password = os.environ["PASSWORD"]\n'
                "    return check(user, password)\n"
            ),
            "B107",
            note="default argument: None, read at call time after the docstring",
        ),
        Case(
            "import os\n\n\nclass Api:\n    @staticmethod\n    def call(url, auth_token='abc123', retry=3):\n"
            "        return get(url, auth_token)\n",
            "import os\n\n\nclass Api:\n    @staticmethod\n    def call(url, auth_token=None, retry=3):\n"
            "        if auth_token is None:\n            auth_token = os.environ['AUTH_TOKEN']\n"
            "        return get(url, auth_token)\n",
            "B107",
            note="decorated method, parameter in the middle",
        ),
        Case("token_type = 'bearer'\n", note="a label, not a secret"),
        Case("PASSWORD_FIELD = 'password'\n", note="a label name and value"),
        Case("def f(t):\n    if t.token == 'expired':\n        return None\n", note="comparison"),
        Case("headers = {'token': 'abc123'}\n", note="dict key: declined"),
        Case("password = ''\n", note="empty string"),
        Case("def f():\n    password = ':****'\n", note="a mask: not reported (context rule)"),
        Case("DB_PASSWORD = 'hunter2'\n", path="tests/test_db.py", note="test data in a test file"),
        Case("zf.pwd = 'hunter2'\n", note="PWD is the working directory variable: declined"),
        Case("password_last_used = 'not_supported'\n", note="snake_case vocabulary"),
        Case("TOKEN_RE = r'[A-Z]\\w*'\n", note="raw string (a regex): declined"),
        Case("import os\n\npassword = os.environ['PASSWORD']\n", note="already safe"),
        Case("def f(password: str = 'hunter2'):\n    return password\n", note="annotated: declined"),
        Case("def f(os, password='hunter2'):\n    return os\n", note="`os` is a parameter here: declined"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        node = ctx.flagged
        if _TEST_PATH.search(ctx.finding.path.replace("\\", "/")):
            return None  # test fixtures' passwords are test data; moving them would break the tests
        # The new `os.environ` reference lands in the flagged statement, or for B107 in the
        # function body, where a parameter or local named `os` would shadow the module.
        inner = node.body.body[0] if isinstance(node, cst.FunctionDef) and node.body.body else ctx.statement
        if not name_is_free_or(ctx, inner, "os", "os"):
            return None
        if ctx.finding.rule_id == "B105" and isinstance(node, cst.SimpleString):
            edit = self._assignment(ctx, node)
        elif ctx.finding.rule_id == "B106" and isinstance(node, cst.Call):
            edit = self._call(node)
        elif ctx.finding.rule_id == "B107" and isinstance(node, cst.FunctionDef):
            edit = self._default(node)
        else:
            return None
        if edit is not None:
            ctx.add_import("os")
        return edit

    def _assignment(self, ctx: FixContext, node: cst.SimpleString) -> Edit | None:
        assign = ctx.parent(node)
        if not isinstance(assign, cst.Assign) or assign.value is not node or len(assign.targets) != 1:
            return None
        target = assign.targets[0].target
        if isinstance(target, cst.Name):
            name = target.value
        elif isinstance(target, cst.Attribute):
            name = target.attr.value
        else:
            return None
        found = _replacement(name, node)
        if found is None or not _CANDIDATE.search(name):
            return None
        var, new = found
        return Edit(node, new, f"read `{name}` from the {var} environment variable instead of a literal")

    def _call(self, call: cst.Call) -> Edit | None:
        args = list(call.args)
        names: list[str] = []
        for index, arg in enumerate(args):
            if arg.keyword is None or not _CANDIDATE.search(arg.keyword.value):
                continue
            if not _is_string_constant(arg.value):
                continue  # not a literal: bandit does not flag it
            found = _replacement(arg.keyword.value, arg.value)
            if found is None:
                return None  # a label, or a literal we cannot rewrite: bandit would still flag the call
            args[index] = arg.with_changes(value=found[1])
            names.append(found[0])
        if not names:
            return None
        listed = ", ".join(names)
        return Edit(call, call.with_changes(args=args), f"read the secret arguments from the environment ({listed})")

    def _default(self, func: cst.FunctionDef) -> Edit | None:
        params = func.params
        body = func.body
        if params.posonly_params or not isinstance(body, cst.IndentedBlock):
            return None
        new_params = list(params.params)
        guards: list[cst.BaseStatement] = []
        names: list[str] = []
        for index, param in enumerate(new_params):
            name = param.name.value
            if param.default is None or not _CANDIDATE.search(name) or not _is_string_constant(param.default):
                continue
            found = _replacement(name, param.default)
            if found is None or param.annotation is not None:
                return None  # `password: str = None` would be wrong; a label stays as it is
            var, env = found
            new_params[index] = param.with_changes(default=cst.Name("None"))
            guards.append(
                cst.If(
                    test=cst.Comparison(cst.Name(name), [cst.ComparisonTarget(cst.Is(), cst.Name("None"))]),
                    body=cst.IndentedBlock(
                        [cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], env)])]
                    ),
                )
            )
            names.append(var)
        if not guards:
            return None
        at = _docstring_count(body)
        new_body = body.with_changes(body=[*body.body[:at], *guards, *body.body[at:]])
        new_func = func.with_changes(params=params.with_changes(params=new_params), body=new_body)
        listed = ", ".join(names)
        description = f"default the secret parameters to None and read them from the environment ({listed})"
        return Edit(func, new_func, description)
