"""The deterministic half of the task: cutting, dedenting, prompts and splicing."""

from __future__ import annotations

from models.format import (
    build_prompt,
    build_target,
    context_imports,
    cut_statement,
    edit_vocabulary,
    faithful,
    first_logical_line_end,
    import_index,
    reindent,
    split_target,
)

SOURCE = (
    "import os\n"
    "import yaml as y\n"
    "from subprocess import run\n"
    "\n"
    "\n"
    "def load(path):\n"
    "    with open(path) as fh:  # read it\n"
    "        data = y.load(\n"
    "            fh,\n"
    "            Loader=y.Loader,\n"
    "        )\n"
    "    return data\n"
)


def test_cut_and_reindent_round_trip() -> None:
    lines = SOURCE.splitlines(keepends=True)
    cut = cut_statement(lines, 8, 11)
    assert cut is not None
    indent, text = cut
    assert indent == "        "
    assert text == "data = y.load(\n    fh,\n    Loader=y.Loader,\n)"
    assert reindent(text, indent) + "\n" == "".join(lines[7:11])


def test_cut_refuses_lines_outside_the_indentation() -> None:
    lines = ["    x = f('''\n", "text at column 0\n", "''')\n"]
    assert cut_statement(lines, 1, 3) is None


def test_compound_statement_header_only() -> None:
    lines = SOURCE.splitlines(keepends=True)
    assert first_logical_line_end(lines, 7, 12) == 7
    multi = ["with open(\n", "    p,\n", ") as fh:\n", "    pass\n"]
    assert first_logical_line_end(multi, 1, 4) == 3


def test_context_imports_only_the_names_used() -> None:
    index = import_index(SOURCE)
    assert context_imports(index, "data = y.load(fh)") == ["import yaml as y"]
    assert context_imports(index, "run(cmd, shell=True)") == ["from subprocess import run"]
    assert context_imports(index, "x = 1") == []


def test_prompt_and_target_layout() -> None:
    prompt = build_prompt("B506", "yaml_load", "Config.load", ["import yaml as y"], "data = y.load(fh)")
    assert prompt == "B506 yaml_load @load\nimport yaml as y\n>>>\ndata = y.load(fh)"
    target = build_target(["import ast"], "x = ast.literal_eval(s)")
    assert target == "#+ import ast\nx = ast.literal_eval(s)"
    assert split_target(target) == (["import ast"], "x = ast.literal_eval(s)")
    assert split_target("x = 1") == ([], "x = 1")


VOCAB = edit_vocabulary(
    [
        ("B307", "x = eval(s)", "#+ import ast\nx = ast.literal_eval(s)"),
        (
            "B605",
            "os.system(cmd)",
            "#+ import shlex\n#+ import subprocess\nsubprocess.run(shlex.split(cmd), check=False)",
        ),
        ("B108", "p = '/tmp/x'", "#+ import tempfile\np = os.path.join(tempfile.gettempdir(), 'x')"),
    ]
)


def test_faithful_accepts_the_edits_the_rule_makes() -> None:
    assert (
        faithful(
            "B307", "value = eval(text)  # legacy", "#+ import ast\nvalue = ast.literal_eval(text)  # legacy", VOCAB
        )
        is None
    )
    assert faithful("B605", "os.system(self.cmd)", "subprocess.run(shlex.split(self.cmd), check=False)", VOCAB) is None


def test_faithful_refuses_hallucinations_the_gate_cannot_see() -> None:
    # Real outputs of the shipped model on held-out code that the gate alone would have accepted:
    assert (
        faithful("B605", "sts = os.system(command)", "subprocess.run(shlex.split(command), check=False)", VOCAB)
        == "drops sts"
    )
    assert (
        faithful("B605", "return os.system(c)", "subprocess.run(shlex.split(c), check=False)", VOCAB) == "drops return"
    )
    why = faithful(
        "B108", "dirs = ['/dev/shm']", "get_dir = open(os.path.join(tempfile.gettempdir(), 'x'), 'w')", VOCAB
    )
    assert why is not None and why.startswith("drops")
    assert faithful("B307", "x = eval(s)", "x = ast.literal_eval(s, token)", VOCAB) == "adds token"
    assert faithful("B999", "x = 1", "x = 2", VOCAB) == "no edit vocabulary for B999"
