"""Local engine: run a function over work items in order, in this process or a process pool."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_ordered(func: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map`` with results in input order, whatever the worker count.

    Args:
        func: a picklable top-level function.
        items: work items (picklable).
        workers: 1 runs in this process; more uses a process pool of that size.

    Yields:
        ``func(item)`` for each item, in the order of ``items``.
    """
    if workers <= 1:
        yield from map(func, items)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Bounded look-ahead keeps memory flat: at most 4 batches per worker are in flight.
        pending = []
        iterator = iter(items)
        for item in iterator:
            pending.append(pool.submit(func, item))
            if len(pending) >= 4 * workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()
