"""The gate refuses every kind of bad candidate, and (property) never emits a fix
that does not parse or that adds a finding."""

from __future__ import annotations

import ast

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.api import review_source
from bot.engine.findings import Level
from bot.engine.fixers.base import Candidate, Edit, FixContext, Fixer, propose
from bot.engine.gate import Rejected, prove
from bot.engine.scan import ScanSettings, scan_source

SETTINGS = ScanSettings()
SOURCE = "import yaml\n\n\ndef load(s):\n    return yaml.load(s)\n\n\nOTHER = 1\n"


class _Stub(Fixer):
    rule_ids = ("B506",)
    name = "stub"
    title = "stub"

    def __init__(self, make: object) -> None:
        self.make = make

    def fix(self, ctx: FixContext) -> Edit | None:
        return self.make(ctx)  # type: ignore[operator]


def _candidate(make: object, source: str = SOURCE) -> tuple[list, Candidate]:  # type: ignore[type-arg]
    findings = scan_source("m.py", source, SETTINGS).findings
    target = next(f for f in findings if f.rule_id == "B506")
    candidate = propose(_Stub(make), source, target)
    assert candidate is not None
    return findings, candidate


def _prove(make: object, source: str = SOURCE) -> None:
    findings, candidate = _candidate(make, source)
    target = next(f for f in findings if f.rule_id == "B506")
    prove("m.py", source, findings, target, candidate, SETTINGS)


def test_rejects_no_op() -> None:
    with pytest.raises(Rejected, match="no change"):
        _prove(lambda ctx: Edit(ctx.flagged, ctx.flagged))


def test_rejects_finding_still_present() -> None:
    def rename_arg(ctx: FixContext) -> Edit:
        call = ctx.flagged
        assert isinstance(call, cst.Call)
        return Edit(call, call.with_changes(args=[cst.Arg(cst.Name("s")), cst.Arg(cst.Name("s"))]))

    with pytest.raises(Rejected, match="still reported"):
        _prove(rename_arg)


def test_rejects_new_finding_of_equal_or_higher_severity() -> None:
    with pytest.raises(Rejected, match="new B307"):
        _prove(lambda ctx: Edit(ctx.flagged, cst.parse_expression("eval(s)")))


def test_rejects_invented_names() -> None:
    # Parses, compiles and silences bandit, but reads a name nothing defines (a model's babble).
    with pytest.raises(Rejected, match="reads `ibleunter`"):
        _prove(lambda ctx: Edit(ctx.flagged, cst.parse_expression("ibleunter(s)")))


def test_rejects_unbinding_a_used_name() -> None:
    class DropImport(Fixer):
        rule_ids = ("B404",)
        name = "drop-import"
        title = "drop"

        def fix(self, ctx: FixContext) -> Edit | None:
            return Edit(ctx.statement, cst.parse_statement("import shlex\n"))

    src = "import subprocess\n\n\ndef f():\n    return subprocess.run(['ls'])\n"
    findings = scan_source("m.py", src, SETTINGS).findings
    target = next(f for f in findings if f.rule_id == "B404")
    candidate = propose(DropImport(), src, target)
    assert candidate is not None
    with pytest.raises(Rejected, match="removes `subprocess`"):
        prove("m.py", src, findings, target, candidate, SETTINGS)


def test_rejects_edit_outside_statement() -> None:
    def touch_other(ctx: FixContext) -> Edit:
        other = ctx.module.body[-1]
        return Edit(other, cst.parse_statement("OTHER = 2\n"))

    with pytest.raises(Rejected, match="not confined"):
        _prove(touch_other)


def test_rejects_non_idempotent_fixer() -> None:
    class Growing(Fixer):
        """Lowers B602 HIGH to LOW with a literal, then keeps growing that literal."""

        rule_ids = ("B602",)
        name = "growing"
        title = "grow"

        def fix(self, ctx: FixContext) -> Edit | None:
            call = ctx.flagged
            assert isinstance(call, cst.Call)
            first = call.args[0].value
            text = "'ls'" if isinstance(first, cst.Name) else "'ls -a'"
            return Edit(first, cst.SimpleString(text))

    src = "import subprocess\n\n\ndef f(cmd):\n    subprocess.call(cmd, shell=True)\n"
    findings = scan_source("m.py", src, SETTINGS).findings
    target = next(f for f in findings if f.rule_id == "B602")
    candidate = propose(Growing(), src, target)
    assert candidate is not None
    with pytest.raises(Rejected, match="not idempotent"):
        prove("m.py", src, findings, target, candidate, SETTINGS)


def test_accepts_new_low_audit_marker_but_not_medium() -> None:
    src = "import subprocess\n\n\ndef f():\n    subprocess.call('ls -l', shell=True)\n"
    report = review_source(src, "m.py", SETTINGS)
    fixes = list(report.fixes.values())
    if fixes:  # the B602 fixer, when present, leaves LOW B603/B607 behind
        after = scan_source("m.py", fixes[0].new_source, SETTINGS).findings
        assert all(f.severity == Level.LOW for f in after)


# --- property: whatever the shape of the vulnerable code, every emitted fix is proven ---

VULNERABLE_STATEMENTS = [
    "x = yaml.load(data)",
    "x = yaml.load(data, Loader=yaml.Loader)",
    "requests.get(url)",
    "requests.post(url, json=payload, verify=False)",
    "app.run(debug=True)",
    "tar.extractall(dest)",
    "tree = ET.fromstring(data)",
    "digest = hashlib.md5(data).hexdigest()",
    "subprocess.call('ls -l', shell=True)",
    "subprocess.call(cmd, shell=True)",
    "os.system('ls -l')",
    "assert data, 'missing'",
    "ctx = ssl._create_unverified_context()",
    "key = rsa.generate_private_key(public_exponent=65537, key_size=1024)",
    "token = random.choice(alphabet)",
    "password = 'hunter2'",
    "eval(data)",
    "pickle.loads(data)",
]
HEADER = (
    "import hashlib\nimport os\nimport pickle\nimport random\nimport ssl\nimport subprocess\nimport tarfile\n"
    "import xml.etree.ElementTree as ET\n\nimport requests\nimport yaml\nfrom cryptography.hazmat.primitives.asymmetric import rsa\n"
    "from flask import Flask\n\napp = Flask(__name__)\n"
)


@st.composite
def programs(draw: st.DrawFn) -> str:
    body = draw(st.lists(st.sampled_from(VULNERABLE_STATEMENTS), min_size=1, max_size=5))
    wrap = draw(st.sampled_from(["module", "function", "method", "if", "try"]))
    if wrap == "module":
        return HEADER + "\n".join(body) + "\n"
    if wrap == "function":
        return (
            HEADER
            + "\n\ndef handler(data, url, dest, cmd, tar, payload, alphabet):\n"
            + "".join(f"    {s}\n" for s in body)
        )
    if wrap == "method":
        return (
            HEADER
            + "\n\nclass C:\n    def m(self, data, url, dest, cmd, tar, payload, alphabet):\n"
            + "".join(f"        {s}\n" for s in body)
        )
    if wrap == "if":
        return HEADER + "\nif data:\n" + "".join(f"    {s}\n" for s in body) + "else:\n    pass\n"
    return HEADER + "\ntry:\n" + "".join(f"    {s}\n" for s in body) + "except ValueError:\n    raise\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_emitted_fixes_parse_and_add_no_finding(source: str) -> None:
    before = scan_source("m.py", source, SETTINGS)
    report = review_source(source, "m.py", SETTINGS)
    for fingerprint, fix in report.fixes.items():
        ast.parse(fix.new_source)
        cst.parse_module(fix.new_source)
        covered = fix.covers or (fix.finding.fingerprint,)
        assert fingerprint in covered
        # A combined fix (several findings on one statement) answers for its weakest finding.
        target = min((f for f in before.findings if f.fingerprint in covered), key=lambda f: f.severity)
        after = scan_source("m.py", fix.new_source, SETTINGS).findings
        old = [(f.rule_id, f.severity) for f in before.findings]
        for finding in after:
            if (finding.rule_id, finding.severity) in old:
                old.remove((finding.rule_id, finding.severity))
                continue
            assert finding.severity < target.severity or finding.rule_id in {"B404", "B603", "B607"}, (
                finding,
                fix.diff,
            )
        # Outside the edit, bytes are identical.
        old_lines = source.splitlines(keepends=True)
        new_lines = fix.new_source.splitlines(keepends=True)
        assert old_lines[fix.edit_end :][-3:] == new_lines[-3:] or fix.edit_end >= len(old_lines) - 3


def test_a_model_draft_must_leave_no_finding_of_its_rule_on_the_lines_it_edited() -> None:
    """A codemod is re-applied to prove idempotence; a model draft cannot be (the model runs
    elsewhere), so a draft that only lowers its finding (B605 HIGH → LOW here) is rejected."""
    from bot.engine.findings import FixConfidence
    from bot.engine.fixers.base import Candidate
    from bot.engine.fixers.registry import fixers_for

    source = "import os\n\n\ndef run(cmd):\n    os.system(cmd)\n"
    findings = scan_source("m.py", source, SETTINGS).findings
    (target,) = [f for f in findings if f.rule_id == "B605"]
    lowered = source.replace("os.system(cmd)", 'os.system("true")')
    assert [f.severity.name for f in scan_source("m.py", lowered, SETTINGS).findings if f.rule_id == "B605"] == ["LOW"]
    draft = Candidate(fixers_for("B605")[0], lowered, "a model's draft", FixConfidence.REVIEW, (5, 5))
    with pytest.raises(Rejected, match="model draft cannot be re-applied"):
        prove("m.py", source, findings, target, draft, SETTINGS, provenance="model")
