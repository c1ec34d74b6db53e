"""Publishing jobs to the workers, by task *name*, through Celery's own client.

`bot` must not import `workers`; Celery's `send_task` routes by name, so the
receiver needs only the broker URL and the task names below.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery

REVIEW_TASK = "mendbot.review_pull_request"
MODEL_TASK = "mendbot.propose_with_model"
REDELIVER_TASK = "mendbot.redeliver_failed_deliveries"
REVIEW_QUEUE = "review"
MODEL_QUEUE = "model"


@lru_cache(maxsize=4)
def client(broker_url: str) -> Celery:
    app = Celery("mendbot-client", broker=broker_url)
    app.conf.broker_connection_retry_on_startup = False
    app.conf.broker_connection_max_retries = 0
    app.conf.broker_transport_options = {"socket_timeout": 2, "socket_connect_timeout": 2}
    app.conf.task_protocol = 2
    return app


def enqueue_review(broker_url: str, job: dict[str, Any]) -> str:
    """Publish one review job; raises when the broker did not accept it."""
    result = client(broker_url).send_task(REVIEW_TASK, kwargs=job, queue=REVIEW_QUEUE, retry=False)
    return str(result.id)
