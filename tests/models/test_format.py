"""The deterministic half of the task: cutting, dedenting, prompts and splicing."""

from __future__ import annotations

from models.format import (
    EDIT_FORMAT,
    STATEMENT_FORMAT,
    Abstracted,
    abstract,
    build_lexicon,
    build_prompt,
    build_target,
    context_imports,
    cut_statement,
    decode_edit,
    decode_output,
    edit_vocabulary,
    encode_edit,
    encode_output,
    faithful,
    first_logical_line_end,
    import_index,
    pieces,
    read_answer,
    reindent,
    split_target,
    statement_of,
    write_answer,
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
        ("B605", "rc = os.system(c)", "#+ import shlex\n#+ import subprocess\nrc = subprocess.run(shlex.split(c), check=False)"),
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
    why = faithful("B605", "return os.system(c)", "subprocess.run(shlex.split(c), check=False)", VOCAB)
    assert why == "B605 was never learned in a statement of this kind (return)"
    why = faithful(
        "B108", "dirs = ['/dev/shm']", "get_dir = open(os.path.join(tempfile.gettempdir(), 'x'), 'w')", VOCAB
    )
    assert why is not None and why.startswith("drops")
    assert faithful("B307", "x = eval(s)", "x = ast.literal_eval(s, token)", VOCAB) == "adds token"
    assert faithful("B999", "x = 1", "x = 2", VOCAB) == "no edit vocabulary for B999"


# --- the edit output format -------------------------------------------------------------------

EDIT_CASES = [
    # (statement, target in statement format, expected edit output)
    ("data = yaml.load(f)", "data = yaml.safe_load(f)", "⟦‖load→safe_load"),
    ("r = requests.get(url, headers=h)", "r = requests.get(url, headers=h, timeout=10)", "⟦h‖→, timeout=10"),
    ("foo(a)", "foo(a)", ""),
    (
        "subprocess.call(cmd, shell=True)",
        build_target(["import shlex"], "subprocess.call(shlex.split(cmd))"),
        "#+ import shlex\n⟦‖cmd, shell=True→shlex.split(cmd)",
    ),
]


def test_edit_format_round_trips_and_stays_short() -> None:
    for statement, target, expected in EDIT_CASES:
        encoded = encode_edit(statement, target)
        assert encoded == expected, (statement, encoded)
        assert decode_edit(statement, encoded) == target


def test_edit_anchor_picks_the_right_occurrence() -> None:
    # `)` occurs three times: the anchor must make the first match from the cursor the changed one.
    statement = "x = f(g(a), h(b))"
    target = "x = f(g(a), h(b), timeout=5)"
    encoded = encode_edit(statement, target)
    assert encoded is not None and decode_edit(statement, encoded) == target
    anchor = encoded.split("⟦", 1)[1].split("‖", 1)[0]
    assert len(pieces(anchor)) <= 3
    # multi-line, several hunks (B101's shape)
    statement = "assert ok(\n    x), 'bad'"
    target = "if not ok(\n    x):\n    raise AssertionError('bad')"
    encoded = encode_edit(statement, target)
    assert encoded is not None and encoded.count("⟦") >= 2
    assert decode_edit(statement, encoded) == target


def test_edit_outputs_that_do_not_apply_are_refused() -> None:
    assert decode_edit("x = f(a)", "⟦zzz‖a→b") is None  # anchor not in the statement
    assert decode_edit("x = f(a)", "x = g(a)") is None  # not hunks at all
    assert decode_edit("x = f(a)", "⟦‖a") is None  # truncated hunk
    assert decode_edit("x = f(a)", "⟦‖a→b⟦‖a→c") is None  # second hunk finds nothing after the first
    assert encode_edit("s = '⟦'", "s = ''") is None  # the marks cannot be said in this format


def test_output_format_switch() -> None:
    assert encode_output(STATEMENT_FORMAT, "a", "b") == "b"
    assert decode_output(STATEMENT_FORMAT, "a", "b") == "b"
    assert decode_output(EDIT_FORMAT, "f(a)", "⟦‖a→b") == "f(b)"
    prompt = build_prompt("B506", "yaml_load", "m.load", ["import yaml"], "yaml.load(f)")
    assert statement_of(prompt) == "yaml.load(f)"


# --- abstraction of rare names and literals ----------------------------------------------------

LEXICON = frozenset(["os", "chmod", "path", "0o700", "requests", "get", "timeout", "url", "30"])


def test_rare_lexemes_become_typed_placeholders_and_come_back() -> None:
    prompt = build_prompt("B103", "set_bad_file_permissions", "m.f", ["import os"], "os.chmod(cfg.sock, 0o771)  # why")
    view = abstract(prompt, LEXICON)
    assert view is not None
    assert view.statement == "os.chmod(§v1.§v2, §n1)  §c1"
    assert view.mapping == {"§v1": "cfg", "§v2": "sock", "§n1": "0o771", "§c1": "# why"}
    target = "os.chmod(cfg.sock, 0o700)  # why"
    answer = write_answer(EDIT_FORMAT, view, target)
    assert answer == "⟦‖§n1→0o700"  # the model writes the placeholder, not the rare literal
    assert read_answer(EDIT_FORMAT, view, answer) == target


def test_keywords_strings_and_multiline_statements() -> None:
    statement = "assert zz(\n    'long text', b\"x\"\n), 'msg'"
    view = abstract(build_prompt("B101", "assert_used", "", [], statement), LEXICON)
    assert view is not None
    assert view.statement == "assert §v1(\n    §s1, §s2\n), §s3"  # `assert` is a keyword: never replaced
    target = "if not zz(\n    'long text', b\"x\"\n):\n    raise AssertionError('msg')"
    answer = write_answer(EDIT_FORMAT, view, target)
    assert answer is not None and "zz" not in answer
    assert read_answer(EDIT_FORMAT, view, answer) == target


def test_unknown_placeholders_and_placeholder_chars_are_refused() -> None:
    view = abstract(build_prompt("B103", "x", "", [], "os.chmod(p, 0o771)"), LEXICON)
    assert view is not None
    assert read_answer(EDIT_FORMAT, view, "⟦‖§n7→0o700") is None  # the prompt has no §n7
    assert abstract(build_prompt("B103", "x", "", [], "os.chmod('§', 0o771)"), LEXICON) is None
    assert abstract("B103 x @f\n>>>\nfoo()", None) == Abstracted("B103 x @f\n>>>\nfoo()", {})  # no lexicon: as is


def test_lexicon_keeps_what_training_code_repeats() -> None:
    texts = ["yaml.load(f)"] * 3 + ["yaml.load(rare_name)"]
    assert build_lexicon(texts, min_count=3) == ["f", "load", "yaml"]
