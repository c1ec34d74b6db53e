"""`FixContext.qualified_names` answers the common case without libcst's scope analysis
(`simple_qualified_name`); those answers must be exactly `QualifiedNameProvider`'s. Property:
for the callee of every call of every fixer case (before and after its fix) and of real
standard-library files, a simple answer, when there is one, equals the provider's answer."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, QualifiedNameProvider

from bot.engine.fixers.base.fixer import simple_qualified_name
from bot.engine.fixers.registry import all_fixers

STDLIB = Path(sysconfig.get_paths()["stdlib"])
REAL_FILES = [
    "subprocess.py", "tarfile.py", "shutil.py", "tempfile.py", "urllib/request.py", "http/server.py",
    "smtplib.py", "imaplib.py", "pickle.py", "logging/config.py", "xmlrpc/client.py", "random.py",
    "uuid.py", "webbrowser.py", "sqlite3/dump.py", "multiprocessing/connection.py", "ftplib.py",
]  # fmt: skip


def _compare(source: str) -> int:
    """How many nodes got a simple answer; asserts each equals the provider's."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return 0
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    provided = wrapper.resolve(QualifiedNameProvider)
    answered = 0
    callees = {id(n.func) for n in provided if isinstance(n, cst.Call)}
    for node, value in provided.items():
        if id(node) not in callees:
            continue
        simple = simple_qualified_name(source, node)
        if simple is None:
            continue
        names = value() if callable(value) else value
        expected = {q.name for q in names}
        assert expected == {simple}, (module.code_for_node(node), expected, simple)
        answered += 1
    return answered


CASES = [
    pytest.param(case, id=f"{fixer.name}-{index}")
    for fixer in all_fixers()
    for index, case in enumerate(fixer.cases)
]


@pytest.mark.parametrize("case", CASES)
def test_every_fixer_case_gets_the_providers_names(case: object) -> None:
    for text in (case.before, case.after or case.before):  # type: ignore[attr-defined]
        _compare(text)


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_files_get_the_providers_names(name: str) -> None:
    _compare((STDLIB / name).read_text(encoding="utf-8"))


def test_the_simple_answers_are_common() -> None:
    answered = sum(_compare((STDLIB / name).read_text(encoding="utf-8")) for name in REAL_FILES[:5])
    assert answered > 50


@pytest.mark.parametrize(
    "source",
    [
        "import requests\n\ndef f(requests):\n    requests.get(u)\n",  # a parameter shadows it
        "import requests\nrequests = None\nrequests.get(u)\n",  # rebound
        "from os import *\nimport requests\nrequests.get(u)\n",  # a star import could rebind it
        "import os.path\nos.path.join(a)\n",  # `import a.b` binds `a`
        "try:\n    import requests\nexcept ImportError:\n    requests = None\nrequests.get(u)\n",
    ],
)
def test_anything_else_asks_the_provider(source: str) -> None:
    module = cst.parse_module(source)
    for node in MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider):
        if isinstance(node, cst.Attribute) and module.code_for_node(node).endswith((".get", ".join")):
            assert simple_qualified_name(source, node) is None, module.code_for_node(node)
