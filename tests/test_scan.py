"""The scanner: bandit in memory, the finding type, not-scanned reasons, the cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.engine.cache import ScanCache
from bot.engine.findings import Level
from bot.engine.scan import ScanSettings, scan_many, scan_source

VULNERABLE = """import subprocess
import yaml

def load(s):
    return yaml.load(s)

def run(cmd):
    subprocess.call(cmd, shell=True)
"""


def test_findings_match_bandit_cli(tmp_path: Path) -> None:
    target = tmp_path / "v.py"
    target.write_text(VULNERABLE)
    cli = subprocess.run(
        [sys.executable, "-m", "bandit", "-f", "json", "-q", str(target)], capture_output=True, text=True, check=False
    )
    expected = {(r["test_id"], r["line_number"], r["col_offset"]) for r in json.loads(cli.stdout)["results"]}
    report = scan_source(str(target), VULNERABLE)
    assert {(f.rule_id, f.line, f.col) for f in report.findings} == expected


def test_finding_fields_and_scope() -> None:
    report = scan_source("pkg/v.py", VULNERABLE)
    yaml_finding = next(f for f in report.findings if f.rule_id == "B506")
    assert yaml_finding.severity is Level.MEDIUM and yaml_finding.confidence is Level.HIGH
    assert yaml_finding.cwe == 20 and yaml_finding.cwe_link and "20" in yaml_finding.cwe_link
    assert (yaml_finding.start_line, yaml_finding.end_line, yaml_finding.col) == (5, 5, 11)
    assert yaml_finding.scope == "load"
    assert yaml_finding.code.strip() == "return yaml.load(s)"


def test_fingerprint_ignores_line_numbers_but_not_scope() -> None:
    moved = "\n\n\n" + VULNERABLE
    a = {f.rule_id: f.fingerprint for f in scan_source("v.py", VULNERABLE).findings}
    b = {f.rule_id: f.fingerprint for f in scan_source("v.py", moved).findings}
    assert a == b
    renamed = VULNERABLE.replace("def load", "def load_config")
    c = {f.rule_id: f.fingerprint for f in scan_source("v.py", renamed).findings}
    assert c["B506"] != a["B506"] and c["B602"] == a["B602"]


def test_identical_findings_get_distinct_fingerprints() -> None:
    src = "import yaml\nx = yaml.load(a)\nx = yaml.load(a)\n"
    prints = [f.fingerprint for f in scan_source("v.py", src).findings if f.rule_id == "B506"]
    assert len(prints) == 2 and len(set(prints)) == 2


def test_nosec_with_ids_is_respected() -> None:
    src = "import subprocess\nsubprocess.call(c, shell=True)  # nosec B602\nsubprocess.call(c, shell=True)  # nosec B101\n"
    lines = [f.line for f in scan_source("v.py", src).findings if f.rule_id == "B602"]
    assert lines == [3]
    ignored = ScanSettings(ignore_nosec=True)
    assert [f.line for f in scan_source("v.py", src, ignored).findings if f.rule_id == "B602"] == [2, 3]


def test_select_ignore_and_thresholds() -> None:
    only = scan_source("v.py", VULNERABLE, ScanSettings(select=("B506",)))
    assert {f.rule_id for f in only.findings} == {"B506"}
    without = scan_source("v.py", VULNERABLE, ScanSettings(ignore=("B506",)))
    assert "B506" not in {f.rule_id for f in without.findings}
    high = scan_source("v.py", VULNERABLE, ScanSettings(severity=Level.HIGH))
    assert {f.rule_id for f in high.findings} == {"B602"}


def test_secret_is_redacted() -> None:
    report = scan_source("v.py", 'password = "hunter2"\n')
    (finding,) = report.findings
    assert finding.rule_id == "B105"
    assert "hunter2" not in finding.message and "<redacted>" in finding.message


def test_asserts_in_tests_are_not_reported_by_default() -> None:
    src = "def test_x():\n    assert 1\n"
    assert scan_source("tests/test_x.py", src).findings == []
    assert [f.rule_id for f in scan_source("app/x.py", src).findings] == ["B101"]


def test_bandit_config_from_pyproject(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.bandit]\nskips = ["B506"]\n')
    report = scan_source("v.py", VULNERABLE, ScanSettings(bandit_config=str(config)))
    assert "B506" not in {f.rule_id for f in report.findings}


def test_cache_skips_rescan_and_keys_on_content(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path)
    settings = ScanSettings()
    items = [("a.py", VULNERABLE.encode()), ("b.py", b"x = 1\n")]
    first = scan_many(items, settings, jobs=1, cache=cache)
    key = settings.cache_key()
    assert cache.get("a.py", VULNERABLE.encode(), key) is not None
    assert cache.get("a.py", VULNERABLE.encode() + b"\n", key) is None
    assert cache.get("a.py", VULNERABLE.encode(), ScanSettings(select=("B101",)).cache_key()) is None
    second = scan_many(items, settings, jobs=1, cache=cache)
    assert [r.findings for r in first] == [r.findings for r in second]


def test_parallel_scan_equals_serial() -> None:
    items = [(f"m{i}.py", (VULNERABLE * (1 + i % 3)).encode()) for i in range(24)]
    items += [(f"big{i}.py", (VULNERABLE * 400).encode()) for i in range(2)]
    serial = scan_many(items, ScanSettings(), jobs=1)
    parallel = scan_many(items, ScanSettings(), jobs=2)
    assert [(r.path, r.findings) for r in serial] == [(r.path, r.findings) for r in parallel]
