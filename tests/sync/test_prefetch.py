"""users.sync.prefetch: the background page fetcher the full sync uses outside transactions."""

from __future__ import annotations

import threading
import time

import pytest

from users.sync.prefetch import can_prefetch, prefetched


def test_items_come_in_order_and_are_produced_off_the_consumer_thread():
    threads = []

    def pages():
        for number in range(5):
            threads.append(threading.current_thread())
            yield [number]

    assert list(prefetched(pages())) == [[0], [1], [2], [3], [4]]
    assert all(thread is not threading.current_thread() for thread in threads)


def test_the_producer_runs_at_most_depth_plus_one_ahead():
    produced = []

    def pages():
        for number in range(10):
            produced.append(number)
            yield number

    consumer = prefetched(pages(), depth=1)
    assert next(consumer) == 0
    time.sleep(0.3)  # ample time for an unbounded producer to run to the end
    # item 0 was taken, item 1 sits in the queue, item 2 is produced and waits for room
    assert len(produced) <= 3
    consumer.close()


def test_a_producer_error_is_raised_to_the_consumer_after_the_items_before_it():
    def pages():
        yield 1
        raise RuntimeError("Graph said no")

    consumer = prefetched(pages())
    assert next(consumer) == 1
    with pytest.raises(RuntimeError, match="Graph said no"):
        next(consumer)


def test_closing_early_stops_the_thread():
    def pages():
        number = 0
        while True:
            yield number
            number += 1

    before = threading.active_count()
    consumer = prefetched(pages())
    for item in consumer:
        if item == 3:
            break
    consumer.close()
    assert threading.active_count() == before


def test_depth_must_be_positive():
    with pytest.raises(ValueError):
        list(prefetched([1], depth=0))


@pytest.mark.django_db
def test_no_prefetch_inside_a_transaction():
    # pytest-django wraps each database test in a transaction: a second thread's connection would not
    # see its rows, so the sync must fetch inline there.
    assert can_prefetch() is False


@pytest.mark.django_db(transaction=True)
def test_prefetch_outside_a_transaction():
    assert can_prefetch() is True
