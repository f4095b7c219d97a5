"""A requests transport that serves requests from this Django process instead of a socket.

Mounted on ``http(s)://sandbox.test/`` by the test settings (``GRAPH_TRANSPORT_ADAPTERS``), it lets the
Graph client, MSAL and the Exchange client talk to the sandbox through the full Django stack (middleware,
URL routing, real status codes and headers) inside a test's database transaction. Redirects are returned
as they are; ``requests.Session`` decides whether to follow them, as it would over the network.
"""

from __future__ import annotations

import datetime
import io
import sys
from http import HTTPStatus
from http.client import RemoteDisconnected
from urllib.parse import unquote_to_bytes, urlsplit

import requests
from django.test.client import ClientHandler
from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import ProtocolError

from .switches import TRANSPORT_FAULT_KEY

_handler: ClientHandler | None = None


def _django_handler() -> ClientHandler:
    # ClientHandler is Django's WSGIHandler minus the close_old_connections signal, which would otherwise
    # close the database connection of the test transaction the request runs inside.
    global _handler
    if _handler is None:
        _handler = ClientHandler(enforce_csrf_checks=False)
    return _handler


def _body_bytes(body) -> bytes:
    """PreparedRequest.body may be None, str, bytes, a file-like object or an iterable of chunks."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return b"".join(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk) for chunk in body)


def build_environ(request: PreparedRequest) -> dict:
    parts = urlsplit(request.url)
    scheme = parts.scheme or "http"
    port = parts.port or (443 if scheme == "https" else 80)
    body = _body_bytes(request.body)
    environ = {
        "REQUEST_METHOD": (request.method or "GET").upper(),
        "SCRIPT_NAME": "",
        # WSGI carries the path percent-decoded, as latin-1 text of the raw bytes (PEP 3333).
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("iso-8859-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in (request.headers or {}).items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    environ.setdefault("HTTP_HOST", parts.netloc)
    return environ


class InProcessSandboxAdapter(BaseAdapter):
    """``session.mount("https://sandbox.test/", InProcessSandboxAdapter())``."""

    def send(
        self, request: PreparedRequest, stream=False, timeout=None, verify=True, cert=None, proxies=None
    ):
        started = datetime.datetime.now()
        environ = build_environ(request)
        django_response = _django_handler()(environ)
        fault = environ.get(TRANSPORT_FAULT_KEY)
        if fault is not None:
            # The sandbox's timeout/drop switches: the view ran (fault.after) or not; either way the
            # client sees what requests raises on a real socket, without waiting out the timeout.
            raise _transport_error(fault, request, timeout)
        if django_response.streaming:
            content = b"".join(django_response.streaming_content)
        else:
            content = django_response.content
        # No django_response.close() here: ClientHandler has already closed it (or wraps the streaming
        # iterator to do so) with close_old_connections disconnected. Closing again would fire
        # request_finished with it connected and drop the test transaction's PostgreSQL connection.

        response = Response()
        response.status_code = django_response.status_code
        response.reason = _reason(django_response)
        headers = CaseInsensitiveDict(django_response.items())
        cookies = [morsel.OutputString() for morsel in django_response.cookies.values()]
        if cookies:
            headers["Set-Cookie"] = ", ".join(cookies)
        response.headers = headers
        response.encoding = get_encoding_from_headers(headers)
        response.raw = io.BytesIO(content)
        response._content = content
        response._content_consumed = True
        response.url = request.url
        response.request = request
        response.connection = self
        response.elapsed = datetime.datetime.now() - started
        return response

    def close(self) -> None:
        pass


def _transport_error(fault, request: PreparedRequest, timeout) -> requests.RequestException:
    if fault.kind == "timeout":
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        return requests.ReadTimeout(
            f"HTTPConnectionPool(host='sandbox.test'): Read timed out. (read timeout={read_timeout})",
            request=request,
        )
    reason = ProtocolError(
        "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")
    )
    return requests.ConnectionError(reason, request=request)


def _reason(django_response) -> str:
    try:
        return django_response.reason_phrase or HTTPStatus(django_response.status_code).phrase
    except ValueError:
        return ""
