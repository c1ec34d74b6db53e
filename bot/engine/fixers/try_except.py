"""B110/B112: `except Exception: pass` (or `continue`) hides every error, including real attacks.

A handler that swallows everything leaves no trace when something goes wrong:
failed permission checks, corrupted input, bugs. The fix keeps the control flow
exactly (the exception is still ignored, the loop still continues) but records
it with its traceback at DEBUG level, through the module's existing logger. A module
without one is left alone: adding a logging set-up is the author's call, and most
such handlers in real code are deliberate (a comment, a narrow type, cleanup — those
are not even reported, see `deliberate_ignore`).
Whether the handler should be narrowed or the error surfaced is a human call,
hence review.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import GlobalScope, ScopeProvider

from bot.engine.context import ContextCase, FindingSite, context_rule
from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer
from bot.engine.fixers.registry import register

_MESSAGE = '"ignored exception"'


def _module_logger(ctx: FixContext, at: cst.CSTNode) -> str | None:
    """The name of a module-level `NAME = logging.getLogger(...)`, if visible unshadowed at `at`."""
    scope = ctx.wrapper.resolve(ScopeProvider).get(at)
    if scope is None:
        return None
    for statement in ctx.module.body:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        assign = statement.body[0]
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            continue
        target, value = assign.targets[0].target, assign.value
        if not isinstance(target, cst.Name) or not isinstance(value, cst.Call):
            continue
        if not ctx.refers_to(value.func, "logging.getLogger"):
            continue
        bindings = scope[target.value]
        if len(bindings) != 1 or not all(isinstance(b.scope, GlobalScope) for b in bindings):
            continue
        # Module-level code runs top to bottom: the logger must exist before the handler does.
        if isinstance(scope, GlobalScope) and ctx.position(statement).start.line > ctx.position(at).start.line:
            continue
        return target.value
    return None


# A try body that only tidies up: failing to tidy up is expected and harmless.
_CLEANUP = frozenset(
    {
        "close", "unlink", "remove", "rmtree", "rmdir", "kill", "terminate", "cancel", "shutdown", "flush",
        "release", "disconnect", "unregister", "removeHandler", "stop", "join", "wait", "cleanup", "delete",
    }
)  # fmt: skip
_CLEANUP_FUNCS = frozenset({"__del__", "__exit__", "__aexit__", "close", "cleanup", "shutdown", "teardown", "dispose"})
_BROAD = frozenset({"Exception", "BaseException"})


def _cleanup_call(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Await):
        statement = ast.Expr(statement.value.value)
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return False
    func = statement.value.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in _CLEANUP


@context_rule(
    "B110",
    "B112",
    cases=(
        ContextCase(
            "try:\n    import ujson\nexcept Exception:  # optional speed-up\n    pass\n",
            False,
            "B110",
            note="commented",
        ),
        ContextCase(
            "for p in paths:\n    try:\n        load(p)\n    except Exception:\n        # unreadable: skip it\n"
            "        continue\n",
            False,
            "B112",
            note="comment in the handler",
        ),
        ContextCase(
            "try:\n    os.unlink(tmp)\nexcept Exception:\n    pass\n", False, "B110", note="best-effort cleanup"
        ),
        ContextCase(
            "class C:\n    def __del__(self):\n        try:\n            self.flush_all()\n        except Exception:\n"
            "            pass\n",
            False,
            "B110",
            note="finaliser",
        ),
        ContextCase("try:\n    charge(card)\nexcept Exception:\n    pass\n", True, "B110", note="silent failure stays"),
        ContextCase("for j in jobs:\n    try:\n        j.run()\n    except:\n        continue\n", True, "B112"),
    ),
)
def deliberate_ignore(site: FindingSite) -> str | None:
    """A handler the author explained (a comment), one that only tidies up, or one in a finaliser."""
    handler = site.node
    if not isinstance(handler, ast.ExceptHandler):
        return None
    if handler.type is not None and not (isinstance(handler.type, ast.Name) and handler.type.id in _BROAD):
        return "narrow exception type: ignoring it is a decision"
    end = max(getattr(handler, "end_lineno", None) or handler.lineno, handler.lineno)
    if site.comments(handler.lineno, end):
        return "the handler explains why the exception is ignored (comment)"
    parent = site.parent(handler)
    if isinstance(parent, ast.Try) and len(parent.body) == 1 and _cleanup_call(parent.body[0]):
        return "best-effort cleanup: a failure to tidy up is ignored on purpose"
    names = site.enclosing_names(handler)
    if names and names[0] in _CLEANUP_FUNCS:
        return f"ignored inside `{names[0]}`, where raising would hide the original error"
    return None


@register
class TryExceptLog(Fixer):
    rule_ids = ("B110", "B112")
    name = "try-except-log"
    title = "Log the exception instead of silently ignoring it"
    explanation = (
        "An `except` clause that only passes (or continues) hides every error, so failures and "
        "attacks leave no trace. The handler keeps ignoring the exception but now logs it with its "
        "traceback at DEBUG level. Consider narrowing the exception type as well."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/703.html",
        "https://docs.python.org/3/library/logging.html#logging.Logger.debug",
        "https://bandit.readthedocs.io/en/latest/plugins/b110_try_except_pass.html",
        "https://bandit.readthedocs.io/en/latest/plugins/b112_try_except_continue.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import logging\nimport os\n\nlog = logging.getLogger(__name__)\n\ntry:\n    os.rename(src, dst)\n"
            "except Exception:\n    pass\n",
            (
                "import logging\n"
                "import os\n"
                "\n"
                "log = logging.getLogger(__name__)\n"
                "\n"
                "try:\n"
                "    os.rename(src, dst)\n"
                "except Exception:\n"
                '    log.debug("ignored exception", exc_info=True)\n'
            ),
            "B110",
            note="the module's logger is reused",
        ),
        Case(
            "import logging\n\nlog = logging.getLogger('worker')\n\n\ndef run(jobs):\n    for job in jobs:\n"
            "        try:\n            job()\n        except:\n            continue\n",
            (
                "import logging\n"
                "\n"
                "log = logging.getLogger('worker')\n"
                "\n"
                "\n"
                "def run(jobs):\n"
                "    for job in jobs:\n"
                "        try:\n"
                "            job()\n"
                "        except:\n"
                '            log.debug("ignored exception", exc_info=True)\n'
                "            continue\n"
            ),
            "B112",
            note="bare except in a loop",
        ),
        Case(
            "import logging\nimport socket\n\nlogger = logging.getLogger(__name__)\n\n\nclass Conn:\n"
            "    def send(self, data):\n        try:\n            self.sock.sendall(data)\n"
            "        except Exception as exc:\n            pass\n",
            (
                "import logging\n"
                "import socket\n"
                "\n"
                "logger = logging.getLogger(__name__)\n"
                "\n"
                "\n"
                "class Conn:\n"
                "    def send(self, data):\n"
                "        try:\n"
                "            self.sock.sendall(data)\n"
                "        except Exception as exc:\n"
                '            logger.debug("ignored exception", exc_info=True)\n'
            ),
            "B110",
            note="named handler in a method",
        ),
        Case(
            "import logging\n\nlog = logging.getLogger(__name__)\nfor f in files:\n    try:\n        load(f)\n"
            "    except Exception: continue\n",
            (
                "import logging\n"
                "\n"
                "log = logging.getLogger(__name__)\n"
                "for f in files:\n"
                "    try:\n"
                "        load(f)\n"
                "    except Exception:\n"
                '        log.debug("ignored exception", exc_info=True)\n'
                "        continue\n"
            ),
            "B112",
            note="one-line handler becomes a block",
        ),
        Case(
            "import os\n\ntry:\n    os.rename(src, dst)\nexcept Exception:\n    pass\n",
            note="no logger in the module: whether to add logging is the author's call; declined",
        ),
        Case(
            "import logging\n\ntry:\n    import ujson as json\nexcept Exception:\n    pass\n"
            "log = logging.getLogger(__name__)\n",
            note="module-level handler runs before the module's logger exists: declined",
        ),
        Case(
            "try:\n    os.remove(path)\nexcept Exception:  # already gone\n    pass\n",
            note="explained by a comment: not reported (context rule)",
        ),
        Case("try:\n    f()\nexcept OSError:\n    pass\n", note="typed handler: bandit does not flag it"),
        Case(
            "import logging\n\ntry:\n    f()\nexcept Exception:\n    logging.debug('x', exc_info=True)\n",
            note="already logs",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        handler = ctx.flagged
        if not isinstance(handler, cst.ExceptHandler):
            return None
        body = handler.body
        small: Sequence[cst.BaseSmallStatement]
        if isinstance(body, cst.IndentedBlock):
            if len(body.body) != 1 or not isinstance(body.body[0], cst.SimpleStatementLine):
                return None
            line = body.body[0]
            small = line.body
        elif isinstance(body, cst.SimpleStatementSuite):
            line = cst.SimpleStatementLine(body=[], trailing_whitespace=cst.TrailingWhitespace())
            small = body.body
        else:
            return None
        keep_continue = ctx.finding.rule_id == "B112"
        expected = cst.Continue if keep_continue else cst.Pass
        if len(small) != 1 or not isinstance(small[0], expected):
            return None
        logger = _module_logger(ctx, handler)
        if logger is None:
            return None  # a module without a logger: adding logging is the author's call
        log_call = cst.parse_expression(f"{logger}.debug({_MESSAGE}, exc_info=True)")
        log_line = cst.SimpleStatementLine(body=[cst.Expr(log_call)], leading_lines=line.leading_lines)
        if keep_continue:
            statements = [log_line, line.with_changes(leading_lines=[], body=[cst.Continue()])]
        else:
            statements = [log_line.with_changes(trailing_whitespace=line.trailing_whitespace)]
        new_body: cst.BaseSuite
        if isinstance(body, cst.IndentedBlock):
            new_body = body.with_changes(body=statements)
        else:  # `except Exception: pass` on one line becomes a block; its comment moves to the header
            new_body = cst.IndentedBlock(body=statements, header=body.trailing_whitespace)
        return Edit(handler, handler.with_changes(body=new_body), "log the ignored exception at DEBUG level")
