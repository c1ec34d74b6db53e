"""The Celery application, configured from the environment (`REDIS_URL`, …).

`acks_late` + `reject_on_worker_lost`: a job whose worker dies mid-review goes
back to the queue instead of vanishing. One job prefetched per process: reviews
are long, and a fair queue matters more than throughput of tiny tasks.

The Redis visibility timeout, deliberately: Redis has no acknowledgements of its own, so an
unacknowledged job is handed out again once it has been out this long. Shorter than the
longest job, and a job still running would be run twice (Celery's documented pitfall); so it
is the review's hard time limit (`MENDBOT_REVIEW_TIME_LIMIT`, 300 s) plus a minute. The
price: when a whole worker machine dies (not just a child process, whose job
`reject_on_worker_lost` requeues at once), its jobs wait up to that long (6 min, 15 min before)
before another worker takes them.
"""

from __future__ import annotations

from celery import Celery

from bot.github.jobqueue import MODEL_QUEUE, MODEL_TASK, REDELIVER_TASK, REVIEW_QUEUE, REVIEW_TASK
from bot.github.settings import load_service_settings

settings = load_service_settings()

app = Celery("mendbot", broker=settings.redis_url, backend=settings.redis_url, include=["workers.tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue=REVIEW_QUEUE,
    task_routes={
        REVIEW_TASK: {"queue": REVIEW_QUEUE},
        MODEL_TASK: {"queue": MODEL_QUEUE},
        REDELIVER_TASK: {"queue": REVIEW_QUEUE},
    },
    task_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    broker_transport_options={"visibility_timeout": settings.review_time_limit + 60},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule={
        "redeliver-failed-webhooks": {"task": REDELIVER_TASK, "schedule": 600.0},
    },
    timezone="UTC",
)
