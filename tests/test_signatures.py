"""bot.engine.signatures: calls a fix writes are checked against the callee's real signature."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from bot.engine.signatures import call_problems


def _span(source: str, needle: str) -> tuple[int, int]:
    """The 1-based line range of the lines containing `needle` (the edit)."""
    lines = [i for i, line in enumerate(source.splitlines(), start=1) if needle in line]
    assert lines, needle
    return lines[0], lines[-1]


def check(old: str, new: str, needle: str) -> str | None:
    return call_problems(old, new, _span(new, needle))


# --- (a) arguments the signature does not accept --------------------------------------------------------------


def test_literal_eval_with_two_arguments_is_rejected() -> None:
    old = "def f(code, ns):\n    return eval(code, ns)\n"
    new = "import ast\n\n\ndef f(code, ns):\n    return ast.literal_eval(code, ns)\n"
    reason = check(old, new, "literal_eval")
    assert reason is not None
    assert "line 5" in reason
    assert "`ast.literal_eval(code, ns)`" in reason
    assert "ast.literal_eval(node_or_string)" in reason
    assert "too many positional arguments" in reason


def test_literal_eval_with_one_argument_passes() -> None:
    old = "def f(code):\n    return eval(code)\n"
    new = "import ast\n\n\ndef f(code):\n    return ast.literal_eval(code)\n"
    assert check(old, new, "literal_eval") is None


def test_from_import_alias_is_resolved() -> None:
    old = "def f(x, y):\n    return eval(x, y)\n"
    new = "from ast import literal_eval as le\n\n\ndef f(x, y):\n    return le(x, y)\n"
    reason = check(old, new, "le(x, y)")
    assert reason is not None
    assert "does not match the signature of ast.literal_eval" in reason
    assert "too many positional arguments" in reason


def test_hashlib_usedforsecurity_passes() -> None:
    old = "import hashlib\n\nh = hashlib.md5(data)\ng = hashlib.sha1(data)\n"
    new = "import hashlib\n\nh = hashlib.md5(data, usedforsecurity=False)\ng = hashlib.sha1(data, usedforsecurity=False)\n"
    assert call_problems(old, new, (3, 4)) is None


def test_hashlib_unknown_keyword_is_rejected() -> None:
    old = "import hashlib\n\nh = hashlib.md5(data)\n"
    new = "import hashlib\n\nh = hashlib.md5(data, secure=False)\n"
    reason = check(old, new, "md5")
    assert reason is not None
    assert "hashlib.md5" in reason
    assert "unexpected keyword argument 'secure'" in reason


def test_subprocess_run_list_check_shell_false_passes() -> None:
    old = 'import subprocess\n\nsubprocess.run("ls", shell=True)\n'
    new = 'import subprocess\n\nsubprocess.run(["ls"], check=True, shell=False)\n'
    assert check(old, new, "subprocess.run") is None


def test_tempfile_mkstemp_delete_is_rejected() -> None:
    old = 'import tempfile\n\npath = tempfile.mktemp(prefix="x")\n'
    new = 'import tempfile\n\nfd, path = tempfile.mkstemp(prefix="x", delete=False)\n'
    reason = check(old, new, "mkstemp")
    assert reason is not None
    assert "tempfile.mkstemp" in reason
    assert "unexpected keyword argument 'delete'" in reason


def test_missing_required_argument_is_rejected() -> None:
    old = "import os\n\np = os.getcwd()\n"
    new = "import os\n\np = os.path.join()\n"
    # join(a, *p): `a` is required
    reason = check(old, new, "join")
    assert reason is not None
    assert "missing a required argument: 'a'" in reason


def test_os_path_join_through_from_import_passes() -> None:
    old = "p = base + '/' + name\n"
    new = "from os import path\n\np = path.join(base, name, 'x')\n"
    assert check(old, new, "path.join") is None


def test_submodule_not_imported_by_its_package_is_resolved() -> None:
    old = "import xml.etree.ElementTree as ET\n\ntree = ET.parse(path)\n"
    new = "from xml.etree import ElementTree as ET\n\ntree = ET.parse(path, parser, extra)\n"
    reason = check(old, new, "ET.parse")
    assert reason is not None
    assert "xml.etree.ElementTree.parse" in reason


def test_yaml_safe_load_passes_and_loader_keyword_is_rejected() -> None:
    pytest.importorskip("yaml")
    old = "import yaml\n\n\ndef load(f):\n    return yaml.load(f, Loader=yaml.Loader)\n"
    good = "import yaml\n\n\ndef load(f):\n    return yaml.safe_load(f)\n"
    bad = "import yaml\n\n\ndef load(f):\n    return yaml.safe_load(f, Loader=yaml.SafeLoader)\n"
    assert check(old, good, "safe_load") is None
    reason = check(old, bad, "safe_load")
    assert reason is not None
    assert "yaml.safe_load(stream)" in reason
    assert "unexpected keyword argument 'Loader'" in reason


def test_requests_timeout_passes() -> None:
    pytest.importorskip("requests")
    old = "import requests\n\nr = requests.get(url)\n"
    new = "import requests\n\nr = requests.get(url, timeout=10)\n"
    assert check(old, new, "requests.get") is None


def test_defusedxml_parse_passes() -> None:
    pytest.importorskip("defusedxml")
    old = "import xml.etree.ElementTree as ET\n\ntree = ET.parse(path)\n"
    new = "import defusedxml.ElementTree as ET\n\ntree = ET.parse(path)\n"
    # `ET.parse(path)` is unchanged text: nothing to check; force it by a rename of the argument
    new2 = "import defusedxml.ElementTree as ET\n\ntree = ET.parse(source_path)\n"
    assert check(old, new, "ET.parse") is None
    assert check(old, new2, "ET.parse") is None


def test_function_defined_in_same_file_is_not_checked() -> None:
    old = "def literal_eval(a, b):\n    return a\n\n\nx = 1\n"
    new = "def literal_eval(a, b):\n    return a\n\n\nx = literal_eval(1, 2, 3, 4)\n"
    assert check(old, new, "x = literal_eval") is None


def test_name_shadowing_an_import_is_not_checked() -> None:
    old = "import ast\n\n\ndef f(ast, code):\n    return code\n"
    new = "import ast\n\n\ndef f(ast, code):\n    return ast.literal_eval(code, 1, 2)\n"
    assert check(old, new, "literal_eval") is None


def test_relative_and_unknown_packages_are_not_checked() -> None:
    old = "x = 1\n"
    new = "from .util import literal_eval\nimport not_a_real_pkg_xyz\n\nx = literal_eval(1, 2)\ny = not_a_real_pkg_xyz.f(1)\n"
    assert call_problems(old, new, (4, 5)) is None
    assert "not_a_real_pkg_xyz" not in sys.modules


def test_unchanged_calls_are_not_checked() -> None:
    # the bad call already existed in the old source: not the fix's doing
    old = "import ast\n\nv = ast.literal_eval(code, ns)\nw = eval(code)\n"
    new = "import ast\n\nv = ast.literal_eval(code, ns)\nw = ast.literal_eval(code)\n"
    assert call_problems(old, new, (3, 4)) is None


def test_calls_outside_the_span_are_not_checked() -> None:
    old = "import ast\n\nw = eval(code)\n"
    new = "import ast\n\nv = ast.literal_eval(code, ns)\nw = ast.literal_eval(code)\n"
    assert call_problems(old, new, (4, 4)) is None
    assert call_problems(old, new, (3, 4)) is not None


def test_star_args_skip_binding() -> None:
    old = "x = 1\n"
    new = "import ast\n\nx = ast.literal_eval(*parts)\ny = ast.literal_eval(*parts, extra=1)\n"
    assert call_problems(old, new, (3, 4)) is None


def test_double_star_still_catches_too_many_positionals() -> None:
    old = "x = 1\n"
    new = "import ast\n\nx = ast.literal_eval(a, b, **kw)\n"
    reason = call_problems(old, new, (3, 3))
    assert reason is not None
    assert "too many positional arguments" in reason


def test_builtin_without_signature_is_skipped() -> None:
    old = "x = 1\n"
    new = "import datetime\n\nx = datetime.datetime(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)\n"
    assert call_problems(old, new, (3, 3)) is None


# --- (b) keywords beside a ** expansion -------------------------------------------------------------------------


def test_keyword_added_beside_double_star_is_rejected() -> None:
    old = "import torch\n\nm = torch.load(f, **kwargs)\n"
    new = "import torch\n\nm = torch.load(f, **kwargs, weights_only=True)\n"
    reason = check(old, new, "torch.load")
    assert reason is not None
    assert "adds keyword 'weights_only' beside a ** expansion" in reason
    assert "got multiple values for keyword argument 'weights_only'" in reason


def test_requests_timeout_beside_double_star_is_rejected() -> None:
    old = "import requests\n\nr = requests.get(url, **kw)\n"
    new = "import requests\n\nr = requests.get(url, **kw, timeout=10)\n"
    reason = check(old, new, "requests.get")
    assert reason is not None
    assert "adds keyword 'timeout'" in reason


def test_keyword_already_explicit_beside_double_star_passes() -> None:
    old = "import requests\n\nr = requests.get(url, timeout=5, **kw)\n"
    new = "import requests\n\nr = requests.get(url, timeout=10, **kw)\n"
    assert check(old, new, "requests.get") is None


def test_double_star_check_needs_no_resolvable_callee() -> None:
    old = "r = client.fetch(url, **kw)\n"
    new = "r = client.fetch(url, verify=True, **kw)\n"
    reason = call_problems(old, new, (1, 1))
    assert reason is not None
    assert "adds keyword 'verify'" in reason


# --- robustness --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("def f(:\n", "import ast\nast.literal_eval(a, b)\n"),
        ("x = 1\n", "def f(:\n"),
        ("x = 1\n", "x = '\0'\n"),
        ("", ""),
    ],
)
def test_never_raises(old: str, new: str) -> None:
    assert call_problems(old, new, (1, 2)) is None


def test_never_imports_disallowed_modules() -> None:
    assert importlib.util.find_spec("bot") is not None  # the project itself is importable, yet never imported
    old = "x = 1\n"
    new = "import bot.engine.gate as g\nimport antigravity\n\nx = g.prove(1, 2, 3, 4, 5, 6, 7)\ny = antigravity.fly(1)\n"
    before = set(sys.modules)
    assert call_problems(old, new, (4, 5)) is None
    assert "antigravity" not in sys.modules
    assert not {m for m in set(sys.modules) - before if m.startswith("bot")}
