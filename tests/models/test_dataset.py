"""The dataset builder on a tiny package: mined statements, fixer/template labels, verified by bandit."""

from __future__ import annotations

import json
import random
from pathlib import Path

from models.dataset import FAMILIES, G, _place, build, label_chunk, mine, split_of
from models.format import split_target

CODE = "\n".join(
    [
        "import os",
        "",
        "",
        "def load_settings(path, defaults):",
        "    if path is not None and os.path.exists(path):",
        "        text = read_text(path).strip()",
        "        result = merge(defaults, parse(text))",
        "        self.config = build_config(result, name=path)",
        "        return normalise(result.items())",
        "    assert defaults is not None",
        "    return dict(defaults)",
        "",
        "",
    ]
    + [
        f"def helper_{i}(value, items):\n    total_{i} = compute(value, items[{i}])\n    log.debug(format_row(total_{i}, value))\n    return wrap(total_{i})\n"
        for i in range(12)
    ]
)


def _tiny_root(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "tinypkg").mkdir(parents=True)
    (root / "tinypkg" / "core.py").write_text(CODE)
    (root / "tinypkg" / "tests").mkdir()
    (root / "tinypkg" / "tests" / "test_core.py").write_text("x = 1\n")
    return root


def test_mining_reads_real_statements_and_skips_tests(tmp_path: Path) -> None:
    pools = mine([(_tiny_root(tmp_path), False)])
    pool = pools["tinypkg"]
    assert "result = merge(defaults, parse(text))" in [s for s, _ in pool.stmts]
    assert "path is not None and os.path.exists(path)" in pool.tests
    assert "load_settings" in pool.funcs
    assert all(s != "x = 1" for s, _ in pool.stmts)


def test_split_is_by_package_and_stable() -> None:
    assert split_of("std.json") == split_of("std.json")
    names = [f"pkg{i}" for i in range(400)]
    share = sum(split_of(n) == "test" for n in names) / len(names)
    assert 0.05 < share < 0.16


def test_every_family_places_parseable_statements(tmp_path: Path) -> None:
    pool = mine([(_tiny_root(tmp_path), False)])["tinypkg"]
    rng = random.Random(0)
    for name, (gen, _) in sorted(FAMILIES.items()):
        for _ in range(5):
            spec = gen(G(rng, pool))
            if spec is None:
                continue
            vulnerable, _fixed = _place(G(rng, pool), spec)
            compile("def f():\n" + "\n".join("    " + line for line in vulnerable.split("\n")), name, "exec")


def test_labelled_pairs_are_proven_by_bandit(tmp_path: Path) -> None:
    out = tmp_path / "data"
    summary = build(out, per_package=60, seed=3, roots=[(_tiny_root(tmp_path), False)], log=lambda m: None)
    rows = [
        json.loads(line) for split in ("train", "test") for line in (out / f"{split}.jsonl").read_text().splitlines()
    ]
    assert len(rows) >= 30, summary["counts"]
    labels = {str(r["label"]).split(":")[0] for r in rows}
    assert labels == {"fixer", "template"}
    for row in rows:
        head, _, statement = str(row["src"]).partition("\n>>>\n")
        assert head.split()[0] == row["rule"]
        imports, replacement = split_target(str(row["tgt"]))
        if row["kind"] == "keep":
            assert replacement == statement and not imports
        else:
            assert replacement != statement


def test_chunk_drops_pairs_whose_fix_does_not_remove_the_finding(tmp_path: Path) -> None:
    from models.dataset import Draft, Spec

    good = Draft(
        Spec("eval", ("B307",), ("import os",), "eval(x)", "ast.literal_eval(x)", ("import ast",)),
        "p",
        "run",
        "v = eval(x)",
        "v = ast.literal_eval(x)",
        "",
    )
    bad = Draft(
        Spec("eval", ("B307",), ("import os",), "eval(x)", "eval(x, {})"),
        "p",
        "run",
        "w = eval(x)",
        "w = eval(x, {})",
        "",
    )
    rows = list(label_chunk(("import os",), [good, bad], random.Random(0), 0.0))
    assert [r["tgt"] for r in rows] == ["#+ import ast\nv = ast.literal_eval(x)"]
