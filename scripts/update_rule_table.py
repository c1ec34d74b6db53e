"""Regenerate the rule table in README.md from the fixers' metadata (`make docs`)."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.engine.fixers.registry import builtin_fixers
from bot.engine.rules import README_BEGIN, README_END, rule_table_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def render(text: str) -> str:
    head, _, rest = text.partition(README_BEGIN)
    _, _, tail = rest.partition(README_END)
    return f"{head}{README_BEGIN}\n{rule_table_markdown(builtin_fixers())}{README_END}{tail}"


if __name__ == "__main__":
    current = README.read_text(encoding="utf-8")
    if README_BEGIN not in current or README_END not in current:
        sys.exit("README.md lacks the rule-table markers")
    README.write_text(render(current), encoding="utf-8")
