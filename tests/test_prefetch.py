import threading
import time

import pytest

from genrecrnn.util.prefetch import prefetch


def test_items_arrive_in_order_from_another_thread():
    threads = set()

    def items():
        for i in range(20):
            threads.add(threading.get_ident())
            yield i

    assert list(prefetch(items(), depth=3)) == list(range(20))
    assert threads and threading.get_ident() not in threads


def test_producer_stays_at_most_depth_ahead():
    made = []

    def items():
        for i in range(100):
            made.append(i)
            yield i

    stream = prefetch(items(), depth=2)
    for consumed, item in enumerate(stream, start=1):
        time.sleep(0.005)  # a slow consumer: the producer must wait for it, not run ahead
        # depth items queued plus the one the producer is trying to hand over
        assert len(made) - consumed <= 3, (item, len(made))
        if consumed == 10:
            break
    stream.close()
    assert len(made) <= 13  # closing stopped the producer


def test_producer_error_is_raised_in_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("bad block")

    got = []
    with pytest.raises(ValueError, match="bad block"):
        for item in prefetch(items()):
            got.append(item)
    assert got == [1, 2]


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        list(prefetch([1], depth=0))
