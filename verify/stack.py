"""Where the process parts of ``make verify`` run: a PostgreSQL database and a Redis database of their
own on loopback when those answer (as on CI and the production shape), else the embedded defaults."""

from __future__ import annotations

import socket
import subprocess

from .figures import ROOT


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def verify_database_url(name: str = "cippusers_verify") -> str:
    if not _answers(5432):
        return f"sqlite:///{ROOT / 'var' / (name + '.sqlite3')}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, check=False)
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def verify_redis_url(db: int = 13) -> str:
    return f"redis://127.0.0.1:6379/{db}" if _answers(6379) else ""
