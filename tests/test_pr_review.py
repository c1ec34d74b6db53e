"""The PR review pipeline against the GitHub simulator over real HTTP, with a real Redis:
App auth and token caching, pagination, renames/removals, patch-less files, base-branch
config, 502-after-create, secondary rate limits, pacing across processes, redelivery sweep,
and the one `model` batch per pull request (the real shipped model, in-process, through the
same JSON payload and result the `model` queue carries)."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import redis
from ghsim import Simulator, SimulatorServer
from ghsim.webhooks import deliver

from bot.engine.proposers import DraftRequest
from bot.engine.scan import scan_source
from bot.github.client import GitHubClient, Pacer, RateLimited
from bot.github.pull_request import review_pull_request
from bot.github.settings import ServiceSettings
from tests.conftest import github_app_client
from tests.models.conftest import needs_runtime

REPO = "octo-org/demo"
VULN = "import yaml\n\n\ndef load(s):\n    return yaml.load(s)\n"
# B103 has no codemod; any competent model turns 0o777 into an owner-only mode.
CHMOD = "import os\n\n\ndef publish(path):\n    os.chmod(path, 0o777)\n"
MODEL_ON = {".mendbot.toml": 'model = true\nmodel_rules = ["B103"]\n'}
SUGGESTION = re.compile(r"```+suggestion\n(.*?)```+", re.S)


@pytest.fixture
def sim_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(Simulator()) as server:
        server.sim.faults.secondary_retry_after = 1
        yield server


@pytest.fixture
def app_client(sim_server: SimulatorServer, redis_url: str) -> Iterator[tuple[GitHubClient, Simulator]]:
    gh, sim = github_app_client(sim_server, redis_url, REPO)
    yield gh, sim
    assert sim.errors == []


def test_app_token_is_cached_in_redis(app_client: tuple[GitHubClient, Simulator], redis_url: str) -> None:
    gh, sim = app_client
    sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": VULN}, number=1)
    review_pull_request(gh, REPO, 1, sim.pull(REPO, 1).head_sha)
    second = GitHubClient(gh.settings, gh.installation_id, redis.Redis.from_url(redis_url))
    assert second.pull(second.repo(REPO), 1).number == 1
    exchanges = sim.requests_matching("POST", "/access_tokens")
    assert len(exchanges) == 1


def test_stale_head_is_dropped(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    pr = sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": VULN}, number=1)
    old = pr.head_sha
    sim.push(REPO, 1, {"a.py": VULN + "\n"})
    outcome = review_pull_request(gh, REPO, 1, old)
    assert outcome.status == "superseded" and sim.reviews_for(REPO, 1) == []


def test_many_files_renames_removals_and_patchless(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    base = {f"pkg/m{i}.py": f"x{i} = {i}\n" for i in range(130)}
    base["old_name.py"] = VULN.replace("yaml.load", "yaml.safe_load")
    base["gone.py"] = VULN
    head = {f"pkg/m{i}.py": f"x{i} = {i + 1}\n" for i in range(130)}
    head["new_name.py"] = base["old_name.py"] + "\n\ndef again(s):\n    return yaml.load(s)\n"
    head["big.py"] = "import yaml\n" + "".join(f"v{i} = {i}\n" for i in range(3000)) + "y = yaml.load(s)\n"
    sim.max_patch_changes = 1000  # big.py's patch is left out, as GitHub does for large diffs
    pr = sim.create_pull_request(REPO, base, head, number=1, renames={"old_name.py": "new_name.py"})
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha)
    assert outcome.status == "reviewed"
    comments = sim.review_comments_for(REPO, 1)
    assert {c.path for c in comments} <= {"new_name.py"}
    summary = next(c.body for c in sim.issue_comments_for(REPO, 1) if "mendbot:summary" in c.body)
    assert "big.py" in summary  # findings of a patch-less file go to the summary
    assert "gone.py" not in summary  # removed files are not reviewed
    assert len(sim.requests_matching("GET", "/pulls/1/files")) >= 2  # followed the Link header


def test_config_comes_from_the_base_branch(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    base = {"a.py": "x = 1\n", ".mendbot.toml": 'ignore = ["B101"]\n'}
    head = {"a.py": VULN + "assert x\n", ".mendbot.toml": 'ignore = ["B506", "B101"]\n'}  # the PR tries to mute B506
    pr = sim.create_pull_request(REPO, base, head, number=1)
    review_pull_request(gh, REPO, 1, pr.head_sha)
    bodies = " ".join(c.body for c in sim.review_comments_for(REPO, 1))
    assert "B506" in bodies and "B101" not in bodies


def test_502_after_create_is_not_posted_twice(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    pr = sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": VULN}, number=1)
    sim.faults.fail_next("POST", r"/pulls/1/reviews$", status=502, after_effect=True)
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha)
    assert outcome.status == "reviewed" and len(sim.reviews_for(REPO, 1)) == 1


def test_secondary_rate_limit_surfaces_retry_after(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    pr = sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": VULN}, number=1)
    sim.faults.fail_next("POST", r"/pulls/1/reviews$", status=403, after_effect=False, retry_after=7)
    with pytest.raises(RateLimited) as limited:
        review_pull_request(gh, REPO, 1, pr.head_sha)
    assert limited.value.retry_after == 7
    assert sim.reviews_for(REPO, 1) == []
    assert review_pull_request(gh, REPO, 1, pr.head_sha).status == "reviewed"  # the retry succeeds


def test_second_push_adds_no_duplicates_and_marks_fixed(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    head = {"a.py": VULN + "\n\ndef more(t):\n    return yaml.load(t)\n"}
    pr = sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, head, number=1)
    review_pull_request(gh, REPO, 1, pr.head_sha)
    assert len(sim.review_comments_for(REPO, 1)) == 2
    moved = {"a.py": "# moved down\n\n" + head["a.py"].replace("return yaml.load(t)", "return yaml.safe_load(t)")}
    pushed = sim.push(REPO, 1, moved)
    outcome = review_pull_request(gh, REPO, 1, pushed.head_sha)
    comments = sim.review_comments_for(REPO, 1)
    assert outcome.status == "nothing-new" and outcome.fixed == 1 and len(comments) == 2
    assert sum("mendbot:fixed" in c.body for c in comments) == 1
    assert len(sim.reviews_for(REPO, 1)) == 1
    assert len([c for c in sim.issue_comments_for(REPO, 1) if "mendbot:summary" in c.body]) == 1


def _reserve(url: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    pacer = Pacer(redis.Redis.from_url(url), "mendbot:pace:test", 0.3)
    for _ in range(3):
        pacer.wait()
        out.put(time.time())


def test_pacing_is_shared_across_processes(redis_url: str) -> None:
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.Process(target=_reserve, args=(redis_url, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    stamps = sorted(out.get() for _ in range(6))
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.25, gaps


def test_redelivery_sweep_finds_failed_deliveries(sim_server: SimulatorServer, redis_url: str) -> None:
    sim = sim_server.sim
    sim.create_repo(REPO, {"a.py": "x = 1\n"})
    app = sim.create_app(slug="mendbot", webhook_url="http://127.0.0.1:9/webhook", webhook_secret="s")
    sim.install_app(app.id, "octo-org", [REPO])
    pr = sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": VULN}, number=1)
    from ghsim.webhooks import pull_request_payload

    deliver(sim, app.id, "pull_request", pull_request_payload(sim, REPO, pr.number, "opened", app_id=app.id))
    assert app.private_key_pem is not None
    settings = ServiceSettings(
        github_api_url=sim_server.base_url, github_app_id=str(app.id), github_private_key=app.private_key_pem.decode()
    )
    gh = GitHubClient(settings, None, redis.Redis.from_url(redis_url))
    failed = gh.failed_deliveries()
    assert len(failed) == 1 and failed[0]["status"] != "OK"
    gh.redeliver(int(failed[0]["id"]))
    assert len(sim.redeliveries) == 1


# --- the learned fixer: one `model` batch per pull request ------------------------------


class RecordingBatch:
    """A `bot.engine.Proposer` standing in for `workers.tasks.ModelBatch` that records each call.
    With `run_model`, it does what the `model` queue does, in-process: the real shipped model
    decodes the JSON payload, and the JSON result becomes the drafts the gate is given."""

    name = "recording-batch"

    def __init__(self, run_model: bool = True, fail: bool = False) -> None:
        self.run_model = run_model
        self.fail = fail
        self.calls: list[dict[str, list[str]]] = []

    def propose(self, requests: Sequence[DraftRequest], opted_in: frozenset[str] = frozenset()) -> dict[str, Any]:
        self.calls.append({r.path: [f.rule_id for f in r.findings] for r in requests})
        if self.fail:
            raise RuntimeError("the model worker is on fire")
        if not self.run_model:
            return {}
        from models.worker import drafts_from_result, make_payload, propose_batch

        files = [(r.path, r.source, list(r.findings)) for r in requests]
        payload = json.loads(json.dumps(make_payload(files, rules=opted_in)))
        return drafts_from_result(json.loads(json.dumps(propose_batch(payload))))


def _apply(source: str, comment: object) -> str:
    match = SUGGESTION.search(comment.body)  # type: ignore[attr-defined]
    assert match, comment.body  # type: ignore[attr-defined]
    end = comment.original_line  # type: ignore[attr-defined]
    start = comment.original_start_line or end  # type: ignore[attr-defined]
    lines = source.splitlines(keepends=True)
    lines[start - 1 : end] = match.group(1).splitlines(keepends=True)
    return "".join(lines)


@needs_runtime
def test_one_model_batch_per_pr_with_every_files_leftovers(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    base = {**MODEL_ON, "a.py": "x = 1\n"}
    head = {
        **MODEL_ON,
        "a.py": CHMOD.replace("import os\n", "import os\n\nimport yaml\n")
        + "\n\ndef load(s):\n    return yaml.load(s)\n",
        "b.py": CHMOD.replace("publish(path)", "share(target)").replace("(path, ", "(target, "),
        "c.py": VULN,  # the codemod fixes it: nothing left to ask
        "d.py": "import telnetlib\n",  # B401: an import note, never asked of the model
    }
    pr = sim.create_pull_request(REPO, base, head, number=1)
    batch = RecordingBatch()
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha, proposers=[batch])
    assert outcome.status == "reviewed"
    assert batch.calls == [{"a.py": ["B103"], "b.py": ["B103"]}]  # once, the whole PR's leftovers
    comments = sim.review_comments_for(REPO, 1)
    for path in ("a.py", "b.py"):
        (chmod,) = [c for c in comments if c.path == path and "B103" in c.body]
        assert "model-proposed by `model:" in chmod.body and re.search(r"score \d\.\d\d", chmod.body)
        fixed = _apply(head[path], chmod)
        assert "B103" not in {f.rule_id for f in scan_source(path, fixed).findings}, fixed
    yaml_comment = next(c for c in comments if c.path == "a.py" and "B506" in c.body)
    assert "codemod `" in yaml_comment.body and "model-proposed" not in yaml_comment.body


@pytest.mark.parametrize(
    ("case", "base", "head", "calls"),
    [
        ("config says no model", {"a.py": "x = 1\n"}, {"a.py": CHMOD}, 0),
        ("nothing left", {**MODEL_ON, "a.py": "x = 1\n"}, {**MODEL_ON, "a.py": VULN, "d.py": "import telnetlib\n"}, 0),
        ("model has nothing", {**MODEL_ON, "a.py": "x = 1\n"}, {**MODEL_ON, "a.py": CHMOD}, 1),
        ("model fails", {**MODEL_ON, "a.py": "x = 1\n"}, {**MODEL_ON, "a.py": CHMOD}, 1),
    ],
)
def test_model_batch_is_asked_only_when_useful_and_never_costs_the_review(
    app_client: tuple[GitHubClient, Simulator], case: str, base: dict[str, str], head: dict[str, str], calls: int
) -> None:
    gh, sim = app_client
    pr = sim.create_pull_request(REPO, base, head, number=1)
    batch = RecordingBatch(run_model=False, fail=case == "model fails")
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha, proposers=[batch])
    assert len(batch.calls) == calls, case
    # A finding without a proven fix is not commented inline (default policy): with nothing to
    # suggest, no review is posted, but the summary says it.
    reviews = sim.reviews_for(REPO, 1)
    assert (outcome.status, len(reviews)) in {("reviewed", 1), ("nothing-new", 0)}, outcome.status
    bodies = " ".join(c.body for c in sim.review_comments_for(REPO, 1))
    assert "model-proposed" not in bodies
    if "os.chmod" in head["a.py"]:
        (summary,) = [c.body for c in sim.issue_comments_for(REPO, 1) if "mendbot:summary" in c.body]
        assert "`B103`" in summary and "B103" not in bodies  # reported, codemod-only, in the summary


@pytest.mark.parametrize(("requires", "suggested"), [(">=3.10", False), (">=3.12", True)])
def test_fixes_respect_the_base_branchs_declared_pythons(
    app_client: tuple[GitHubClient, Simulator], requires: str, suggested: bool
) -> None:
    """The App reads what the project declares from the base branch (no checkout): `filter=` is
    proposed only where every Python the project supports has it."""
    gh, sim = app_client
    pyproject = f'[project]\nname = "x"\nrequires-python = "{requires}"\n'
    tar = "import tarfile\n\n\ndef unpack(path, dest):\n    with tarfile.open(path) as tar:\n        tar.extractall(dest)\n"
    base = {"pyproject.toml": pyproject, "a.py": "x = 1\n"}
    pr = sim.create_pull_request(REPO, base, {**base, "a.py": tar}, number=1)
    review_pull_request(gh, REPO, 1, pr.head_sha)
    bodies = " ".join(c.body for c in sim.review_comments_for(REPO, 1))
    assert ('filter="data"' in bodies) is suggested, bodies
