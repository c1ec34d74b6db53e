"""Regenerate the docs made from the fixers' metadata (`make docs`).

The rule table in README.md (between its markers) and docs/rules/: the index and one
page per bandit id (`bot.engine.rules.rule_pages`). Pages of ids no longer fixed are
removed. Only the built-in fixers are documented, whatever plugins are installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.engine.fixers.registry import builtin_fixers
from bot.engine.rules import README_BEGIN, README_END, RULE_DOCS_DIR, rule_pages, rule_table_markdown

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def render(text: str) -> str:
    head, _, rest = text.partition(README_BEGIN)
    _, _, tail = rest.partition(README_END)
    return f"{head}{README_BEGIN}\n{rule_table_markdown(builtin_fixers())}{README_END}{tail}"


def write_rule_pages(folder: Path = ROOT / RULE_DOCS_DIR) -> None:
    pages = rule_pages(builtin_fixers())
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    current = README.read_text(encoding="utf-8")
    if README_BEGIN not in current or README_END not in current:
        sys.exit("README.md lacks the rule-table markers")
    rendered = render(current)
    if rendered != current:
        README.write_text(rendered, encoding="utf-8")
    write_rule_pages()
