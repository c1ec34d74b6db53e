"""Prometheus metrics shared by the receiver and the workers.

The receiver's own counters live in its process. Workers are other processes
(maybe other machines), so what they observe — review latency, GitHub API
calls by status, `model`-queue batches by outcome — is accumulated in Redis and exported by the receiver's
`/metrics` through a custom collector, next to the live queue depths.

Recording never fails a job: a Redis error while counting (a restart, a failover) loses that
count and is logged, nothing else — before, a 3 s Redis outage made two reviews that had
already posted their comments fail before their check run.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import ParamSpec

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 120.0)
_LATENCY_KEY = "mendbot:metrics:review_latency"
_CALLS_KEY = "mendbot:metrics:github_calls"
_MODEL_KEY = "mendbot:metrics:model_batches"
GIVEN_UP_METRIC_KEY = "mendbot:metrics:given_up"  # written by workers.tasks.record_given_up
MODEL_OUTCOMES = ("ok", "timeout", "error")
QUEUES = ("review", "model")
log = logging.getLogger("mendbot.metrics")
_P = ParamSpec("_P")


def _never_fails(record: Callable[_P, None]) -> Callable[_P, None]:
    @functools.wraps(record)
    def safe(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            record(*args, **kwargs)
        except redis.RedisError as exc:
            log.warning("metric %s not recorded: %s", record.__name__, exc)

    return safe


@_never_fails
def record_review_latency(client: redis.Redis, seconds: float) -> None:
    """Called by a worker when a review is published (delivery → review posted)."""
    pipe = client.pipeline()
    for bound in LATENCY_BUCKETS:
        if seconds <= bound:
            pipe.hincrby(_LATENCY_KEY, f"le:{bound}", 1)
    pipe.hincrby(_LATENCY_KEY, "count", 1)
    pipe.hincrbyfloat(_LATENCY_KEY, "sum", seconds)
    pipe.execute()


@_never_fails
def record_github_call(client: redis.Redis, status: int) -> None:
    client.hincrby(_CALLS_KEY, str(status), 1)


@_never_fails
def record_model_batch(client: redis.Redis, outcome: str) -> None:
    """Called by a review worker after asking the `model` queue: ok, timeout or error."""
    client.hincrby(_MODEL_KEY, outcome, 1)


def model_batches(client: redis.Redis) -> dict[str, int]:
    """The `model`-queue batch counters by outcome (every outcome present, 0 when never seen)."""
    raw = {_text(k): int(v) for k, v in client.hgetall(_MODEL_KEY).items()}
    return {outcome: raw.get(outcome, 0) for outcome in (*MODEL_OUTCOMES, *sorted(set(raw) - set(MODEL_OUTCOMES)))}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisMetricsCollector(Collector):
    """Exports worker-side metrics and queue depths read from Redis at scrape time."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def collect(self) -> Iterable[Metric]:
        try:
            depth = GaugeMetricFamily("mendbot_queue_depth", "jobs waiting in each queue", labels=["queue"])
            for queue in QUEUES:
                depth.add_metric([queue], float(self.client.llen(queue)))
            yield depth
            calls = CounterMetricFamily(
                "mendbot_github_api_calls", "GitHub API calls by HTTP status", labels=["status"]
            )
            for status, count in sorted(self.client.hgetall(_CALLS_KEY).items()):
                calls.add_metric([_text(status)], float(count))
            yield calls
            batches = CounterMetricFamily(
                "mendbot_model_batches",
                "model-queue batches asked by review workers, by outcome (timeout/error: reviewed codemod-only)",
                labels=["outcome"],
            )
            for outcome, seen in model_batches(self.client).items():
                batches.add_metric([outcome], float(seen))
            yield batches
            given_up = CounterMetricFamily(
                "mendbot_given_up",
                "deliveries and reviews mendbot gave up on (details: the Redis list mendbot:failed)",
                labels=["kind"],
            )
            for kind in ("delivery", "review"):
                given_up.add_metric([kind], float(self.client.hget(GIVEN_UP_METRIC_KEY, kind) or 0))
            yield given_up
            raw = {_text(k): float(v) for k, v in self.client.hgetall(_LATENCY_KEY).items()}
            buckets = [(str(b), raw.get(f"le:{b}", 0.0)) for b in LATENCY_BUCKETS]
            total = raw.get("count", 0.0)
            buckets.append(("+Inf", total))
            yield HistogramMetricFamily(
                "mendbot_review_latency_seconds",
                "delivery received → review posted",
                buckets=buckets,
                sum_value=raw.get("sum", 0.0),
            )
        except redis.RedisError:
            return


class ReceiverMetrics:
    """The receiver's in-process metrics, on their own registry (no global state)."""

    def __init__(self, client: redis.Redis) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "mendbot_webhook_deliveries",
            "webhook deliveries by event and outcome",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "mendbot_webhook_ack_seconds",
            "time to answer a delivery",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.registry.register(RedisMetricsCollector(client))
