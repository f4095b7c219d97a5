"""The container probes docker-compose runs (cippusers.probe)."""

from __future__ import annotations

import os
import time

import pytest

from cippusers import probe


def test_file_age(tmp_path):
    beat = tmp_path / "beat-heartbeat"
    assert probe.probe_file_age(str(beat), 180) == 1  # beat never published
    beat.touch()
    assert probe.probe_file_age(str(beat), 180) == 0
    old = time.time() - 181
    os.utime(beat, (old, old))
    assert probe.probe_file_age(str(beat), 180) == 1


@pytest.mark.django_db(transaction=True)
def test_url_probe_sends_an_allowed_host(live_server, settings, monkeypatch):
    url = f"{live_server.url}/healthz/live"
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    monkeypatch.setenv("ALLOWED_HOSTS", ".portal.example.com,other.example.com")
    assert probe.probe_url(url) == 0
    monkeypatch.setenv("ALLOWED_HOSTS", "other.example.com")  # Django answers 400 to a host it does not serve
    assert probe.probe_url(url) == 1
    assert probe.probe_url(f"{live_server.url}/nowhere") == 1
