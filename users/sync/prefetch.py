"""Download the next Graph page while the current one is written to the database.

A full sync alternates two waits: Graph (network latency plus the service rendering up to 999 users) and
the database (one bulk upsert of the page). Done one after the other, the sync costs their sum; with one
background thread fetching page N+1 while page N is written, it costs roughly the larger of the two.
Measured on loopback with 50 ms added per request (``make bench ARGS=sync_full``), together with the
one-statement PostgreSQL page write in store.py: 100,000 users in 1.16x the time of a loop that only
downloads the same pages (5,000 users: 2.5x before these two changes, 1.6x after).

Memory stays bounded: the queue holds at most ``depth`` pages and the thread blocks until the consumer
takes one, so at most ``depth + 2`` pages exist at once (queued, being fetched, being written).

The thread only runs when the caller is not inside a database transaction. Anything the fetch touches in
the database (e.g. a rotated refresh token saved by the token provider, or, in tests, the in-process
sandbox answering the request) would go through the thread's own connection, which cannot see the
caller's uncommitted rows; in that case the pages are fetched inline, exactly as without prefetching.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.db import connection, connections

T = TypeVar("T")

_DONE = object()
# How long a blocked put waits before checking whether the consumer has gone away.
_PUT_POLL_SECONDS = 0.5


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def can_prefetch() -> bool:
    """False inside a transaction: a second thread's connection would not see its uncommitted rows."""
    return not connection.in_atomic_block


def prefetched(items: Iterable[T], *, depth: int = 1) -> Iterator[T]:
    """Yield ``items`` in order, producing the next ones on a background thread (at most ``depth``
    waiting). An exception raised by the producer is re-raised here, at the item where it happened.
    Closing the generator early (``break``, an exception in the consumer) stops the thread."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=_PUT_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it in its own thread
            put(_Failure(exc))
        finally:
            connections.close_all()  # this thread's own database connections, if the fetch opened any

    worker = threading.Thread(target=produce, name="graph-page-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()
