import pytest


@pytest.mark.django_db
def test_healthz_is_public_and_reports_checks(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}


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
