"""Per-tenant switches applied at the start of every sandbox Graph and Exchange request: added latency,
random faults (500/503/504), random throttling, a request budget per time window, read timeouts and dropped
connections, so the client's retry and back-off code meets the failures Microsoft's services produce.

Timeouts and drops are transport faults: the sandbox only decides them here (before or after the work, as
both happen in reality: a lost answer does not mean the request was not executed) and records the decision
in the WSGI environ under ``TRANSPORT_FAULT_KEY``. The transport enacts it: the in-process adapter raises
requests' ``ReadTimeout``/``ConnectionError``, and :func:`wsgi_with_transport_faults` (gunicorn) sleeps
past the client's read timeout or shuts the socket down. Inside a ``$batch`` these apply to the batch's own
HTTP request only; items get 429/5xx as Graph answers them.

The budget follows the shape of Microsoft's published limits (N requests per app per tenant per window,
then 429 with ``Retry-After`` until the window ends). Counters live in Django's cache, so every web
process sharing the cache (Redis in production-like runs) sees the same budget.

Tests and benchmarks set switches with :func:`set_switches`, the ``sandbox_switch`` management command or
the sandbox admin page; all three validate through :class:`SwitchesForm`.
"""

from __future__ import annotations

import errno
import math
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .errors import graph_error
from .models import SandboxTenant

# Set in the WSGI environ of each item a $batch dispatches: the item skips the per-request latency.
BATCH_ITEM_KEY = "sandbox.batch_item"
# Set in the WSGI environ when the switches decided a timeout or dropped connection for this request.
TRANSPORT_FAULT_KEY = "sandbox.transport_fault"

SWITCH_FIELDS = (
    "latency_ms",
    "throttle_limit",
    "throttle_window_seconds",
    "throttle_probability",
    "fault_probability",
    "timeout_probability",
    "drop_probability",
)
THROTTLE_MESSAGE = "Too many requests. Please try again later."
# Retry-After on random 429/503 answers; small so suites that enable random faults stay fast.
RANDOM_RETRY_AFTER_SECONDS = 1
FAULTS = (
    (503, "ServiceUnavailable", "Service is temporarily unavailable. Please retry later."),
    (500, "UnknownError", "An internal server error occurred while processing the request."),
    (504, "GatewayTimeout", "The gateway timed out waiting for the backend service."),
)

# One generator for the process; tests call seed_random() for repeatable fault sequences.
_rng = random.Random()

# Faults injected by this process, by kind ("429", "5xx", "timeout", "drop"): the faults verification
# reports how many it met. Process-local; a gunicorn run counts per worker.
_injected: Counter = Counter()
_injected_lock = threading.Lock()


def seed_random(seed: int | None) -> None:
    _rng.seed(seed)


def injected_counts() -> dict[str, int]:
    with _injected_lock:
        return {kind: _injected[kind] for kind in ("429", "5xx", "timeout", "drop")}


def reset_injected() -> None:
    with _injected_lock:
        _injected.clear()


def _count(kind: str) -> None:
    with _injected_lock:
        _injected[kind] += 1


@dataclass(frozen=True)
class TransportFault:
    """A timeout or dropped connection; ``after`` = the request was executed, only its answer is lost."""

    kind: str  # "timeout" or "drop"
    after: bool


class SwitchesForm(forms.ModelForm):
    """The switches with their sane ranges; used by the admin page, set_switches and the command."""

    class Meta:
        model = SandboxTenant
        fields = SWITCH_FIELDS
        labels = {
            "latency_ms": "Added latency (ms)",
            "throttle_limit": "Request budget per window (0 = none)",
            "throttle_window_seconds": "Budget window (seconds)",
            "throttle_probability": "Random 429 probability",
            "fault_probability": "Random 5xx probability",
            "timeout_probability": "Random read-timeout probability",
            "drop_probability": "Random dropped-connection probability",
        }

    def clean_latency_ms(self):
        value = self.cleaned_data["latency_ms"]
        if value > 60_000:
            raise forms.ValidationError("Latency must be 60,000 ms or less.")
        return value

    def clean_throttle_window_seconds(self):
        value = self.cleaned_data["throttle_window_seconds"]
        if not 1 <= value <= 3600:
            raise forms.ValidationError("The window must be between 1 and 3,600 seconds.")
        return value

    def _probability(self, name: str) -> float:
        value = self.cleaned_data[name]
        if not 0.0 <= value <= 1.0 or math.isnan(value):
            raise forms.ValidationError("Enter a probability between 0 and 1 (e.g. 0.05 for 5 %).")
        return value

    def clean_throttle_probability(self):
        return self._probability("throttle_probability")

    def clean_fault_probability(self):
        return self._probability("fault_probability")

    def clean_timeout_probability(self):
        return self._probability("timeout_probability")

    def clean_drop_probability(self):
        return self._probability("drop_probability")


class SwitchError(ValueError):
    """Invalid switch values; ``errors`` maps field name to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = errors


def set_switches(tenant_id, **values) -> SandboxTenant:
    """Change some switches of one tenant (others keep their values); raise SwitchError when invalid."""
    unknown = sorted(set(values) - set(SWITCH_FIELDS))
    if unknown:
        raise SwitchError({name: ["Unknown switch."] for name in unknown})
    tenant = SandboxTenant.objects.get(pk=tenant_id)
    data = {name: getattr(tenant, name) for name in SWITCH_FIELDS} | values
    form = SwitchesForm(data=data, instance=tenant)
    if not form.is_valid():
        raise SwitchError({name: list(messages) for name, messages in form.errors.items()})
    return form.save()


def expire_delta_tokens(tenant: SandboxTenant) -> None:
    """Make every delta token issued so far answer 410 Gone (Graph's syncStateNotFound)."""
    tenant.delta_tokens_valid_after = timezone.now()
    SandboxTenant.objects.filter(pk=tenant.pk).update(
        delta_tokens_valid_after=tenant.delta_tokens_valid_after
    )


def _budget_exhausted(tenant: SandboxTenant, now: float) -> int | None:
    """Count this request against the tenant's window; seconds until the window ends when over budget."""
    if tenant.throttle_limit <= 0:
        return None
    window = max(1, tenant.throttle_window_seconds)
    index = int(now // window)
    key = f"sandbox:throttle:{tenant.pk}:{window}:{index}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: this request opens the window again
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count <= tenant.throttle_limit:
        return None
    return max(1, math.ceil((index + 1) * window - now))


def reset_budget(tenant: SandboxTenant) -> None:
    """Forget the current window's count (tests that reuse a tenant across cases)."""
    window = max(1, tenant.throttle_window_seconds)
    cache.delete(f"sandbox:throttle:{tenant.pk}:{window}:{int(time.time() // window)}")


def _error(
    request: HttpRequest, flavour: str, status: int, code: str, message: str, headers: dict
) -> HttpResponse:
    if flavour == "exchange":
        from .exchange.errors import exchange_error

        return exchange_error(status, code, message, headers=headers)
    return graph_error(status, code, message, request=request, headers=headers)


def apply_switches(
    request: HttpRequest, tenant: SandboxTenant, *, flavour: str = "graph", latency: bool = True
) -> HttpResponse | None:
    """Sleep for the tenant's latency, then return the 429/5xx to send instead of the answer, or None.

    ``flavour`` picks the error body: "graph" (``{"error": {code, message, innerError}}``) or "exchange"
    (InvokeCommand's shape). ``latency=False`` for the items of a ``$batch``: the batch request pays the
    latency itself (see ``batch_latency_seconds``), throttling and faults still apply per item.
    A timeout or drop is decided here too (see :func:`transport_fault`), except for ``$batch`` items.
    """
    if latency and tenant.latency_ms:
        time.sleep(tenant.latency_ms / 1000)
    retry_after = _budget_exhausted(tenant, time.time())
    if retry_after is not None:
        _count("429")
        return _error(
            request, flavour, 429, "TooManyRequests", THROTTLE_MESSAGE, {"Retry-After": str(retry_after)}
        )
    if tenant.throttle_probability and _rng.random() < tenant.throttle_probability:
        headers = {"Retry-After": str(RANDOM_RETRY_AFTER_SECONDS)}
        _count("429")
        return _error(request, flavour, 429, "TooManyRequests", THROTTLE_MESSAGE, headers)
    if tenant.fault_probability and _rng.random() < tenant.fault_probability:
        status, code, message = _rng.choice(FAULTS)
        headers = {"Retry-After": str(RANDOM_RETRY_AFTER_SECONDS)} if status == 503 else {}
        _count("5xx")
        return _error(request, flavour, status, code, message, headers)
    if not request.META.get(BATCH_ITEM_KEY):
        return transport_fault(request, tenant, flavour=flavour)
    return None


def transport_fault(
    request: HttpRequest, tenant: SandboxTenant, *, flavour: str = "graph"
) -> HttpResponse | None:
    """Maybe decide a timeout or dropped connection for this HTTP request and record it in its environ.

    Returns the placeholder answer to give instead of running the view when the fault strikes before the
    work (the transport never delivers it), None when the view should run (no fault, or the answer is lost
    after the work). The ``$batch`` view calls this for the batch request itself.
    """
    fault = None
    if tenant.timeout_probability and _rng.random() < tenant.timeout_probability:
        fault = TransportFault("timeout", after=_rng.random() < 0.5)
    elif tenant.drop_probability and _rng.random() < tenant.drop_probability:
        fault = TransportFault("drop", after=_rng.random() < 0.5)
    if fault is None:
        return None
    _count(fault.kind)
    request.META[TRANSPORT_FAULT_KEY] = fault
    if fault.after:
        return None
    return _error(request, flavour, 504, "GatewayTimeout", "The request was not processed.", {})


def read_timeout_seconds() -> float:
    """How long a gunicorn-served sandbox holds a timed-out answer: past the client's read timeout."""
    return float(settings.GRAPH_TIMEOUT_SECONDS) + 1.0


def wsgi_with_transport_faults(application):
    """Wrap the WSGI application so a real HTTP server enacts the timeouts and drops the switches decide.

    A timeout holds the answer past the client's read timeout, then sends it (nobody is listening any
    more); a drop shuts the client's socket down (``environ["gunicorn.socket"]``) instead of answering.
    Requests without a decided fault pass through untouched.
    """

    def wrapped(environ, start_response):
        result = application(environ, start_response_proxy := _DeferredStart(start_response))
        fault = environ.get(TRANSPORT_FAULT_KEY)
        if fault is None:
            start_response_proxy.release()
            return result
        if fault.kind == "timeout":
            time.sleep(read_timeout_seconds())
            start_response_proxy.release()
            return result
        sock = environ.get("gunicorn.socket")
        if hasattr(result, "close"):
            result.close()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # ENOTCONN: gunicorn's workers take it as the client going away and log it at debug level only.
        raise OSError(errno.ENOTCONN, "sandbox: connection dropped by the drop_probability switch")

    return wrapped


class _DeferredStart:
    """Holds Django's start_response call until the wrapper knows whether the answer is sent at all."""

    def __init__(self, start_response):
        self._start_response = start_response
        self._args = None

    def __call__(self, status, headers, exc_info=None):
        self._args = (status, headers, exc_info)
        return self._write

    def _write(self, data):  # the legacy write() callable; Django never uses it
        raise NotImplementedError

    def release(self) -> None:
        if self._args is not None:
            status, headers, exc_info = self._args
            self._start_response(status, headers, exc_info)


def batch_latency_seconds(tenant: SandboxTenant, levels: int) -> float:
    """The latency of one ``$batch`` request. Graph runs a batch's independent items concurrently and
    ``dependsOn`` chains one after another, so a batch costs one round of latency per level of its longest
    chain (1 for a parallel batch), not one per item."""
    return tenant.latency_ms * max(1, levels) / 1000


def exchange_throttle_response(retry_after: int) -> HttpResponse:
    """The 429 Exchange's InvokeCommand answers when a tenant exceeds its budget."""
    from .exchange.errors import exchange_error

    return exchange_error(429, "TooManyRequests", THROTTLE_MESSAGE, headers={"Retry-After": str(retry_after)})
