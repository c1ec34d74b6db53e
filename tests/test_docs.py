"""Docs that mirror code are checked here so they cannot drift."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot.engine.fixers.registry import builtin_fixers
from bot.engine.rules import README_BEGIN, README_END, rule_table_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_readme_rule_table_is_generated_from_fixers() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    assert table.strip() == rule_table_markdown(builtin_fixers()).strip(), "run `make docs` to regenerate the README rule table"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make demo" in readme


def test_json_schema_doc_names_every_summary_key() -> None:
    doc = (ROOT / "docs" / "json-output.md").read_text()
    sys.path.insert(0, str(ROOT))
    from bot.engine.findings import Level
    from bot.faces.report_json import to_json

    for key in to_json([], Level.MEDIUM)["summary"]:
        assert re.search(rf"`{key}`", doc), key
