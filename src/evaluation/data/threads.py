"""Work that runs without the interpreter lock (Arrow, numpy, pandas on integers), spread over
threads: the one way the data and the disclosure check use a machine's second core in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def each(fn: Callable[[T], R], items: Iterable[T], workers: int = 2) -> list[R]:
    """fn of every item, in the items' order, on up to `workers` threads (in this thread when
    there is one worker or one item); the first exception fn raises is raised here."""
    items = list(items)
    if workers < 2 or len(items) < 2:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))
