"""B306: `tempfile.mktemp` returns a name that another process can claim before we use it.

Between `mktemp()` choosing a free name and the program creating the file, an
attacker can create that path (often a symlink to a file of theirs). `mkstemp`
creates the file atomically with mode 0600 and returns an open descriptor; the
rewrite closes that descriptor at once so the rest of the code keeps working with
a path, which now names an existing, private, empty file. Uses that need the path
*not* to exist are declined: a directory made from it (`os.mkdir`; `mkdtemp` would
be the fix, but the later `mkdir` then fails and is outside the edit), a Unix
socket's `bind`, `mkfifo`, `symlink`, `open(path, "x")`, and names that say the
path is for a socket, a pipe or a directory (the use may be in another function).
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import ScopeProvider

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, attribute_chain, has_star_args
from bot.engine.fixers.registry import register

_PARAMS = ("suffix", "prefix", "dir")  # mktemp's, in order; mkstemp/mkdtemp take the same first three
_WANTS_NO_FILE = frozenset(
    {"mkdir", "makedirs", "bind", "mkfifo", "mknod", "symlink", "link", "copytree", "connect", "open:x"}
)
_FD_NAMES = ("fd", "tmp_fd")
# Words in the target, the call's arguments or the enclosing function that say the path must not exist yet.
_NOT_A_FILE_WORDS = frozenset(
    {"sock", "socket", "sockets", "fifo", "pipe", "addr", "address", "dir", "dirs", "directory", "folder"}
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _unused(ctx: FixContext, node: cst.CSTNode, name: str) -> bool:
    scope = ctx.wrapper.resolve(ScopeProvider).get(node)
    return scope is not None and not scope[name] and not scope.accesses[name]


def _later_uses(ctx: FixContext, target: cst.Name) -> set[str]:
    """Names of the functions/methods the path is passed to (`os.mkdir(path)` → {"mkdir"})."""
    scope = ctx.wrapper.resolve(ScopeProvider).get(target)
    if scope is None:
        return set()
    used: set[str] = set()
    for access in scope.accesses[target.value]:
        arg = ctx.parent(access.node)
        call = ctx.parent(arg) if isinstance(arg, cst.Arg) else None
        if isinstance(call, cst.Call):
            chain = attribute_chain(call.func)
            if chain:
                used.add(chain.rsplit(".", 1)[-1])
            mode = call.args[1].value if chain == "open" and len(call.args) > 1 else None
            if isinstance(mode, cst.SimpleString) and "x" in str(mode.evaluated_value):
                used.add("open:x")  # exclusive creation fails on an existing file
    return used


def _context_words(ctx: FixContext, call: cst.Call, target: cst.BaseExpression) -> set[str]:
    text = [ctx.code(target)] + [ctx.code(a.value) for a in call.args]
    node: cst.CSTNode | None = call
    while node is not None:
        if isinstance(node, cst.FunctionDef):
            text.append(node.name.value)
        node = ctx.parent(node)
    return {w.lower() for token in re.findall(r"[A-Za-z0-9]+", " ".join(text)) for w in _WORD.findall(token)}


def _args_supported(call: cst.Call) -> bool:
    positional = [a for a in call.args if a.keyword is None]
    keywords = [a.keyword.value for a in call.args if a.keyword is not None]
    return len(positional) <= len(_PARAMS) and all(k in _PARAMS for k in keywords)


@register
class MktempToMkstemp(Fixer):
    rule_ids = ("B306",)
    name = "mktemp-to-mkstemp"
    title = "Create the temporary file atomically with mkstemp"
    explanation = (
        "`tempfile.mktemp` only picks a name; another process can create that path (for example a "
        "symlink) before this program does, and the program then writes where the attacker chose. "
        "`mkstemp` creates the file itself, atomically and readable only by its owner. The file now "
        "exists when the code continues (and `mkdtemp` creates the directory when one was wanted)."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/377.html",
        "https://docs.python.org/3/library/tempfile.html#tempfile.mkstemp",
        "https://bandit.readthedocs.io/en/latest/blacklists/blacklist_calls.html#b306-mktemp-q",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import os\nimport tempfile\n\n\ndef dump(data):\n    path = tempfile.mktemp('.json')\n"
            "    with open(path, 'w') as fh:\n        fh.write(data)\n    return path\n",
            "import os\nimport tempfile\n\n\ndef dump(data):\n"
            "    fd, path = tempfile.mkstemp('.json')\n    os.close(fd)\n"
            "    with open(path, 'w') as fh:\n        fh.write(data)\n    return path\n",
            "B306",
        ),
        Case(
            "from tempfile import mktemp\n\nout = mktemp(prefix='rapport-', dir=base)  # fichier de sortie\n",
            (
                "import os\n"
                "from tempfile import mkstemp\n"
                "\n"
                "fd, out = mkstemp(prefix='rapport-', dir=base)  # fichier de sortie\n"
                "os.close(fd)\n"
            ),
            "B306",
            note="from-import, keywords, comment stays on the first line; adds `import os`",
        ),
        Case(
            "import tempfile\nimport os\n\n\nclass Job:\n    def run(self):\n"
            "        self.log = tempfile.mktemp(\n            suffix='.log',\n        )\n",
            "import tempfile\nimport os\n\n\nclass Job:\n    def run(self):\n"
            "        fd, self.log = tempfile.mkstemp(\n            suffix='.log',\n        )\n        os.close(fd)\n",
            "B306",
            note="attribute target, multi-line call with a trailing comma",
        ),
        Case(
            "import tempfile\n\n\ndef f(fd):\n    p = tempfile.mktemp()\n    return p\n",
            (
                "import os\n"
                "import tempfile\n"
                "\n"
                "\n"
                "def f(fd):\n"
                "    tmp_fd, p = tempfile.mkstemp()\n"
                "    os.close(tmp_fd)\n"
                "    return p\n"
            ),
            "B306",
            note="`fd` is taken: another name for the descriptor",
        ),
        Case(
            "import socket\nimport tempfile\n\naddr = tempfile.mktemp()\nsock = socket.socket(socket.AF_UNIX)\n"
            "sock.bind(addr)\n",
            note="a Unix socket path must not exist: declined",
        ),
        Case("import tempfile\n\nopen(tempfile.mktemp(), 'w')\n", note="not an assignment: declined"),
        Case(
            "import tempfile\n\n\ndef pick_addr():\n    fn = tempfile.mktemp(prefix='unix_socket.')\n    return fn\n",
            note="a socket address, bound elsewhere: declined",
        ),
        Case(
            "import os\nimport tempfile\n\nwork = tempfile.mktemp()\nos.mkdir(work)\n",
            note="a directory is made from the name: the later mkdir would fail; declined",
        ),
        Case("import tempfile\n\nfd, path = tempfile.mkstemp()\n", note="already mkstemp"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        found = _path_assignment(ctx)
        if found is None:
            return None
        call, line, assign = found
        target = assign.targets[0].target
        if not _may_exist(ctx, call, target):
            return None
        new_func = _mkstemp(ctx, call)
        if new_func is None:
            return None
        fd = next((n for n in _FD_NAMES if _unused(ctx, call, n)), None)
        if fd is None or not ctx.name_is_free(call, "os"):
            return None
        ctx.add_import("os")
        pair = cst.Tuple(
            elements=[
                cst.Element(cst.Name(fd), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                cst.Element(target),
            ],
            lpar=[],
            rpar=[],
        )
        new_call = call.with_changes(func=new_func)
        new_assign = assign.with_changes(targets=[assign.targets[0].with_changes(target=pair)], value=new_call)
        first = line.with_changes(body=[new_assign])
        close = cst.SimpleStatementLine(body=[cst.Expr(cst.parse_expression(f"os.close({fd})"))])
        return Edit(line, cst.FlattenSentinel([first, close]), "create the file with tempfile.mkstemp (it now exists)")


def _path_assignment(ctx: FixContext) -> tuple[cst.Call, cst.SimpleStatementLine, cst.Assign] | None:
    """The flagged `tempfile.mktemp(...)` call when it is the whole value of a one-target
    assignment on its own line: the only shape where the path has a name to keep using."""
    call, line = ctx.flagged, ctx.statement
    if not isinstance(call, cst.Call) or has_star_args(call) or not _args_supported(call):
        return None
    if not ctx.refers_to(call.func, "tempfile.mktemp"):
        return None
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    assign = line.body[0]
    if not isinstance(assign, cst.Assign) or assign.value is not call or len(assign.targets) != 1:
        return None
    return call, line, assign


def _may_exist(ctx: FixContext, call: cst.Call, target: cst.BaseAssignTargetExpression) -> bool:
    """Whether the code can live with the path naming an existing file: the target is a plain
    variable or attribute, no word around it says socket/pipe/directory, and a variable is
    not passed on to something that must create the path itself (`os.mkdir`, `bind`, ...)."""
    if _context_words(ctx, call, target) & _NOT_A_FILE_WORDS:
        return False
    if isinstance(target, cst.Name):
        return not _later_uses(ctx, target) & _WANTS_NO_FILE
    return isinstance(target, cst.Attribute) and attribute_chain(target) is not None  # not a tuple or subscript


def _mkstemp(ctx: FixContext, call: cst.Call) -> cst.BaseExpression | None:
    """`tempfile.mkstemp` spelled as the call spelled mktemp (attribute, or a from-import of a
    free name)."""
    if isinstance(call.func, cst.Attribute):
        return call.func.with_changes(attr=cst.Name("mkstemp"))
    if isinstance(call.func, cst.Name) and ctx.name_is_free(call, "mkstemp", "tempfile.mkstemp"):
        ctx.add_import("tempfile", "mkstemp")
        return cst.Name("mkstemp")
    return None
