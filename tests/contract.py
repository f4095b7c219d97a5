"""Contract checks against Microsoft's own API description (``../shared/graph-contract/``).

Used both ways: every request our client sends and every response the sandbox gives is validated with
openapi-core against the OpenAPI subset (v1.0 or beta, read from the URL). Because that subset leaves
objects open (rule R1), misspelt property names are caught separately with the compact contract's
property lists. Operations the subset does not describe (e.g. ``/users/delta``, ``/groups``) still get
their user items and error bodies checked against the same schemas.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

_CANDIDATES = [
    Path(os.environ.get("GRAPH_CONTRACT_DIR", "")),
    Path(__file__).resolve().parents[2] / "shared" / "graph-contract",
    # A copy kept in the repo so the suite runs where shared/ is not beside the clone.
    Path(__file__).resolve().parent / "graph-contract",
]
GRAPH_HOST = "https://graph.microsoft.com"


class ContractError(AssertionError):
    pass


def contract_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate and (candidate / "openapi-subset.json").is_file():
            return candidate
    raise FileNotFoundError("graph-contract directory not found (set GRAPH_CONTRACT_DIR)")


@lru_cache(maxsize=2)
def _spec_dict(version: str) -> dict:
    name = "openapi-subset.json" if version == "v1.0" else "openapi-subset-beta.json"
    return json.loads((contract_dir() / name).read_text())


@lru_cache(maxsize=2)
def _openapi(version: str) -> OpenAPI:
    with warnings.catch_warnings():
        # The subset declares Graph's OAuth2 scheme, which openapi-core does not check; that is fine here.
        warnings.simplefilter("ignore", UserWarning)
        return OpenAPI.from_dict(_spec_dict(version))


@lru_cache(maxsize=1)
def compact_contract() -> dict:
    return json.loads((contract_dir() / "graph-v1-subset.json").read_text())


def _split(url: str) -> tuple[str, str, dict]:
    """Return (version, path relative to the version root, query dict) for any Graph-shaped URL."""
    parts = urlsplit(url)
    path = parts.path
    for version in ("v1.0", "beta"):
        marker = f"/{version}/"
        if marker in path + "/":
            rest = (path + "/").split(marker, 1)[1].rstrip("/")
            return version, "/" + rest, dict(parse_qsl(parts.query, keep_blank_values=True))
    raise ContractError(f"not a Graph URL (no /v1.0/ or /beta/): {url}")


def _path_templates(version: str) -> list[str]:
    return list(_spec_dict(version)["paths"].keys())


def _match_template(version: str, path: str, method: str) -> str | None:
    segments = path.strip("/").split("/")
    for template in _path_templates(version):
        tsegs = template.strip("/").split("/")
        if len(tsegs) != len(segments):
            continue
        if all(t.startswith("{") or t == s for t, s in zip(tsegs, segments, strict=True)):
            if method.lower() in _spec_dict(version)["paths"][template]:
                return template
    return None


def is_covered(method: str, url: str) -> bool:
    version, path, _ = _split(url)
    return _match_template(version, path, method) is not None


def _mock_request(method: str, url: str, headers: dict | None, body) -> MockRequest:
    version, path, query = _split(url)
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return MockRequest(
        GRAPH_HOST,
        method.lower(),
        f"/{version}{path}",
        args=query,
        headers=dict(headers or {}),
        data=data,
        content_type="application/json",
    )


def validate_request(method: str, url: str, *, headers: dict | None = None, body=None) -> bool:
    """Validate a request against the OpenAPI subset; returns False when the operation is not described
    there (the caller decides whether that is acceptable). Raises ContractError on a violation."""
    version, path, _ = _split(url)
    if _match_template(version, path, method) is None:
        return False
    try:
        _openapi(version).validate_request(_mock_request(method, url, headers, body))
    except Exception as exc:  # openapi-core raises a family of validation errors
        raise ContractError(f"{method} {url}: request violates the contract: {_describe(exc)}") from exc
    is_user_write = method.upper() in {"POST", "PATCH"} and re.fullmatch(r"/users(/[^/]+)?", path)
    if isinstance(body, dict) and is_user_write:
        unknown = unknown_user_properties(body)
        if unknown:
            raise ContractError(f"{method} {url}: unknown user properties {unknown}")
    return True


def validate_response(method: str, url: str, status: int, *, headers: dict | None = None, body=None) -> bool:
    """Validate a response. Described operations go through openapi-core; others get their error body
    or user items checked against the component schemas. Returns False when nothing could be checked."""
    version, path, _ = _split(url)
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    parsed = json.loads(raw) if raw.strip() else None
    if status >= 400:
        _check_schema(version, "microsoft.graph.ODataErrors.ODataError", parsed, f"{method} {url} ({status})")
        return True
    if _match_template(version, path, method) is not None:
        content_type = (headers or {}).get("Content-Type", "application/json").split(";")[0]
        try:
            _openapi(version).validate_response(
                _mock_request(method, url, None, None),
                MockResponse(raw, status_code=status, headers=dict(headers or {}), content_type=content_type),
            )
        except Exception as exc:
            raise ContractError(
                f"{method} {url} ({status}): response violates the contract: {_describe(exc)}"
            ) from exc
        return True
    if path.startswith("/users") and isinstance(parsed, dict):
        items = parsed.get("value") if "value" in parsed else [parsed]
        for item in items or []:
            if "@removed" in item:
                continue
            _check_schema(version, "microsoft.graph.user", item, f"{method} {url} item")
        return True
    return False


def _check_schema(version: str, name: str, instance, where: str) -> None:
    spec = _spec_dict(version)
    if name not in spec["components"]["schemas"]:
        # The beta subset carries only the authentication schemas; shared types come from v1.0.
        spec = _spec_dict("v1.0")
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    errors = sorted(OAS30Validator(schema).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        raise ContractError(f"{where}: not a valid {name}: {errors[0].message} at {list(errors[0].path)}")


def user_property_names() -> set[str]:
    return set(compact_contract()["types"]["microsoft.graph.user"]["properties"].keys())


def unknown_user_properties(body: dict) -> list[str]:
    """Top-level keys of a user body that Graph's user type does not declare (misspellings)."""
    known = user_property_names()
    return sorted(key for key in body if not key.startswith("@") and "@" not in key and key not in known)


def _describe(exc: Exception) -> str:
    parts = [str(exc)]
    cause = exc.__cause__ or exc.__context__
    for detail in getattr(exc, "schema_errors", None) or getattr(cause, "schema_errors", None) or []:
        parts.append(f"{detail.message} at {list(detail.path)}")
    return "; ".join(parts)
