"""B605: `os.system` / `os.popen` run their argument through a shell.

For a constant command with no shell syntax the shell adds nothing but risk, so the
call becomes `subprocess.run([...])` with the command split now, at fix time. The
return value differs and is translated: `os.system` returns a wait status where the
result is used, so that becomes `.returncode`; `os.popen(cmd).read()` becomes the
captured `.stdout` (stderr still goes to the terminal, as before). Computed commands
are declined: what the shell did with them is the question a human has to answer.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import (
    Case,
    Edit,
    FixContext,
    Fixer,
    has_star_args,
    literal_command,
    name_is_free_or,
    set_keyword,
    token_list,
)
from bot.engine.fixers.registry import register


def _subprocess_attr(name: str) -> cst.Attribute:
    return cst.Attribute(value=cst.Name("subprocess"), attr=cst.Name(name))


@register
class OsSystemToSubprocess(Fixer):
    rule_ids = ("B605",)
    name = "os-system-to-subprocess"
    title = "Run the command with subprocess, without a shell"
    explanation = (
        "`os.system` and `os.popen` pass the command to /bin/sh (or cmd.exe), so shell syntax that "
        "reaches the string runs as shell code. `subprocess.run` with an argument list executes the "
        "program directly with exactly those arguments. Only constant commands without shell syntax "
        "are rewritten; where the exit status is used it now comes from `.returncode` (the exit code, "
        "not `os.system`'s encoded wait status), so check code that decodes it."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/78.html",
        "https://docs.python.org/3/library/subprocess.html#replacing-os-system",
        "https://bandit.readthedocs.io/en/latest/plugins/b605_start_process_with_a_shell.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import os\n\nos.system('make clean')\n",
            ("import subprocess\n\nsubprocess.run(['make', 'clean'], check=False)\n"),
            "B605",
            note="statement: the result is not used",
        ),
        Case(
            "import os\nimport subprocess\n\n\ndef sync():\n"
            '    if os.system("git pull --ff-only") != 0:  # Aktualisierung\n'
            "        raise SystemExit(1)\n",
            (
                "import subprocess\n"
                "\n"
                "\n"
                "def sync():\n"
                '    if subprocess.run(["git", "pull", "--ff-only"], check=False).returncode != 0:  # Aktualisierung\n'
                "        raise SystemExit(1)\n"
            ),
            "B605",
            note="result compared: returncode; subprocess already imported; non-ASCII comment",
        ),
        Case(
            "from os import popen\n\nbranch = popen('git rev-parse --abbrev-ref HEAD').read().strip()\n",
            (
                "import subprocess\n"
                "\n"
                "branch = subprocess.run(['git', 'rev-parse', '--abbrev-ref', 'HEAD'], stdout=subprocess.PIPE, text=True, check=False).stdout.strip()\n"
            ),
            "B605",
            note="os.popen(...).read() through a from-import",
        ),
        Case(
            'import os as _os\n\n\nclass Build:\n    status = _os.system("make -j4")\n',
            (
                "import subprocess\n"
                "\n"
                "\n"
                "class Build:\n"
                '    status = subprocess.run(["make", "-j4"], check=False).returncode\n'
            ),
            "B605",
            note="aliased os, result assigned in a class body",
        ),
        Case("import os\n\nos.system('rm -rf ' + path)\n", note="computed command: declined"),
        Case("import os\n\nos.system('ls *.txt > out.txt')\n", note="shell syntax: declined"),
        Case("import os\n\nfor line in os.popen('ls'):\n    print(line)\n", note="popen used as a file: declined"),
        Case(
            "import os\n\nsubprocess = None\nos.system('make')\n",
            note="`subprocess` is some other object here: declined",
        ),
        Case("import subprocess\n\nsubprocess.run(['make'], check=False)\n", note="already safe"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or has_star_args(call):
            return None
        if len(call.args) != 1 or call.args[0].keyword is not None:
            return None
        command = call.args[0].value
        tokens = literal_command(command)
        if tokens is None or not name_is_free_or(ctx, call, "subprocess", "subprocess"):
            return None
        assert isinstance(command, cst.SimpleString)
        run = call.with_changes(
            func=_subprocess_attr("run"), args=[call.args[0].with_changes(value=token_list(command, tokens))]
        )
        parent = ctx.parent(call)
        if ctx.refers_to(call.func, "os.system"):
            run = set_keyword(run, "check", cst.Name("False"))
            ctx.add_import("subprocess")
            if isinstance(parent, cst.Expr):
                return Edit(call, run, "run the constant command with subprocess.run, without a shell")
            new = cst.Attribute(value=run, attr=cst.Name("returncode"))
            return Edit(call, new, "run the constant command with subprocess.run; use its returncode")
        if ctx.refers_to(call.func, "os.popen"):
            # Only `os.popen(cmd).read()`: the file object has no direct equivalent otherwise.
            read = ctx.parent(parent) if parent is not None else None
            if not (
                isinstance(parent, cst.Attribute)
                and parent.value is call
                and parent.attr.value == "read"
                and isinstance(read, cst.Call)
                and read.func is parent
                and not read.args
            ):
                return None
            run = set_keyword(run, "stdout", _subprocess_attr("PIPE"))
            run = set_keyword(run, "text", cst.Name("True"))
            run = set_keyword(run, "check", cst.Name("False"))
            ctx.add_import("subprocess")
            new = cst.Attribute(value=run, attr=cst.Name("stdout"), lpar=read.lpar, rpar=read.rpar)
            return Edit(read, new, "capture the constant command's output with subprocess.run, without a shell")
        return None
