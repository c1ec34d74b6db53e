"""The webhook receiver over real HTTP (uvicorn) with a real Redis broker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from bot.github.settings import ServiceSettings, SettingsError
from bot.github.webhook import create_app, signature_for, verify_signature
from tests.conftest import ServerThread, free_port

# Real GitHub deliveries, kept in the repository so a clone alone runs the tests.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github-webhooks"
SECRET = "It's a Secret to Everybody"


def test_official_signature_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_for(SECRET, b"Hello, World!") == expected
    assert verify_signature(SECRET, b"Hello, World!", expected)
    assert not verify_signature(SECRET, b"Hello, World!", expected[:-1] + "0")
    assert not verify_signature(SECRET, b"Hello, World!", None)


def test_refuses_to_start_without_secret() -> None:
    with pytest.raises(SettingsError, match="MENDBOT_WEBHOOK_SECRET"):
        create_app(ServiceSettings(webhook_secret=None))


@pytest.fixture
def receiver(redis_url: str) -> Iterator[tuple[httpx.Client, redis.Redis]]:
    settings = ServiceSettings(webhook_secret=SECRET, redis_url=redis_url, max_body_bytes=2_000_000)
    with ServerThread(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield client, redis.Redis.from_url(redis_url)


def deliver(client: httpx.Client, event: str, body: bytes, guid: str = "g-1", secret: str = SECRET) -> httpx.Response:
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid,
        "X-Hub-Signature-256": signature_for(secret, body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
    }
    return client.post("/webhook", content=body, headers=headers)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_pull_request_is_enqueued_once(receiver: tuple[httpx.Client, redis.Redis]) -> None:
    client, r = receiver
    body = fixture("pull_request/opened.payload.json")
    first = deliver(client, "pull_request", body, "d-1")
    assert first.status_code == 202, first.text
    assert r.llen("review") == 1
    message = json.loads(r.lindex("review", 0))
    assert message["headers"]["task"] == "mendbot.review_pull_request"
    again = deliver(client, "pull_request", body, "d-1")  # a redelivery reuses the GUID
    assert again.status_code == 200 and again.json()["duplicate"] == "d-1"
    assert r.llen("review") == 1
    assert deliver(client, "pull_request", fixture("pull_request/synchronize.payload.json"), "d-2").status_code == 202
    assert r.llen("review") == 2


def test_signature_and_malformed_input(receiver: tuple[httpx.Client, redis.Redis]) -> None:
    client, r = receiver
    body = fixture("pull_request/opened.payload.json")
    assert deliver(client, "pull_request", body, secret="wrong").status_code == 401
    unsigned = client.post("/webhook", content=body, headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": "x"})
    assert unsigned.status_code == 401
    bad_json = deliver(client, "pull_request", b"{not json")
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]
    assert deliver(client, "pull_request", b"[1, 2]").status_code == 400
    missing = deliver(client, "pull_request", json.dumps({"action": "opened", "pull_request": {"number": 1}}).encode())
    assert (missing.status_code == 422 and "head" in missing.json()["error"]) or "repository" in missing.json()["error"]
    no_event = client.post(
        "/webhook", content=body, headers={"X-Hub-Signature-256": signature_for(SECRET, body), "X-GitHub-Delivery": "z"}
    )
    assert no_event.status_code == 400
    huge = b'{"a": "' + b"x" * 2_100_000 + b'"}'
    assert deliver(client, "pull_request", huge).status_code == 413
    assert r.llen("review") == 0


def test_events_that_need_no_review(receiver: tuple[httpx.Client, redis.Redis]) -> None:
    client, r = receiver
    ping = deliver(client, "ping", fixture("ping/payload.json"), "p")
    assert ping.status_code == 200 and ping.json()["ok"]
    closed = deliver(client, "pull_request", fixture("pull_request/closed.payload.json"), "c")
    assert closed.status_code == 200 and "skipped" in closed.json()
    draft = json.loads(fixture("pull_request/opened.payload.json"))
    draft["pull_request"]["draft"] = True
    skipped = deliver(client, "pull_request", json.dumps(draft).encode(), "dr")
    assert skipped.status_code == 200 and "draft" in skipped.json()["skipped"]
    edited = dict(draft, action="edited")
    edited["pull_request"]["draft"] = False
    assert "skipped" in deliver(client, "pull_request", json.dumps(edited).encode(), "e1").json()
    edited["changes"] = {"base": {"ref": {"from": "old"}}}
    assert deliver(client, "pull_request", json.dumps(edited).encode(), "e2").status_code == 202
    installed = deliver(client, "installation", fixture("installation/created.payload.json"), "i")
    assert installed.status_code == 200
    assert r.hlen("mendbot:installations") == 1
    other = deliver(client, "check_suite", fixture("check_suite/requested.payload.json"), "o")
    assert other.status_code == 200 and other.json()["ignored"] == "check_suite"
    assert r.llen("review") == 1


def test_redis_down_answers_503_and_health_says_so() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = ServiceSettings(webhook_secret=SECRET, redis_url=dead)
    with ServerThread(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=20) as client:
        response = deliver(client, "pull_request", fixture("pull_request/opened.payload.json"))
        assert response.status_code == 503
        assert client.get("/healthz").status_code == 503


def test_health_and_metrics(receiver: tuple[httpx.Client, redis.Redis]) -> None:
    client, _ = receiver
    assert client.get("/healthz").json() == {"status": "ok", "redis": "ok"}
    deliver(client, "pull_request", fixture("pull_request/opened.payload.json"), "m1")
    deliver(client, "pull_request", b"{}", "m2", secret="bad")
    text = client.get("/metrics").text
    assert 'mendbot_webhook_deliveries_total{event="pull_request",outcome="enqueued"} 1.0' in text
    assert 'outcome="bad_signature"' in text
    assert 'mendbot_queue_depth{queue="review"} 1.0' in text
    assert "mendbot_review_latency_seconds_bucket" in text
    assert 'mendbot_model_batches_total{outcome="timeout"} 0.0' in text
    from bot.github.metrics import record_model_batch

    record_model_batch(receiver[1], "timeout")  # what a review worker does when its batch is late
    text = client.get("/metrics").text
    assert 'mendbot_model_batches_total{outcome="timeout"} 1.0' in text
    assert 'mendbot_model_batches_total{outcome="ok"} 0.0' in text
