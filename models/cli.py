"""`mendbot model …` subcommands and the `--model/--no-model` switch of `mendbot scan`.

`bot` must not import `models` (imports go workers → models → bot), so the parsers
and handlers live here and the `mendbot` command line reaches them through a plugin
it loads by name; only when the plugin is there does it call, in this order:

    add_scan_model_flags(scan_parser)  # on the `scan` sub-parser: --model/--no-model, --model-dir, …
    add_model_parsers(sub)             # `mendbot model data|train|export|info|propose`
    # for `mendbot model …`:
    return run_model_command(args)
    # for `scan`, when --model is given or the repository's config says model = true:
    args.model, args.model_rules = True, list(config.model_rules)  # the repository's opt-ins
    proposers = proposers_from_args(args, log=lambda m: print(m, file=sys.stderr))

`proposers_from_args` returns [] for `--no-model`, and in auto mode (`args.model` None)
when onnxruntime or the artifact is missing; with `--model` a missing model raises
`ModelUnavailable`. `model data` needs only mendbot itself (bandit, libcst); `train`
and `export` need the `train` extra; `info`, `propose` and `--model` the `cpu`/`gpu` one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from models.format import EDIT_FORMAT, STATEMENT_FORMAT
from models.runtime import DEFAULT_MODEL_DIR, ModelUnavailable


def add_scan_model_flags(parser: argparse.ArgumentParser) -> None:
    """`--model/--no-model` (default: auto = on when onnxruntime and the artifact are present)."""
    parser.add_argument(
        "--model", action=argparse.BooleanOptionalAction, default=None,
        help="also ask the learned fixer (ONNX) for findings no codemod fixed; default: on when installed",
    )  # fmt: skip
    parser.add_argument("--model-dir", help=f"model artifact folder (default: {DEFAULT_MODEL_DIR.name})")
    parser.add_argument("--model-candidates", type=int, default=3, help="beam candidates per finding (default 3)")
    parser.add_argument(
        "--model-all-rules",
        action="store_true",
        help="ask the model about every rule, not only those measured on real code (for measuring)",
    )


def proposers_from_args(args: argparse.Namespace, log: Any = None) -> list[Any]:
    """The proposers `scan` should pass to the engine.

    `--model`: the model must load, else `ModelUnavailable` (the CLI reports it,
    exit 2). Auto: silently off when onnxruntime/tokenizers are not installed.
    `--no-model`: off.
    """
    choice = getattr(args, "model", None)
    if choice is False:
        return []
    from models.proposer import OnnxProposer, measured_rules
    from models.runtime import load

    model_dir = Path(args.model_dir) if getattr(args, "model_dir", None) else DEFAULT_MODEL_DIR
    try:
        model = load(model_dir)
    except ModelUnavailable:
        if choice is True:
            raise
        return []
    if log is not None:
        log(f"learned fixer: {model.manifest.get('name')} on {model.active_provider}")
    return [
        OnnxProposer(
            model=model,
            model_dir=model_dir,
            k=getattr(args, "model_candidates", 3),
            rules=None
            if getattr(args, "model_all_rules", False)
            else measured_rules() | set(getattr(args, "model_rules", None) or ()),
        )
    ]


def add_model_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`mendbot model data|train|export|info|propose`."""
    model = sub.add_parser("model", help="the learned fixer: build data, train, export, inspect")
    msub = model.add_subparsers(dest="model_command", required=True)
    data = msub.add_parser("data", help="build the dataset from the installed packages and the stdlib")
    data.add_argument("out", type=Path, nargs="?", default=Path(".work/data"))
    data.add_argument("--per-package", type=int, default=150)
    data.add_argument("--seed", type=int, default=13)
    train = msub.add_parser("train", help="train tokenizer + BART from scratch (needs mendbot[train])")
    from models.train import add_train_arguments

    add_train_arguments(train)
    export = msub.add_parser("export", help="turn a Hugging Face seq2seq checkpoint folder into a model artifact")
    export.add_argument("path", type=Path, help="checkpoint folder (config.json, weights, tokenizer)")
    export.add_argument("--out", type=Path, required=True, help="artifact folder to write")
    export.add_argument("--name", help="model name recorded in the manifest (default: the folder name)")
    export.add_argument("--fp32", action="store_true", help="skip int8 quantisation")
    export.add_argument("--split", action="store_true", help="ship decoder + decoder-with-past instead of merged")
    export.add_argument(
        "--train-data", type=Path,
        help="train.jsonl the model learned from: ships edit_vocab.json, the proposer's faithfulness filter",
    )  # fmt: skip
    export.add_argument(
        "--output-format", choices=(STATEMENT_FORMAT, EDIT_FORMAT),
        help="how the checkpoint writes its answers (default: its config's mendbot_output_format, else statement)",
    )  # fmt: skip
    info = msub.add_parser("info", help="verify an artifact and show which execution provider actually runs")
    info.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    info.add_argument("--providers", help="comma-separated, e.g. CPUExecutionProvider")
    propose = msub.add_parser("propose", help="print the model's raw candidates for one prompt (debugging)")
    propose.add_argument("prompt", help="a prompt in models.format's layout; '-' reads stdin")
    propose.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    propose.add_argument("-k", type=int, default=3)


def run_model_command(args: argparse.Namespace) -> int:
    command = args.model_command
    try:
        if command == "data":
            from models.dataset import build

            summary = build(args.out, args.per_package, args.seed, log=lambda m: print(m, file=sys.stderr))
            print(json.dumps(summary["counts"], indent=1))
            return 0
        if command == "train":
            try:
                from models.train import run_train

                return run_train(args)
            except ImportError as exc:
                print(f"training needs the train extra: pip install 'mendbot[train]' ({exc})", file=sys.stderr)
                return 2
        if command == "export":
            try:
                from models.export import export
            except ImportError as exc:  # pragma: no cover - depends on the environment
                print(f"export needs the train extra: pip install 'mendbot[train]' ({exc})", file=sys.stderr)
                return 2
            try:
                export(args.path, args.out, args.name, int8=not args.fp32, keep_split=args.split,
                       log=lambda m: print(m, file=sys.stderr), train_data=args.train_data,
                       output_format=args.output_format)  # fmt: skip
            except ImportError as exc:
                print(f"export needs the train extra: pip install 'mendbot[train]' ({exc})", file=sys.stderr)
                return 2
            return 0
        from models.runtime import Seq2SeqOnnx

        providers = [p for p in (getattr(args, "providers", None) or "").split(",") if p] or None
        model = Seq2SeqOnnx(args.model_dir, providers=providers)
        if command == "info":
            print(json.dumps({**model.describe(), "files": model.manifest["files"]}, indent=1))
            return 0
        if command == "propose":
            prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
            from models.format import model_view, read_answer

            view = model_view(prompt, model.lexicon)
            if view.mapping:
                print(f"--- the model sees\n{view.prompt}")
            for hyp in model.generate([view.prompt], num_beams=args.k, num_return=args.k)[0]:
                print(f"--- score {hyp.score:.3f}\n{hyp.text}")
                if model.output_format != STATEMENT_FORMAT or view.mapping:
                    answer = read_answer(model.output_format, view, hyp.text)
                    print(f"--- as a statement\n{answer if answer is not None else '(does not apply)'}")
            return 0
    except ModelUnavailable as exc:
        print(f"mendbot: {exc}", file=sys.stderr)
        return 2
    print(f"unknown model command {command}", file=sys.stderr)
    return 2
