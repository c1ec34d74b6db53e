"""The patch text and anchor resolution the review rules rest on."""

from __future__ import annotations

from ghsim.diffs import make_patch, parse_patch, resolve_line, resolve_position
from ghsim.review_rules import to_sentence
from ghsim.trees import diff_trees


def test_git_hunk_format_with_function_context() -> None:
    old = "import os\n\n\ndef handler(event):\n    a = 1\n    b = 2\n    c = 3\n    d = 4\n    return a\n"
    new = old.replace("c = 3", "c = 33")
    assert make_patch(old, new) == (
        "@@ -4,6 +4,6 @@ import os\n"
        " def handler(event):\n     a = 1\n     b = 2\n-    c = 3\n+    c = 33\n     d = 4\n     return a"
    )


def test_single_line_ranges_and_missing_final_newline() -> None:
    assert make_patch("", "x = 1\n") == "@@ -0,0 +1 @@\n+x = 1"
    assert make_patch("x = 1\n", "") == "@@ -1 +0,0 @@\n-x = 1"
    assert make_patch("a\nb", "a\nb\n") == "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b"
    assert make_patch("same\n", "same\n") == ""


def test_positions_count_across_hunks() -> None:
    old = "".join(f"l{i}\n" for i in range(1, 31))
    new = old.replace("l2\n", "L2\n").replace("l25\n", "L25\n")
    hunks = parse_patch(make_patch(old, new))
    assert [h.header_position for h in hunks] == [0, 7]
    second_hunk_first_line = hunks[1].lines[0]
    assert second_hunk_first_line.position == 8 and second_hunk_first_line.new_no == 22
    anchor = resolve_position(hunks, 8)
    assert anchor is not None and anchor.hunk_index == 1
    assert resolve_position(hunks, 7) is None  # a hunk header is not commentable


def test_line_resolution_by_side() -> None:
    hunks = parse_patch("@@ -1,3 +1,3 @@\n a\n-b\n+B\n c")
    assert resolve_line(hunks, 2, "RIGHT") is not None  # "+B" is new line 2
    assert resolve_line(hunks, 2, "LEFT") is not None  # "-b" is old line 2
    assert resolve_line(hunks, 4, "RIGHT") is None
    deleted = resolve_line(hunks, 2, "LEFT")
    assert deleted is not None and deleted.line.kind == "-"


def test_diff_trees_statuses() -> None:
    base = {"keep.py": b"x\n", "gone.py": b"y\n", "moved.py": b"z = 1\n", "img.png": b"\x00\x01"}
    head = {"keep.py": b"x\n", "new.py": b"n\n", "dest.py": b"z = 1\n", "img.png": b"\x00\x02"}
    entries = {e.filename: e for e in diff_trees(base, head)}
    assert {name: e.status for name, e in entries.items()} == {
        "dest.py": "renamed",
        "gone.py": "removed",
        "img.png": "modified",
        "new.py": "added",
    }
    assert entries["dest.py"].previous_filename == "moved.py" and entries["dest.py"].patch is None
    assert entries["img.png"].patch is None


def test_messages_join_like_rails() -> None:
    assert to_sentence(["a"]) == "a"
    assert to_sentence(["a", "b"]) == "a and b"
    assert to_sentence(["a", "b", "c", "a"]) == "a, b, and c"
