"""The learned fixer's part of the `mendbot` command: implements `bot.faces.cli.ModelPlugin`.

The composition root (`workers.cli`) imports this module and hands it to the CLI;
an installation without the model runtime (numpy, onnxruntime, tokenizers: the
`cpu`/`gpu` extras) fails the import, and the CLI runs without model flags.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.engine.proposers import Proposer
from bot.faces.cli import SubParsers
from models.cli import add_model_parsers, add_scan_model_flags, proposers_from_args, run_model_command


class ModelCommands:
    """`--model` on `scan`, `mendbot model …`, and the proposers the scan and the Action use."""

    def add_scan_flags(self, parser: argparse.ArgumentParser) -> None:
        add_scan_model_flags(parser)

    def add_commands(self, sub: SubParsers) -> None:
        add_model_parsers(sub)

    def run_command(self, args: argparse.Namespace) -> int:
        return int(run_model_command(args))

    def scan_proposers(self, args: argparse.Namespace, opted_in: Sequence[str]) -> list[Proposer]:
        args.model_rules = list(opted_in)
        say = (lambda m: print(m, file=sys.stderr)) if sys.stderr.isatty() else None  # nothing into a pipe
        proposers: list[Proposer] = proposers_from_args(args, log=say)
        return proposers

    def action_proposer(self) -> Proposer:
        from models.proposer import OnnxProposer, measured_rules  # libcst: not on a plain scan's path

        proposer = OnnxProposer(rules=measured_rules())
        _ = proposer.model  # loads the ONNX session now: a missing runtime is a warning, not a failed review
        return proposer
