"""End-to-end latency of a reference PR (~10 Python files, ~20 findings): signed
delivery → receiver → Redis → real Celery worker → review, summary and check run
posted on the GitHub simulator, with GitHub's 1 s pacing between writes enforced.

    .venv/bin/python benchmarks/e2e_latency.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ghsim.localpipeline import LocalPipeline, wait_for  # noqa: E402

REPO = "octo-org/reference"
SNIPPETS = [
    "def load_{i}(s):\n    return yaml.load(s)\n",
    "def fetch_{i}(url):\n    return requests.get(url, verify=False)\n",
    "def digest_{i}(b):\n    return hashlib.md5(b).hexdigest()\n",
    "def run_{i}():\n    return subprocess.check_output('ls -l', shell=True)\n",
    "def calc_{i}(e):\n    return eval(e)\n",
]
HEADER = "import hashlib\nimport subprocess\n\nimport requests\nimport yaml\n\n\n"


def reference_pr() -> tuple[dict[str, str], dict[str, str]]:
    base = {f"app/mod{n}.py": HEADER + "VALUE = 1\n" for n in range(10)}
    head = {}
    for n in range(10):
        parts = [SNIPPETS[(n + k) % len(SNIPPETS)].format(i=k) for k in range(2)]
        head[f"app/mod{n}.py"] = HEADER + "VALUE = 1\n\n\n" + "\n\n".join(parts)
    return base, head


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--redis-url", default=None, help="an empty Redis database (default: a private redis-server, started and stopped)"
    )
    args = parser.parse_args()
    base, head = reference_pr()
    times = []
    findings = 0
    with LocalPipeline(args.redis_url).start([REPO]) as pipeline:
        sim = pipeline.sim
        for run in range(args.runs):
            # Each run is one PR on an idle installation: without this pause the next run's first
            # write would wait out the previous run's pacing slot (≥ 1 s between writes).
            time.sleep(1.2)
            pr = sim.create_pull_request(REPO, base, head, title=f"reference {run}")
            payload = pipeline.payload("opened", REPO, pr.number)
            started = time.perf_counter()
            assert pipeline.deliver("pull_request", payload).status_code == 202
            wait_for(lambda pr=pr: sim.check_runs_for(REPO, pr.head_sha), 120, "the check run", interval=0.02)
            times.append(time.perf_counter() - started)
            findings = len(sim.check_runs_for(REPO, pr.head_sha)[0].annotations)
            print(f"run {run + 1}: {times[-1]:.2f}s ({findings} findings, {len(sim.review_comments_for(REPO, pr.number))} comments)")
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(f"\nreference PR: 10 files, {findings} findings; delivery → review + summary + check run posted")
    print(f"p50 {statistics.median(times):.2f}s  p95 {p95:.2f}s  over {len(times)} runs (writes paced ≥ 1 s apart)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
