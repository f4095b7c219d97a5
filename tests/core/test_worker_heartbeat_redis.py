"""A real Celery worker on a real Redis: it beats for the queues it consumes, and a task queued under a
request id logs JSON lines under that id. Skipped when no Redis answers on 127.0.0.1:6379."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("CIPPUSERS_TEST_WORKER_REDIS", "redis://127.0.0.1:6379/10")

PUBLISH = """
import django
django.setup()
from cippusers.celery import app
from cippusers.request_id import bound
with bound("rid-e2e-7"):
    app.send_task("celery.accumulate", args=[1, 2])  # unrouted: the default queue, bulk
    app.send_task("celery.accumulate", args=[3], queue="interactive")  # nobody here consumes it
"""


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")


@pytest.fixture
def worker_env(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "DATABASE_", "REDIS_", "LOG_", "CIPPUSERS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cippusers.settings",
        CIPPUSERS_VAR_DIR=str(tmp_path),
        REDIS_URL=REDIS_URL,
        LOG_FORMAT="json",
    )
    return env


@pytest.fixture
def redis_cache():
    from django.core.cache.backends.redis import RedisCache

    cache = RedisCache(REDIS_URL, {})

    def forget():
        # Only this test's keys: the Redis database may be shared with other runs, so no FLUSHDB.
        cache.delete_many([f"cippusers:heartbeat:queue:{queue}" for queue in ("interactive", "bulk", "sync")])
        client = cache._cache.get_client(write=True)
        for queue in ("interactive", "bulk", "sync"):
            client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")

    forget()
    yield cache
    forget()


def test_worker_beats_and_logs_under_the_carried_request_id(worker_env, redis_cache, tmp_path, monkeypatch):
    from cippusers import health

    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cippusers", "worker", "-Q", "bulk,sync", "-n",
             "e2e@%h", "--concurrency=1", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        monkeypatch.setattr(health, "cache", redis_cache)
        deadline = time.monotonic() + 60
        beats = health.queue_heartbeats(["interactive", "bulk", "sync"])
        while beats["bulk"] is None and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.3)
            beats = health.queue_heartbeats(["interactive", "bulk", "sync"])
        assert beats["bulk"] is not None, log_path.read_text()[-3000:]
        assert (
            beats["bulk"]["hostname"].startswith("e2e@")
            and beats["sync"]["hostname"] == beats["bulk"]["hostname"]
        )
        assert beats["interactive"] is None  # this worker does not consume it
        assert beats["bulk"]["age_seconds"] < 15

        subprocess.run([sys.executable, "-c", PUBLISH], cwd=ROOT, env=worker_env, check=True, timeout=60)
        task_lines: list[dict] = []
        while time.monotonic() < deadline and not task_lines:
            time.sleep(0.3)
            lines = [json.loads(raw) for raw in log_path.read_text().splitlines() if raw.startswith("{")]
            task_lines = [line for line in lines if line.get("request_id") == "rid-e2e-7"]
        assert task_lines, log_path.read_text()[-3000:]
        assert any("succeeded" in line["message"] for line in task_lines)
        assert all(line["task_name"] == "celery.accumulate" for line in task_lines)
        # The interactive message waits in its own queue: it must not also have been copied to bulk/sync.
        time.sleep(1)
        client = redis_cache._cache.get_client()
        assert client.llen("interactive") == 1
        assert client.llen("bulk") == 0 and client.llen("sync") == 0
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    text = log_path.read_text()
    assert text.count("received") == 1, text[-3000:]
    # setup_logging is connected, so Celery's own log records are JSON too (the banner is printed, not logged)
    ready = [raw for raw in text.splitlines() if " ready." in raw]
    assert ready and all(json.loads(raw)["logger"] == "celery.apps.worker" for raw in ready)
