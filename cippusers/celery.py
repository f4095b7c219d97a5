"""The Celery application. Tasks are thin: they load a row by id and call the same service a view would.

Besides the app, this wires what every worker and beat process needs (signals, so it applies to any
``celery -A cippusers ...`` command line):

- logging: Django's ``LOGGING`` (JSON in production, redaction, request ids) instead of Celery's own set-up;
- request ids: a task queued during a request carries that request's id in a message header and logs
  under it; a task queued by beat or by nobody logs under ``task:<task id>``;
- heartbeats: each worker writes one per queue it consumes (read by ``/healthz``), and beat touches
  ``BEAT_HEARTBEAT_FILE`` each time it publishes (docker-compose's beat health check).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from celery import Celery, signals

from cippusers.request_id import NO_ID, enter_task, get_request_id, is_safe_carried, leave_task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cippusers.settings")

app = Celery("cippusers")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)
_HEADER = "request_id"


@signals.setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    """Connecting this signal stops Celery from replacing the root handlers with its own plain format."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


# --- request ids ----------------------------------------------------------------------------------------
@signals.before_task_publish.connect
def _carry_request_id(headers=None, **kwargs) -> None:
    request_id = get_request_id()
    if headers is not None and request_id != NO_ID:
        headers.setdefault(_HEADER, request_id)


_bound: dict[str, tuple] = {}


@signals.task_prerun.connect
def _bind_request_id(task_id=None, task=None, **kwargs) -> None:
    carried = getattr(task.request, _HEADER, None)
    if is_safe_carried(carried):
        request_id = carried
    elif task.request.is_eager and get_request_id() != NO_ID:
        request_id = get_request_id()  # runs inside the request (tests, CELERY_TASK_ALWAYS_EAGER)
    else:
        request_id = f"task:{task_id}"
    _bound[task_id] = enter_task(request_id, task_id, task.name)


@signals.task_postrun.connect
def _unbind_request_id(task_id=None, **kwargs) -> None:
    tokens = _bound.pop(task_id, None)
    if tokens is not None:
        leave_task(tokens)


# --- worker heartbeats -----------------------------------------------------------------------------------
class _Heartbeat(threading.Thread):
    def __init__(self, hostname: str, queues: list[str], interval: float):
        super().__init__(name="cippusers-heartbeat", daemon=True)
        self.hostname, self.queues, self.interval = hostname, queues, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        from cippusers.health import record_worker_heartbeat

        failing = False
        while True:
            try:
                record_worker_heartbeat(self.hostname, self.queues)
                failing = False
            except Exception:  # noqa: BLE001 - Redis away for a moment; /healthz will show the gap
                if not failing:
                    logger.warning("worker heartbeat could not be written", exc_info=True)
                failing = True
            if self.stopped.wait(self.interval):
                return


_heartbeat: _Heartbeat | None = None


@signals.worker_ready.connect
def _start_heartbeat(sender=None, **kwargs) -> None:
    """Runs in the worker's main process once it consumes; prefork children are forked earlier or without
    this thread, so exactly one heartbeat per worker."""
    global _heartbeat
    from django.conf import settings

    from cippusers.health import worker_mode

    if worker_mode() == "embedded" or _heartbeat is not None:
        return
    queues = sorted(sender.app.amqp.queues.consume_from.keys())
    _heartbeat = _Heartbeat(sender.hostname, queues, settings.WORKER_HEARTBEAT_INTERVAL_SECONDS)
    _heartbeat.start()
    logger.info("worker heartbeat every %ss for queues %s", _heartbeat.interval, ",".join(queues))


@signals.worker_shutdown.connect
def _stop_heartbeat(**kwargs) -> None:
    if _heartbeat is not None:
        _heartbeat.stopped.set()


# --- beat heartbeat ----------------------------------------------------------------------------------------
_in_beat = False


@signals.beat_init.connect
def _mark_beat(**kwargs) -> None:
    global _in_beat
    _in_beat = True


@signals.after_task_publish.connect
def _beat_published(**kwargs) -> None:
    """Beat publishes sync-due-tenants every minute: a fresh file proves its loop runs and the broker takes
    messages, which a thread of its own could not."""
    if not _in_beat:
        return
    from django.conf import settings

    from cippusers.health import record_beat_heartbeat

    Path(settings.BEAT_HEARTBEAT_FILE).touch()
    try:
        record_beat_heartbeat()
    except Exception:  # noqa: BLE001 - the file is the health check; the cache copy is informational
        logger.warning("beat heartbeat could not be cached", exc_info=True)
