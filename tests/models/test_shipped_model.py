"""The shipped artifact end to end: real model, faithfulness filter, the real gate.

The cases are rules no codemod covers (B307, B103, B304) or shapes the codemods
decline (a variable command, an archive not opened in view). int8 kernels differ
between CPUs, so the test asks for most, not all, of them; every fix that does
come out must be exactly the expected, faithful one.
"""

from __future__ import annotations

from bot.engine.proving import fix_each
from bot.engine.scan import ScanSettings, scan_source
from tests.models.conftest import needs_runtime

CASES = {
    "B307": ("import json\n\n\ndef parse(text):\n    value = eval(text)\n    return json.dumps(value)\n",
             "value = ast.literal_eval(text)"),
    "B103": ("import os\n\n\ndef publish(path):\n    os.chmod(path, 0o777)\n", "os.chmod(path, 0o700)"),
    "B304": ("from cryptography.hazmat.primitives.ciphers import algorithms\n\n\ndef cipher(key):\n"
             "    return algorithms.ARC4(key)\n", "return algorithms.AES(key)"),
    "B605": ("import os\n\n\ndef build(cmd):\n    os.system(cmd)\n", "subprocess.run(shlex.split(cmd), check=False)"),
    "B202": ("import tarfile\n\n\ndef unpack(archive, dest):\n    archive.extractall(dest)\n",
             'archive.extractall(dest, filter="data")'),
    "B602": ("import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n",
             "subprocess.call(shlex.split(cmd))"),
}  # fmt: skip


@needs_runtime
def test_shipped_model_rescues_findings_the_codemods_leave() -> None:
    from models.proposer import OnnxProposer

    settings = ScanSettings()
    proposer = OnnxProposer()
    proven = 0
    for rule, (source, expected) in CASES.items():
        findings = [f for f in scan_source(f"{rule}.py", source, settings).findings if f.rule_id == rule]
        assert findings, rule
        outcome = fix_each(f"{rule}.py", source, findings, settings, proposers=[proposer])
        fix = outcome.fixes.get(findings[0].fingerprint)
        if fix is None:
            continue
        assert fix.provenance == "model" and fix.fixer == "model:mendfix-tiny"
        assert fix.replacement.strip() == expected, rule
        assert fix.score is not None and 0 < fix.score <= 1
        proven += 1
    assert proven >= 4, f"only {proven} of {len(CASES)} proven"


@needs_runtime
def test_unfaithful_outputs_never_reach_the_gate() -> None:
    from models.proposer import OnnxProposer

    source = "import os\n\n\ndef status(command):\n    sts = os.system(command)\n    return sts\n"
    settings = ScanSettings()
    proposer = OnnxProposer()
    findings = scan_source("s.py", source, settings).findings
    outcome = fix_each("s.py", source, findings, settings, proposers=[proposer])
    for fix in outcome.fixes.values():
        assert "sts = " in fix.replacement  # the assignment survives in anything proven
    # The model's beams for this statement drop the assignment; the filter keeps them from the gate.
    assert outcome.fixes or any(why.startswith("drops") for _, why in proposer.refused)
