"""The fixers' base: what a fixer is, how one is applied, and the helpers fixers share.

A fixer is a libcst transformation of the *flagged node* (or its enclosing
statement). It sees one finding at a time, returns the replacement node or
declines with ``None``; it never writes text by hand, and it asks for imports
through ``FixContext.add_import`` so that `bot.engine.fixers.imports` places them where
isort/ruff would (and ``remove_import_if_unused`` drops one the edit made unused). The
gate (``bot.engine.gate``) then decides whether the result is a fix.

Everything a fixer module needs comes from here (``from bot.engine.fixers.base import
...``), never from a sibling rule module, so rule modules stay independent of each other:

- `fixer`: `Fixer`, `FixContext`, `Edit`, `Case` (the metadata, context and documented cases)
- `locating`: `locate` (bandit's line/column range → the flagged node and its statement)
- `applying`: `propose`, `tidy_imports`, `Candidate` (run a fixer, splice the edit in)
- `calls`: editing a call's arguments while keeping its layout
- `commands`: command lines a shell and `subprocess` without one run the same way
- `names`: whether a new reference to a name is safe to write
- `templates`: f-string / `%` / `.format` as one `str.format` template
"""

from __future__ import annotations

import libcst.matchers as m

from bot.engine.fixers.base.applying import Candidate, propose, tidy_imports
from bot.engine.fixers.base.calls import (
    attribute_chain,
    has_star_args,
    keyword,
    positional,
    remove_keyword,
    set_keyword,
)
from bot.engine.fixers.base.commands import literal_command, plain_command_tokens, plain_word, token_list
from bot.engine.fixers.base.fixer import Case, Edit, FixContext, Fixer, Replacement
from bot.engine.fixers.base.locating import locate
from bot.engine.fixers.base.names import name_is_free_or
from bot.engine.fixers.base.templates import format_template

__all__ = [
    "Candidate",
    "Case",
    "Edit",
    "FixContext",
    "Fixer",
    "Replacement",
    "attribute_chain",
    "format_template",
    "has_star_args",
    "keyword",
    "literal_command",
    "locate",
    "m",
    "name_is_free_or",
    "plain_command_tokens",
    "plain_word",
    "positional",
    "propose",
    "remove_keyword",
    "set_keyword",
    "tidy_imports",
    "token_list",
]
