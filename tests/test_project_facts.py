"""A fix respects what the project declares: its dependencies and its oldest Python."""

from __future__ import annotations

from pathlib import Path

from bot.engine.project import facts_for
from bot.engine.proving import fix_each
from bot.engine.scan import ScanSettings, scan_source

XML = "import xml.etree.ElementTree as ET\n\ntree = ET.parse('feed.xml')\n"
TAR = "import tarfile\n\n\ndef unpack(path, dest):\n    with tarfile.open(path) as tar:\n        tar.extractall(dest)\n"


def _fixes(root: Path, name: str, source: str) -> list[str]:
    settings = ScanSettings(root=str(root))
    path = str(root / name)
    report = scan_source(path, source, settings)
    outcome = fix_each(path, source, report.findings, settings)
    return [fx.fixer for fx in outcome.fixes.values()]


def test_defusedxml_only_where_the_project_declares_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["requests>=2"]\n')
    facts_for.cache_clear()
    assert _fixes(tmp_path, "feed.py", XML) == []  # a new dependency would raise ImportError
    (tmp_path / "requirements.txt").write_text("defusedxml==0.7.1  # parser\n")
    facts_for.cache_clear()
    assert facts_for(str(tmp_path)).may_import("defusedxml")
    assert _fixes(tmp_path, "feed.py", XML) == ["defused-xml"]


def test_tar_filter_only_where_every_supported_python_has_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.10"\n')
    facts_for.cache_clear()
    assert facts_for(str(tmp_path)).min_python == (3, 10)
    assert _fixes(tmp_path, "unpack.py", TAR) == []  # 3.10.0-3.10.11 have no filter=
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.12"\n')
    facts_for.cache_clear()
    assert _fixes(tmp_path, "unpack.py", TAR) == ["tarfile-data-filter"]
