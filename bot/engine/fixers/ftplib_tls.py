"""B321: plain FTP sends the password and the files in cleartext.

`ftplib.FTP_TLS` is a drop-in subclass of `ftplib.FTP` for the first four
positional parameters and every keyword `FTP` takes (its fifth positional is
`keyfile`, not `timeout`, so longer positional lists are declined). The edit is
confined to the constructor call; the data channel is only encrypted once the
code calls `prot_p()` after logging in, which the suggestion points out.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ScopeProvider

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer
from bot.engine.fixers.registry import register

# Parameters of ftplib.FTP that FTP_TLS accepts with the same meaning.
_SHARED_KEYWORDS = {"host", "user", "passwd", "acct", "timeout", "source_address", "encoding"}
_SHARED_POSITIONALS = 4  # host, user, passwd, acct


def _module_alias(module: cst.Module) -> str | None:
    """The name a top-level `import ftplib [as x]` binds, if the file has one."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.Import):
                continue
            for alias in small.names:
                if isinstance(alias.name, cst.Name) and alias.name.value == "ftplib":
                    if alias.asname is None:
                        return "ftplib"
                    if isinstance(alias.asname.name, cst.Name):
                        return alias.asname.name.value
    return None


@register
class FtpOverTls(Fixer):
    rule_ids = ("B321",)
    name = "ftp-over-tls"
    title = "Use ftplib.FTP_TLS instead of plain FTP"
    explanation = (
        "Plain FTP sends the user name, password and file contents unencrypted, so anyone on the "
        "network path can read or alter them. `ftplib.FTP_TLS` upgrades the control connection with "
        "TLS before logging in (it verifies the server against the system CAs); call `prot_p()` after "
        "`login()` to encrypt the data transfers too. The server must support FTPS (AUTH TLS)."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/319.html",
        "https://docs.python.org/3/library/ftplib.html#ftplib.FTP_TLS",
        "https://bandit.readthedocs.io/en/latest/blacklists/blacklist_calls.html#b321-ftplib",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import ftplib\n\nftp = ftplib.FTP('ftp.example.org')\n",
            "import ftplib\n\nftp = ftplib.FTP_TLS('ftp.example.org')\n",
            "B321",
        ),
        Case(
            "import ftplib as fl\n\n\ndef upload(path):\n    with fl.FTP(\n        host='fichiers.exemple',\n"
            "        timeout=30,\n    ) as ftp:\n        ftp.login()\n",
            "import ftplib as fl\n\n\ndef upload(path):\n    with fl.FTP_TLS(\n        host='fichiers.exemple',\n"
            "        timeout=30,\n    ) as ftp:\n        ftp.login()\n",
            "B321",
            note="alias, with statement, multi-line keywords",
        ),
        Case(
            "import ftplib as ftpmod\nfrom ftplib import FTP\n\n\nclass Mirror:\n    def open(self):\n"
            "        return FTP(self.host, self.user, self.pw)  # accès\n",
            (
                "import ftplib as ftpmod\n"
                "\n"
                "\n"
                "class Mirror:\n"
                "    def open(self):\n"
                "        return ftpmod.FTP_TLS(self.host, self.user, self.pw)  # accès\n"
            ),
            "B321",
            note="from-imported name, module also imported: no import edit; positional credentials",
        ),
        Case("import ftplib\n\nftp = ftplib.FTP_TLS('ftp.example.org')\n", note="already TLS"),
        Case(
            "import ftplib\n\nftp = ftplib.FTP(host, user, pw, '', 30)\n",
            note="fifth positional means timeout for FTP but keyfile for FTP_TLS: declined",
        ),
        Case("import ftplib\n\nftp = ftplib.FTP(**settings)\n", note="unknown keywords: declined"),
        Case(
            "from ftplib import FTP\n\nftp = FTP(host)\n",
            note="would need a new ftplib import line, itself a HIGH B402 finding to the gate: declined",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not ctx.refers_to(call.func, "ftplib.FTP"):
            return None
        positionals = 0
        for arg in call.args:
            if arg.star:
                return None
            if arg.keyword is None:
                positionals += 1
            elif arg.keyword.value not in _SHARED_KEYWORDS:
                return None
        if positionals > _SHARED_POSITIONALS:
            return None
        if isinstance(call.func, cst.Attribute):
            func: cst.BaseExpression = call.func.with_changes(attr=cst.Name("FTP_TLS"))
        else:
            # A from-imported `FTP`: reuse an `import ftplib` already in the file. Adding an
            # import would be a new ftplib import line, which bandit reports on its own (B402).
            module = _module_alias(ctx.module)
            scope = ctx.wrapper.resolve(ScopeProvider).get(call.func)
            if module is None or scope is None:
                return None
            if not all(isinstance(getattr(a, "node", None), cst.Import) for a in scope[module]):
                return None  # the name is rebound somewhere: not the module any more
            func = cst.Attribute(value=cst.Name(module), attr=cst.Name("FTP_TLS"))
        return Edit(call, call.with_changes(func=func), "use ftplib.FTP_TLS (call prot_p() after login)")
