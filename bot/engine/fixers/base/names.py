"""Whether a fixer may write a new reference to a name without capturing someone else's."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ImportAssignment, ScopeProvider

from bot.engine.fixers.base.fixer import FixContext


def name_is_free_or(ctx: FixContext, node: cst.CSTNode, name: str, qualified: str) -> bool:
    """Whether `name`, seen from `node`'s scope, is unbound or bound only to `qualified`.

    A fixer that writes a new reference such as ``subprocess.run`` or ``escape(x)``
    and asks for the import must not pick up some other object of that name.
    """
    scope = ctx.wrapper.resolve(ScopeProvider).get(node)
    if scope is None:
        return False
    assignments = scope[name]
    if not assignments:
        return True
    if not all(isinstance(a, ImportAssignment) for a in assignments):
        return False  # a module-level `subprocess = ...` also has the qualified name "subprocess"
    return {q.name for q in scope.get_qualified_names_for(name)} == {qualified}
