"""End to end, for real: Redis, the uvicorn receiver, a `celery worker` process and
the GitHub simulator; a signed real payload; one review whose suggestions apply
cleanly and make bandit clean; redelivery and synchronize add no duplicates; with
`model = true` on the base branch, one `model`-queue batch whose proven suggestion
fixes what no codemod does, and without a model worker a codemod-only review."""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections.abc import Iterator

import pytest
from ghsim.localpipeline import LocalPipeline, wait_for

from bot.engine.scan import scan_source

REPO = "Codertocat/Hello-World"
BASE = {
    "service/config.py": "import yaml\n\n\ndef load(path):\n    with open(path) as handle:\n        return handle.read()\n",
    "service/__init__.py": "",
}
HEAD = {
    "service/config.py": (
        "import yaml\n\n\ndef load(path):\n    with open(path) as handle:\n        return yaml.load(handle)\n"
    ),
    "service/__init__.py": "",
    "service/client.py": (
        "import hashlib\n"
        "import subprocess\n"
        "\n"
        "import requests\n"
        "\n"
        "\n"
        "def fetch(url):\n"
        "    return requests.get(url, verify=False)\n"
        "\n"
        "\n"
        "def etag(body):\n"
        "    return hashlib.md5(body).hexdigest()\n"
        "\n"
        "\n"
        "def report():\n"
        "    return subprocess.check_output('ls -l /srv', shell=True)\n"
        "\n"
        "\n"
        "def calc(expr):\n"
        "    return eval(expr)\n"
    ),
}
SUGGESTION = re.compile(r"```+suggestion\n(.*?)```+", re.S)
# The learned fixer's case: B103 has no codemod, and `0o777` → an owner-only mode is what any
# competent model proposes (the shipped one: 0o700, score ~1.0).
MODEL_BASE = {
    ".mendbot.toml": 'model = true\nmodel_rules = ["B103"]\n',
    "service/files.py": "import os\n\n\ndef publish(path):\n    return path\n",
}
MODEL_HEAD = {
    ".mendbot.toml": 'model = true\nmodel_rules = ["B103"]\n',
    "service/files.py": "import os\n\n\ndef publish(path):\n    os.chmod(path, 0o777)\n    return path\n",
}


@pytest.fixture
def pipeline(redis_url: str) -> Iterator[LocalPipeline]:
    with LocalPipeline(redis_url).start([REPO]) as running:
        yield running


def apply_suggestions(source: str, comments: list) -> str:  # type: ignore[type-arg]
    """Apply every suggestion block the way GitHub's 'Commit suggestion' does (bottom-up)."""
    lines = source.splitlines(keepends=True)
    edits = []
    for c in comments:
        match = SUGGESTION.search(c.body)
        if match and "mendbot:fixed" not in c.body:
            end = c.original_line
            start = c.original_start_line or end
            edits.append((start, end, match.group(1)))
    for start, end, text in sorted(edits, reverse=True):
        lines[start - 1 : end] = text.splitlines(keepends=True)
    return "".join(lines)


def test_review_redelivery_and_synchronize(pipeline: LocalPipeline) -> None:
    sim = pipeline.sim
    pr = sim.create_pull_request(REPO, BASE, HEAD, number=2, title="Add client", user="alice")
    payload = pipeline.payload("opened", REPO, 2)
    guid = f"delivery-{uuid.uuid4()}"  # unique: another run may share this Redis database
    first = pipeline.deliver("pull_request", payload, guid=guid)
    assert first.status_code == 202, first.text
    reviews = wait_for(lambda: sim.reviews_for(REPO, 2), 90, "the review")
    wait_for(lambda: sim.check_runs_for(REPO, pr.head_sha), 30, "the check run")
    assert len(reviews) == 1 and reviews[0].commit_id == pr.head_sha
    comments = sim.review_comments_for(REPO, 2)
    bodies = "\n".join(c.body for c in comments)
    for rule in ("B506", "B501", "B113", "B324"):
        assert rule in bodies, rule
    # B602 on a constant command is LOW, and B307 (MEDIUM) has no proven fix: the default policy
    # says them in the summary, not inline.
    assert "B602" not in bodies and "B307" not in bodies
    assert all(c.user.login == "mendbot[bot]" for c in comments)
    # Suggestions apply cleanly to the head files and make bandit clean for those findings.
    for path in ("service/config.py", "service/client.py"):
        mine = [c for c in comments if c.path == path]
        fixed_source = apply_suggestions(HEAD[path], mine)
        before = {f.rule_id for f in scan_source(path, HEAD[path]).findings}
        after = {f.rule_id for f in scan_source(path, fixed_source).findings}
        suggested = {r for c in mine if SUGGESTION.search(c.body) for r in re.findall(r"· (B\d{3}) ", c.body)}
        assert suggested and not (suggested & after), (path, suggested, after)
        assert before - after >= suggested
    summary = [c for c in sim.issue_comments_for(REPO, 2) if "mendbot:summary" in c.body]
    assert len(summary) == 1
    assert "`B602`" in summary[0].body and "`B307`" in summary[0].body and "<details>" in summary[0].body
    (run,) = sim.check_runs_for(REPO, pr.head_sha)
    assert run.conclusion == "failure" and len(run.annotations) >= 6

    # A redelivery of the same delivery posts nothing new.
    requests_before = len(sim.requests)
    again = pipeline.deliver("pull_request", payload, guid=guid)
    assert again.status_code == 200 and again.json()["duplicate"] == guid
    assert len(sim.reviews_for(REPO, 2)) == 1 and len(sim.review_comments_for(REPO, 2)) == len(comments)
    assert len(sim.requests) == requests_before

    # A push that fixes the yaml finding: marked fixed, no duplicate comment anywhere.
    new_head = dict(HEAD, **{"service/config.py": HEAD["service/config.py"].replace("yaml.load", "yaml.safe_load")})
    pushed = sim.push(REPO, 2, new_head)
    sync = pipeline.deliver("pull_request", pipeline.payload("synchronize", REPO, 2), guid=f"delivery-{uuid.uuid4()}")
    assert sync.status_code == 202
    wait_for(lambda: sim.check_runs_for(REPO, pushed.head_sha), 90, "the check run for the new head")
    after_push = sim.review_comments_for(REPO, 2)
    assert len(after_push) == len(comments)  # nothing re-commented
    yaml_comment = next(c for c in after_push if "B506" in c.body)
    assert "mendbot:fixed" in yaml_comment.body and "```suggestion" not in yaml_comment.body
    assert len(sim.reviews_for(REPO, 2)) == 1
    summaries = [c for c in sim.issue_comments_for(REPO, 2) if "mendbot:summary" in c.body]
    assert len(summaries) == 1 and pushed.head_sha[:7] in summaries[0].body
    assert sim.errors == []


def test_the_repositorys_own_max_comments_is_honoured(pipeline: LocalPipeline) -> None:
    """`max_comments` on the base branch decides the review's inline budget in the App; the
    service's environment has no say in it (it once overrode every repository with 25)."""
    sim = pipeline.sim
    base = {**BASE, ".mendbot.toml": "max_comments = 1\n"}
    head = {**HEAD, ".mendbot.toml": "max_comments = 1\n"}
    pr = sim.create_pull_request(REPO, base, head, number=3, title="Add client", user="alice")
    assert pipeline.deliver("pull_request", pipeline.payload("opened", REPO, 3)).status_code == 202
    wait_for(lambda: sim.check_runs_for(REPO, pr.head_sha), 90, "the check run")
    finding_comments = [c for c in sim.review_comments_for(REPO, 3) if "<!-- mendbot:fp=" in c.body]
    assert len(finding_comments) == 1, [c.body[:80] for c in finding_comments]
    (summary,) = [c for c in sim.issue_comments_for(REPO, 3) if "mendbot:summary" in c.body]
    assert "not commented inline" in summary.body  # the rest are listed, not dropped


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return kids


def test_job_survives_a_worker_process_dying(redis_url: str) -> None:
    """acks_late + reject_on_worker_lost: the job of a killed pool process runs again, without duplicates."""
    with LocalPipeline(redis_url, write_interval=3.0, lock_seconds=10, queues="review", concurrency=1).start(
        [REPO]
    ) as pipeline:
        sim = pipeline.sim
        pr = sim.create_pull_request(REPO, BASE, HEAD, number=2, title="Add client", user="alice")
        assert pipeline.deliver("pull_request", pipeline.payload("opened", REPO, 2)).status_code == 202
        wait_for(lambda: sim.reviews_for(REPO, 2), 90, "the first write (the review)")
        assert pipeline.worker is not None
        (child,) = _children(pipeline.worker.pid)
        os.kill(child, signal.SIGKILL)  # dies between the review and the check run (writes are 3 s apart)
        wait_for(lambda: sim.check_runs_for(REPO, pr.head_sha), 120, "the check run from the redelivered job")
        assert len(sim.reviews_for(REPO, 2)) == 1
        prints = [fp for c in sim.review_comments_for(REPO, 2) for fp in re.findall(r"mendbot:fp=(\w+)", c.body)]
        assert len(prints) == len(set(prints))
        assert len([c for c in sim.issue_comments_for(REPO, 2) if "mendbot:summary" in c.body]) == 1


def _worker_log(pipeline: LocalPipeline) -> str:
    return pipeline.worker_log.read_text(errors="replace")


def _metrics(pipeline: LocalPipeline) -> str:
    assert pipeline.receiver is not None
    return pipeline.http.get(f"{pipeline.receiver.url}/metrics").text


def test_model_queue_batch_fixes_what_the_codemods_cannot(pipeline: LocalPipeline) -> None:
    sim = pipeline.sim
    pr = sim.create_pull_request(REPO, MODEL_BASE, MODEL_HEAD, number=3, title="Share files", user="alice")
    assert pipeline.deliver("pull_request", pipeline.payload("opened", REPO, 3)).status_code == 202
    wait_for(lambda: sim.check_runs_for(REPO, pr.head_sha), 90, "the review and check run")
    (comment,) = [c for c in sim.review_comments_for(REPO, 3) if "B103" in c.body]
    assert "model-proposed by `model:" in comment.body and SUGGESTION.search(comment.body), comment.body
    path = "service/files.py"
    fixed = apply_suggestions(MODEL_HEAD[path], [comment])
    assert "B103" not in {f.rule_id for f in scan_source(path, fixed).findings}, fixed
    # The worker ran exactly one MODEL_TASK (routed to the `model` queue) for the pull request.
    wait_for(lambda: "'model': 'ok'" in _worker_log(pipeline), 30, "the review task's result")
    log = _worker_log(pipeline)
    assert len(re.findall(r"Task mendbot\.propose_with_model\[[\w-]+\] succeeded", log)) == 1, log[-3000:]
    assert 'mendbot_model_batches_total{outcome="ok"} 1.0' in _metrics(pipeline)
    assert sim.errors == []


def test_without_a_model_worker_the_review_goes_out_codemod_only(redis_url: str) -> None:
    """Nobody serves `model`: the batch times out, is counted, and the review is posted anyway."""
    with LocalPipeline(redis_url, queues="review", concurrency=1, model_timeout=2).start([REPO]) as pipeline:
        sim = pipeline.sim
        pr = sim.create_pull_request(REPO, MODEL_BASE, MODEL_HEAD, number=3, title="Share files", user="alice")
        assert pipeline.deliver("pull_request", pipeline.payload("opened", REPO, 3)).status_code == 202
        wait_for(lambda: sim.check_runs_for(REPO, pr.head_sha), 90, "the review and check run")
        # Codemod-only: B103 has no proven fix, so it is said in the summary, not inline.
        wait_for(lambda: [c for c in sim.issue_comments_for(REPO, 3) if "mendbot:summary" in c.body], 30, "summary")
        (summary,) = [c.body for c in sim.issue_comments_for(REPO, 3) if "mendbot:summary" in c.body]
        assert "`B103`" in summary and not [c for c in sim.review_comments_for(REPO, 3) if "B103" in c.body]
        metrics = _metrics(pipeline)
        assert 'mendbot_model_batches_total{outcome="timeout"} 1.0' in metrics
        assert 'mendbot_queue_depth{queue="model"} 1.0' in metrics  # the one batch, unserved (it expires)
        assert "Task mendbot.propose_with_model[" not in _worker_log(pipeline)
        assert sim.errors == []
