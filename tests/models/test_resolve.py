"""Drafts that call what does not exist are refused before the gate (which cannot see it)."""

from __future__ import annotations

from models.format import edit_vocabulary, faithful, statement_kind
from models.resolve import unresolved

OLD = "from random import Random as _Random\n\nrng = _Random()\n"


def test_a_method_the_class_does_not_have_is_refused() -> None:
    # What the model once wrote for `_Random()`: proven by the gate, broken at run time.
    draft = "import secrets\nfrom random import Random as _Random\n\nrng = secrets.SystemRandom()._Random()\n"
    assert "has no method '_Random'" in (unresolved(OLD, draft) or "")
    assert unresolved(OLD, "import secrets\n\nrng = secrets.SystemRandom()\n") is None


def test_missing_module_attributes_are_refused_and_unknowns_are_not_judged() -> None:
    assert "no attribute 'joinx'" in (unresolved("import os\n", "import os\np = os.path.joinx('a')\n") or "")
    run = "import shlex, subprocess\nrc = subprocess.run(shlex.split(c), check=False).returncode\n"
    assert unresolved("import os\n", run) is None  # a function's result: not judged
    assert unresolved("import argparse\n", "import argparse\nn = argparse.ArgumentParser().prog\n") is None
    assert unresolved("import yaml\n", "import yaml\nyaml.not_a_thing(f)\n") is None  # not the standard library
    assert unresolved("import os\n", "import os\nos.path.join(\n") is None  # the gate reports syntax


def test_statement_kinds_the_rule_was_never_learned_in_are_refused() -> None:
    assert [statement_kind(s) for s in ('if token == "x":', "a = f()", "f()", "return f()", "match = 1")] == [
        "if", "assign", "expr", "return", "assign",
    ]  # fmt: skip
    vocab = edit_vocabulary([("B105", 'password = "hunter2"', 'password = os.environ["PASSWORD"]')])
    assert vocab["B105"]["statement_kinds"] == ["assign"]
    why = faithful("B105", 'if token == "struct":', 'if token == os.environ["TOKEN"]:', vocab)
    assert why is not None and "(if)" in why
