"""Publishing jobs to the workers, by task *name*, in Celery's own message protocol.

`bot` must not import `workers`; Celery routes by task name, so the receiver
needs only the broker URL and the names below. The receiver's hot path builds
the message with Celery's `amqp.as_task_v2` (protocol 2, exactly what
`send_task` builds) and hands it to Redis in one atomic script together with
the delivery-GUID dedupe: either the job is queued and the GUID remembered, or
neither — no window where a delivery is marked seen but its job is lost.
"""

from __future__ import annotations

import base64
import json
import uuid
from functools import lru_cache
from typing import Any

from celery import Celery

REVIEW_TASK = "mendbot.review_pull_request"
MODEL_TASK = "mendbot.propose_with_model"
REDELIVER_TASK = "mendbot.redeliver_failed_deliveries"
REVIEW_QUEUE = "review"
MODEL_QUEUE = "model"

# KEYS[1] delivery key, KEYS[2] queue list; ARGV[1] message, ARGV[2] ttl seconds.
# Returns 1 when queued, 0 when the delivery was seen before.
ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], 'queued', 'NX', 'EX', ARGV[2]) then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


@lru_cache(maxsize=4)
def client(broker_url: str) -> Celery:
    app = Celery("mendbot-client", broker=broker_url)
    app.conf.broker_connection_retry_on_startup = False
    app.conf.broker_connection_max_retries = 0
    app.conf.task_protocol = 2
    return app


def task_message(broker_url: str, task: str, kwargs: dict[str, Any], queue: str) -> tuple[str, str]:
    """(task id, the broker message) for a task call, as kombu's Redis transport stores it."""
    task_id = str(uuid.uuid4())
    message = client(broker_url).amqp.as_task_v2(task_id, task, args=(), kwargs=kwargs)
    body = json.dumps(list(message.body)).encode("utf-8")
    envelope = {
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": message.headers,
        "properties": {
            **message.properties,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return task_id, json.dumps(envelope)
