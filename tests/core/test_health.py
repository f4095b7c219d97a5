import time

import pytest


@pytest.mark.django_db
def test_healthz_is_public_and_reports_checks(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    # tests run tasks eagerly: the worker is embedded, so no heartbeat is expected
    assert body["checks"] == {"database": "ok", "broker": "ok", "workers": "embedded"}
    assert "queues" not in body


@pytest.mark.django_db
def test_healthz_reports_broken_broker(client, settings, monkeypatch):
    from cippusers import health

    monkeypatch.setattr(health, "_check_broker", lambda: "OperationalError")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "failed: OperationalError"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/tenants/"])
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.django_db
def test_liveness_checks_only_the_process(client, monkeypatch):
    from cippusers import health

    monkeypatch.setattr(health, "_check_database", lambda: "OperationalError")
    monkeypatch.setattr(health, "_check_broker", lambda: "OperationalError")
    response = client.get("/healthz/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert client.get("/healthz").status_code == 503


@pytest.fixture
def real_broker(settings, monkeypatch, tmp_path):
    """/healthz as it runs against Redis: broker reachable, heartbeats expected, and a cache that processes
    share (files here; Redis in production)."""
    from cippusers import health

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://redis.invalid:6379/0"
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 90
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    monkeypatch.setattr(health, "_check_broker", lambda: None)


@pytest.mark.django_db
def test_healthz_fails_without_any_worker(client, real_broker):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["workers"] == "failed: no worker beat within 90s on interactive, bulk, sync"
    assert body["queues"] == {"interactive": None, "bulk": None, "sync": None}


@pytest.mark.django_db
def test_healthz_reports_each_queue_freshest_beat(client, real_broker):
    from cippusers.health import record_worker_heartbeat

    now = time.time()
    record_worker_heartbeat("celery@old", ["interactive", "bulk"], now=now - 60)
    record_worker_heartbeat("celery@bulk2", ["bulk"], now=now - 5)
    record_worker_heartbeat("celery@sync", ["sync"], now=now - 10)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    queues = response.json()["queues"]
    assert queues["bulk"]["hostname"] == "celery@bulk2" and 4 <= queues["bulk"]["age_seconds"] < 30
    assert (
        queues["interactive"]["hostname"] == "celery@old" and 59 <= queues["interactive"]["age_seconds"] < 90
    )
    assert response.json()["checks"]["workers"] == "ok"


@pytest.mark.django_db
def test_healthz_fails_when_one_queue_went_quiet(client, real_broker):
    from cippusers.health import record_worker_heartbeat

    now = time.time()
    record_worker_heartbeat("celery@a", ["interactive", "sync"], now=now)
    record_worker_heartbeat("celery@bulk", ["bulk"], now=now - 91)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == "failed: no worker beat within 90s on bulk"


@pytest.mark.django_db
def test_healthz_fails_when_heartbeats_are_unreadable(client, real_broker, settings):
    # A Redis cache nobody listens on (port 1): reading the heartbeats fails with a real connection error.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == "failed: heartbeats unreadable (ConnectionError)"


@pytest.mark.parametrize(
    "broker,eager,mode",
    [
        ("filesystem://", False, "embedded"),
        ("memory://", False, "embedded"),
        ("redis://r:6379/0", True, "embedded"),
        ("redis://r:6379/0", False, "checked"),
        ("amqp://guest@mq//", False, "checked"),
    ],
)
def test_worker_mode(settings, broker, eager, mode):
    from cippusers.health import worker_mode

    settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER = broker, eager
    assert worker_mode() == mode


def test_heartbeat_thread_beats_and_stops(settings):
    from django.core.cache import cache

    from cippusers.celery import _Heartbeat
    from cippusers.health import queue_heartbeats

    cache.clear()
    beat = _Heartbeat("celery@t", ["bulk", "sync"], interval=0.05)
    beat.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and queue_heartbeats(["bulk", "sync"])["sync"] is None:
        time.sleep(0.02)
    beat.stopped.set()
    beat.join(timeout=2)
    assert not beat.is_alive()
    beats = queue_heartbeats(["interactive", "bulk", "sync"])
    assert beats["interactive"] is None
    assert beats["bulk"]["hostname"] == beats["sync"]["hostname"] == "celery@t"


def test_beat_touches_its_heartbeat_file_only_in_beat(settings, tmp_path, monkeypatch):
    from cippusers import celery as wiring

    settings.BEAT_HEARTBEAT_FILE = str(tmp_path / "beat-heartbeat")
    monkeypatch.setattr(wiring, "_in_beat", False)
    wiring._beat_published()
    assert not (tmp_path / "beat-heartbeat").exists()  # web/worker publishing proves nothing about beat
    monkeypatch.setattr(wiring, "_in_beat", True)
    wiring._beat_published()
    assert (tmp_path / "beat-heartbeat").exists()


@pytest.mark.django_db
def test_healthz_explains_a_per_process_cache(client, real_broker, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == "failed: heartbeats need a shared cache (set REDIS_URL)"
