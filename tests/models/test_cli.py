"""`mendbot model …` parsers and the scan switch, exercised through argparse as bot/faces/cli.py will."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from models.cli import add_model_parsers, add_scan_model_flags, proposers_from_args, run_model_command
from tests.models.conftest import needs_runtime


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mendbot")
    sub = parser.add_subparsers(dest="command")
    add_model_parsers(sub)
    scan = sub.add_parser("scan")
    add_scan_model_flags(scan)
    return parser


def test_scan_switch_parses() -> None:
    parser = _parser()
    assert parser.parse_args(["scan"]).model is None
    assert parser.parse_args(["scan", "--model"]).model is True
    assert parser.parse_args(["scan", "--no-model"]).model is False
    assert proposers_from_args(parser.parse_args(["scan", "--no-model"])) == []


def test_forced_model_with_a_missing_artifact_is_an_error(tmp_path: Path) -> None:
    from models.runtime import ModelUnavailable

    args = _parser().parse_args(["scan", "--model", "--model-dir", str(tmp_path)])
    with pytest.raises(ModelUnavailable, match="manifest"):
        proposers_from_args(args)
    auto = _parser().parse_args(["scan", "--model-dir", str(tmp_path)])
    assert proposers_from_args(auto) == []  # auto mode: quietly off


@needs_runtime
def test_model_info_reports_provider(capsys: pytest.CaptureFixture[str], model_dir: Path) -> None:
    args = _parser().parse_args(["model", "info", "--model-dir", str(model_dir), "--providers", "CPUExecutionProvider"])
    assert run_model_command(args) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["active_provider"] == "CPUExecutionProvider"
    assert "encoder_model.onnx" in info["files"]


@needs_runtime
def test_scan_auto_mode_gives_the_onnx_proposer(model_dir: Path) -> None:
    (proposer,) = proposers_from_args(_parser().parse_args(["scan", "--model-dir", str(model_dir)]))
    assert proposer.name.startswith("model:")


def test_export_without_train_extra_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.models.conftest import HAS_TORCH

    if HAS_TORCH:
        pytest.skip("the train extra is installed here")
    (tmp_path / "config.json").write_text(json.dumps({"is_encoder_decoder": True}))
    args = _parser().parse_args(["model", "export", str(tmp_path), "--out", str(tmp_path / "out")])
    assert run_model_command(args) == 2
    assert "mendbot[train]" in capsys.readouterr().err
