"""B108: a hard-coded `/tmp/...` path is shared by every user of the machine.

Paths under `/tmp` are world-writable territory: another user can create the
file first, or a symlink in its place. `tempfile.gettempdir()` honours `TMPDIR`
(a private directory where one is set, as on macOS or under systemd's PrivateTmp)
and is the directory the rest of `tempfile` uses. The rewrite keeps the file name,
so it is still predictable: where the code only needs *a* temporary file, the
stronger fix is `tempfile.mkstemp()`/`NamedTemporaryFile()`; that needs changes
outside the flagged expression, which is why this fixer is review-only.

Only literals used as a path are changed: assigned, passed as an argument,
returned, or a parameter default. Strings that are data (compared, prefix-checked,
in a list, concatenated) are left alone, and so are `/var/tmp` and `/dev/shm`,
which are not what `gettempdir()` returns, and test files, where `/tmp/...` is
nearly always a fake path compared against expected output.
"""

from __future__ import annotations

import re

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer
from bot.engine.fixers.registry import register
from bot.engine.scan import is_test_path

_TMP = "/tmp"  # nosec B108 - the literal this fixer looks for, never a path it uses
_TMP_DIR = _TMP + "/"
# Methods that treat their argument as text to compare or cut, not as a path to use.
_STRING_METHODS = frozenset(
    {
        "startswith", "endswith", "replace", "split", "rsplit", "find", "rfind", "index", "rindex", "count",
        "strip", "lstrip", "rstrip", "partition", "rpartition", "removeprefix", "removesuffix", "join", "format",
        "match", "search", "fullmatch", "sub", "compile", "fnmatch", "relative_to", "is_relative_to",
    }
)  # fmt: skip


def _used_as_path(ctx: FixContext, node: cst.CSTNode) -> bool:
    parent = ctx.parent(node)
    if isinstance(parent, (cst.Assign, cst.AnnAssign, cst.Return)):
        return parent.value is node
    if isinstance(parent, cst.Param):
        return parent.default is node
    if isinstance(parent, cst.Arg) and parent.value is node and not parent.star:
        call = ctx.parent(parent)
        if not isinstance(call, cst.Call):
            return False
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        return name not in _STRING_METHODS
    return False


def _rest_of_simple(node: cst.SimpleString) -> tuple[bool, cst.SimpleString | None]:
    """(usable, the literal without `/tmp/` in the same quotes, or None for `/tmp` itself)."""
    value = node.evaluated_value
    if not isinstance(value, str):
        return False, None
    if value in (_TMP, _TMP_DIR):
        return True, None
    body = node.value[len(node.prefix) + len(node.quote) : -len(node.quote)]
    if not value.startswith(_TMP_DIR) or value.endswith("/") or not body.startswith(_TMP_DIR):
        return False, None  # `/tmpfoo`, a trailing slash that may matter, or escapes in the prefix
    rest = body[len(_TMP_DIR) :]
    return True, node.with_changes(value=f"{node.prefix}{node.quote}{rest}{node.quote}")


def _rest_of_fstring(node: cst.FormattedString) -> cst.FormattedString | None:
    first = node.parts[0] if node.parts else None
    if not isinstance(first, cst.FormattedStringText) or not first.value.startswith(_TMP_DIR):
        return None
    rest = first.value[len(_TMP_DIR) :]
    parts = ([first.with_changes(value=rest)] if rest else []) + list(node.parts[1:])
    if not parts:
        return None
    last = parts[-1]
    if isinstance(last, cst.FormattedStringText) and last.value.endswith("/"):
        return None
    return node.with_changes(parts=parts)


# Words near the path that say it is not a path on this host.
_ELSEWHERE = frozenset(
    {"hdfs", "docker", "container", "containers", "remote", "cluster", "shared", "share", "s3", "gcs", "ssh",
     "sftp", "scp", "pod", "kubernetes", "node", "nodes", "darwin", "macos", "lsf", "slurm", "sge"}
)  # fmt: skip


def _elsewhere(ctx: FixContext) -> bool:
    text = ctx.code(ctx.statement) + " " + ctx.finding.path
    node: cst.CSTNode | None = ctx.statement
    while node is not None:
        if isinstance(node, cst.FunctionDef | cst.ClassDef):
            text += " " + node.name.value
        node = ctx.parent(node)
    words = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", text))}
    return bool(words & _ELSEWHERE)


@register
class TmpDir(Fixer):
    rule_ids = ("B108",)
    name = "tmp-dir-gettempdir"
    title = "Build the path from tempfile.gettempdir()"
    explanation = (
        "A hard-coded `/tmp` path lives in a directory every local user can write to, so another "
        "user can create the file or a symlink first. `tempfile.gettempdir()` respects `TMPDIR`, "
        "which can point to a private directory. The file name stays predictable and other programs "
        "that expect the literal `/tmp` path will no longer find it; prefer `mkstemp()` where any "
        "fresh file will do."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/377.html",
        "https://docs.python.org/3/library/tempfile.html#tempfile.gettempdir",
        "https://bandit.readthedocs.io/en/latest/plugins/b108_hardcoded_tmp_directory.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "def upload(client, name, tmp_dir='/tmp/luigi'):\n    return client.put(name, 'hdfs://' + tmp_dir)\n",
            note="an HDFS path, not this host's /tmp: declined",
        ),
        Case(
            "import os\n\nLOG_PATH = '/tmp/app.log'\n",
            "import os\nimport tempfile\n\nLOG_PATH = os.path.join(tempfile.gettempdir(), 'app.log')\n",
            "B108",
        ),
        Case(
            'import tempfile\n\n\ndef export(rows, out="/tmp"):\n    return write(rows, out)\n',
            "import tempfile\n\n\ndef export(rows, out=tempfile.gettempdir()):\n    return write(rows, out)\n",
            "B108",
            note="parameter default, the directory itself",
        ),
        Case(
            "import os\n\n\nclass Report:\n    def save(self, name):\n"
            "        with open(f'/tmp/{name}-résumé.pdf', 'wb') as fh:\n"
            "            fh.write(self.data)\n",
            "import os\nimport tempfile\n\n\nclass Report:\n    def save(self, name):\n"
            "        with open(os.path.join(tempfile.gettempdir(), f'{name}-résumé.pdf'), 'wb') as fh:\n"
            "            fh.write(self.data)\n",
            "B108",
            note="f-string argument in a method, non-ASCII text",
        ),
        Case(
            "import shutil\n\nshutil.copy(src, dst=r'/tmp/build/out.tar')  # archive\n",
            (
                "import os\n"
                "import shutil\n"
                "import tempfile\n"
                "\n"
                "shutil.copy(src, dst=os.path.join(tempfile.gettempdir(), r'build/out.tar'))  # archive\n"
            ),
            "B108",
            note="keyword argument, raw string keeps its prefix",
        ),
        Case("def is_temp(p):\n    return p.startswith('/tmp/')\n", note="prefix check: data, not a path to use"),
        Case("SKIP = ['/tmp', '/var/tmp']\n", note="a list of directories: data"),
        Case("CACHE = '/var/tmp/cache.db'\n", note="`/var/tmp` is not gettempdir(); declined"),
        Case("import tempfile\n\nLOG = tempfile.gettempdir()\n", note="already gettempdir"),
        Case("m.__file__ = '/tmp/foo.py'\n", path="tests/test_module.py", note="test data"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        node = ctx.flagged
        if is_test_path(ctx.finding.path):
            return None
        rest: cst.BaseExpression | None
        if isinstance(node, cst.SimpleString):
            usable, rest = _rest_of_simple(node)
            if not usable:
                return None
        elif isinstance(node, cst.FormattedString):
            rest = _rest_of_fstring(node)
            if rest is None:
                return None
        else:
            return None
        if node.lpar or not _used_as_path(ctx, node) or not ctx.name_is_free(node, "tempfile"):
            return None
        if _elsewhere(ctx):
            return None  # a path on another machine (HDFS, a container, a cluster share): not this host's /tmp
        ctx.add_import("tempfile")
        tmp = cst.parse_expression("tempfile.gettempdir()")
        if rest is None:
            return Edit(node, tmp, "use tempfile.gettempdir() instead of /tmp")
        if not ctx.name_is_free(node, "os"):
            return None
        ctx.add_import("os")
        joined = cst.Call(
            func=cst.parse_expression("os.path.join"),
            args=[cst.Arg(tmp, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), cst.Arg(rest)],
        )
        return Edit(node, joined, "build the path from tempfile.gettempdir()")
