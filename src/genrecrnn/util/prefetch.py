"""Run an iterator ahead in a background thread, through a bounded queue (decode while the model works).

The thread helps only where the producer's work releases the GIL: libsndfile decoding (cffi calls),
numpy's large-array arithmetic and soxr do, so decoding overlaps the log-mel and the model on a
second core. The queue's bound caps how many items are alive at once, so memory stays flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
# How often (s) a producer blocked on a full queue checks whether the consumer has gone.
_POLL_SECONDS = 0.1


def prefetch(items: Iterable[T], *, depth: int = 2) -> Iterator[T]:
    """Yield `items` in order while a daemon thread computes up to `depth` of them ahead.

    An exception in the producer is raised here, in the consumer, at the item where it happened;
    closing the generator early (break, an error downstream) stops the producer.
    """
    if depth < 1:
        raise ValueError(f"depth={depth} must be at least 1")
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        """Queue `item` unless the consumer has gone; False if it has."""
        while not stop.is_set():
            try:
                box.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as err:  # handed to the consumer, which re-raises it
            put((_DONE, err))
        else:
            put((_DONE, None))

    thread = threading.Thread(target=produce, name="genrecrnn-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if isinstance(item, tuple) and len(item) == 2 and item[0] is _DONE:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        thread.join()
