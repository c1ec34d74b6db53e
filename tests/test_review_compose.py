"""Review composition: anchors GitHub accepts, suggestions, imports, caps, fixed marks."""

from __future__ import annotations

from bot.engine.api import review_source
from bot.engine.diffscope import parse_patch_field
from bot.engine.findings import Level
from bot.engine.policy import Placement
from bot.engine.scan import ScanSettings
from bot.github.compose import (
    FIXED_MARKER,
    OverflowShown,
    ReviewFile,
    anchorable,
    batches,
    check_annotations,
    compose_review,
    compose_summary,
    fingerprints_in,
    mark_fixed,
)


def _item(path: str, source: str, patch: str) -> ReviewFile:
    report = review_source(source, path, ScanSettings())
    return ReviewFile(path, parse_patch_field(path, patch), source, report)


def _whole_file_patch(source: str) -> str:
    lines = source.splitlines()
    return f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}\n" for line in lines)


SOURCE = "import yaml\n\n\ndef load(s):\n    return yaml.load(\n        s,\n        Loader=yaml.Loader,\n    )\n"


def test_multiline_suggestion_covers_the_statement() -> None:
    item = _item("a.py", SOURCE, _whole_file_patch(SOURCE))
    review = compose_review([item], "abc1234", set(), 25)
    (comment,) = review.comments
    api = comment.to_api()
    # Lines 5-7 become two lines; the closing parenthesis on line 8 is untouched.
    assert api["start_line"] == 5 and api["line"] == 7 and api["side"] == "RIGHT"
    assert "```suggestion\n    return yaml.safe_load(\n        s,\n```" in comment.body
    assert fingerprints_in(comment.body) == [item.report.findings[0].fingerprint]


def test_finding_outside_hunks_goes_to_summary() -> None:
    # Only line 1 changed: the yaml.load on line 5 is not in any hunk.
    item = _item("a.py", SOURCE, "@@ -1,1 +1,1 @@\n-import os\n+import yaml\n")
    review = compose_review([item], "abc1234", set(), 25)
    assert review.comments == [] and [f.rule_id for f in review.overflow] == ["B506"]


def test_summary_introduces_the_overflow_as_the_caller_asks() -> None:
    # The Action's read-only fallback posts no review: its summary says the overflow is annotations.
    item = _item("a.py", SOURCE, "@@ -1,1 +1,1 @@\n-import os\n+import yaml\n")
    overflow = compose_review([item], "abc1234", set(), 25).overflow
    default = compose_summary([item], "abc1234", [], overflow, "failure", Level.MEDIUM)
    assert "<summary>1 more finding(s), not commented inline</summary>" in default
    shown = compose_summary(
        [item], "abc1234", [], overflow, "failure", Level.MEDIUM, overflow_shown=OverflowShown.ANNOTATIONS
    )
    assert "<summary>1 finding(s), shown as annotations</summary>" in shown and "not commented inline" not in shown
    assert shown == default.replace("more finding(s), not commented inline", "finding(s), shown as annotations")


def test_import_outside_diff_is_explained_and_inside_is_a_second_suggestion() -> None:
    src = "import os\n\n\ndef run():\n    os.system('ls -l')\n"
    item = _item("b.py", src, _whole_file_patch(src))
    assert item.report.fixes, "os.system with a constant command has a proven fix"
    # B605 on a constant command is LOW: summary by default; this repository opts it in.
    assert compose_review([item], "abc1234", set(), 25).comments == []
    inline = {"B605": Placement.INLINE}
    main, extra = compose_review([item], "abc1234", set(), 25, rules=inline).comments
    assert "subprocess.run(['ls', '-l'], check=False)" in main.body and main.line == 5
    # `os` is no longer used, so the import line becomes `import subprocess`.
    assert extra.line == 1 and "```suggestion\nimport subprocess\n```" in extra.body
    # Only the call changed in this PR: line 1 is outside the diff, so the import is explained instead.
    narrow = _item("b.py", src, "@@ -4,2 +4,2 @@\n def run():\n-    pass\n+    os.system('ls -l')\n")
    (only,) = compose_review([narrow], "abc1234", set(), 25, rules=inline).comments
    assert "`import subprocess`" in only.body and "outside the diff" in only.body


def test_already_commented_and_cap() -> None:
    src = "import yaml\n" + "".join(f"x{i} = yaml.load(s{i})\n" for i in range(5))
    item = _item("d.py", src, _whole_file_patch(src))
    review = compose_review([item], "abc1234", set(), 3)
    assert len(review.comments) == 3 and len(review.overflow) == 2
    seen = {c.fingerprint for c in review.comments}
    again = compose_review([item], "abc1234", seen, 25)
    assert {c.fingerprint for c in again.comments}.isdisjoint(seen) and len(again.comments) == 2


def test_low_findings_without_fix_stay_out_of_the_diff() -> None:
    src = "import subprocess\n"
    item = _item("e.py", src, _whole_file_patch(src))
    review = compose_review([item], "abc1234", set(), 25)
    assert review.comments == [] and [f.rule_id for f in review.overflow] == ["B404"]
    # B404 is an audit note: even a LOW bar leaves it in the summary, unless the repository opts it in.
    assert not compose_review([item], "abc", set(), 25, inline_min_severity=Level.LOW).comments
    assert compose_review([item], "abc", set(), 25, rules={"B404": Placement.INLINE}).comments
    assert not compose_review([item], "abc", set(), 25, rules={"B404": Placement.OFF}).overflow


def test_default_policy_inline_only_where_a_maintainer_acts() -> None:
    src = "import requests\nimport yaml\n\n\ndef f(u, s):\n    assert u\n    requests.get(u)\n    return yaml.load(s)\n"
    item = _item("p.py", src, _whole_file_patch(src))
    review = compose_review([item], "abc", set(), 25)
    inline = {c.fingerprint for c in review.comments if c.fingerprint}
    by_rule = {f.rule_id: f.fingerprint for f in item.report.findings}
    # B506 (MEDIUM/HIGH) inline; B113 (MEDIUM, LOW confidence) inline only because its fix is safe.
    assert by_rule["B506"] in inline and by_rule["B113"] in inline
    assert {f.rule_id for f in review.overflow} == {"B101"} or "B101" not in by_rule


def test_anchor_rules() -> None:
    changed = parse_patch_field("f.py", "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -10,3 +10,3 @@\n x\n-y\n+Y\n z\n")
    assert anchorable(changed, 1, 3) and anchorable(changed, 10, 12)
    assert not anchorable(changed, 3, 10) and not anchorable(changed, 5, 5)


def test_mark_fixed_drops_the_suggestion_and_keeps_the_marker() -> None:
    body = "🟠 **MEDIUM · B506 yaml_load**\n\n```suggestion\nx\n```\n<!-- mendbot:fp=abc123 -->"
    fixed = mark_fixed(body, "0123456789")
    assert FIXED_MARKER in fixed and "```suggestion" not in fixed and fingerprints_in(fixed) == ["abc123"]
    assert mark_fixed(fixed, "ffff") == fixed


def test_annotation_batches_of_fifty() -> None:
    src = "import yaml\n" + "".join(f"x{i} = yaml.load(s{i})\n" for i in range(120))
    item = _item("g.py", src, _whole_file_patch(src))
    notes = check_annotations([item])
    assert len(notes) == 120 and [len(b) for b in batches(notes)] == [50, 50, 20]
