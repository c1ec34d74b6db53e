"""mendbot scan vs bandit's CLI on the same large real tree, side by side.

Default tree: the running interpreter's standard library (Lib/ without
site-packages), copied to a temp folder so both tools read identical files.
Checks that both report the identical finding set, then prints lines/s and the
ratio for mendbot cold (empty cache) and warm (second run on the same cache).

    .venv/bin/python benchmarks/scan_vs_bandit.py [--tree PATH] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def count_lines(tree: Path) -> tuple[int, int]:
    files = lines = 0
    for path in tree.rglob("*.py"):
        files += 1
        with open(path, "rb") as handle:
            lines += handle.read().count(b"\n")
    return files, lines


def copy_stdlib(dest: Path) -> Path:
    src = Path(sysconfig.get_paths()["stdlib"])
    target = dest / "stdlib"
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc"), symlinks=True)
    return target


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - start, proc


def bandit_set(report: Path, root: Path) -> set[tuple[str, str, int]]:
    data = json.loads(report.read_text())
    return {(os.path.relpath(r["filename"], root), r["test_id"], r["line_number"]) for r in data["results"]}


def mendbot_set(stdout: str, root: Path) -> set[tuple[str, str, int]]:
    data = json.loads(stdout)
    return {
        (os.path.relpath(f["path"], root), f["rule_id"], f["line"]) for file in data["files"] for f in file["findings"]
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, help="tree to scan (default: a copy of the stdlib)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mendbot-bench-") as tmp:
        work = Path(tmp)
        tree = args.tree.resolve() if args.tree else copy_stdlib(work)
        files, lines = count_lines(tree)
        print(f"tree: {tree} — {files:,} .py files, {lines:,} lines; cores: {os.cpu_count()}")
        bandit_times, cold_times, warm_times = [], [], []
        ok = True
        for run in range(args.runs):
            out = work / "bandit.json"
            t_bandit, proc = timed([str(BIN / "bandit"), "-r", str(tree), "-f", "json", "-q", "-o", str(out)])
            if proc.returncode not in (0, 1):
                print(proc.stderr[-2000:])
                return 2
            bandit_times.append(t_bandit)
            cache = work / f"cache{run}"
            base = [
                str(BIN / "mendbot"),
                "scan",
                str(tree),
                "--findings-only",
                "--format",
                "json",
                "--no-default-excludes",
                "--cache-dir",
                str(cache),
                "--fail-on",
                "never",
                "--allow-unscanned",
            ]
            env = {**os.environ, "MENDBOT_SKIP_ASSERTS_IN_TESTS": "false"}  # bandit's CLI reports those too
            t_cold, cold = timed(base, env)
            t_warm, warm = timed(base, env)
            if cold.returncode != 0 or warm.returncode != 0:
                print(cold.stderr[-2000:], warm.stderr[-2000:])
                return 2
            cold_times.append(t_cold)
            warm_times.append(t_warm)
            expected = bandit_set(out, tree)
            got_cold, got_warm = mendbot_set(cold.stdout, tree), mendbot_set(warm.stdout, tree)
            same = expected == got_cold == got_warm
            ok &= same
            print(
                f"run {run + 1}: bandit {t_bandit:7.2f}s  mendbot cold {t_cold:7.2f}s  warm {t_warm:6.2f}s  "
                f"findings bandit={len(expected)} mendbot={len(got_cold)} identical={same}"
            )
            if not same:
                print("  only bandit:", sorted(expected - got_cold)[:10])
                print("  only mendbot:", sorted(got_cold - expected)[:10])
        b, c, w = (statistics.median(x) for x in (bandit_times, cold_times, warm_times))
        print()
        print(f"{'':16}{'median s':>10}{'lines/s':>12}{'vs bandit':>11}")
        print(f"{'bandit -r':16}{b:10.2f}{lines / b:12,.0f}{1.0:10.2f}x")
        print(f"{'mendbot cold':16}{c:10.2f}{lines / c:12,.0f}{b / c:10.2f}x")
        print(f"{'mendbot warm':16}{w:10.2f}{lines / w:12,.0f}{b / w:10.2f}x")
        print(f"finding sets identical in every run: {ok}")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
