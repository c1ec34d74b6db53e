"""A pull request cannot hold a worker for minutes nor get two reviews for one commit (issue 12,
item 2): proving is bounded by a budget the summary reports, the per-PR lock is renewed while a
job runs and fenced at every write, a commit's check run is found again by its external id, and
metrics never fail a job. Real Redis, the real pipeline against the GitHub simulator over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from ghsim import Simulator, SimulatorServer
from pydantic import SecretStr

from bot.engine.api import Budget, review_source
from bot.engine.findings import UNPROVEN
from bot.github.client import GitHubClient
from bot.github.metrics import record_github_call, record_model_batch, record_review_latency
from bot.github.pull_request import LostLock, review_pull_request
from bot.github.settings import ServiceSettings
from tests.conftest import github_app_client
from workers.tasks import PullRequestLock

REPO = "octo-org/demo"
MANY = "import yaml\n\n\n" + "".join(f"def load_{i}(s):\n    return yaml.load(s)\n\n\n" for i in range(60))


@pytest.fixture
def app_client(redis_url: str) -> Iterator[tuple[GitHubClient, Simulator]]:
    with SimulatorServer(Simulator()) as server:
        server.sim.faults.content_per_minute = None
        server.sim.faults.content_per_hour = None
        gh, sim = github_app_client(server, redis_url, REPO)
        yield gh, sim
        assert sim.errors == []


def test_a_budget_bounds_proving_and_says_what_it_left() -> None:
    started = time.monotonic()
    report = review_source(MANY, "many.py")
    unbounded = time.monotonic() - started
    assert len(report.fixes) == 60
    from bot.engine.api import review_files
    from bot.engine.scan import ScanSettings

    started = time.monotonic()
    review = review_files([("many.py", MANY.encode())], ScanSettings(), budget=Budget(findings_per_file=5))
    bounded = time.monotonic() - started
    (bounded_report,) = review.reports
    assert len(bounded_report.fixes) == 5 and len(review.unproven) == 55
    assert all("more than 5 findings" in r.reason for r in review.unproven)
    assert bounded < unbounded / 3, (bounded, unbounded)
    timed = review_files([("many.py", MANY.encode())], ScanSettings(), budget=Budget(seconds=1e-6))
    assert {r.reason for r in timed.unproven} == {f"{UNPROVEN}the review's time budget ran out"}


def test_the_summary_says_what_the_budget_left_unproven(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    pr = sim.create_pull_request(REPO, {"README.md": "x\n"}, {"many.py": MANY}, number=1)
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha, budget=Budget(findings_per_file=3, findings_per_run=2))
    summary = next(c.body for c in sim.issue_comments_for(REPO, 1) if "mendbot:summary" in c.body)
    assert "58 finding(s) were not tried for a fix" in summary and outcome.findings == 60
    assert "**2** with a proven fix" in summary


def test_a_retried_job_adds_no_second_check_run_or_review(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    pr = sim.create_pull_request(REPO, {"README.md": "x\n"}, {"a.py": MANY[:200]}, number=1)
    first = review_pull_request(gh, REPO, 1, pr.head_sha)
    again = review_pull_request(gh, REPO, 1, pr.head_sha)  # a redelivery after a crash before "done"
    assert first.status == "reviewed" and again.status == "nothing-new"
    assert len(sim.reviews_for(REPO, 1)) == 1 and len(sim.check_runs_for(REPO, pr.head_sha)) == 1


def test_a_job_that_lost_its_lock_writes_nothing(app_client: tuple[GitHubClient, Simulator], redis_url: str) -> None:
    gh, sim = app_client
    client = redis.Redis.from_url(redis_url)
    pr = sim.create_pull_request(REPO, {"README.md": "x\n"}, {"a.py": MANY[:200]}, number=1)
    stalled = PullRequestLock(client, REPO, 1, ttl=30)
    assert stalled.acquire()
    client.delete(stalled.lock.name)  # its lock expired while it stalled ...
    newer = PullRequestLock(client, REPO, 1, ttl=30)
    assert newer.acquire()  # ... and a newer job took the pull request
    with pytest.raises(LostLock):
        review_pull_request(gh, REPO, 1, pr.head_sha, guard=stalled.guard)
    assert sim.reviews_for(REPO, 1) == [] and sim.check_runs_for(REPO, pr.head_sha) == []
    review_pull_request(gh, REPO, 1, pr.head_sha, guard=newer.guard)
    assert len(sim.reviews_for(REPO, 1)) == 1
    stalled.release()
    newer.release()


def test_the_lock_is_renewed_while_the_job_runs(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    job = PullRequestLock(client, REPO, 7, ttl=3)
    assert job.acquire()
    time.sleep(4.5)  # longer than the lock's lifetime
    job.guard()  # still ours
    assert not PullRequestLock(client, REPO, 7, ttl=3).acquire()
    job.release()
    other = PullRequestLock(client, REPO, 7, ttl=3)
    assert other.acquire() and other.token == job.token + 1
    other.release()


def test_metrics_never_fail_a_job() -> None:
    gone = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)  # nothing listens there
    record_github_call(gone, 201)
    record_model_batch(gone, "ok")
    record_review_latency(gone, 1.0)


def test_a_revoked_token_is_replaced_on_401(app_client: tuple[GitHubClient, Simulator], redis_url: str) -> None:
    gh, sim = app_client
    sim.token_format = "stateless"  # GitHub's ~520-character tokens
    pr = sim.create_pull_request(REPO, {"README.md": "x\n"}, {"a.py": MANY[:200]}, number=1)
    review_pull_request(gh, REPO, 1, pr.head_sha)
    cached = redis.Redis.from_url(redis_url).get(f"mendbot:token:{gh.installation_id}")
    assert cached is not None and len(cached) > 500
    assert sim.revoke_tokens(gh.installation_id or 0) == 1
    sim.push(REPO, 1, {"a.py": MANY[:200] + "\n"})
    again = GitHubClient(gh.settings, gh.installation_id, redis.Redis.from_url(redis_url))  # a later job
    outcome = review_pull_request(again, REPO, 1, sim.pull(REPO, 1).head_sha)
    assert outcome.conclusion == "failure"  # reviewed, with a new token
    assert len(sim.requests_matching("POST", "/access_tokens")) == 2


def test_a_token_cache_key_seals_the_cached_token(app_client: tuple[GitHubClient, Simulator], redis_url: str) -> None:
    gh, _ = app_client
    sealed = GitHubClient(
        gh.settings.model_copy(update={"token_cache_key": SecretStr("a secret of the operator's")}),
        gh.installation_id,
        redis.Redis.from_url(redis_url),
    )
    token = sealed._token()
    stored = redis.Redis.from_url(redis_url).get(f"mendbot:token:{gh.installation_id}")
    assert stored is not None and token.encode() not in stored
    fresh = GitHubClient(sealed.settings, gh.installation_id, redis.Redis.from_url(redis_url))
    assert fresh._token() == token  # read back through the seal


def test_the_sweep_retries_failed_redeliveries_then_gives_up_visibly(redis_url: str) -> None:
    """A redelivery that fails is asked for again (a new attempt id), up to REDELIVERY_ATTEMPTS
    times; then the delivery is recorded where an operator sees it, and counted."""
    from ghsim.webhooks import deliver as sim_deliver
    from ghsim.webhooks import pull_request_payload

    from workers.tasks import FAILED_KEY, REDELIVERY_ATTEMPTS, sweep_failed_deliveries

    client = redis.Redis.from_url(redis_url)
    with SimulatorServer(Simulator()) as server:
        sim = server.sim
        sim.create_repo(REPO, {"a.py": "x = 1\n"})
        app = sim.create_app(slug="mendbot", webhook_url="http://127.0.0.1:9/webhook", webhook_secret="s")
        sim.install_app(app.id, "octo-org", [REPO])
        pr = sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": "y = 2\n"}, number=1)
        sim_deliver(sim, app.id, "pull_request", pull_request_payload(sim, REPO, pr.number, "opened", app_id=app.id))
        assert app.private_key_pem is not None
        settings = ServiceSettings(
            github_api_url=server.base_url, github_app_id=str(app.id), github_private_key=app.private_key_pem.decode()
        )
        gh = GitHubClient(settings, None, client)
        for sweep in range(REDELIVERY_ATTEMPTS + 2):
            before = len(sim.deliveries)
            asked = sweep_failed_deliveries(gh, client)
            if sweep < REDELIVERY_ATTEMPTS:
                assert len(asked) == 1, sweep
                deadline = time.monotonic() + 10
                while len(sim.deliveries) == before and time.monotonic() < deadline:
                    time.sleep(0.05)  # the simulator redelivers in the background, and fails again
            else:
                assert asked == []
        assert len(sim.redeliveries) == REDELIVERY_ATTEMPTS
        given_up = client.lrange(FAILED_KEY, 0, -1)
        assert len(given_up) == 1 and b"redeliveries failed" in given_up[0]
        assert client.hget("mendbot:metrics:given_up", "delivery") == b"1"


class _Request:
    retries = 3


class _Task:
    """Celery's retry contract, as `_retry_while_relevant` uses it: `request.retries` and a
    `retry()` that raises (here it records the call)."""

    request = _Request()

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def retry(self, **kwargs: object) -> Exception:
        self.calls.append(kwargs)
        raise RuntimeError("retry")


def test_github_errors_are_retried_while_the_delivery_is_relevant(redis_url: str) -> None:
    from workers.tasks import FAILED_KEY, _retry_while_relevant

    client = redis.Redis.from_url(redis_url)
    task = _Task()
    outage = RuntimeError("502 Bad Gateway")
    with pytest.raises(RuntimeError, match="retry"):
        _retry_while_relevant(task, client, outage, 300, time.time() - 3600, REPO, 1, "a" * 40)  # type: ignore[arg-type]
    assert task.calls[0]["max_retries"] is None and task.calls[0]["countdown"] == 300
    too_old = _retry_while_relevant(task, client, outage, 300, time.time() - 7 * 3600, REPO, 1, "a" * 40)  # type: ignore[arg-type]
    assert too_old is outage and len(task.calls) == 1
    assert b"GitHub kept failing" in client.lindex(FAILED_KEY, 0)
