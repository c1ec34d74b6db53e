"""bot.engine.fixers.imports: imports placed as isort / ruff's I rules place them.

Every case is checked three ways: the exact expected text; ruff (``--isolated --select
I,E402,F401``) finds no I001/E402 on the result where the input had none (and never more
than the input had); adding the same imports again changes nothing.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import pytest
from ruff.__main__ import find_ruff_bin

from bot.engine.fixers.imports import Wanted, add_imports


@dataclass(frozen=True)
class Case:
    name: str
    before: str
    wanted: tuple[Wanted, ...]
    after: str
    clean: bool = True  # the input has no I001/E402 of its own


def _d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


ANSIBLE_HEADER = _d(
    '''
    #!/usr/bin/python
    # -*- coding: utf-8 -*-

    # Copyright: (c) 2024, Someone
    # GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

    from __future__ import absolute_import, division, print_function
    __metaclass__ = type

    DOCUMENTATION = r"""
    module: checksum
    short_description: compute a checksum
    """

    EXAMPLES = r"""
    - checksum:
        path: /etc/hosts
    """

    RETURN = r""" # """
    '''
)

CASES = [
    Case(
        "stdlib into a block of only third-party imports",
        "import requests\nimport yaml\n\nrequests, yaml\n",
        (("hashlib", None, None),),
        "import hashlib\n\nimport requests\nimport yaml\n\nrequests, yaml\n",
    ),
    Case(
        "stdlib from-import into a third-party block after a header comment",
        "# a header\nfrom yaml import safe_load\n\nsafe_load\n",
        (("hashlib", "sha256", None),),
        "# a header\nfrom hashlib import sha256\n\nfrom yaml import safe_load\n\nsafe_load\n",
    ),
    Case(
        "third-party into a block of only stdlib imports",
        '"""Doc."""\n\nimport os\n\n\ndef f():\n    return os\n',
        (("defusedxml.ElementTree", None, None),),
        '"""Doc."""\n\nimport os\n\nimport defusedxml.ElementTree\n\n\ndef f():\n    return os\n',
    ),
    Case(
        "stdlib into stdlib + third-party + local",
        _d(
            """
            import os
            from subprocess import run

            import requests

            from . import util
            from .models import User

            os, run, requests, util, User
            """
        ),
        (("shlex", None, None), ("secrets", "token_hex", None), ("jinja2", "Environment", None)),
        _d(
            """
            import os
            import shlex
            from secrets import token_hex
            from subprocess import run

            import requests
            from jinja2 import Environment

            from . import util
            from .models import User

            os, run, requests, util, User
            """
        ),
    ),
    Case(
        "local import into stdlib + third-party",
        "import os\n\nimport requests\n\nos, requests\n",
        ((".safety", "quote", None),),
        "import os\n\nimport requests\n\nfrom .safety import quote\n\nos, requests\n",
    ),
    Case(
        "first-party section is recognised as the second non-stdlib group",
        "import os\n\nimport requests\n\nfrom myapp import models\n\nos, requests, models\n",
        (("myapp.security", "escape", None), ("attr", None, None)),
        "import os\n\nimport attr\nimport requests\n\nfrom myapp import models\nfrom myapp.security import escape\n\n"
        "os, requests, models\n",
    ),
    Case(
        "merge into from hashlib import md5",
        "from hashlib import md5\n\nmd5\n",
        (("hashlib", "sha256", None),),
        "from hashlib import md5, sha256\n\nmd5\n",
    ),
    Case(
        "merge sorts by type: CONSTANT, Class, function",
        "from ssl import PROTOCOL_TLS_CLIENT, create_default_context\n\nPROTOCOL_TLS_CLIENT, create_default_context\n",
        (("ssl", "SSLContext", None), ("ssl", "CERT_REQUIRED", None)),
        "from ssl import CERT_REQUIRED, PROTOCOL_TLS_CLIENT, SSLContext, create_default_context\n\n"
        "PROTOCOL_TLS_CLIENT, create_default_context\n",
    ),
    Case(
        "merge at the front keeps the trailing comma of a parenthesized import",
        "from xml.etree.ElementTree import (\n    fromstring,\n    parse,\n)\n\nfromstring, parse\n",
        (("xml.etree.ElementTree", "XMLParser", None), ("xml.etree.ElementTree", "iterparse", None)),
        "from xml.etree.ElementTree import (\n    XMLParser,\n    fromstring,\n    iterparse,\n    parse,\n)\n\n"
        "fromstring, parse\n",
    ),
    Case(
        "merge at the end of a single-name parenthesized import",
        "from subprocess import (\n    PIPE,\n)\n\nPIPE\n",
        (("subprocess", "run", None),),
        "from subprocess import (\n    PIPE,\n    run,\n)\n\nPIPE\n",
    ),
    Case(
        "merge that grows past the line length is wrapped as ruff wraps it",
        "from os.path import abspath, basename, dirname, exists, expanduser, isabs, isdir, join\n\njoin\n",
        (("os.path", "normpath", None),),
        "from os.path import (\n    abspath,\n    basename,\n    dirname,\n    exists,\n    expanduser,\n    isabs,\n"
        "    isdir,\n    join,\n    normpath,\n)\n\njoin\n",
    ),
    Case(
        "an as-import is its own statement (combine-as-imports = false)",
        "from hashlib import md5\n\nmd5\n",
        (("hashlib", "sha256", "_sha256"),),
        "from hashlib import md5\nfrom hashlib import sha256 as _sha256\n\nmd5\n",
    ),
    Case(
        "import x goes before every from-import of the section",
        "from os import path\nfrom sys import argv\n\npath, argv\n",
        (("shlex", None, None),),
        "import shlex\nfrom os import path\nfrom sys import argv\n\npath, argv\n",
    ),
    Case(
        "from-import is sorted by module among from-imports",
        "import sys\nfrom collections import OrderedDict\nfrom typing import Any\n\nsys, OrderedDict, Any\n",
        (("secrets", "compare_digest", None),),
        "import sys\nfrom collections import OrderedDict\nfrom secrets import compare_digest\nfrom typing import Any\n\n"
        "sys, OrderedDict, Any\n",
    ),
    Case(
        "after from __future__, never before it",
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport sys\n\nsys\n',
        (("abc", None, None),),
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport abc\nimport sys\n\nsys\n',
    ),
    Case(
        "file with a docstring and no imports",
        '"""A module."""\n\n\ndef f(data):\n    return data\n',
        (("hashlib", None, None),),
        '"""A module."""\n\nimport hashlib\n\n\ndef f(data):\n    return data\n',
    ),
    Case(
        "file with a docstring, no imports, code below",
        '"""A module."""\nX = 1\n',
        (("secrets", None, None),),
        '"""A module."""\n\nimport secrets\n\nX = 1\n',
    ),
    Case(
        "file with no imports and no docstring keeps the shebang and header first",
        "#!/usr/bin/env python\n# a comment\n\nprint(1)\n",
        (("sys", None, None),),
        "#!/usr/bin/env python\n# a comment\n\nimport sys\n\nprint(1)\n",
    ),
    Case(
        "file with only a __future__ import",
        "from __future__ import annotations\n\nX: int = 1\n",
        (("os", None, None),),
        "from __future__ import annotations\n\nimport os\n\nX: int = 1\n",
    ),
    Case(
        "Ansible-style module: among the imports below DOCUMENTATION",
        ANSIBLE_HEADER
        + _d(
            """

            import os

            from ansible.module_utils.basic import AnsibleModule


            def main():
                return AnsibleModule, os
            """
        ),
        (("hashlib", "sha256", None),),
        ANSIBLE_HEADER
        + _d(
            """

            import os
            from hashlib import sha256

            from ansible.module_utils.basic import AnsibleModule


            def main():
                return AnsibleModule, os
            """
        ),
        clean=False,  # the imports below DOCUMENTATION are E402 already (Ansible's convention)
    ),
    Case(
        "Ansible-style module without imports: below the documentation strings",
        ANSIBLE_HEADER + "\n\ndef main():\n    pass\n",
        (("hashlib", None, None),),
        ANSIBLE_HEADER + "\nimport hashlib\n\n\ndef main():\n    pass\n",
        clean=False,  # an import below DOCUMENTATION is E402 under ruff, as Ansible's convention has it
    ),
    Case(
        "first import inside try: the top-level block below is used",
        _d(
            """
            try:
                import simplejson as json
            except ImportError:
                import json

            import os

            os, json
            """
        ),
        (("shlex", None, None),),
        _d(
            """
            try:
                import simplejson as json
            except ImportError:
                import json

            import os
            import shlex

            os, json
            """
        ),
        clean=False,
    ),
    Case(
        "only import is inside try: goes above it, after the docstring",
        '"""Doc."""\n\ntry:\n    import simplejson as json\nexcept ImportError:\n    import json\n\njson\n',
        (("os", None, None),),
        '"""Doc."""\n\nimport os\n\ntry:\n    import simplejson as json\nexcept ImportError:\n    import json\n\njson\n',
    ),
    Case(
        "imports under if TYPE_CHECKING are not the block",
        _d(
            """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from collections.abc import Iterator

            TYPE_CHECKING
            """
        ),
        (("re", None, None),),
        _d(
            """
            import re
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from collections.abc import Iterator

            TYPE_CHECKING
            """
        ),
    ),
    Case(
        "import os already present: unchanged",
        "import os\n\nos\n",
        (("os", None, None),),
        "import os\n\nos\n",
    ),
    Case(
        "from hashlib import sha256 already present: unchanged",
        "from hashlib import md5, sha256\n\nmd5\n",
        (("hashlib", "sha256", None),),
        "from hashlib import md5, sha256\n\nmd5\n",
    ),
    Case(
        "import os.path present and os wanted: add import os",
        "import os.path\n\nos.path\n",
        (("os", None, None),),
        "import os\nimport os.path\n\nos.path\n",
    ),
    Case(
        "import x as y is different from import x",
        "import xml.etree.ElementTree as ET\n\nET\n",
        (("xml.etree.ElementTree", None, None),),
        "import xml.etree.ElementTree\nimport xml.etree.ElementTree as ET\n\nET\n",
    ),
    Case(
        "comment above an import stays with it",
        "import os\n\n# for quoting\nimport shlex\n\nos, shlex\n",
        (("secrets", None, None), ("abc", None, None), ("sys", None, None)),
        "import abc\nimport os\nimport secrets\n\n# for quoting\nimport shlex\nimport sys\n\nos, shlex\n",
    ),
    Case(
        "duplicate wanted items are added once; several land in order",
        "import yaml\n\nyaml\n",
        (("subprocess", None, None), ("shlex", None, None), ("subprocess", None, None)),
        "import shlex\nimport subprocess\n\nimport yaml\n\nyaml\n",
    ),
    Case(
        "natural order: module names with numbers",
        "import hashlib\nimport zlib\n\nhashlib, zlib\n",
        (("base64", None, None), ("bz2", None, None)),
        "import base64\nimport bz2\nimport hashlib\nimport zlib\n\nhashlib, zlib\n",
    ),
    Case(
        "a new section goes between sections; the comment above the next one stays with it",
        "import os\n\n# local helpers\nfrom . import util\n\nos, util\n",
        (("requests", None, None),),
        "import os\n\nimport requests\n\n# local helpers\nfrom . import util\n\nos, util\n",
    ),
    Case(
        "relative imports: furthest first, then the bare package",
        "from .. import base\nfrom .models import User\n\nbase, User\n",
        ((".", "util", None), ("..", "conf", None)),
        "from .. import base, conf\nfrom . import util\nfrom .models import User\n\nbase, User\n",
    ),
    Case(
        "a comment above the block's first import stays at the top of the block",
        '"""Doc."""\n\n# what we need\nimport shlex\n\nshlex\n',
        (("os", None, None),),
        '"""Doc."""\n\n# what we need\nimport os\nimport shlex\n\nshlex\n',
    ),
    Case(
        "a new stdlib section ahead of a commented third-party block",
        '"""Doc."""\n\n# dependencies\nimport requests\n\nrequests\n',
        (("hmac", None, None),),
        '"""Doc."""\n\n# dependencies\nimport hmac\n\nimport requests\n\nrequests\n',
    ),
    Case(
        "a later top-level from-import of the module is merged into, not duplicated",
        "import os\n\nX = os.sep\nfrom hashlib import md5  # noqa: E402\n\nmd5\n",
        (("hashlib", "sha1", None),),
        "import os\n\nX = os.sep\nfrom hashlib import md5, sha1  # noqa: E402\n\nmd5\n",
        clean=False,
    ),
    Case(
        "several imports into an empty module",
        "",
        (("yaml", "safe_load", None), ("os", None, None)),
        "import os\n\nfrom yaml import safe_load\n",
    ),
    Case(
        "CRLF file stays CRLF",
        "import os\r\n\r\nos\r\n",
        (("shlex", None, None),),
        "import os\r\nimport shlex\r\n\r\nos\r\n",
    ),
]


def _ruff(source: str, cwd: Path) -> Counter[str]:
    # ruff calls a module first-party when its package is in `src` (the project root, here cwd).
    (cwd / "myapp").mkdir(exist_ok=True)
    (cwd / "myapp" / "__init__.py").touch()
    (cwd / "myapp" / "security.py").touch()
    args = ["--isolated", "--no-cache", "--exit-zero", "--output-format", "json", "--select", "I,E402,F401"]
    out = subprocess.run(
        [find_ruff_bin(), "check", *args, "--stdin-filename", "x.py", "-"],
        input=source.encode(),
        capture_output=True,
        cwd=cwd,
        check=True,
        timeout=30,
    ).stdout
    return Counter(d["code"] for d in json.loads(out) if d["code"] in {"I001", "E402"})


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_placement(case: Case, tmp_path: Path) -> None:
    result = add_imports(cst.parse_module(case.before), case.wanted).code
    assert result == case.after
    before_codes = _ruff(case.before, tmp_path)
    after_codes = _ruff(result, tmp_path)
    if case.clean:
        assert before_codes == Counter(), "the case's input should be lint-clean"
        assert after_codes == Counter(), result
    else:
        assert after_codes["I001"] <= before_codes["I001"], result
    again = add_imports(cst.parse_module(result), case.wanted).code
    assert again == result


def test_ansible_import_lands_below_documentation() -> None:
    case = next(c for c in CASES if c.name.startswith("Ansible-style module: among"))
    result = add_imports(cst.parse_module(case.before), case.wanted).code
    assert result.index("from hashlib import sha256") > result.index("RETURN = ")
    assert result.index("from hashlib import sha256") < result.index("from ansible")


def test_the_merge_keeps_an_unrelated_alias_statement_alone() -> None:
    source = "from hashlib import md5 as _md5\n\n_md5\n"
    result = add_imports(cst.parse_module(source), [("hashlib", "sha256", None)]).code
    assert result == "from hashlib import md5 as _md5\nfrom hashlib import sha256\n\n_md5\n"


def test_known_first_party_gets_its_own_section(tmp_path: Path) -> None:
    source = "import os\n\nimport requests\n\nos, requests\n"
    result = add_imports(cst.parse_module(source), [("myapp", "util", None)], known_first_party={"myapp"}).code
    assert result == "import os\n\nimport requests\n\nfrom myapp import util\n\nos, requests\n"


def test_project_line_length_is_respected() -> None:
    source = "from os.path import abspath, basename, dirname, exists, expanduser, isabs, isdir, join\n"
    result = add_imports(cst.parse_module(source), [("os.path", "normpath", None)], line_length=120).code
    assert (
        result == "from os.path import abspath, basename, dirname, exists, expanduser, isabs, isdir, join, normpath\n"
    )


@pytest.mark.parametrize("bad", [("os", None, "not valid"), ("", None, None), (".rel", None, None), ("a b", "c", None)])
def test_invalid_names_are_refused(bad: Wanted) -> None:
    with pytest.raises(ValueError):
        add_imports(cst.parse_module("X = 1\n"), [bad])
