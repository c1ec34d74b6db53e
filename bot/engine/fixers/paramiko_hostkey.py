"""B507: paramiko told to trust SSH host keys it has never seen.

`AutoAddPolicy` accepts (and remembers) whatever key the server presents and
`WarningPolicy` only logs it, so the first connection through an attacker is
accepted silently. `RejectPolicy` refuses unknown keys; for known hosts to keep
working the client must load them, so the fixer also inserts
`<client>.load_system_host_keys()` right before the call when the module loads
no host keys anywhere. Proposed for review: the hosts must be in known_hosts.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, attribute_chain, has_star_args, m
from bot.engine.fixers.registry import register

_TRUSTING = tuple(
    f"{module}.{policy}" for module in ("paramiko", "paramiko.client") for policy in ("AutoAddPolicy", "WarningPolicy")
)
_LOADERS = ("load_system_host_keys", "load_host_keys")


def _loads_host_keys(module: cst.Module) -> bool:
    """Whether the file calls `load_system_host_keys`/`load_host_keys` on anything."""
    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            nonlocal found
            found = found or node.attr.value in _LOADERS

    module.visit(_Finder())
    return found


@register
class ParamikoRejectUnknownHosts(Fixer):
    whole_module = True  # `_loads_host_keys` looks at every call of the file
    rule_ids = ("B507",)
    name = "paramiko-reject-unknown-hosts"
    title = "Reject unknown SSH host keys (paramiko.RejectPolicy)"
    explanation = (
        "`AutoAddPolicy`/`WarningPolicy` accept any host key the server presents, so a "
        "man-in-the-middle is trusted on first contact and can read the session and credentials. "
        "`RejectPolicy` refuses hosts whose key is not known; the known keys are loaded from "
        "~/.ssh/known_hosts with `load_system_host_keys()`, which deployments must provision "
        "(e.g. `ssh-keyscan` checked against a trusted fingerprint)."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/295.html",
        "https://docs.paramiko.org/en/stable/api/client.html#paramiko.client.RejectPolicy",
        "https://bandit.readthedocs.io/en/latest/plugins/b507_ssh_no_host_key_verification.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import paramiko\n\nclient = paramiko.SSHClient()\n"
            "client.set_missing_host_key_policy(paramiko.AutoAddPolicy())\n",
            "import paramiko\n\nclient = paramiko.SSHClient()\nclient.load_system_host_keys()\n"
            "client.set_missing_host_key_policy(paramiko.RejectPolicy())\n",
            "B507",
        ),
        Case(
            "import paramiko as pm\n\n\nclass Remote:\n    def connect(self):\n        self.ssh = pm.SSHClient()\n"
            "        self.ssh.load_host_keys(self.known)\n"
            "        # politique: accepter (dangereux)\n        self.ssh.set_missing_host_key_policy(\n"
            "            pm.client.WarningPolicy,\n        )\n",
            "import paramiko as pm\n\n\nclass Remote:\n    def connect(self):\n        self.ssh = pm.SSHClient()\n"
            "        self.ssh.load_host_keys(self.known)\n"
            "        # politique: accepter (dangereux)\n        self.ssh.set_missing_host_key_policy(\n"
            "            pm.client.RejectPolicy,\n        )\n",
            "B507",
            note="alias, class passed without a call, multi-line, host keys already loaded",
        ),
        Case(
            "import paramiko\nfrom paramiko import AutoAddPolicy\n\n\ndef open_ssh(host):\n"
            "    c = paramiko.SSHClient()\n    # trust on first use\n"
            "    c.set_missing_host_key_policy(AutoAddPolicy())\n    c.connect(host)\n    return c\n",
            (
                "import paramiko\n"
                "from paramiko import RejectPolicy\n"
                "\n"
                "\n"
                "def open_ssh(host):\n"
                "    c = paramiko.SSHClient()\n"
                "    # trust on first use\n"
                "    c.load_system_host_keys()\n"
                "    c.set_missing_host_key_policy(RejectPolicy())\n"
                "    c.connect(host)\n"
                "    return c\n"
            ),
            "B507",
            note="from-import; the comment above stays above",
        ),
        Case(
            "import paramiko\n\nclient = paramiko.SSHClient()\n"
            "client.set_missing_host_key_policy(paramiko.RejectPolicy())\n",
            note="already safe",
        ),
        Case(
            "import paramiko\n\nclient.set_missing_host_key_policy(policy_for(env))\n",
            note="policy chosen at run time: not flagged, and nothing to rewrite",
        ),
        Case(
            "import paramiko\n\nclient.set_missing_host_key_policy(*policies)\n",
            note="star-args: declined",
        ),
        Case(
            "import paramiko\nfrom sshkit.policies import AutoAddPolicy\n\n"
            "client = paramiko.SSHClient()\nclient.set_missing_host_key_policy(AutoAddPolicy())\n",
            note="bandit matches the class name only; this one is not paramiko's: declined",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or has_star_args(call) or len(call.args) != 1:
            return None
        if not m.matches(call.func, m.Attribute(attr=m.Name("set_missing_host_key_policy"))):
            return None
        arg = call.args[0]
        if arg.keyword is not None:
            return None
        policy = arg.value
        reference = policy.func if isinstance(policy, cst.Call) and not policy.args else policy
        if not ctx.refers_to(reference, *_TRUSTING):
            return None
        if isinstance(reference, cst.Attribute):
            renamed: cst.BaseExpression = reference.with_changes(attr=cst.Name("RejectPolicy"))
        elif isinstance(reference, cst.Name):
            ctx.add_import("paramiko", "RejectPolicy")
            renamed = cst.Name("RejectPolicy")
        else:
            return None
        new_policy = policy.with_changes(func=renamed) if isinstance(policy, cst.Call) else renamed
        new_call = call.with_changes(args=[arg.with_changes(value=new_policy)])
        description = "reject unknown host keys (paramiko.RejectPolicy)"
        load = self._load_statement(ctx, call)
        if load is None:
            return Edit(call, new_call, description)
        statement = ctx.statement
        assert isinstance(statement, cst.SimpleStatementLine)
        new_statement = statement.deep_replace(call, new_call)
        assert isinstance(new_statement, cst.SimpleStatementLine)
        return Edit(
            statement,
            cst.FlattenSentinel(
                [load.with_changes(leading_lines=statement.leading_lines), new_statement.with_changes(leading_lines=())]
            ),
            description + " and load the system's known_hosts",
        )

    def _load_statement(self, ctx: FixContext, call: cst.Call) -> cst.SimpleStatementLine | None:
        """`<client>.load_system_host_keys()` when nothing loads host keys and the shape is plain."""
        statement = ctx.statement
        if _loads_host_keys(ctx.module) or not isinstance(statement, cst.SimpleStatementLine):
            return None
        if len(statement.body) != 1 or not m.matches(statement.body[0], m.Expr(value=m.Call())):
            return None
        expr = statement.body[0]
        assert isinstance(expr, cst.Expr)
        if expr.value is not call or not isinstance(ctx.parent(statement), (cst.IndentedBlock, cst.Module)):
            return None
        func = call.func
        assert isinstance(func, cst.Attribute)
        if attribute_chain(func.value) is None:
            return None  # the client is an expression with possible side effects
        load = cst.Call(func=cst.Attribute(value=func.value, attr=cst.Name("load_system_host_keys")))
        return cst.SimpleStatementLine(body=[cst.Expr(load)])
