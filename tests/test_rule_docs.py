"""docs/rules/ is generated from the fixers' metadata and cases (`make docs`) and must not drift."""

from __future__ import annotations

from pathlib import Path

from bot.engine.fixers.registry import builtin_fixers
from bot.engine.rules import RULE_DOCS_DIR, RULE_DOCS_INDEX, rule_pages

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / RULE_DOCS_DIR
PAGES = rule_pages(builtin_fixers())


def test_committed_rule_pages_equal_the_generated_ones() -> None:
    committed = {path.name: path.read_text(encoding="utf-8") for path in FOLDER.glob("*.md")}
    assert sorted(committed) == sorted(PAGES), "run `make docs` to regenerate docs/rules/"
    for name, text in PAGES.items():
        assert committed[name] == text, f"docs/rules/{name} is stale: run `make docs`"


def test_one_page_per_fixed_bandit_id_and_an_index_linking_each() -> None:
    ids = {rule for fixer in builtin_fixers() for rule in fixer.rule_ids}
    assert set(PAGES) == {RULE_DOCS_INDEX} | {f"{rule}.md" for rule in ids}
    index = PAGES[RULE_DOCS_INDEX]
    for rule in ids:
        assert f"[{rule}.md]({rule}.md)" in index, rule


def test_pages_show_every_case_and_no_invisible_characters() -> None:
    for fixer in builtin_fixers():
        for rule in fixer.rule_ids:
            page = PAGES[f"{rule}.md"]
            assert f"## `{fixer.name}`: {fixer.title}" in page
            assert f"**Confidence:** `{fixer.confidence.value}`" in page
            for case in fixer.cases:
                if case.note and (case.after is None or case.rule_id == rule):
                    assert f"#### {case.note}\n" in page, (rule, case.note)
    for name, text in PAGES.items():
        assert not any(ch in text for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), name
    assert "<U+202E>" in PAGES["B613.md"]


def test_readme_rule_section_links_to_the_rule_pages() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Rules with proven fixes", 1)[1].split("\n## ", 1)[0]
    assert "(docs/rules/README.md)" in section or "(docs/rules/)" in section
