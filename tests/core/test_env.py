from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cippusers.dburl import parse_database_url
from cippusers.env import EnvError, env_bool, env_int, env_list, env_str


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "Yes", "on", " true "])
def test_bool_true(value):
    assert env_bool("X", False, environ={"X": value}) is True


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF"])
def test_bool_false(value):
    assert env_bool("X", True, environ={"X": value}) is False


@pytest.mark.parametrize("value", ["ture", "2", "enabled", "y"])
def test_bool_rejects_typos_naming_the_variable(value):
    with pytest.raises(EnvError, match="^X="):
        env_bool("X", False, environ={"X": value})


def test_bool_default_when_unset_or_blank():
    assert env_bool("X", True, environ={}) is True
    assert env_bool("X", False, environ={"X": "  "}) is False


def test_int_parses_and_bounds():
    assert env_int("P", 1, environ={"P": "8000"}) == 8000
    assert env_int("P", 7, environ={}) == 7
    with pytest.raises(EnvError, match="not a whole number"):
        env_int("P", 1, environ={"P": "8O00"})
    with pytest.raises(EnvError, match="below the minimum"):
        env_int("P", 1, minimum=1, environ={"P": "0"})
    with pytest.raises(EnvError, match="above the maximum"):
        env_int("P", 1, maximum=10, environ={"P": "11"})


def test_list_strips_and_drops_empty_items():
    assert env_list("H", environ={"H": " a.example.com, ,b.example.com,"}) == [
        "a.example.com",
        "b.example.com",
    ]
    assert env_list("H", ["x"], environ={}) == ["x"]


def test_file_indirection(tmp_path: Path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-value\n")
    assert env_str("SECRET_KEY", environ={"SECRET_KEY_FILE": str(secret)}) == "s3cr3t-value"


def test_file_indirection_errors(tmp_path: Path):
    with pytest.raises(EnvError, match="cannot be read"):
        env_str("SECRET_KEY", environ={"SECRET_KEY_FILE": str(tmp_path / "missing")})
    with pytest.raises(EnvError, match="both set"):
        env_str("SECRET_KEY", environ={"SECRET_KEY": "a", "SECRET_KEY_FILE": str(tmp_path)})


@given(st.text())
def test_bool_never_guesses(value):
    """Any string is either a recognised boolean or an EnvError: never a silent default."""
    try:
        result = env_bool("X", None, environ={"X": value})  # type: ignore[arg-type]
    except EnvError:
        return
    assert result in (True, False, None)
    if value.strip():
        assert value.strip().lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}


def test_database_url_postgres():
    db = parse_database_url("postgres://app:p%40ss@db.internal:5433/cipp?sslmode=require", Path("/srv"))
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "cipp",
        "app",
        "p@ss",
        "db.internal",
        "5433",
    )
    assert db["OPTIONS"] == {"sslmode": "require", "options": "-c jit=off"}


def test_database_url_sqlite_relative_and_absolute():
    assert parse_database_url("sqlite:///var/x.db", Path("/srv"))["NAME"] == "/srv/var/x.db"
    assert parse_database_url("sqlite:////tmp/x.db", Path("/srv"))["NAME"] == "/tmp/x.db"


@pytest.mark.parametrize("url", ["mysql://x/y", "postgres://host", "sqlite://"])
def test_database_url_rejects(url):
    with pytest.raises(EnvError):
        parse_database_url(url, Path("/srv"))
