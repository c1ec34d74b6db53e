"""B313-B319: stdlib XML parsers expand entities, so a crafted document can exhaust memory.

The fix calls the same function from `defusedxml`, which subclasses the stdlib
parsers and refuses entity declarations and external references. Only the call
site changes: the stdlib import stays, because the same alias is often used for
building XML (`Element`, `SubElement`, `tostring`) and defusedxml does not
provide those. The new call is spelled fully qualified (`defusedxml.minidom.parse`)
whatever the original import looked like, so no existing name changes meaning.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer
from bot.engine.fixers.registry import register

# stdlib module → defusedxml module with the same functions.
_MODULES = {
    "xml.etree.cElementTree": "defusedxml.ElementTree",  # cElementTree is gone since 3.9
    "xml.etree.ElementTree": "defusedxml.ElementTree",
    "xml.sax.expatreader": "defusedxml.expatreader",
    "xml.dom.expatbuilder": "defusedxml.expatbuilder",
    "xml.sax": "defusedxml.sax",
    "xml.dom.minidom": "defusedxml.minidom",
    "xml.dom.pulldom": "defusedxml.pulldom",
}

# (module, function) → (parameters that may be passed positionally, in order; parameters
# that must be keywords) whose meaning is the same in defusedxml. Anything else is
# declined: a caller-supplied `parser=` would be used as is by defusedxml and stay
# unsafe, and defusedxml's `fromstring` has no parser parameter at all.
_SIGNATURES: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("defusedxml.ElementTree", "parse"): (("source",), ()),
    ("defusedxml.ElementTree", "iterparse"): (("source", "events"), ()),
    ("defusedxml.ElementTree", "fromstring"): (("text",), ()),
    ("defusedxml.ElementTree", "XMLParser"): ((), ("target", "encoding")),
    ("defusedxml.expatreader", "create_parser"): (("namespaceHandling", "bufsize"), ()),
    ("defusedxml.expatbuilder", "parse"): (("file", "namespaces"), ()),
    ("defusedxml.expatbuilder", "parseString"): (("string", "namespaces"), ()),
    ("defusedxml.sax", "parse"): (("source", "handler", "errorHandler"), ()),
    ("defusedxml.sax", "parseString"): (("string", "handler", "errorHandler"), ()),
    ("defusedxml.sax", "make_parser"): ((), ()),  # defusedxml ignores parser_list
    ("defusedxml.minidom", "parse"): (("file",), ("bufsize",)),
    ("defusedxml.minidom", "parseString"): (("string",), ()),
    ("defusedxml.pulldom", "parse"): (("stream_or_string",), ("bufsize",)),
    ("defusedxml.pulldom", "parseString"): (("string",), ()),
}


def _target(ctx: FixContext, func: cst.BaseExpression) -> tuple[str, str] | None:
    """(defusedxml module, function) for a call of a flagged stdlib XML function.

    A name with several possible origins (`try: from lxml import etree` / `except
    ImportError: import xml.etree.ElementTree as etree`) is declined: lxml's elements
    are not what defusedxml returns.
    """
    names = ctx.qualified_names(func)
    if len(names) != 1:
        return None
    module, _, name = names.pop().rpartition(".")
    defused = _MODULES.get(module)
    if defused is not None and (defused, name) in _SIGNATURES:
        return defused, name
    return None


def _args_supported(call: cst.Call, signature: tuple[tuple[str, ...], tuple[str, ...]]) -> bool:
    positional, keyword_only = signature
    allowed = set(positional) | set(keyword_only)
    count = 0
    for arg in call.args:
        if arg.star:
            return False
        if arg.keyword is None:
            count += 1
        elif arg.keyword.value not in allowed:
            return False
    return count <= len(positional)


@register
class DefusedXml(Fixer):
    rule_ids = ("B313", "B314", "B315", "B316", "B317", "B318", "B319")
    name = "defused-xml"
    title = "Parse XML with defusedxml"
    explanation = (
        "The standard library XML parsers expand entities and follow external references, so a "
        "crafted document can exhaust memory (billion laughs) or read local files. The same "
        "function from `defusedxml` rejects those constructs and otherwise behaves the same. "
        "This adds a dependency: `defusedxml` must be installed (add it to the requirements), "
        "so the fix is `safe` only in a file that already uses defusedxml."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/776.html",
        "https://docs.python.org/3/library/xml.html#xml-vulnerabilities",
        "https://pypi.org/project/defusedxml/",
        "https://bandit.readthedocs.io/en/latest/blacklists/blacklist_calls.html#b313-b320-xml",
    )
    confidence = FixConfidence.SAFE

    def usable(self, ctx: FixContext) -> bool:
        """Only where the project can import defusedxml: the file uses it already, or the project
        declares it (else the fix makes the module raise ImportError where it is installed)."""
        return ctx.module_imports("defusedxml") or ctx.project.may_import("defusedxml")

    def confidence_for(self, ctx: FixContext) -> FixConfidence:
        """A new dependency is a maintainer's decision: `review` unless the file already uses it."""
        return FixConfidence.SAFE if ctx.module_imports("defusedxml") else FixConfidence.REVIEW

    cases = (
        Case(
            "import xml.etree.ElementTree as ET\n\ntree = ET.parse('feed.xml')\nroot = ET.Element('r')\n",
            (
                "import xml.etree.ElementTree as ET\n"
                "\n"
                "import defusedxml.ElementTree\n"
                "\n"
                "tree = defusedxml.ElementTree.parse('feed.xml')\n"
                "root = ET.Element('r')\n"
            ),
            "B314",
            note="alias import; the alias stays for building XML",
        ),
        Case(
            "from xml.dom import minidom\n\n\nclass Feed:\n    def load(self, body):\n"
            "        return minidom.parseString(\n            body,  # données reçues\n        )\n",
            (
                "import defusedxml.minidom\n"
                "\n"
                "\n"
                "class Feed:\n"
                "    def load(self, body):\n"
                "        return defusedxml.minidom.parseString(\n"
                "            body,  # données reçues\n"
                "        )\n"
            ),
            "B318",
            note="from-import of the module, method body, multi-line call with a comment",
        ),
        Case(
            "from xml.sax import parseString\n\nparseString(data, handler)\n",
            ("import defusedxml.sax\n\ndefusedxml.sax.parseString(data, handler)\n"),
            "B317",
            note="the function itself imported",
        ),
        Case(
            "import xml.etree.cElementTree as cET\n\n"
            "for event, elem in cET.iterparse(path, events=('end',)):\n    pass\n",
            (
                "import defusedxml.ElementTree\n"
                "\n"
                "for event, elem in defusedxml.ElementTree.iterparse(path, events=('end',)):\n"
                "    pass\n"
            ),
            "B313",
            note="cElementTree maps to defusedxml.ElementTree",
        ),
        Case(
            "import xml.dom.pulldom\n\nevents = xml.dom.pulldom.parse(stream, bufsize=1024)\n",
            ("import defusedxml.pulldom\n\nevents = defusedxml.pulldom.parse(stream, bufsize=1024)\n"),
            "B319",
        ),
        Case(
            "from xml.sax import expatreader\n\nparser = expatreader.create_parser()\n",
            ("import defusedxml.expatreader\n\nparser = defusedxml.expatreader.create_parser()\n"),
            "B315",
        ),
        Case(
            "from xml.dom import expatbuilder\n\ndoc = expatbuilder.parse(path, False)\n",
            ("import defusedxml.expatbuilder\n\ndoc = defusedxml.expatbuilder.parse(path, False)\n"),
            "B316",
        ),
        Case("import defusedxml.ElementTree as ET\n\ntree = ET.parse('feed.xml')\n", note="already defusedxml"),
        Case(
            "try:\n    from lxml import etree\nexcept ImportError:\n    import xml.etree.ElementTree as etree\n\n"
            "root = etree.fromstring(data)\n",
            note="lxml or the stdlib at run time: declined",
        ),
        Case(
            "import xml.etree.ElementTree as ET\n\nroot = ET.fromstring(text, parser=ET.XMLParser(encoding='utf-8'))\n",
            note="caller-supplied parser: defusedxml.fromstring takes none; declined",
        ),
        Case(
            "import xml.dom.minidom\n\n\ndef f(defusedxml):\n    return xml.dom.minidom.parse(defusedxml)\n",
            note="the name `defusedxml` is taken in this scope; declined",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        if not self.usable(ctx):
            return None
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not isinstance(call.func, (cst.Name, cst.Attribute)):
            return None
        target = _target(ctx, call.func)
        if target is None:
            return None
        module, function = target
        if not _args_supported(call, _SIGNATURES[target]) or not ctx.name_is_free(call, "defusedxml"):
            return None
        ctx.add_import(module)
        new_func = cst.parse_expression(f"{module}.{function}")
        return Edit(call, call.with_changes(func=new_func), f"call {module}.{function} (needs the defusedxml package)")
