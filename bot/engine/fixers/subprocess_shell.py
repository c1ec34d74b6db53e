"""B602: `subprocess.*(..., shell=True)` hands the command to a shell, so shell syntax in it runs.

Only two shapes are mechanical: the command is already an argument list (``shell=True``
there is almost always a mistake), or it is a string literal with no shell syntax at
all, which is split into a list now, at fix time. Anything computed (f-strings,
variables, concatenation) is declined: what the shell would have done with it is
exactly the question a human has to answer.
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
    keyword,
    literal_command,
    plain_word,
    remove_keyword,
    token_list,
)
from bot.engine.fixers.registry import register

_SUBPROCESS_CALLS = tuple(f"subprocess.{name}" for name in ("Popen", "call", "check_call", "check_output", "run"))


@register
class SubprocessShellFalse(Fixer):
    rule_ids = ("B602",)
    name = "subprocess-shell-false"
    title = "Run the command without a shell"
    explanation = (
        "With `shell=True` the command is parsed by /bin/sh (or cmd.exe), so any quote, `;`, `|` "
        "or `$(...)` that reaches it runs as shell code. Passing the program and its arguments "
        "as a list without a shell executes exactly that program with exactly those arguments. "
        "Only commands that are already a list, or a constant string with no shell syntax, are "
        "rewritten; with a list, the extra items were passed to the shell itself before and now "
        "reach the program, which is almost always what was meant."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/78.html",
        "https://docs.python.org/3/library/subprocess.html#security-considerations",
        "https://bandit.readthedocs.io/en/latest/plugins/b602_subprocess_popen_with_shell_equals_true.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import subprocess\n\nsubprocess.run('ls -l /srv/www', shell=True)\n",
            "import subprocess\n\nsubprocess.run(['ls', '-l', '/srv/www'])\n",
            "B602",
            note="constant command split at fix time",
        ),
        Case(
            "import subprocess as sp\n\n\ndef build():\n    # Übersetzen\n"
            '    return sp.check_output(["make", "-j4"], shell=True, text=True)\n',
            "import subprocess as sp\n\n\ndef build():\n    # Übersetzen\n"
            '    return sp.check_output(["make", "-j4"], text=True)\n',
            "B602",
            note="already a list; alias import; keyword after shell",
        ),
        Case(
            'from subprocess import Popen\n\nproc = Popen(\n    "git status --short",\n    shell=True,\n)\n',
            'from subprocess import Popen\n\nproc = Popen(\n    ["git", "status", "--short"],\n)\n',
            "B602",
            note="from-import, one argument per line with a trailing comma",
        ),
        Case(
            "import subprocess\n\n\nclass Job:\n    def run(self):\n"
            "        subprocess.check_call(('rm', '-rf', self.tmp), shell=True, cwd='/')\n",
            "import subprocess\n\n\nclass Job:\n    def run(self):\n"
            "        subprocess.check_call(('rm', '-rf', self.tmp), cwd='/')\n",
            "B602",
            note="tuple command inside a method",
        ),
        Case("import subprocess\n\nsubprocess.run(f'ls {path}', shell=True)\n", note="computed command: declined"),
        Case("import subprocess\n\nsubprocess.run('ls *.py | wc -l', shell=True)\n", note="shell syntax: declined"),
        Case("import subprocess\n\nsubprocess.run('cd build && make', shell=True)\n", note="builtin and &&"),
        Case("import subprocess\n\nsubprocess.run(['ls -l'], shell=True)\n", note="list holding a command line"),
        Case("import subprocess\n\nsubprocess.run(cmd, shell=True)\n", note="variable: declined"),
        Case("import subprocess\n\nsubprocess.run(['ls', '-l'])\n", note="already safe"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not ctx.refers_to(call.func, *_SUBPROCESS_CALLS):
            return None
        if has_star_args(call) or keyword(call, "executable") is not None:
            return None  # `executable=` names the shell when shell=True: dropping it changes meaning
        shell = keyword(call, "shell")
        if shell is None or not (isinstance(shell.value, cst.Name) and shell.value.value == "True"):
            return None
        positional = [a for a in call.args if a.keyword is None]
        if len(positional) != 1 or call.args[0] is not positional[0]:
            return None
        command = positional[0].value
        if isinstance(command, (cst.List, cst.Tuple)):
            elements = command.elements
            if not elements or any(isinstance(e, cst.StarredElement) for e in elements):
                return None
            if plain_word(elements[0].value) is None:
                return None  # `["ls -l"]` is a command line for the shell, not a program name
            new_call = remove_keyword(call, "shell")
            return Edit(call, new_call, "drop shell=True: the command is already an argument list")
        tokens = literal_command(command)
        if tokens is None:
            return None
        assert isinstance(command, cst.SimpleString)
        first = positional[0].with_changes(value=token_list(command, tokens))
        new_call = remove_keyword(call.with_changes(args=[first, *call.args[1:]]), "shell")
        return Edit(call, new_call, "split the constant command into an argument list and drop shell=True")
