"""mendbot scan vs bandit's CLI on the same large real tree, side by side.

Default tree: the running interpreter's standard library (Lib/ without
site-packages), copied to a temp folder so both tools read identical files.
Checks that both report the identical finding set, then prints lines/s and the
ratio for mendbot cold (empty cache), warm (second run on the same cache: replayed by the
run cache, `bot.faces.runcache`) and warm with the run cache off (`MENDBOT_RUN_CACHE=0`: every
file's findings and proofs from the scan and proof caches).

Two jobs: `findings` (`--findings-only`, what bandit does) and `default` (findings and
proven fixes, what a user runs). For the default job it also checks that the proven
fixes are identical between the cold run, the warm run and (first run only, one
process) `--jobs 1`.

    .venv/bin/python benchmarks/scan_vs_bandit.py [--tree PATH] [--runs 3] [--job default|findings|both]
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


def mendbot_fixes(stdout: str, root: Path) -> set[tuple[str, str, int, str]]:
    data = json.loads(stdout)
    return {
        (os.path.relpath(file["path"], root), f["rule_id"], f["line"], f["fix"]["diff"])
        for file in data["files"]
        for f in file["findings"]
        if f.get("fix")
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, help="tree to scan (default: a copy of the stdlib)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--job", choices=("default", "findings", "both"), default="both")
    args = parser.parse_args()
    jobs = ("findings", "default") if args.job == "both" else (args.job,)
    with tempfile.TemporaryDirectory(prefix="mendbot-bench-") as tmp:
        work = Path(tmp)
        tree = args.tree.resolve() if args.tree else copy_stdlib(work)
        files, lines = count_lines(tree)
        print(f"tree: {tree} — {files:,} .py files, {lines:,} lines; cores: {os.cpu_count()}")
        bandit_times: list[float] = []
        times: dict[str, dict[str, list[float]]] = {job: {"cold": [], "warm": [], "warm-no-replay": []} for job in jobs}
        ok = True
        for run in range(args.runs):
            out = work / "bandit.json"
            t_bandit, proc = timed([str(BIN / "bandit"), "-r", str(tree), "-f", "json", "-q", "-o", str(out)])
            if proc.returncode not in (0, 1):
                print(proc.stderr[-2000:])
                return 2
            bandit_times.append(t_bandit)
            expected = bandit_set(out, tree)
            line = f"run {run + 1}: bandit {t_bandit:7.2f}s"
            for job in jobs:
                same, summary = measure(job, tree, work / f"cache-{job}-{run}", expected, times[job], single=run == 0)
                ok &= same
                line += f"  | {job}: {summary}"
            print(line, flush=True)
        b = statistics.median(bandit_times)
        print()
        print(f"{'':24}{'median s':>10}{'lines/s':>12}{'vs bandit':>11}")
        print(f"{'bandit -r':24}{b:10.2f}{lines / b:12,.0f}{'1.00x':>11}")
        for job in jobs:
            for phase in ("cold", "warm", "warm-no-replay"):
                m = statistics.median(times[job][phase])
                label = f"mendbot {job} {phase}"
                print(f"{label:24}{m:10.2f}{lines / m:12,.0f}{m / b:10.2f}x")
        print("(vs bandit: mendbot's time / bandit's time — below 1.00x is faster)")
        print(f"finding sets (and proven fixes) identical in every run: {ok}")
        return 0 if ok else 1


def measure(
    job: str, tree: Path, cache: Path, expected: set[tuple[str, str, int]], times: dict[str, list[float]], single: bool
) -> tuple[bool, str]:
    """One cold and one warm run of a job (and, for the default job's first run, `--jobs 1`)."""
    base = [str(BIN / "mendbot"), "scan", str(tree), "--format", "json", "--no-default-excludes"]
    base += ["--fail-on", "never", "--allow-unscanned"]
    if job == "findings":
        base.append("--findings-only")
    # bandit's CLI reports asserts in tests, deliberate shapes and lines marked noqa too: to compare
    # finding sets, mendbot is told not to leave those out (what it proves for them is still measured).
    env = {
        **os.environ,
        "MENDBOT_SKIP_ASSERTS_IN_TESTS": "false",
        "MENDBOT_CONTEXT_RULES": "false",
        "MENDBOT_HONOUR_NOQA": "false",
        "MENDBOT_RESPECT_GITIGNORE": "false",  # bandit's CLI does not read .gitignore
    }
    t_cold, cold = timed([*base, "--cache-dir", str(cache)], env)
    t_warm, warm = timed([*base, "--cache-dir", str(cache)], env)  # replayed by the run cache
    # The same warm run with the run cache off: every file's findings and proofs from their caches.
    t_caches, caches = timed([*base, "--cache-dir", str(cache)], {**env, "MENDBOT_RUN_CACHE": "0"})
    if cold.returncode != 0 or warm.returncode != 0 or caches.returncode != 0:
        print(cold.stderr[-2000:], warm.stderr[-2000:], caches.stderr[-2000:])
        return False, "failed"
    times["cold"].append(t_cold)
    times["warm"].append(t_warm)
    times["warm-no-replay"].append(t_caches)
    got_cold, got_warm = mendbot_set(cold.stdout, tree), mendbot_set(warm.stdout, tree)
    same = expected == got_cold == got_warm == mendbot_set(caches.stdout, tree)
    summary = (
        f"cold {t_cold:7.2f}s warm {t_warm:6.2f}s (no replay {t_caches:6.2f}s) findings={len(got_cold)} identical={same}"
    )
    if not same:
        print("  only bandit:", sorted(expected - got_cold)[:10])
        print("  only mendbot:", sorted(got_cold - expected)[:10])
    if job == "default":
        fixes_cold, fixes_warm = mendbot_fixes(cold.stdout, tree), mendbot_fixes(warm.stdout, tree)
        fixes_same = fixes_cold == fixes_warm == mendbot_fixes(caches.stdout, tree)
        if single:
            t_one, one = timed([*base, "--no-cache", "--jobs", "1"], env)
            fixes_same &= one.returncode == 0 and mendbot_fixes(one.stdout, tree) == fixes_cold
            summary += f" jobs1 {t_one:7.2f}s"
        summary += f" fixes={len(fixes_cold)} fixes-identical={fixes_same}"
        same &= fixes_same
    return same, summary


if __name__ == "__main__":
    raise SystemExit(main())
