"""B506: `yaml.load` without a safe loader can construct arbitrary Python objects."""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, m
from bot.engine.fixers.registry import register


@register
class YamlSafeLoad(Fixer):
    rule_ids = ("B506",)
    name = "yaml-safe-load"
    title = "Use yaml.safe_load"
    explanation = (
        "`yaml.load` with the default or full loader builds arbitrary Python objects from tags "
        "in the document, so a crafted YAML file can run code. `yaml.safe_load` (SafeLoader) "
        "only builds plain data: dicts, lists, strings, numbers."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/20.html",
        "https://pyyaml.org/wiki/PyYAMLDocumentation",
        "https://bandit.readthedocs.io/en/latest/plugins/b506_yaml_load.html",
    )
    confidence = FixConfidence.SAFE
    cases = (
        Case(
            "import yaml\n\ndata = yaml.load(open('c.yml'))\n",
            "import yaml\n\ndata = yaml.safe_load(open('c.yml'))\n",
            "B506",
        ),
        Case(
            "import yaml as y\n\nx = y.load(text, Loader=y.Loader)\n",
            "import yaml as y\n\nx = y.safe_load(text)\n",
            "B506",
            note="alias and explicit unsafe loader",
        ),
        Case(
            "import yaml\n\n\ndef f(s):\n    return yaml.load(\n        s,\n        yaml.FullLoader,\n    )\n",
            "import yaml\n\n\ndef f(s):\n    return yaml.safe_load(\n        s,\n    )\n",
            "B506",
            note="positional loader, call across lines",
        ),
        Case("import yaml\n\nx = yaml.load(s, Loader=yaml.SafeLoader)\n", note="already safe"),
        Case("import yaml\n\nx = yaml.safe_load(s)\n"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not m.matches(call.func, m.Attribute(attr=m.Name("load"))):
            return None
        if not ctx.refers_to(call.func, "yaml.load"):
            return None
        if not call.args or call.args[0].keyword is not None or call.args[0].star:
            return None
        rest = call.args[1:]
        # Only the loader may follow the stream; anything else is a signature we do not know.
        if len(rest) > 1 or (rest and rest[0].keyword is not None and rest[0].keyword.value != "Loader"):
            return None
        func = call.func
        assert isinstance(func, cst.Attribute)
        # Keep the call's layout: the stream takes the last argument's trailing comma/whitespace.
        stream = call.args[0].with_changes(comma=call.args[-1].comma)
        new_call = call.with_changes(func=func.with_changes(attr=cst.Name("safe_load")), args=[stream])
        return Edit(call, new_call, "replace yaml.load with yaml.safe_load")
