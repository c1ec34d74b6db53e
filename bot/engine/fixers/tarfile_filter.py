"""B202: `TarFile.extractall` without an extraction filter follows the archive blindly.

Bandit flags every `*.extractall(...)` in a module that imports tarfile, whatever
the receiver is; `zipfile.ZipFile.extractall` has no `filter` parameter, so the
fixer only edits calls whose receiver provably comes from tarfile (an inline
`tarfile.open(...)`, a name bound only by `tarfile.open(...)`/`with ... as`, or a
parameter annotated `tarfile.TarFile`). Anything else is declined.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ScopeProvider

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args, keyword, m, set_keyword
from bot.engine.fixers.registry import register

_OPENERS = (
    "tarfile.open",
    "tarfile.TarFile",
    "tarfile.TarFile.open",
    "tarfile.TarFile.taropen",
    "tarfile.TarFile.gzopen",
    "tarfile.TarFile.bz2open",
    "tarfile.TarFile.xzopen",
)


def _opens_tarfile(ctx: FixContext, node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Call) and ctx.refers_to(node.func, *_OPENERS)


def _binding_is_tarfile(ctx: FixContext, target: cst.CSTNode) -> bool:
    """Whether one binding of a name (assignment target or parameter) yields a TarFile."""
    if isinstance(target, cst.Param):
        annotation = target.annotation
        return annotation is not None and ctx.refers_to(annotation.annotation, "tarfile.TarFile")
    parent = ctx.parent(target)
    if isinstance(parent, cst.AsName):  # with tarfile.open(...) as tar:
        item = ctx.parent(parent)
        return isinstance(item, cst.WithItem) and _opens_tarfile(ctx, item.item)
    if isinstance(parent, cst.AssignTarget):
        assign = ctx.parent(parent)
        return isinstance(assign, cst.Assign) and _opens_tarfile(ctx, assign.value)
    if isinstance(parent, cst.AnnAssign) and parent.target is target:
        return _opens_tarfile(ctx, parent.value)
    return False


def _is_tarfile(ctx: FixContext, receiver: cst.BaseExpression) -> bool:
    if isinstance(receiver, cst.Call):
        return _opens_tarfile(ctx, receiver)
    if not isinstance(receiver, cst.Name):
        return False
    scope = ctx.wrapper.resolve(ScopeProvider).get(receiver)
    if scope is None:
        return False
    # Every binding of the name must produce a TarFile (libcst is not flow-sensitive).
    bindings = [getattr(ref, "node", None) for access in scope.accesses[receiver] for ref in access.referents]
    return bool(bindings) and all(isinstance(b, cst.CSTNode) and _binding_is_tarfile(ctx, b) for b in bindings)


# The `filter` argument reached these releases as a security backport (PEP 706).
_BACKPORTS = ((3, 8, 17), (3, 9, 17), (3, 10, 12), (3, 11, 4))


def _has_backport(oldest: tuple[int, ...]) -> bool:
    """Whether every Python from `oldest` on has `filter=` (a `>=3.10` bound admits 3.10.0: no)."""
    full = (*oldest, 0, 0)[:3]
    return any(full[:2] == b[:2] and full >= b for b in _BACKPORTS)


@register
class TarfileDataFilter(Fixer):
    rule_ids = ("B202",)
    name = "tarfile-data-filter"
    title = 'Extract with filter="data"'
    explanation = (
        "Without a filter, `extractall` writes whatever the archive says: absolute paths, `../` "
        "escapes, symlinks pointing outside the target, device files and setuid bits, so a crafted "
        'tarball can overwrite files anywhere the process can write. `filter="data"` refuses those '
        "members and strips dangerous permissions (Python 3.12+, backported to 3.8.17/3.9.17/3.10.12/3.11.4)."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/22.html",
        "https://docs.python.org/3/library/tarfile.html#tarfile-extraction-filter",
        "https://peps.python.org/pep-0706/",
        "https://bandit.readthedocs.io/en/latest/plugins/b202_tarfile_unsafe_members.html",
    )
    confidence = FixConfidence.SAFE
    cases = (
        Case(
            "import tarfile\n\nwith tarfile.open(path) as tar:\n    tar.extractall(dest)\n",
            'import tarfile\n\nwith tarfile.open(path) as tar:\n    tar.extractall(dest, filter="data")\n',
            "B202",
        ),
        Case(
            "import tarfile as tf\n\n\ndef unpack(p, d):\n    archive = tf.open(p, 'r:gz')\n"
            "    archive.extractall(\n        path=d,\n    )\n    archive.close()\n",
            "import tarfile as tf\n\n\ndef unpack(p, d):\n    archive = tf.open(p, 'r:gz')\n"
            '    archive.extractall(\n        path=d,\n        filter="data",\n    )\n    archive.close()\n',
            "B202",
            note="alias import, name bound by assignment, multi-line call",
        ),
        Case(
            "import tarfile\n\ntarfile.open('données.tgz').extractall()  # déballer\n",
            "import tarfile\n\ntarfile.open('données.tgz').extractall(filter=\"data\")  # déballer\n",
            "B202",
            note="inline open, empty argument list, non-ASCII text",
        ),
        Case(
            "import tarfile\n\n\nclass Unpacker:\n    def run(self, tar: tarfile.TarFile, chosen):\n"
            "        tar.extractall(self.root, members=chosen)\n",
            "import tarfile\n\n\nclass Unpacker:\n    def run(self, tar: tarfile.TarFile, chosen):\n"
            '        tar.extractall(self.root, members=chosen, filter="data")\n',
            "B202",
            note="annotated parameter; members= kept, the filter still checks each member",
        ),
        Case(
            'import tarfile\n\nwith tarfile.open(p) as t:\n    t.extractall(d, filter="data")\n',
            note="already filtered",
        ),
        Case(
            "import tarfile\nimport zipfile\n\nwith zipfile.ZipFile(p) as z:\n    z.extractall(d)\n",
            note="zipfile has no filter argument: bandit flags it, the fixer declines",
        ),
        Case(
            "import tarfile\n\n\ndef unpack(archive, d):\n    archive.extractall(d)\n",
            note="receiver of unknown type: declined",
        ),
        Case(
            'import tarfile\n\nwith tarfile.open(p) as t:\n    t.extractall(d, filter="tar")\n',
            note="an explicit other filter is a decision, not an omission",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not m.matches(call.func, m.Attribute(attr=m.Name("extractall"))):
            return None
        if has_star_args(call) or keyword(call, "filter") is not None:
            return None
        oldest = ctx.project.min_python
        if oldest is not None and oldest < (3, 12) and not _has_backport(oldest):
            return None  # `filter=` raises TypeError on the project's oldest Pythons (before 3.12 / the backports)
        func = call.func
        assert isinstance(func, cst.Attribute)
        if not _is_tarfile(ctx, func.value):
            return None
        return Edit(call, set_keyword(call, "filter", cst.SimpleString('"data"')), 'extract with filter="data"')
